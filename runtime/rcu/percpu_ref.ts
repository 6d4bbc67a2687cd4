/**
 * percpu_ref (lib/percpu-refcount.c, include/linux/percpu-refcount.h), as a model.
 *
 *                 get/put on this CPU's counter
 *   percpu mode ─────────────────────────────────┐
 *        │ percpu_ref_kill(): mark DEAD,         │
 *        │ call_rcu(switch to atomic)            │  (gets/puts still go
 *        ▼                                       │   to per-CPU counters
 *   RCU callback: atomic += Σ per-CPU counters ◄─┘   until the switch)
 *        │ then drop the initial reference
 *        ▼
 *   atomic mode: get/put on one counter; reaching 0 calls release() once,
 *   from the context of whoever dropped the last reference.
 *
 * The initial reference (percpu_ref_init) lives in the atomic counter.
 * Misuse is a kernel bug: kill twice, get after release, a put that takes the
 * count below zero ("percpu ref ... <= 0 after switching to atomic").
 */
import { EINVAL } from "../errno.js";
import { KernelError } from "../errors.js";
import type { GpEngine } from "./gp.js";

/** A percpu_ref misuse (the kernel would WARN). */
export class PercpuRefError extends KernelError {}

export class PercpuRef {
  readonly name: string;
  readonly #percpu: number[];
  #atomic = 1;
  #mode: "percpu" | "atomic" = "percpu";
  #dead = false;
  #released = false;
  #exited = false;
  readonly #release: () => void;
  readonly #rcu: GpEngine;
  /** Called on kill and on release — for traces. */
  onEvent: ((what: "kill" | "release") => void) | undefined;

  /** percpu_ref_init(ref, release, 0, GFP_KERNEL) on a machine of `ncpus` CPUs. */
  constructor(name: string, opts: { ncpus: number; release: () => void; rcu: GpEngine }) {
    this.name = name;
    this.#percpu = new Array<number>(opts.ncpus).fill(0);
    this.#release = opts.release;
    this.#rcu = opts.rcu;
  }

  get isDying(): boolean {
    return this.#dead;
  }

  get isZero(): boolean {
    return this.#mode === "atomic" && this.#atomic === 0;
  }

  get released(): boolean {
    return this.#released;
  }

  /** Current count (Σ per-CPU + atomic), for tests and reports. */
  count(): number {
    return this.#atomic + this.#percpu.reduce((a, b) => a + b, 0);
  }

  /** percpu_ref_get() on `cpu`. */
  get(cpu: number): void {
    this.#check("percpu_ref_get");
    if (this.#mode === "percpu") this.#percpu[cpu]++;
    else this.#atomic++;
  }

  /** percpu_ref_tryget(): fails only once the count reached zero. */
  tryget(cpu: number): boolean {
    if (this.#released || this.#exited) return false;
    this.get(cpu);
    return true;
  }

  /** percpu_ref_tryget_live(): fails once the ref is dying. */
  trygetLive(cpu: number): boolean {
    if (this.#dead || this.#released || this.#exited) return false;
    this.get(cpu);
    return true;
  }

  /** percpu_ref_put() on `cpu`. */
  put(cpu: number): void {
    this.#check("percpu_ref_put");
    if (this.#mode === "percpu") {
      this.#percpu[cpu]--;
      return;
    }
    this.#atomicSub(1, "percpu_ref_put");
  }

  /** percpu_ref_kill(): switch to atomic mode after an RCU grace period and drop the initial ref. */
  kill(): void {
    if (this.#dead) throw new PercpuRefError(EINVAL, `percpu_ref_kill() called more than once on ${this.name}`);
    this.#check("percpu_ref_kill");
    this.#dead = true;
    this.onEvent?.("kill");
    this.#rcu.call(() => {
      // percpu_ref_switch_to_atomic_rcu: fold the per-CPU counts in.
      const sum = this.#percpu.reduce((a, b) => a + b, 0);
      this.#percpu.fill(0);
      this.#atomic += sum;
      this.#mode = "atomic";
      // percpu_ref_call_confirm_rcu → drop the initial reference.
      this.#atomicSub(1, "percpu_ref_kill");
    });
  }

  /** percpu_ref_exit(): the ref must be released (or never used). */
  exit(): void {
    this.#exited = true;
  }

  #atomicSub(n: number, what: string): void {
    this.#atomic -= n;
    if (this.#atomic < 0) {
      const v = this.#atomic;
      this.#atomic = 0;
      throw new PercpuRefError(EINVAL, `percpu ref (${this.name}) <= 0 (${v}) after switching to atomic: ${what}`);
    }
    if (this.#atomic === 0 && !this.#released) {
      this.#released = true;
      this.onEvent?.("release");
      this.#release();
    }
  }

  #check(what: string): void {
    if (this.#released) throw new PercpuRefError(EINVAL, `${what} on released percpu_ref ${this.name}`);
    if (this.#exited) throw new PercpuRefError(EINVAL, `${what} after percpu_ref_exit on ${this.name}`);
  }
}
