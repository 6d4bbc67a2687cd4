/**
 * The executable-text allocator for JIT images and trampolines, pack style
 * (kernel/bpf/core.c bpf_prog_pack_alloc/free), as a model.
 *
 *   pool (RX for emulated code; written by the kernel through the host)
 *   ┌────┬────┬────┬────┬────┬────┬── … ──┐   64-byte chunks, next-fit, so
 *   │img │img │ ░░ │img │ ░░ │    │       │   freed chunks are not reused
 *   └────┴────┴────┴────┴────┴────┴── … ──┘   until the cursor wraps around
 *   ░░ = freed: filled with brk #0x100 (AARCH64_BREAK_FAULT), and every CPU
 *        drops its translations of it at once.
 *
 * As with bpf_prog_pack, the pool stays mapped: freed chunks hold illegal
 * instructions rather than being unmapped (and changing permissions inside
 * a large Unicorn region would copy the whole region). A late execution of
 * freed text therefore faults (break_fault), and
 * {@link TextAllocator.findFreed} names the allocation it belonged to: a
 * use-after-free report, not silent success. Never-allocated pool memory
 * holds zeros (UDF #0: an undefined instruction).
 */
import { EINVAL, ENOMEM } from "../errno.js";
import { KernelError } from "../errors.js";
import type { Machine } from "../machine/machine.js";
import { PROT_RX } from "../machine/memory.js";

/** BPF_PROG_CHUNK_SIZE. */
export const TEXT_CHUNK = 64;
/** AARCH64_BREAK_FAULT: `brk #0x100`, the fill word of free text. */
export const AARCH64_BREAK_FAULT = 0xd4202000;

/** A live allocation. */
export interface TextAllocation {
  readonly addr: bigint;
  readonly size: number;
  readonly name: string;
}

/** A freed allocation, remembered for use-after-free reports. */
export interface FreedText {
  readonly addr: bigint;
  readonly size: number;
  readonly name: string;
  /** Virtual time of the free. */
  readonly freedAt: bigint;
}

/** Text allocator state at one point (TextAllocator.checkpoint). */
export interface TextAllocCheckpoint {
  readonly cursor: number;
  /** Chunk states below the high-water mark. */
  readonly chunks: Uint8Array;
  readonly live: readonly TextAllocation[];
  readonly freed: readonly FreedText[];
  readonly high: number;
  readonly allocs: number;
  readonly frees: number;
}

export class TextAllocator {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
  readonly #machine: Machine;
  /** Chunk state: 0 free (never used), 1 used, 2 freed. */
  readonly #chunks: Uint8Array;
  readonly #live = new Map<bigint, TextAllocation>();
  readonly #freed: FreedText[] = [];
  #cursor = 0;
  /** One past the highest chunk ever allocated. */
  #high = 0;
  readonly #now: () => bigint;
  /** Allocations and frees (for leak checks). */
  allocs = 0;
  frees = 0;

  /** Map the pool at [base, base+size). */
  constructor(machine: Machine, opts: { name: string; base: bigint; size: number; now: () => bigint }) {
    this.#machine = machine;
    this.name = opts.name;
    this.base = opts.base;
    this.size = opts.size;
    this.#now = opts.now;
    machine.map({ name: opts.name, base: opts.base, size: opts.size, perms: PROT_RX });
    this.#chunks = new Uint8Array(opts.size / TEXT_CHUNK);
  }

  /** Allocate `size` bytes of text, 64-byte aligned; the memory holds the fill word. */
  alloc(size: number, name: string): TextAllocation {
    if (!Number.isInteger(size) || size <= 0) throw new KernelError(EINVAL, `invalid text size: ${size}`);
    const n = Math.ceil(size / TEXT_CHUNK);
    const total = this.#chunks.length;
    for (let scanned = 0; scanned < total;) {
      let start = this.#cursor;
      if (start + n > total) {
        scanned += total - start;
        this.#cursor = 0;
        start = 0;
      }
      let run = 0;
      while (run < n && this.#chunks[start + run] !== 1) run++;
      if (run === n) {
        this.#cursor = (start + n) % total;
        return this.#take(start, n, name);
      }
      scanned += run + 1;
      this.#cursor = (start + run + 1) % total;
    }
    throw new KernelError(ENOMEM, `${this.name}: no room for ${size} bytes of text (${name})`);
  }

  /** Free an allocation: fill with brk #0x100 and drop its translations on every CPU (the pool stays mapped). */
  free(addr: bigint): void {
    const a = this.#live.get(addr);
    if (!a) throw new KernelError(EINVAL, `${this.name}: free of unknown text address 0x${addr.toString(16)}`);
    this.#live.delete(addr);
    this.frees++;
    const first = Number((addr - this.base) / BigInt(TEXT_CHUNK));
    const n = Math.ceil(a.size / TEXT_CHUNK);
    const bytes = n * TEXT_CHUNK;
    this.#fillBreak(addr, bytes);
    this.#machine.invalidateText(addr, addr + BigInt(bytes));
    this.#chunks.fill(2, first, first + n);
    this.#freed.push({ addr, size: a.size, name: a.name, freedAt: this.#now() });
    if (this.#freed.length > 4096) this.#freed.splice(0, this.#freed.length - 4096);
  }

  /** Is [addr] inside this pool? */
  contains(addr: bigint): boolean {
    return addr >= this.base && addr < this.base + BigInt(this.size);
  }

  /** The live allocation containing `addr`. */
  findLive(addr: bigint): TextAllocation | undefined {
    for (const a of this.#live.values()) if (addr >= a.addr && addr < a.addr + BigInt(a.size)) return a;
    return undefined;
  }

  /** The most recent freed allocation containing `addr` that is not live again. */
  findFreed(addr: bigint): FreedText | undefined {
    if (this.findLive(addr)) return undefined;
    for (let i = this.#freed.length - 1; i >= 0; i--) {
      const f = this.#freed[i];
      if (addr >= f.addr && addr < f.addr + BigInt(Math.ceil(f.size / TEXT_CHUNK) * TEXT_CHUNK)) return f;
    }
    return undefined;
  }

  /** End of the highest chunk ever allocated: the pool above it was never used. */
  get highWater(): bigint {
    return this.base + BigInt(this.#high * TEXT_CHUNK);
  }

  /**
   * The allocator's bookkeeping (cursor, chunk states, live and freed
   * lists, counters), for a reset to this point with {@link restore}.
   * Memory contents are the caller's to save.
   */
  checkpoint(): TextAllocCheckpoint {
    return {
      cursor: this.#cursor,
      chunks: this.#chunks.slice(0, this.#high),
      live: [...this.#live.values()],
      freed: [...this.#freed],
      high: this.#high,
      allocs: this.allocs,
      frees: this.frees,
    };
  }

  /** Go back to a {@link checkpoint}: the same addresses, in the same order, from here on. */
  restore(cp: TextAllocCheckpoint): void {
    this.#cursor = cp.cursor;
    // Chunks above both high-water marks were never used: they are 0 already.
    this.#chunks.set(cp.chunks);
    if (this.#high > cp.high) this.#chunks.fill(0, cp.high, this.#high);
    this.#live.clear();
    for (const a of cp.live) this.#live.set(a.addr, a);
    this.#freed.length = 0;
    this.#freed.push(...cp.freed);
    this.#high = cp.high;
    this.allocs = cp.allocs;
    this.frees = cp.frees;
  }

  /** Live allocations (leak checks). */
  live(): TextAllocation[] {
    return [...this.#live.values()];
  }

  #take(start: number, n: number, name: string): TextAllocation {
    this.#chunks.fill(1, start, start + n);
    if (start + n > this.#high) this.#high = start + n;
    const addr = this.base + BigInt(start * TEXT_CHUNK);
    const a: TextAllocation = { addr, size: n * TEXT_CHUNK, name };
    this.#fillBreak(addr, a.size);
    this.#live.set(addr, a);
    this.allocs++;
    // Nothing can be running here: every CPU forgets old translations now.
    this.#machine.invalidateText(addr, addr + BigInt(a.size));
    return a;
  }

  #fillBreak(addr: bigint, bytes: number): void {
    const view = this.#machine.memory.bytesView(addr, bytes);
    new Uint32Array(view.buffer, view.byteOffset, bytes / 4).fill(AARCH64_BREAK_FAULT);
  }
}
