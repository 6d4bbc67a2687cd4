/**
 * The machine: N CPUs (one Unicorn instance each) over one shared memory.
 *
 *   ┌────────── Machine ───────────────────────────────────────────┐
 *   │  PhysMemory  regions → host blocks (mmap), one per region    │
 *   │  CPU 0 … CPU n-1   Unicorn, each maps every region           │
 *   │  svc / brk tables  hypercalls into TypeScript services       │
 *   │  IcacheModel       per-CPU pending invalidations             │
 *   │  sentinel page     `until` address of every slice            │
 *   └──────────────────────────────────────────────────────────────┘
 *
 * Only one CPU executes at a time (the scheduler above decides which), so
 * interleaving is sequentially consistent at instruction granularity and
 * fully determined by the schedule. Permissions change on every CPU at once.
 * There is no hidden global state: machines can be created and closed
 * repeatedly in one process.
 */
import { EINVAL } from "../errno.js";
import { MachineError } from "../errors.js";
import type { Symbolizer } from "./backtrace.js";
import { Cpu, type StopReason } from "./cpu.js";
import { HypercallTable } from "./hypercall.js";
import { IcacheModel, type TextRange } from "./icache.js";
import { PAGE_SIZE, PhysMemory, PROT_RX, type Region, type RegionSpec } from "./memory.js";
import { UC_CPU_ARM64_MAX } from "./unicorn_consts.js";

/** Address of the sentinel page; a slice stops when PC reaches it. */
export const SENTINEL_ADDR = 0x10000n;
/** Upper bound on CPUs (Unicorn instances) per machine. */
export const MAX_CPUS = 64;

export interface MachineOptions {
  /** Number of CPUs (default 2). */
  cpus?: number;
  /** Unicorn CPU model (default UC_CPU_ARM64_MAX: LSE, PAC and BTI decode). */
  cpuModel?: number;
}

/** Options of a text write. */
export interface TextWriteOptions {
  /** CPU doing the write: it sees the new text at once. Undefined = no CPU (host). */
  by?: number;
  /**
   * Do the cache maintenance (default true). false models a patch without
   * flush_icache_range: no CPU is told, stale translations survive.
   */
  sync?: boolean;
}

export class Machine {
  readonly memory = new PhysMemory();
  readonly cpus: readonly Cpu[];
  readonly svc = new HypercallTable("svc");
  readonly brk = new HypercallTable("brk");
  readonly icache: IcacheModel;
  readonly sentinel = SENTINEL_ADDR;
  /** Set by kallsyms once it exists; used in every fault report. */
  symbolizer: Symbolizer | undefined;
  #closed = false;

  constructor(opts: MachineOptions = {}) {
    const n = opts.cpus ?? 2;
    if (!Number.isInteger(n) || n < 1 || n > MAX_CPUS) {
      throw new MachineError(EINVAL, `invalid CPU count: ${n} (1..${MAX_CPUS})`);
    }
    const env = {
      memory: this.memory,
      svc: this.svc,
      brk: this.brk,
      sentinel: this.sentinel,
      symbolize: (addr: bigint) => this.symbolizer?.(addr),
    };
    const cpus: Cpu[] = [];
    try {
      for (let i = 0; i < n; i++) cpus.push(new Cpu(i, env, opts.cpuModel ?? UC_CPU_ARM64_MAX));
    } catch (err) {
      for (const c of cpus) c.close();
      throw err;
    }
    this.cpus = cpus;
    this.icache = new IcacheModel(n);
    const page = this.map({ name: "sentinel", base: SENTINEL_ADDR, size: PAGE_SIZE, perms: PROT_RX });
    // brk #0x101: never executed (the slice stops first), but not a valid path either.
    page.block.view.setUint32(0, 0xd4202020, true);
  }

  /** CPU `i`, or a MachineError naming the valid range. */
  cpu(i: number): Cpu {
    const c = this.cpus[i];
    if (!Number.isInteger(i) || !c) {
      throw new MachineError(EINVAL, `CPU index out of range: ${i} (machine has ${this.cpus.length} CPUs)`);
    }
    return c;
  }

  /**
   * Map a new region into every CPU. Overlap, misalignment and a range
   * outside the 64-bit address space are typed errors; when a CPU refuses
   * the mapping, the CPUs already done are unmapped again and the host
   * memory is released, so nothing is left half-mapped.
   */
  map(spec: RegionSpec): Region {
    this.#live();
    const region = this.memory.add(spec);
    const done: Cpu[] = [];
    try {
      for (const c of this.cpus) {
        c.uc.memMapPtr(region.base, region.perms, region.block);
        done.push(c);
      }
    } catch (err) {
      for (const c of done) c.uc.memUnmap(region.base, region.size);
      this.memory.remove(region);
      throw err;
    }
    return region;
  }

  /** Change the permissions of [base, base+size) on every CPU (page granularity). */
  protect(base: bigint, size: number, perms: number): void {
    this.#live();
    this.#checkPages(base, size);
    for (const c of this.cpus) c.uc.memProtect(base, size, perms);
  }

  /** Unmap [base, base+size) from every CPU (page granularity); host memory stays allocated. */
  unmap(base: bigint, size: number): void {
    this.#live();
    this.#checkPages(base, size);
    for (const c of this.cpus) c.uc.memUnmap(base, size);
  }

  /** Run CPU `cpu` for one slice. */
  run(cpu: number, opts: { quantum: number; pc?: bigint }): StopReason {
    this.#live();
    return this.cpu(cpu).run(opts);
  }

  /**
   * Write instructions (or any bytes) into text, under the icache model:
   * the writing CPU sees them at once, the others at their next
   * context-synchronising event (unless `sync` is false).
   */
  writeText(addr: bigint, data: Uint8Array, opts: TextWriteOptions = {}): void {
    this.memory.writeBytes(addr, data);
    if (opts.sync === false) return;
    const range: TextRange = { begin: addr, end: addr + BigInt(data.length) };
    if (opts.by !== undefined) this.cpu(opts.by).uc.removeCache(range.begin, range.end);
    this.icache.record(range, opts.by);
  }

  /** Write one 32-bit instruction (see {@link writeText}). */
  writeInsn(addr: bigint, insn: number, opts: TextWriteOptions = {}): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, insn >>> 0, true);
    this.writeText(addr, b, opts);
  }

  /**
   * Drop translations of [begin, end) on every CPU now: for text that no CPU
   * can legitimately be executing (a fresh allocation, freed memory).
   */
  invalidateText(begin: bigint, end: bigint): void {
    for (const c of this.cpus) c.uc.removeCache(begin, end);
  }

  /** A context-synchronising event on `cpu`: apply its pending invalidations. */
  contextSync(cpu: number): void {
    const c = this.cpu(cpu);
    for (const r of this.icache.take(cpu)) c.uc.removeCache(r.begin, r.end);
  }

  /** kick_all_cpus_sync(): every CPU synchronises now. */
  kickAllCpusSync(): void {
    for (const c of this.cpus) this.contextSync(c.index);
  }

  /** Release every Unicorn instance and all host memory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.cpus) c.close();
    this.memory.freeAll();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #live(): void {
    if (this.#closed) throw new MachineError(EINVAL, "machine used after close");
  }

  #checkPages(base: bigint, size: number): void {
    if (base % BigInt(PAGE_SIZE) !== 0n || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new MachineError(
        EINVAL,
        `unaligned range: 0x${base.toString(16)} size 0x${size.toString(16)} (must be whole pages)`,
      );
    }
    if (!this.memory.isMapped(base, size)) {
      throw new MachineError(EINVAL, `range not inside one region: 0x${base.toString(16)} size 0x${size.toString(16)}`);
    }
  }
}
