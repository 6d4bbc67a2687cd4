/**
 * Workqueues (kernel/workqueue.c), as a model: `schedule_work()` queues an
 * item on system_wq; kworker kernel threads take items in FIFO order and run
 * them. A work function is TypeScript kernel code and may block.
 */
import type { KGen } from "./task.js";
import { WaitQueue } from "./waitqueue.js";

/** struct work_struct: a name (for traces) and its function. */
export interface WorkStruct {
  name: string;
  fn: () => KGen<void> | void;
}

export class Workqueue {
  readonly name: string;
  readonly #items: WorkStruct[] = [];
  readonly #wq: WaitQueue;
  /** Items completed (statistics). */
  completed = 0;
  /** Called when an item starts — for traces. */
  onRun: ((work: WorkStruct) => void) | undefined;

  constructor(name: string) {
    this.name = name;
    this.#wq = new WaitQueue(`${name}_worker`);
  }

  /** schedule_work() / queue_work(): false if the item is already pending. */
  queueWork(work: WorkStruct): boolean {
    if (this.#items.includes(work)) return false;
    this.#items.push(work);
    this.#wq.wakeUpOne();
    return true;
  }

  get pending(): number {
    return this.#items.length;
  }

  /** The body of one kworker thread. */
  *worker(): KGen<void> {
    for (;;) {
      while (this.#items.length === 0) yield { op: "block", wq: this.#wq, reason: this.#wq.name };
      const work = this.#items.shift() as WorkStruct;
      this.onRun?.(work);
      const r = work.fn();
      if (r) yield* r;
      this.completed++;
      // cond_resched() between items.
      yield { op: "yield", voluntary: true };
    }
  }
}
