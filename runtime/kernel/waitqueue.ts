/**
 * Wait queues (include/linux/wait.h, simplified): tasks block on a queue and
 * a waker makes them runnable again. Waiters recheck their condition after
 * waking (`wait_event` loops), so wakeups may be spurious.
 */
import type { Task } from "./task.js";

/** Makes a blocked task runnable (implemented by the scheduler). */
export type Waker = (task: Task) => void;

export class WaitQueue {
  readonly name: string;
  readonly #waiters: Task[] = [];
  #waker: Waker | undefined;

  constructor(name: string) {
    this.name = name;
  }

  /** Called by the scheduler when a task blocks on this queue. */
  enqueue(task: Task, waker: Waker): void {
    this.#waker = waker;
    if (!this.#waiters.includes(task)) this.#waiters.push(task);
  }

  /** Remove a task without waking it (it died or was woken elsewhere). */
  remove(task: Task): void {
    const i = this.#waiters.indexOf(task);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  get length(): number {
    return this.#waiters.length;
  }

  /** Tasks waiting, in arrival order. */
  waiters(): readonly Task[] {
    return this.#waiters;
  }

  /** wake_up_all(): every waiter becomes runnable. */
  wakeUpAll(): void {
    const ws = this.#waiters.splice(0);
    for (const t of ws) this.#waker?.(t);
  }

  /** wake_up() of one exclusive waiter (FIFO). */
  wakeUpOne(): Task | undefined {
    const t = this.#waiters.shift();
    if (t) this.#waker?.(t);
    return t;
  }
}

/** `wait_event(wq, cond)` for TypeScript kernel code. */
export function* waitEvent(
  wq: WaitQueue,
  cond: () => boolean,
  reason?: string,
): Generator<{ op: "block"; wq: WaitQueue; reason: string }, void, bigint | undefined> {
  while (!cond()) yield { op: "block", wq, reason: reason ?? wq.name };
}
