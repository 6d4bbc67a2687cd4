/**
 * Tasks (include/linux/sched.h `struct task_struct`, the parts that matter
 * here).
 *
 * A task is a stack of execution frames, alternating between emulated code
 * and TypeScript:
 *
 *   frames (bottom → top)
 *   ┌──────────────────────────────┐
 *   │ emu   registers (CpuContext) │  e.g. the traced kernel function
 *   ├──────────────────────────────┤
 *   │ ts    service generator      │  e.g. mutex_lock() called via svc
 *   ├──────────────────────────────┤
 *   │ emu   registers              │  code the service called back into
 *   └──────────────────────────────┘
 *
 * Emulated tasks start with one emu frame; kernel threads written in
 * TypeScript start with one ts frame (a generator). A TypeScript frame
 * yields a {@link SchedRequest} at every scheduling point; an emulated frame
 * runs in slices on a CPU. When the last frame finishes, the task exits.
 */
import type { CpuContext } from "../machine/cpu.js";
import type { Fault } from "../machine/fault.js";
import type { WaitQueue } from "./waitqueue.js";

/**
 * What TypeScript kernel code yields to the scheduler.
 *
 *   block   sleep until woken through `wq` (TASK_UNINTERRUPTIBLE; voluntary)
 *   sleep   sleep for `ns` of virtual time (schedule_timeout; voluntary)
 *   yield   voluntary: schedule()/cond_resched() — a voluntary context
 *           switch point (an RCU-tasks quiescent state);
 *           involuntary: a plain preemption point between two steps
 *   call    run emulated code `fn(args...)` on this task; resumes with x0
 */
export type SchedRequest =
  | { op: "block"; wq: WaitQueue; reason: string }
  | { op: "sleep"; ns: bigint; reason: string }
  | { op: "yield"; voluntary: boolean }
  | { op: "call"; fn: bigint; args: readonly bigint[] };

/** TypeScript kernel code: a generator that yields scheduling requests. */
export type KGen<T = void> = Generator<SchedRequest, T, bigint | undefined>;

export type TaskState = "running" | "runnable" | "blocked" | "sleeping" | "dead";

export type Frame =
  | {
      kind: "emu";
      ctx: CpuContext;
      /** Set on frames entered by a task call: checked when the call returns to a64bpf_task_return. */
      entry?: { fn: bigint; sp: bigint };
    }
  | { kind: "ts"; gen: KGen<bigint | void>; resume: bigint | undefined; request: SchedRequest | undefined };

/** A task's kernel stack: [base, top), with an unmapped guard page below base. */
export interface TaskStack {
  base: bigint;
  top: bigint;
  guard: bigint;
}

export class Task {
  readonly pid: number;
  comm: string;
  readonly kind: "emulated" | "kthread";
  state: TaskState = "runnable";
  /** CPU the task is running on, or -1. */
  cpu = -1;
  /** CPU it last ran on (-1: never ran). */
  lastCpu = -1;
  readonly frames: Frame[] = [];
  stack: TaskStack | undefined;

  /** Voluntary / involuntary context switches (nvcsw, nivcsw). */
  nvcsw = 0;
  nivcsw = 0;
  /** Incremented at every voluntary entry to the scheduler (rcu_tasks_qs). */
  rcuTasksQs = 0;
  /** Switched out involuntarily and not yet run again (preempted while on_rq). */
  preempted = false;

  /** Preemptible RCU read-side nesting (current->rcu_read_lock_nesting). */
  rcuReadLockNesting = 0;
  /** Incremented at each outermost rcu_read_unlock (quiescent generation). */
  rcuReadUnlocks = 0;
  /** RCU-tasks-trace read-side nesting (current->trc_reader_nesting). */
  trcReaderNesting = 0;
  trcReadUnlocks = 0;
  /** preempt_count: > 0 means not preemptible. */
  preemptCount = 0;
  preemptEnables = 0;
  /** migrate_disable() depth: > 0 pins the task to its CPU. */
  migrateDisable = 0;
  /** current->bpf_ctx (struct bpf_run_ctx *). */
  bpfCtx = 0n;

  /** Virtual time at which a sleeping task wakes. */
  wakeAt = 0n;
  /** What a blocked or sleeping task waits for (for reports). */
  waitReason = "";
  /** Return value of the task's first frame, once dead. */
  exitValue: bigint | undefined;
  /** The oops that killed it, if any. */
  oops: Fault | undefined;
  /** Order in which the task became runnable (FIFO tie-break). */
  enqueueSeq = 0;

  constructor(pid: number, comm: string, kind: "emulated" | "kthread") {
    this.pid = pid;
    this.comm = comm;
    this.kind = kind;
  }

  /** The innermost frame. */
  get top(): Frame | undefined {
    return this.frames[this.frames.length - 1];
  }

  /** The innermost emulated frame (whose registers a CPU runs). */
  get topEmu(): (Frame & { kind: "emu" }) | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      if (f.kind === "emu") return f;
    }
    return undefined;
  }

  /** "comm/pid", as kernel messages print tasks. */
  toString(): string {
    return `${this.comm}/${this.pid}`;
  }
}
