/**
 * Sleeping mutexes (kernel/locking/mutex.c), and `text_mutex`
 * (kernel/extable.c), the lock every text patch takes.
 *
 * Simplifications: no optimistic spinning; ownership is handed off to the
 * first waiter on unlock (FIFO), so no waiter starves. Owner tracking gives
 * the lockdep-style checks: unlocking a mutex one does not hold is a WARN
 * (the mutex stays locked), locking one already held by the same task is a
 * BUG (it would deadlock), `lockdepAssertHeld` fails loudly.
 */
import { EDEADLK, EPERM } from "../errno.js";
import { KernelError } from "../errors.js";
import type { KGen, Task } from "./task.js";
import { WaitQueue } from "./waitqueue.js";

export class Mutex {
  readonly name: string;
  owner: Task | undefined;
  readonly wq: WaitQueue;
  /** Address of the `struct mutex` in emulated memory, when it has one. */
  readonly addr: bigint | undefined;
  /** Acquisitions (statistics). */
  acquisitions = 0;

  constructor(name: string, addr?: bigint) {
    this.name = name;
    this.addr = addr;
    this.wq = new WaitQueue(name);
  }

  isLocked(): boolean {
    return this.owner !== undefined;
  }
}

/** A lock misuse: the kernel would WARN (unlock) or deadlock (recursive lock). */
export class LockError extends KernelError {}

/** mutex_lock(): sleeps until `task` owns `m`. */
export function* mutexLock(m: Mutex, task: Task): KGen<void> {
  if (m.owner === task) {
    throw new LockError(EDEADLK, `recursive locking of ${m.name} by ${task}: possible deadlock`);
  }
  if (!m.owner) {
    m.owner = task;
    m.acquisitions++;
    return;
  }
  while (m.owner !== task) {
    yield { op: "block", wq: m.wq, reason: m.name };
  }
}

/** mutex_trylock(): true when `task` got `m`. */
export function mutexTrylock(m: Mutex, task: Task): boolean {
  if (m.owner) return false;
  m.owner = task;
  m.acquisitions++;
  return true;
}

/**
 * mutex_unlock(). Throws LockError when `task` is not the owner (the
 * caller reports it as a WARN; the mutex is left as it was).
 */
export function mutexUnlock(m: Mutex, task: Task): void {
  if (m.owner !== task) {
    const who = m.owner ? `held by ${m.owner}` : "not locked";
    throw new LockError(
      EPERM,
      `DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current): ${task} unlocks ${m.name} (${who})`,
    );
  }
  const next = m.wq.waiters()[0];
  m.owner = next;
  if (next) {
    m.acquisitions++;
    m.wq.wakeUpOne();
  }
}

/** lockdep_assert_held(): throws when `task` does not hold `m`. */
export function lockdepAssertHeld(m: Mutex, task: Task): void {
  if (m.owner !== task) {
    throw new LockError(EPERM, `lockdep_assert_held(${m.name}) failed in ${task}`);
  }
}
