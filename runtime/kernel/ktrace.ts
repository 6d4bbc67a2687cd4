/**
 * Kernel events for traces, timelines and detectors: text pokes, grace
 * periods, percpu_ref kill/release, image lifecycle, oopses and WARNs, on
 * top of the scheduler's own events (sched.ts SchedEvent).
 *
 * Subsystems call `emit()`; nothing is recorded unless a listener is
 * attached (`k.ktrace.listen(fn)`), so the cost is one branch.
 */

export type KernelEvent =
  | {
      kind: "poke";
      t: bigint;
      cpu: number;
      pid: number;
      addr: bigint;
      old: number;
      insn: number;
      locked: boolean;
      synced: boolean;
      what: string;
    }
  | { kind: "gp_start"; t: bigint; flavour: string }
  | { kind: "gp_end"; t: bigint; flavour: string }
  | { kind: "ref_kill"; t: bigint; ref: string }
  | { kind: "ref_release"; t: bigint; ref: string }
  | { kind: "image_alloc"; t: bigint; image: string; addr: bigint; size: number }
  | { kind: "image_put"; t: bigint; image: string }
  | { kind: "image_free"; t: bigint; image: string; addr: bigint; size: number }
  | { kind: "attach"; t: bigint; pid: number; prog: string; target: string; kindName: string }
  | { kind: "detach"; t: bigint; pid: number; prog: string; target: string; kindName: string }
  | { kind: "oops"; t: bigint; cpu: number; pid: number; pc: bigint; detail: string }
  | { kind: "warn"; t: bigint; cpu: number; pid: number; message: string };

export type KernelEventListener = (ev: KernelEvent) => void;

export class KernelTrace {
  readonly #listeners: KernelEventListener[] = [];

  /** Is anyone listening? (Check before building an expensive event.) */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  listen(fn: KernelEventListener): () => void {
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  emit(ev: KernelEvent): void {
    for (const l of this.#listeners) l(ev);
  }
}
