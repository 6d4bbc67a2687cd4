/**
 * The deterministic SMP scheduler (kernel/sched/core.c, as a model).
 *
 * Only one CPU executes at a time. Each step the chooser picks a CPU that
 * can make progress; that CPU runs one slice of its current task:
 *
 *   emulated frame  →  cpu.run(quantum)        (instructions on Unicorn)
 *   ts frame        →  generator.next()        (TypeScript kernel code)
 *
 *                ┌────────── step ──────────────────────────────────────┐
 *   timers ──►   │ choose cpu ─► curr runnable? ─no─► choose task,      │
 *   (wake)       │                  │                  switch_to()      │
 *                │                  ▼                                   │
 *                │           run one slice of curr                      │
 *                │   quantum used ─► irq? (context sync) ─► preempt?    │
 *                │   service blocked ─► block / sleep / yield / call    │
 *                │   task returned ─► pop frame ─► deliver x0 or exit   │
 *                │   fault ─► oops: task killed, kernel goes on         │
 *                └──────────────────────────────────────────────────────┘
 *
 * Preemption is involuntary (a tick at quantum expiry or a preemption point
 * of a kthread, when preempt_count is 0) or voluntary (a blocking service,
 * msleep, cond_resched, schedule). Context-synchronising events for the
 * icache model: switch_to, a tick. A virtual clock advances 1 ns per
 * instruction of a full slice and a fixed cost otherwise; sleeping tasks
 * wake when it passes their deadline, and the clock jumps forward when every
 * CPU is idle.
 *
 * Every task call is also an AAPCS64 check: x19..x28 are seeded with
 * values unique to the task and register, and when the function returns to
 * a64bpf_task_return they, and SP, must be back. A JIT or trampoline that
 * loses a callee-saved register therefore oopses the task right there
 * ("abi" fault naming the register), instead of corrupting some caller later.
 *
 * Simplifications: one global run queue (FIFO order offered to the chooser),
 * no priorities or load balancing; migrate_disable pins a task to the CPU
 * it last ran on.
 */
import { EBUSY, EDEADLK, EINVAL, ETIMEDOUT } from "../errno.js";
import { KernelError } from "../errors.js";
import {
  CTX_FP,
  CTX_LR,
  CTX_PC,
  CTX_SP,
  newContext,
  type Cpu,
  type CpuContext,
  type StopReason,
} from "../machine/cpu.js";
import type { Fault } from "../machine/fault.js";
import type { Machine } from "../machine/machine.js";
import type { ChoicePoint, SchedChooser } from "./chooser.js";
import type { StackAllocator } from "./stacks.js";
import { Task, type Frame, type KGen, type SchedRequest } from "./task.js";

/** Cost, in virtual ns, of a slice that did not use its whole quantum. */
const SHORT_SLICE_NS = 100n;
/** Cost of one step of TypeScript kernel code. */
const TS_STEP_NS = 100n;

export interface SchedulerOptions {
  chooser: SchedChooser;
  stacks: StackAllocator;
  /** Address of the `a64bpf_task_return` stub: the return address of every task entry. */
  taskReturn: bigint;
  /** Quanta offered to the chooser, in instructions (default [100000]). */
  quanta?: readonly number[];
}

/** A scheduling event, for traces and timelines. */
export interface SchedEvent {
  t: bigint;
  cpu: number;
  pid: number;
  ev:
    "switch" | "slice" | "block" | "sleep" | "yield" | "preempt" | "wake" | "exit" | "irq" | "oops" | "call" | "return";
  detail?: string;
}

/** Scheduler counters at a quiescent point (Scheduler.quiescentState). */
export interface SchedQuiescentState {
  readonly now: bigint;
  readonly nextPid: number;
  readonly enqueueSeq: number;
}

/** Why runUntil stopped without its condition becoming true. */
export class SchedStallError extends KernelError {
  readonly blocked: readonly string[];

  constructor(errno: number, message: string, blocked: readonly string[]) {
    super(errno, blocked.length ? `${message}: ${blocked.join(", ")}` : message);
    this.blocked = blocked;
  }
}

export class Scheduler {
  readonly machine: Machine;
  readonly chooser: SchedChooser;
  /** Every task ever created that has not been reaped, in creation order. */
  readonly tasks: Task[] = [];
  /** Current task per CPU (undefined: idle). */
  readonly curr: (Task | undefined)[];
  /** Virtual time, ns. */
  now = 0n;
  /** Steps taken (statistics; bounded by runUntil's maxSteps). */
  steps = 0;
  /** fixup_exception(): return true when a fault was fixed up (the task goes on). */
  onFaultFixup: ((cpu: Cpu, fault: Fault) => boolean) | undefined;
  /** Called when a task oopses (after it is killed). */
  onOops: ((task: Task, fault: Fault) => void) | undefined;
  /** Event sink; undefined (the default) records nothing. */
  trace: ((ev: SchedEvent) => void) | undefined;

  readonly #stacks: StackAllocator;
  readonly #taskReturn: bigint;
  readonly #scratch = newContext();
  readonly #quanta: readonly number[];
  readonly #quantaLabels: readonly string[];
  readonly #runqueue: Task[] = [];
  readonly #sleepers: Task[] = [];
  /** The emulated frame whose registers each CPU currently holds. */
  readonly #loaded: (Frame | undefined)[];
  #nextPid = 1;
  #enqueueSeq = 0;

  constructor(machine: Machine, opts: SchedulerOptions) {
    this.machine = machine;
    this.chooser = opts.chooser;
    this.#stacks = opts.stacks;
    this.#taskReturn = opts.taskReturn;
    this.#quanta = opts.quanta ?? [100_000];
    if (this.#quanta.length === 0 || this.#quanta.some((q) => !Number.isInteger(q) || q < 1)) {
      throw new KernelError(EINVAL, `invalid quanta: ${this.#quanta.join(",")}`);
    }
    this.#quantaLabels = this.#quanta.map(String);
    this.curr = machine.cpus.map(() => undefined);
    this.#loaded = machine.cpus.map(() => undefined);
  }

  // --- task creation --------------------------------------------------------

  /** A kernel thread running TypeScript code (kthread_run). */
  spawnKthread(comm: string, body: KGen<bigint | void>): Task {
    const t = new Task(this.#nextPid++, comm, "kthread");
    t.stack = this.#stacks.alloc();
    t.frames.push({ kind: "ts", gen: body, resume: undefined, request: undefined });
    this.#add(t);
    return t;
  }

  /**
   * A task that calls the emulated function `fn(args...)` and exits with its
   * return value (x0).
   */
  spawnCall(comm: string, fn: bigint, args: readonly bigint[] = []): Task {
    const t = new Task(this.#nextPid++, comm, "emulated");
    t.stack = this.#stacks.alloc();
    t.frames.push(this.#callFrame(t, fn, args, t.stack.top, 0n));
    this.#add(t);
    return t;
  }

  /** Make a blocked or sleeping task runnable (the waker of wait queues). */
  wake(task: Task): void {
    if (task.state !== "blocked" && task.state !== "sleeping") return;
    if (task.state === "sleeping") {
      const i = this.#sleepers.indexOf(task);
      if (i >= 0) this.#sleepers.splice(i, 1);
    }
    task.waitReason = "";
    this.#enqueue(task);
    this.#emit(task.lastCpu, task, "wake");
  }

  /** Tasks not dead. */
  liveTasks(): Task[] {
    return this.tasks.filter((t) => t.state !== "dead");
  }

  /** Forget dead tasks (their stacks are already freed). */
  reap(): void {
    for (let i = this.tasks.length - 1; i >= 0; i--) if (this.tasks[i].state === "dead") this.tasks.splice(i, 1);
  }

  // --- reset at a quiescent point (race explorer) -------------------------------

  /**
   * The scheduler's counters at a quiescent point: no task on a CPU, none
   * runnable or sleeping (every live task blocked). With
   * {@link restoreQuiescent} a user that brings every other subsystem back
   * to the same point (the race explorer, between schedules) gets the same
   * pids, clock and run-queue order as the first time: a schedule replays
   * bit for bit without booting again. EBUSY when not quiescent.
   */
  quiescentState(): SchedQuiescentState {
    this.#assertQuiescent("quiescentState");
    return { now: this.now, nextPid: this.#nextPid, enqueueSeq: this.#enqueueSeq };
  }

  /** Reap dead tasks and restore the counters of {@link quiescentState}; EBUSY when not quiescent. */
  restoreQuiescent(s: SchedQuiescentState): void {
    this.#assertQuiescent("restoreQuiescent");
    this.reap();
    this.now = s.now;
    this.#nextPid = s.nextPid;
    this.#enqueueSeq = s.enqueueSeq;
  }

  /**
   * Registers of `task`'s innermost emulated frame: read from its CPU when
   * that frame is the one loaded there (a running task's newest state),
   * else its saved context. Undefined for a task without emulated frames.
   */
  taskContext(task: Task): CpuContext | undefined {
    const f = task.topEmu;
    if (!f) return undefined;
    if (task.cpu >= 0 && this.#loaded[task.cpu] === f) return this.machine.cpu(task.cpu).saveContext();
    return f.ctx;
  }

  #assertQuiescent(what: string): void {
    const busy = this.curr.some((t) => t !== undefined) || this.#runqueue.length > 0 || this.#sleepers.length > 0;
    if (busy || this.tasks.some((t) => t.state !== "dead" && t.state !== "blocked")) {
      throw new KernelError(EBUSY, `${what}: the scheduler is not quiescent`);
    }
  }

  // --- running ----------------------------------------------------------------

  /**
   * Step until `cond()` holds. Throws SchedStallError when nothing can run
   * any more (every task blocked: EDEADLK) or the step budget / wall-clock
   * deadline is exhausted (ETIMEDOUT).
   */
  runUntil(cond: () => boolean, opts: { maxSteps?: number; wallMs?: number } = {}): void {
    const maxSteps = opts.maxSteps ?? Number.MAX_SAFE_INTEGER;
    const deadline = opts.wallMs === undefined ? Infinity : Date.now() + opts.wallMs;
    let n = 0;
    while (!cond()) {
      if (n++ >= maxSteps) throw new SchedStallError(ETIMEDOUT, `no progress after ${maxSteps} steps`, this.#waiting());
      if ((n & 255) === 0 && Date.now() > deadline) {
        throw new SchedStallError(ETIMEDOUT, `wall-clock deadline of ${opts.wallMs} ms exceeded`, this.#waiting());
      }
      if (!this.step()) {
        if (cond()) return;
        throw new SchedStallError(EDEADLK, "every task is blocked", this.#waiting());
      }
    }
  }

  /** One scheduling step. Returns false when no task can ever run again. */
  step(): boolean {
    this.steps++;
    this.#wakeTimers();
    let cpus = this.#activeCpus();
    if (cpus.length === 0) {
      if (this.#sleepers.length === 0) return false;
      let next = this.#sleepers[0].wakeAt;
      for (const t of this.#sleepers) if (t.wakeAt < next) next = t.wakeAt;
      this.now = next;
      this.#wakeTimers();
      cpus = this.#activeCpus();
      if (cpus.length === 0) return false;
    }
    const labels = cpus.map((c) => `cpu${c}:${this.curr[c]?.pid ?? "idle"}`);
    const cpu = cpus[this.#choose({ kind: "cpu", options: labels })];
    let task = this.curr[cpu];
    if (!task) {
      task = this.#pickNext(cpu);
      if (!task) return true;
      this.#switchTo(cpu, task);
    }
    const top = task.top;
    if (!top) {
      this.#exit(cpu, task, undefined);
    } else if (top.kind === "emu") {
      this.#runEmu(cpu, task, top);
    } else {
      this.#runTs(cpu, task, top);
    }
    return true;
  }

  // --- internals --------------------------------------------------------------

  #choose(point: ChoicePoint): number {
    if (point.options.length <= 1) return 0;
    const i = this.chooser.choose(point);
    if (!Number.isInteger(i) || i < 0 || i >= point.options.length) {
      throw new KernelError(EINVAL, `chooser returned ${i} for a ${point.kind} choice of ${point.options.length}`);
    }
    return i;
  }

  #add(t: Task): void {
    this.tasks.push(t);
    this.#enqueue(t);
  }

  #enqueue(t: Task): void {
    t.state = "runnable";
    t.enqueueSeq = this.#enqueueSeq++;
    this.#runqueue.push(t);
  }

  #eligible(t: Task, cpu: number): boolean {
    return t.migrateDisable === 0 || t.lastCpu === cpu || t.lastCpu < 0;
  }

  #activeCpus(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.curr.length; c++) {
      const t = this.curr[c];
      if (t) out.push(c);
      else if (this.#runqueue.some((r) => this.#eligible(r, c))) out.push(c);
    }
    return out;
  }

  #pickNext(cpu: number): Task | undefined {
    const cands = this.#runqueue.filter((t) => this.#eligible(t, cpu));
    if (cands.length === 0) return undefined;
    const t = cands[this.#choose({ kind: "task", options: cands.map(String), cpu })];
    this.#runqueue.splice(this.#runqueue.indexOf(t), 1);
    return t;
  }

  #switchTo(cpu: number, next: Task): void {
    next.cpu = cpu;
    next.lastCpu = cpu;
    next.state = "running";
    next.preempted = false;
    this.curr[cpu] = next;
    // A context switch is a context-synchronising event on this CPU.
    this.machine.contextSync(cpu);
    this.#emit(cpu, next, "switch");
  }

  /** Take `task` off `cpu`, saving its live registers. */
  #putPrev(cpu: number, task: Task): void {
    const f = this.#loaded[cpu];
    if (f && f === task.topEmu) {
      this.machine.cpu(cpu).saveContext(f.ctx);
    }
    this.#loaded[cpu] = undefined;
    this.curr[cpu] = undefined;
    task.cpu = -1;
  }

  #runEmu(cpu: number, task: Task, frame: Frame & { kind: "emu" }): void {
    const c = this.machine.cpu(cpu);
    if (this.#loaded[cpu] !== frame) {
      c.loadContext(frame.ctx);
      this.#loaded[cpu] = frame;
    }
    const qi = this.#choose({ kind: "quantum", options: this.#quantaLabels, cpu });
    const quantum = this.#quanta[qi];
    const r: StopReason = c.run({ quantum });
    switch (r.kind) {
      case "quantum": {
        this.now += BigInt(quantum);
        this.#emit(cpu, task, "slice");
        if (this.#choose({ kind: "irq", options: ["none", "tick"], cpu }) === 1) {
          // Timer interrupt: exception entry and return synchronise the context.
          this.machine.contextSync(cpu);
          this.#emit(cpu, task, "irq");
          this.#maybePreempt(cpu, task);
        }
        return;
      }
      case "returned":
        this.now += SHORT_SLICE_NS;
        this.#returnFromFrame(cpu, task, c.x(0));
        return;
      case "hypercall": {
        this.now += SHORT_SLICE_NS;
        if (r.nr === TASK_RETURN_NR) {
          // One batched read serves the AAPCS64 check and the return value.
          const regs = c.saveContext(this.#scratch);
          const broken = frame.entry && this.#calleeSavedBroken(c, regs, task, frame.entry);
          if (broken) {
            this.#oops(cpu, task, c.buildFault("abi", { detail: broken, leaf: true }));
            return;
          }
          this.#returnFromFrame(cpu, task, regs[0]);
          return;
        }
        // A service blocked: its generator is the new top frame.
        const f = this.#loaded[cpu];
        if (f?.kind === "emu") c.saveContext(f.ctx);
        this.#loaded[cpu] = undefined;
        const top = task.top;
        if (top?.kind === "ts" && top.request) {
          const req = top.request;
          top.request = undefined;
          this.#handleRequest(cpu, task, req);
        }
        return;
      }
      case "fault":
        this.now += SHORT_SLICE_NS;
        if (this.onFaultFixup?.(c, r.fault)) return;
        this.#oops(cpu, task, r.fault);
        return;
    }
  }

  #runTs(cpu: number, task: Task, frame: Frame & { kind: "ts" }): void {
    this.now += TS_STEP_NS;
    if (frame.request) {
      const req = frame.request;
      frame.request = undefined;
      this.#handleRequest(cpu, task, req);
      return;
    }
    const resume = frame.resume;
    frame.resume = undefined;
    let res: IteratorResult<SchedRequest, bigint | void>;
    try {
      res = frame.gen.next(resume);
    } catch (err) {
      // A TypeScript kernel bug: report it like an oops of this task.
      const fault = this.machine.cpu(cpu).buildFault("bug", {
        detail: `${task.comm}: ${err instanceof Error ? err.message : String(err)}`,
      });
      this.#oops(cpu, task, fault, err);
      return;
    }
    if (res.done) {
      task.frames.pop();
      this.#deliver(cpu, task, res.value === undefined ? undefined : BigInt.asUintN(64, res.value));
      return;
    }
    this.#handleRequest(cpu, task, res.value);
  }

  #handleRequest(cpu: number, task: Task, req: SchedRequest): void {
    switch (req.op) {
      case "block":
        task.waitReason = req.reason;
        this.#voluntary(cpu, task, "block");
        task.state = "blocked";
        req.wq.enqueue(task, (t) => this.wake(t));
        return;
      case "sleep":
        task.waitReason = req.reason;
        this.#voluntary(cpu, task, "sleep");
        task.state = "sleeping";
        task.wakeAt = this.now + (req.ns > 0n ? req.ns : 1n);
        this.#sleepers.push(task);
        return;
      case "yield":
        if (req.voluntary) {
          this.#voluntary(cpu, task, "yield");
          this.#enqueue(task);
        } else {
          this.#maybePreempt(cpu, task);
        }
        return;
      case "call": {
        const below = task.topEmu;
        const sp = below ? below.ctx[CTX_SP] : (task.stack?.top ?? 0n);
        const fp = below ? below.ctx[CTX_FP] : 0n;
        task.frames.push(this.#callFrame(task, req.fn, req.args, sp, fp));
        this.#emit(cpu, task, "call", `0x${req.fn.toString(16)}`);
        return;
      }
    }
  }

  /** A voluntary context switch: the task leaves the CPU (rcu_note_context_switch). */
  #voluntary(cpu: number, task: Task, ev: "block" | "sleep" | "yield"): void {
    this.#putPrev(cpu, task);
    task.nvcsw++;
    task.rcuTasksQs++;
    this.#emit(cpu, task, ev, task.waitReason || undefined);
  }

  #maybePreempt(cpu: number, task: Task): void {
    if (task.preemptCount > 0) return;
    if (!this.#runqueue.some((t) => this.#eligible(t, cpu))) return;
    if (this.#choose({ kind: "preempt", options: ["stay", "switch"], cpu }) !== 1) return;
    this.#putPrev(cpu, task);
    task.nivcsw++;
    task.preempted = true;
    this.#enqueue(task);
    this.#emit(cpu, task, "preempt");
  }

  #returnFromFrame(cpu: number, task: Task, value: bigint): void {
    const f = task.frames.pop();
    if (f && this.#loaded[cpu] === f) this.#loaded[cpu] = undefined;
    this.#emit(cpu, task, "return");
    this.#deliver(cpu, task, value);
  }

  /** Hand a frame's result to the frame below, or exit. */
  #deliver(cpu: number, task: Task, value: bigint | undefined): void {
    const below = task.top;
    if (!below) {
      this.#exit(cpu, task, value);
      return;
    }
    if (below.kind === "ts") {
      below.resume = value;
    } else if (value !== undefined) {
      below.ctx[0] = value;
      if (this.#loaded[cpu] === below) this.machine.cpu(cpu).setX(0, value);
    }
  }

  #exit(cpu: number, task: Task, value: bigint | undefined): void {
    this.#putPrev(cpu, task);
    task.state = "dead";
    task.exitValue = value;
    if (task.stack) this.#stacks.free(task.stack);
    task.stack = undefined;
    this.#emit(cpu, task, "exit", value === undefined ? undefined : `0x${value.toString(16)}`);
  }

  #oops(cpu: number, task: Task, fault: Fault, cause?: unknown): void {
    fault.task = { pid: task.pid, comm: task.comm };
    task.oops = fault;
    this.#emit(cpu, task, "oops", fault.kind);
    this.#loaded[cpu] = undefined;
    this.#exit(cpu, task, undefined);
    task.frames.length = 0;
    this.onOops?.(task, fault);
    void cause;
  }

  #wakeTimers(): void {
    if (this.#sleepers.length === 0) return;
    const due = this.#sleepers.filter((t) => t.wakeAt <= this.now);
    for (const t of due) this.wake(t);
  }

  /** An emulated frame calling `fn(args...)` with its stack below `sp`. */
  #callFrame(task: Task, fn: bigint, args: readonly bigint[], sp: bigint, fp: bigint): Frame & { kind: "emu" } {
    const ctx = newContext();
    const stackArgs = args.slice(8);
    // AAPCS64: x0..x7, then 8-byte stack slots from [sp], sp 16-byte aligned.
    let newSp = (sp - 64n) & ~0xfn;
    newSp = (newSp - BigInt(stackArgs.length * 8)) & ~0xfn;
    const mem = this.machine.memory;
    stackArgs.forEach((v, i) => mem.write64(newSp + BigInt(i * 8), v));
    for (let i = 0; i < Math.min(args.length, 8); i++) ctx[i] = BigInt.asUintN(64, args[i]);
    for (let r = CALLEE_SAVED_FIRST; r <= CALLEE_SAVED_LAST; r++) ctx[r] = calleeSavedSeed(task.pid, r);
    ctx[CTX_SP] = newSp;
    ctx[CTX_FP] = fp;
    ctx[CTX_LR] = this.#taskReturn;
    ctx[CTX_PC] = fn;
    return { kind: "emu", ctx, entry: { fn, sp: newSp } };
  }

  /** What a returning task call failed to preserve, or undefined when x19..x28 and SP are intact. */
  #calleeSavedBroken(c: Cpu, v: CpuContext, task: Task, entry: { fn: bigint; sp: bigint }): string | undefined {
    const bad: string[] = [];
    for (let r = CALLEE_SAVED_FIRST; r <= CALLEE_SAVED_LAST; r++) {
      const want = calleeSavedSeed(task.pid, r);
      if (v[r] !== want) bad.push(`x${r} = 0x${v[r].toString(16)} (was 0x${want.toString(16)})`);
    }
    if (v[CTX_SP] !== entry.sp) bad.push(`sp = 0x${v[CTX_SP].toString(16)} (was 0x${entry.sp.toString(16)})`);
    if (bad.length === 0) return undefined;
    const name = c.symbolize(entry.fn) ?? `0x${entry.fn.toString(16)}`;
    return `${name} returned with ${bad.join(", ")}`;
  }

  #waiting(): string[] {
    return this.liveTasks()
      .filter((t) => t.state === "blocked" || t.state === "sleeping")
      .map((t) => `${t} ${t.state} on ${t.waitReason || "?"}`);
  }

  #emit(cpu: number, task: Task, ev: SchedEvent["ev"], detail?: string): void {
    this.trace?.({ t: this.now, cpu, pid: task.pid, ev, detail });
  }
}

const CALLEE_SAVED_FIRST = 19;
const CALLEE_SAVED_LAST = 28;

/**
 * The value x`reg` (19..28) holds when a task call starts: distinct per task
 * and register, so that a swapped pair or another task's value is caught too.
 */
export function calleeSavedSeed(pid: number, reg: number): bigint {
  return 0xa64b_c5a0_0000_0000n | (BigInt(pid & 0xffff) << 16n) | BigInt(reg);
}

/**
 * longjmp() to the end of the running task call: callee-saved registers
 * and SP as they were at its entry, lr = `taskReturn`, so that the next
 * `ret` (e.g. of the service stub being executed) finishes the call with
 * the current x0, as if the called function had returned. For test helpers
 * that abandon a program midway (the conformance suite's unwind helper).
 */
export function longjmpTaskCall(cpu: Cpu, task: Task, taskReturn: bigint): void {
  const entry = task.topEmu?.entry;
  if (!entry) throw new KernelError(EINVAL, `${task.comm}: no task call to unwind`);
  for (let r = CALLEE_SAVED_FIRST; r <= CALLEE_SAVED_LAST; r++) cpu.setX(r, calleeSavedSeed(task.pid, r));
  cpu.sp = entry.sp;
  cpu.setX(30, taskReturn);
}

/** svc number of `a64bpf_task_return` (runtime/kernel/services/table.ts). */
export const TASK_RETURN_NR = 0x01;
