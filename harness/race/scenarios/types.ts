/**
 * The vocabulary of race scenarios: small declarative descriptions of who
 * calls what, which programs exist, and what the control threads do.
 *
 *   callers      emulated tasks running a C loop of the race_target module
 *                (harness/race/modules/race_target.c) N times
 *   programs     real BPF programs (harness/race/progs.ts), each with the
 *                kind and the target it attaches to
 *   controllers  kernel threads running a script of attach / detach /
 *                pause / yield steps, repeated; two controllers race
 *                through text_mutex and the trampoline mutexes
 *
 * A schedule of a scenario: restore the pristine kernel, start every
 * caller and controller, run until all of them are done (or a detector
 * fires), then let grace periods and the workqueue drain, and check that
 * every image was freed and no call was lost.
 */
import type { FaultSwitch } from "../../../runtime/kernel/fault_inject.js";
import type { ProgBody } from "../progs.js";

/** The caller loops of race_target.c. */
export type CallerFn = "race_caller" | "race_caller_sleep" | "race_call_prog";

/** An emulated task calling a traced function in a loop. */
export interface CallerSpec {
  readonly comm: string;
  readonly fn: CallerFn;
  /** Calls it makes. */
  readonly calls: number;
  /** race_call_prog: the target program it runs. */
  readonly prog?: string;
  /** Wait until a controller opens the gate (after its first attach) before the first call. */
  readonly gated?: boolean;
}

/** Where a program attaches: a kernel function of race_target.c, or another program. */
export type AttachTarget = { readonly func: string } | { readonly prog: string };

/** A BPF program of the scenario. */
export interface ProgSpec {
  readonly name: string;
  readonly body: ProgBody;
  /** Attach kind; target programs (body "target") have none. */
  readonly kind?: "fentry" | "fexit" | "fmod_ret";
  readonly target?: AttachTarget;
  readonly sleepable?: boolean;
}

/** One step of a control thread. */
export type ControlStep =
  | { readonly op: "attach"; readonly prog: string }
  | { readonly op: "detach"; readonly prog: string }
  /** Sleep this many virtual nanoseconds (callers run meanwhile). */
  | { readonly op: "pause"; readonly ns: number }
  /** A preemption point (the scheduler may switch here). */
  | { readonly op: "yield" }
  /** Let gated callers start (race_gate = 1). */
  | { readonly op: "open-gate" };

/** A kernel thread attaching and detaching programs. */
export interface ControllerSpec {
  readonly comm: string;
  readonly steps: readonly ControlStep[];
  /** Times the steps run (default 1). */
  readonly repeat?: number;
}

/** A race scenario. */
export interface Scenario {
  /** CLI name ("fentry-detach"). */
  readonly name: string;
  readonly description: string;
  /** Default CPUs. */
  readonly cpus: number;
  readonly callers: readonly CallerSpec[];
  readonly progs: readonly ProgSpec[];
  readonly controllers: readonly ControllerSpec[];
  /** Quanta offered to the strategies, largest first (index 0 is the default choice). */
  readonly quanta: readonly number[];
  /** Watchdog: scheduler steps before "never returns" (default 200,000). */
  readonly maxSteps?: number;
  /** Fault-injection switches this scenario exposes (as measured by --matrix with PCT; --list shows them). */
  readonly exposes: readonly FaultSwitch[];
  /**
   * Set for a scenario that reproduces a known defect of the simulated
   * kernel with no fault injected (a finding of the explorer); it is left
   * out of --matrix and of the "no violation without faults" runs.
   */
  readonly knownIssue?: string;
}
