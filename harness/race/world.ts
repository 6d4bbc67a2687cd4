/**
 * A race world: one booted kernel set up for one scenario (module loaded,
 * programs JITed, targets resolved), checkpointed at a quiescent point, and
 * the runner of single schedules on it.
 *
 *   RaceWorld.create(scenario, {cpus, faults})
 *     boot (bpf_testmod + race_target.c) ─► JIT programs ─► settle ─► checkpoint
 *
 *   world.runSchedule(chooser)
 *     restore checkpoint ─► spawn callers (C loops) and controllers (kthreads)
 *       ─► run until they are done or a detector fires   (watchdog: maxSteps)
 *       ─► drain: grace periods, percpu_ref, workqueue    (watchdog again)
 *       ─► checks: every image freed (trampoline stats, text pool, kallsyms),
 *          no call lost (counters, return values), fexit saw right values
 *
 * Every scheduling decision of a schedule goes to the chooser given to
 * runSchedule (set-up uses a fixed one); nothing else is nondeterministic,
 * so the same chooser answers give the same run, bit for bit.
 */
import { join } from "node:path";
import { EFAULT, EINVAL } from "../../runtime/errno.js";
import { BpfError, KernelError } from "../../runtime/errors.js";
import { bootKernel, type KernelImages } from "../../runtime/kernel/boot.js";
import type { ChoicePoint, SchedChooser } from "../../runtime/kernel/chooser.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";
import type { KernelEvent } from "../../runtime/kernel/ktrace.js";
import { SchedStallError, type SchedEvent } from "../../runtime/kernel/sched.js";
import type { KGen, Task } from "../../runtime/kernel/task.js";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { btfDistillFuncProto } from "../../runtime/tramp/func_model.js";
import { TextPokeError } from "../../runtime/tramp/text_poke.js";
import {
  bpfTracingLinkRelease,
  bpfTracingProgAttach,
  TrampolineTable,
  type BpfTrampLink,
  type TrampTarget,
} from "../../runtime/tramp/trampoline.js";
import { isQuiescent, kernelCheckpoint, kernelRestore, type KernelCheckpoint } from "./checkpoint.js";
import { Detectors } from "./detectors.js";
import { loadRaceProg, type RaceProg } from "./progs.js";
import type { CallerSpec, ControllerSpec, ProgSpec, Scenario } from "./scenarios/types.js";
import type { Violation } from "./violation.js";

/** The C test module of the scenarios. */
export const RACE_MODULE = join(PROJECT_ROOT, "harness", "race", "modules", "race_target.c");
/** RACE_MAX_CALLERS of race_target.c. */
const RACE_MAX_CALLERS = 8;
/** Default watchdog budget (scheduler steps) of each phase. */
const DEFAULT_MAX_STEPS = 200_000;

/** Options of {@link RaceWorld.create}. */
export interface WorldOptions {
  /** CPUs (default: the scenario's). */
  cpus?: number;
  /** Fault-injection switches to turn on. */
  faults?: readonly string[];
}

/** Observers of one schedule (timeline recording), and how far it runs. */
export interface ScheduleObservers {
  onSched?: (ev: SchedEvent) => void;
  onKernel?: (ev: KernelEvent) => void;
  /**
   * Go on after the first violation (until the tasks are done or the
   * watchdog fires) and collect every violation in ScheduleResult.all:
   * shows what the first one leads to (a task freed while inside an image
   * goes on to execute freed text).
   */
  continueAfterViolation?: boolean;
}

/** What one schedule did. */
export interface ScheduleResult {
  readonly violation: Violation | undefined;
  /** Every violation reported (more than one only with continueAfterViolation). */
  readonly all: readonly Violation[];
  /** Scheduler steps taken. */
  readonly steps: number;
  /** Virtual time at the end, ns. */
  readonly t: bigint;
  readonly imagesAllocated: number;
  readonly imagesFreed: number;
  /** Calls made by all callers. */
  readonly calls: number;
  /** Program runs (all programs). */
  readonly progRuns: number;
  /** Tasks that took part (callers, controllers, kthreads that ran). */
  readonly tasks: number;
  /** "comm/pid" of every task of the kernel during the schedule, by pid. */
  readonly taskNames: ReadonlyMap<number, string>;
}

/** Forwards every decision to a chooser that can be swapped between schedules. */
class SwitchChooser implements SchedChooser {
  inner: SchedChooser = { choose: () => 0 };

  choose(point: ChoicePoint): number {
    return this.inner.choose(point);
  }
}

/** The resolved pieces of one program of the scenario. */
interface WorldProg {
  readonly spec: ProgSpec;
  readonly prog: RaceProg;
  readonly target?: TrampTarget;
}

/** One booted, set-up kernel for one scenario, and the runner of its schedules. */
export class RaceWorld {
  readonly scenario: Scenario;
  readonly k: Kernel;
  readonly images: KernelImages;
  readonly cpus: number;
  readonly faults: readonly string[];
  readonly progs = new Map<string, WorldProg>();
  readonly detectors: Detectors;
  /** Schedules run on this kernel. */
  schedules = 0;
  readonly #chooser: SwitchChooser;
  readonly #checkpoint: KernelCheckpoint;
  readonly #ctxBufs: bigint[] = [];
  /** Every instruction a scenario's attach can patch (function entries, program patch sites). */
  readonly #patchSites: bigint[] = [];
  #observers: ScheduleObservers = {};
  /** Live kmalloc objects at the checkpoint. */
  #slabLive = 0;
  /** Set when a schedule left the kernel in a state restore cannot undo. */
  #dirty = false;

  private constructor(scenario: Scenario, opts: WorldOptions) {
    this.scenario = scenario;
    this.cpus = opts.cpus ?? scenario.cpus;
    this.faults = [...(opts.faults ?? [])];
    this.#chooser = new SwitchChooser();
    const { kernel, images } = bootKernel({
      cpus: this.cpus,
      chooser: this.#chooser,
      quanta: scenario.quanta,
      faults: this.faults,
      kworkers: 1,
      // Reads of freed trampoline or program text are use-after-free too.
      kasanText: true,
    });
    this.k = kernel;
    this.images = images;
    try {
      images.loadModule([RACE_MODULE]);
      this.#setupProgs();
      for (let i = 0; i < scenario.callers.length; i++) this.#ctxBufs.push(kernel.slab.kzalloc(64));
      this.detectors = new Detectors(kernel);
      kernel.ktrace.listen((ev) => {
        this.detectors.onEvent(ev);
        this.#observers.onKernel?.(ev);
      });
      kernel.sched.runUntil(() => isQuiescent(kernel), { maxSteps: DEFAULT_MAX_STEPS });
      this.#checkpoint = kernelCheckpoint(kernel);
      this.#slabLive = kernel.slab.live;
    } catch (err) {
      kernel.close();
      throw err;
    }
  }

  /** Boot a kernel for `scenario` and set it up (about 50 ms, plus a module build the first time). */
  static create(scenario: Scenario, opts: WorldOptions = {}): RaceWorld {
    validateScenario(scenario);
    return new RaceWorld(scenario, opts);
  }

  /** A schedule left state that cannot be reset (after most violations): make a new world. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Release the kernel (Unicorn instances and emulated memory). */
  close(): void {
    this.k.close();
  }

  #setupProgs(): void {
    const k = this.k;
    const loaded = new Map<string, RaceProg>();
    for (const spec of this.scenario.progs) loaded.set(spec.name, loadRaceProg(k, spec));
    // prog->aux->id: in load order, from 1.
    const progIds = new Map(this.scenario.progs.map((p, i) => [p.name, i + 1]));
    for (const spec of this.scenario.progs) {
      const prog = loaded.get(spec.name) as RaceProg;
      let target: TrampTarget | undefined;
      if (spec.target && "func" in spec.target) {
        const f = this.images.func(spec.target.func);
        target = {
          kind: "kernel",
          name: f.name,
          addr: f.addr,
          model: btfDistillFuncProto(f.btf, f.name),
          btfObjId: f.btfObjId,
          btfId: f.btfId,
        };
      } else if (spec.target) {
        const tp = loaded.get(spec.target.prog) as RaceProg;
        target = {
          kind: "prog",
          name: tp.name,
          addr: tp.jited.bpfFunc,
          model: {
            name: tp.name,
            args: [{ name: "ctx", typeName: "void *", kind: "ptr", size: 8, align: 8, signed: false }],
            retSize: 4,
            retSigned: false,
          },
          progId: progIds.get(tp.name) as number,
          btfId: 1,
        };
      }
      this.progs.set(spec.name, { spec, prog, target });
      // Kernel functions: the two patchable nops; programs: `mov x9, x30` and the nop at POKE_OFFSET.
      if (target && !this.#patchSites.includes(target.addr)) this.#patchSites.push(target.addr, target.addr + 4n);
    }
  }

  /**
   * Run one schedule with `chooser` making every decision. Throws
   * KernelError(EBUSY) when the previous schedule left the kernel dirty.
   */
  runSchedule(chooser: SchedChooser, observers: ScheduleObservers = {}): ScheduleResult {
    if (this.#dirty) throw new KernelError(EINVAL, "race world is dirty after a violation: create a new one");
    const k = this.k;
    // A CPU that translated a patch site in an earlier schedule would run that
    // translation until its next context synchronisation, where a freshly
    // booted kernel's CPU would translate the site anew: drop every patch
    // site the scenario can poke, and every site poked without cache
    // maintenance (ip_after_call of old images is fresh text each time).
    const stale = [...this.detectors.pokes].filter(([, list]) => list.some((p) => !p.synced)).map(([a]) => a);
    kernelRestore(this.#checkpoint, [...this.#patchSites, ...stale]);
    this.detectors.reset();
    this.#observers = observers;
    const step0 = k.sched.steps;
    this.#chooser.inner = chooser;
    this.schedules++;
    const table = new TrampolineTable(k);
    const spawned: Task[] = [];
    const callers = this.scenario.callers.map((c, id) => {
      const t = this.#spawnCaller(c, id);
      spawned.push(t);
      return t;
    });
    for (const c of this.scenario.controllers) spawned.push(this.#spawnController(table, c));
    const maxSteps = this.scenario.maxSteps ?? DEFAULT_MAX_STEPS;
    const det = this.detectors;
    const ran = new Set<number>();
    const onSched = observers.onSched;
    k.sched.trace = (ev) => {
      ran.add(ev.pid);
      onSched?.(ev);
    };
    try {
      const stop = () => det.violation !== undefined && observers.continueAfterViolation !== true;
      this.#phase("run", () => stop() || spawned.every((t) => t.state === "dead"), maxSteps);
      if (!det.violation) this.#phase("drain", () => stop() || isQuiescent(k), maxSteps);
      if (!det.violation) this.#checkEnd(table, callers);
    } catch (err) {
      // Not a detector's report but an error of the harness or the kernel model: nothing to reset to.
      this.#dirty = true;
      throw err;
    } finally {
      k.sched.trace = undefined;
      this.#observers = {};
      this.#chooser.inner = { choose: () => 0 };
    }
    if (det.violation || !isQuiescent(k)) this.#dirty = true;
    return {
      violation: det.violation,
      all: [...det.all],
      steps: k.sched.steps - step0,
      t: k.sched.now,
      imagesAllocated: det.imagesAllocated,
      imagesFreed: det.imagesFreed,
      calls: this.scenario.callers.reduce((a, c) => a + c.calls, 0),
      progRuns: [...this.progs.values()].reduce((a, p) => a + Number(k.machine.memory.read64(p.prog.runsAddr)), 0),
      tasks: ran.size,
      taskNames: new Map(k.sched.tasks.map((t) => [t.pid, String(t)])),
    };
  }

  /** Step until `done`, turning scheduler stalls into deadlock / livelock violations. */
  #phase(name: string, done: () => boolean, maxSteps: number): void {
    try {
      this.k.sched.runUntil(done, { maxSteps });
    } catch (err) {
      if (!(err instanceof SchedStallError)) throw err;
      const deadlock = err.message.includes("every task is blocked");
      const stuck = this.k.sched
        .liveTasks()
        .filter((t) => t.kind === "emulated" || !/^(rcu_|kworker)/.test(t.comm) || t.state !== "blocked")
        .map((t) => `${t} ${t.state}${t.waitReason ? ` on ${t.waitReason}` : ""}`);
      this.detectors.report({
        kind: deadlock ? "deadlock" : "livelock",
        message: deadlock
          ? `${name}: every task is blocked before the scenario finished`
          : `${name}: no end after ${maxSteps} scheduler steps (a task never returns)`,
        details: stuck.length ? [`tasks: ${stuck.join(", ")}`] : undefined,
      });
    }
  }

  #spawnCaller(c: CallerSpec, id: number): Task {
    const k = this.k;
    const args = [BigInt(id), BigInt(c.calls), c.gated ? 1n : 0n];
    if (c.fn === "race_call_prog") {
      const p = this.progs.get(c.prog ?? "");
      if (!p) throw new KernelError(EINVAL, `caller ${c.comm}: unknown program ${c.prog}`);
      args.push(p.prog.jited.bpfFunc, this.#ctxBufs[id]);
    }
    return k.sched.spawnCall(c.comm, k.symbolAddress(c.fn), args);
  }

  #spawnController(table: TrampolineTable, spec: ControllerSpec): Task {
    let self: Task | undefined;
    const gen = this.#controller(table, spec, () => self as Task);
    self = this.k.sched.spawnKthread(spec.comm.slice(0, 15), gen);
    return self;
  }

  *#controller(table: TrampolineTable, spec: ControllerSpec, self: () => Task): KGen<void> {
    const links = new Map<string, BpfTrampLink>();
    const task = self();
    try {
      for (let r = 0; r < (spec.repeat ?? 1); r++) {
        for (const step of spec.steps) {
          if (this.detectors.violation) return;
          switch (step.op) {
            case "attach": {
              const p = this.progs.get(step.prog) as WorldProg;
              const link = yield* bpfTracingProgAttach(
                table,
                task,
                p.prog.tramp,
                p.spec.kind ?? "fentry",
                p.target as TrampTarget,
              );
              links.set(step.prog, link);
              break;
            }
            case "detach": {
              const link = links.get(step.prog);
              if (link) yield* bpfTracingLinkRelease(table, task, link);
              links.delete(step.prog);
              break;
            }
            case "pause":
              yield { op: "sleep", ns: BigInt(step.ns), reason: "pause" };
              break;
            case "yield":
              yield { op: "yield", voluntary: false };
              break;
            case "open-gate":
              this.k.machine.memory.write32(this.k.symbolAddress("race_gate"), 1);
              break;
          }
        }
      }
    } catch (err) {
      const e = err as BpfError;
      const mismatch = err instanceof TextPokeError || /expected 0x/.test(e.message ?? "");
      this.detectors.report({
        kind: mismatch && e.errno === EFAULT ? "text-poke-mismatch" : "control-error",
        message: `${spec.comm}: ${e.message ?? String(err)}`,
        cpu: task.cpu,
        task: String(task),
      });
    }
  }

  /** After the drain: leaks and lost calls. */
  #checkEnd(table: TrampolineTable, callers: readonly Task[]): void {
    const k = this.k;
    const det = this.detectors;
    const leaks: string[] = [];
    if (table.stats.imagesAllocated !== table.stats.imagesFreed)
      leaks.push(`trampoline images: ${table.stats.imagesAllocated} allocated, ${table.stats.imagesFreed} freed`);
    if (table.all().length > 0) leaks.push(`trampolines still registered: ${table.all().map((t) => t.target.name)}`);
    const liveTramps = [k.bpfText, k.farBpfText].flatMap((p) =>
      p.live().filter((a) => a.name.startsWith("bpf_trampoline_")),
    );
    if (liveTramps.length) leaks.push(`trampoline text still allocated: ${liveTramps.map((a) => a.name).join(", ")}`);
    const ksyms = k.kallsyms.bpfSymbols().filter((s) => s.name.startsWith("bpf_trampoline_"));
    if (ksyms.length) leaks.push(`kallsyms still lists: ${ksyms.map((s) => s.name).join(", ")}`);
    if (k.slab.live !== this.#slabLive)
      leaks.push(
        `kernel heap: ${k.slab.live} live objects, ${this.#slabLive} before the schedule (struct bpf_tramp_image)`,
      );
    if (leaks.length) {
      det.report({ kind: "leak", message: leaks[0], details: leaks.slice(1) });
      return;
    }
    const mem = k.machine.memory;
    const calls = k.symbolAddress("race_calls");
    const body = k.symbolAddress("race_body");
    const progCalls = new Map<string, number>();
    this.scenario.callers.forEach((c, id) => {
      const task = callers[id];
      const made = Number(mem.read64(calls + BigInt(8 * id)));
      const ok = Number(task.exitValue ?? -1n);
      // race_call_prog: the target program counts its own runs (checked per program below).
      const ran = c.fn === "race_call_prog" ? c.calls : Number(mem.read64(body + BigInt(8 * id)));
      if (c.prog) progCalls.set(c.prog, (progCalls.get(c.prog) ?? 0) + c.calls);
      if (made !== c.calls || ran !== c.calls || ok !== c.calls) {
        det.report({
          kind: "lost-call",
          message: `${task}: ${c.calls} calls expected, ${made} made, body ran ${ran} times, ${ok} returned the right value`,
          task: String(task),
        });
      }
    });
    for (const [name, n] of progCalls) {
      const runs = Number(mem.read64(this.progs.get(name)?.prog.runsAddr ?? 0n));
      if (runs !== n) det.report({ kind: "lost-call", message: `${name}: ran ${runs} times for ${n} calls` });
    }
    for (const p of this.progs.values()) {
      const errors = mem.read64(p.prog.errorsAddr);
      if (errors !== 0n) {
        det.report({ kind: "lost-call", message: `${p.spec.name} saw ${errors} wrong return values in fexit` });
      }
    }
    if (k.textMutex.owner) det.report({ kind: "deadlock", message: `text_mutex still held by ${k.textMutex.owner}` });
  }
}

/** Static checks: names resolve, callers fit race_target.c, attach/detach balance per repeat. */
export function validateScenario(s: Scenario): void {
  const fail = (msg: string): never => {
    throw new BpfError(EINVAL, `scenario ${s.name}: ${msg}`);
  };
  if (s.callers.length > RACE_MAX_CALLERS) fail(`at most ${RACE_MAX_CALLERS} callers`);
  if (s.quanta.length === 0) fail("no quanta");
  const names = new Set(s.progs.map((p) => p.name));
  for (const p of s.progs) {
    if (p.target && "prog" in p.target && !names.has(p.target.prog)) fail(`${p.name}: unknown target ${p.target.prog}`);
    if (p.body !== "target" && (!p.kind || !p.target)) fail(`${p.name}: needs a kind and a target`);
  }
  for (const c of s.callers) {
    if (c.fn === "race_call_prog" && !names.has(c.prog ?? "")) fail(`${c.comm}: unknown program ${c.prog}`);
    if (!Number.isInteger(c.calls) || c.calls < 1) fail(`${c.comm}: invalid call count ${c.calls}`);
  }
  const opens = s.controllers.some((ctl) => ctl.steps.some((st) => st.op === "open-gate"));
  if (s.callers.some((c) => c.gated) && !opens) fail("gated callers but no controller opens the gate");
  for (const ctl of s.controllers) {
    const attached = new Set<string>();
    for (const st of ctl.steps) {
      if ((st.op === "attach" || st.op === "detach") && !names.has(st.prog)) fail(`${ctl.comm}: unknown ${st.prog}`);
      if (st.op === "attach") attached.add(st.prog);
      if (st.op === "detach" && !attached.delete(st.prog)) fail(`${ctl.comm}: detach of ${st.prog} before attach`);
    }
    if (attached.size) fail(`${ctl.comm}: ${[...attached].join(", ")} never detached`);
  }
}
