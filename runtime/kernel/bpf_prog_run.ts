/**
 * Run-time state the trampoline's C-visible helpers need, keyed by the
 * emulated addresses the trampoline passes: `struct bpf_prog *` (x19 in the
 * trampoline) and `struct bpf_tramp_image *` (for __bpf_tramp_enter/exit).
 *
 * The loader/trampoline layer registers programs and images here; the
 * services in services/bpf_run.ts look them up. The emulated memory at those
 * addresses is an allocation that exists only to give each object a unique,
 * mapped kernel address (the JIT bakes `bpf_func` into the trampoline, so
 * emulated code never reads `struct bpf_prog` fields).
 */
import { EINVAL, EEXIST } from "../errno.js";
import { KernelError } from "../errors.js";
import type { PercpuRef } from "../rcu/percpu_ref.js";

/** Per-program run state (prog->active, stats, misses). */
export interface ProgRunState {
  readonly addr: bigint;
  readonly name: string;
  readonly sleepable: boolean;
  /** this_cpu(prog->active): recursion counter per CPU. */
  readonly active: Int32Array;
  /** bpf_prog_inc_misses_counter(). */
  misses: number;
  /** Runs started (enter returned non-zero). */
  runs: number;
}

/** Per-image state: the percpu_ref __bpf_tramp_enter/exit take. */
export interface TrampImageState {
  readonly addr: bigint;
  readonly name: string;
  readonly pcref: PercpuRef;
}

export class BpfRunRegistry {
  readonly #progs = new Map<bigint, ProgRunState>();
  readonly #images = new Map<bigint, TrampImageState>();
  readonly ncpus: number;
  /** bpf_stats_enabled_key: when on, enter returns sched_clock() instead of NO_START_TIME. */
  statsEnabled = false;

  constructor(ncpus: number) {
    this.ncpus = ncpus;
  }

  registerProg(p: { addr: bigint; name: string; sleepable: boolean }): ProgRunState {
    if (this.#progs.has(p.addr))
      throw new KernelError(EEXIST, `bpf_prog at 0x${p.addr.toString(16)} already registered`);
    const s: ProgRunState = { ...p, active: new Int32Array(this.ncpus), misses: 0, runs: 0 };
    this.#progs.set(p.addr, s);
    return s;
  }

  unregisterProg(addr: bigint): void {
    this.#progs.delete(addr);
  }

  prog(addr: bigint): ProgRunState {
    const p = this.#progs.get(addr);
    if (!p) throw new KernelError(EINVAL, `no bpf_prog at 0x${addr.toString(16)}`);
    return p;
  }

  registerImage(s: TrampImageState): void {
    if (this.#images.has(s.addr))
      throw new KernelError(EEXIST, `bpf_tramp_image at 0x${s.addr.toString(16)} already registered`);
    this.#images.set(s.addr, s);
  }

  unregisterImage(addr: bigint): void {
    this.#images.delete(addr);
  }

  image(addr: bigint): TrampImageState {
    const s = this.#images.get(addr);
    if (!s) throw new KernelError(EINVAL, `no bpf_tramp_image at 0x${addr.toString(16)}`);
    return s;
  }
}
