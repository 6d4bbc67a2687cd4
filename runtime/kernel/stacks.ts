/**
 * Kernel stacks for tasks: THREAD_SIZE each, with an unmapped guard page
 * below, carved from the stacks area (runtime/kernel/layout.ts).
 *
 *   high ┌──────────────┐ top  (initial sp, 16-byte aligned)
 *        │  THREAD_SIZE │ its own mapped region (RW)
 *        ├──────────────┤ base
 *        │  guard page  │ never mapped: an overflow faults (write_unmapped)
 *   low  └──────────────┘
 *
 * Each stack is mapped on first use as its own region (changing permissions
 * inside a large Unicorn region copies the whole region, so the guard is a
 * hole rather than a protected page). Freed stacks are reused FIFO.
 */
import { EBUSY, ENOMEM } from "../errno.js";
import { KernelError } from "../errors.js";
import type { Machine } from "../machine/machine.js";
import { PAGE_SIZE, PROT_RW } from "../machine/memory.js";
import { STACKS_BASE, STACKS_SIZE, THREAD_SIZE } from "./layout.js";
import type { TaskStack } from "./task.js";

const SLOT = THREAD_SIZE + PAGE_SIZE;

/** Stack allocator state at one point (StackAllocator.checkpoint). */
export interface StackCheckpoint {
  readonly free: readonly TaskStack[];
  readonly next: number;
}

export class StackAllocator {
  readonly #machine: Machine;
  readonly #base: bigint;
  readonly #limit: number;
  readonly #free: TaskStack[] = [];
  #next = 0;

  constructor(machine: Machine, opts: { base?: bigint; size?: number } = {}) {
    this.#machine = machine;
    this.#base = opts.base ?? STACKS_BASE;
    this.#limit = Math.floor((opts.size ?? STACKS_SIZE) / SLOT);
  }

  /** A fresh zeroed stack. */
  alloc(): TaskStack {
    const reused = this.#free.shift();
    if (reused) {
      this.#machine.memory.fill(reused.base, THREAD_SIZE, 0);
      return reused;
    }
    if (this.#next >= this.#limit) throw new KernelError(ENOMEM, `out of task stacks: ${this.#limit} in use`);
    const guard = this.#base + BigInt(this.#next++ * SLOT);
    const base = guard + BigInt(PAGE_SIZE);
    this.#machine.map({ name: "task stack", base, size: THREAD_SIZE, perms: PROT_RW });
    return { guard, base, top: base + BigInt(THREAD_SIZE) };
  }

  free(stack: TaskStack): void {
    this.#free.push(stack);
  }

  /**
   * Which stacks alloc() hands out next, for {@link restore}. Stack
   * contents need no saving: alloc() zeroes a stack before handing it out.
   */
  checkpoint(): StackCheckpoint {
    return { free: [...this.#free], next: this.#next };
  }

  /**
   * Go back to a {@link checkpoint} once every stack allocated since has
   * been freed. Stacks mapped since (they cannot be unmapped) join the
   * free list after the checkpoint's, lowest first: exactly the order in
   * which alloc() would have mapped them, so the next allocations are the
   * same as after the checkpoint. EBUSY when a stack is still in use.
   */
  restore(cp: StackCheckpoint): void {
    const firstNew = this.#base + BigInt(cp.next * SLOT);
    const free = new Set<bigint>(this.#free.map((s) => s.guard));
    const extra = this.#free.filter((s) => s.guard >= firstNew).sort((a, b) => (a.guard < b.guard ? -1 : 1));
    if (
      extra.length !== this.#next - cp.next ||
      cp.free.some((s) => !free.has(s.guard)) ||
      free.size !== cp.free.length + extra.length
    ) {
      throw new KernelError(
        EBUSY,
        "task stacks: cannot restore while stacks allocated since the checkpoint are in use",
      );
    }
    this.#free.length = 0;
    this.#free.push(...cp.free, ...extra);
  }

  /** Is `addr` in the guard page of some stack? */
  isGuard(addr: bigint): boolean {
    if (addr < this.#base || addr >= this.#base + BigInt(this.#next * SLOT)) return false;
    return (addr - this.#base) % BigInt(SLOT) < BigInt(PAGE_SIZE);
  }
}
