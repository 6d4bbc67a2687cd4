/**
 * kmalloc/kfree (mm/slab_common.c), as a model: power-of-two size classes
 * from 16 bytes to a page, page-rounded large allocations, all carved from
 * the kernel heap region. Freed objects are poisoned with POISON_FREE (0x6b)
 * and reused FIFO per class, so a use after free reads poison.
 */
import { EINVAL, ENOMEM } from "../errno.js";
import { KernelError } from "../errors.js";
import type { Machine } from "../machine/machine.js";
import { PAGE_SIZE, PROT_RW } from "../machine/memory.js";
import { HEAP_BASE, HEAP_SIZE } from "./layout.js";

/** POISON_FREE (include/linux/poison.h). */
export const POISON_FREE = 0x6b;
const MIN_CLASS = 16;

/** Slab bookkeeping at one point (Slab.checkpoint). */
export interface SlabCheckpoint {
  readonly brk: bigint;
  readonly free: ReadonlyMap<number, readonly bigint[]>;
  readonly sizes: ReadonlyMap<bigint, number>;
}

export class Slab {
  readonly #machine: Machine;
  readonly #base: bigint;
  readonly #end: bigint;
  #brk: bigint;
  readonly #free = new Map<number, bigint[]>();
  readonly #sizes = new Map<bigint, number>();

  constructor(machine: Machine, opts: { base?: bigint; size?: number } = {}) {
    this.#machine = machine;
    this.#base = opts.base ?? HEAP_BASE;
    const size = opts.size ?? HEAP_SIZE;
    machine.map({ name: "kernel heap", base: this.#base, size, perms: PROT_RW });
    this.#end = this.#base + BigInt(size);
    // Keep the first page unused: a 0-offset allocation is never confused with the base.
    this.#brk = this.#base + BigInt(PAGE_SIZE);
  }

  /** kmalloc(): uninitialised memory (it may hold poison), or throws ENOMEM. */
  kmalloc(size: number): bigint {
    if (!Number.isInteger(size) || size < 0) throw new KernelError(EINVAL, `invalid kmalloc size: ${size}`);
    const cls = classOf(size);
    const list = this.#free.get(cls);
    const reused = list?.shift();
    if (reused !== undefined) {
      this.#sizes.set(reused, cls);
      return reused;
    }
    const align = BigInt(Math.min(cls, PAGE_SIZE));
    const addr = (this.#brk + align - 1n) & ~(align - 1n);
    if (addr + BigInt(cls) > this.#end) throw new KernelError(ENOMEM, `kmalloc(${size}): kernel heap exhausted`);
    this.#brk = addr + BigInt(cls);
    this.#sizes.set(addr, cls);
    return addr;
  }

  /** kzalloc(): zeroed memory. */
  kzalloc(size: number): bigint {
    const addr = this.kmalloc(size);
    this.#machine.memory.fill(addr, classOf(size), 0);
    return addr;
  }

  /** kfree(); kfree(NULL) is a no-op, freeing an unknown or freed pointer is a bug. */
  kfree(addr: bigint): void {
    if (addr === 0n) return;
    const cls = this.#sizes.get(addr);
    if (cls === undefined) throw new KernelError(EINVAL, `kfree of invalid or freed pointer 0x${addr.toString(16)}`);
    this.#sizes.delete(addr);
    this.#machine.memory.fill(addr, cls, POISON_FREE);
    let list = this.#free.get(cls);
    if (!list) this.#free.set(cls, (list = []));
    list.push(addr);
  }

  /** ksize(): usable size of a live allocation. */
  ksize(addr: bigint): number | undefined {
    return this.#sizes.get(addr);
  }

  /** End of the highest allocation ever made: the heap below it is the used part. */
  get brk(): bigint {
    return this.#brk;
  }

  /**
   * The allocator's bookkeeping (break, free lists, live sizes), for a reset
   * to this point with {@link restore}. Memory contents are the caller's
   * to save: this covers only which addresses kmalloc hands out next.
   */
  checkpoint(): SlabCheckpoint {
    const free = new Map<number, readonly bigint[]>();
    for (const [cls, list] of this.#free) free.set(cls, [...list]);
    return { brk: this.#brk, free, sizes: new Map(this.#sizes) };
  }

  /** Go back to a {@link checkpoint}: the same allocations, in the same order, from here on. */
  restore(cp: SlabCheckpoint): void {
    this.#brk = cp.brk;
    this.#free.clear();
    for (const [cls, list] of cp.free) this.#free.set(cls, [...list]);
    this.#sizes.clear();
    for (const [addr, cls] of cp.sizes) this.#sizes.set(addr, cls);
  }

  /** Number of live allocations. */
  get live(): number {
    return this.#sizes.size;
  }
}

function classOf(size: number): number {
  if (size > PAGE_SIZE) return Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  let c = MIN_CLASS;
  while (c < size) c *= 2;
  return c;
}
