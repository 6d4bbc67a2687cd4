/**
 * Worker processes, the dispatcher and the watchdog.
 *
 * Models server_main()/dispatch_thread() and the watchdog timer of
 * tools/testing/selftests/bpf/test_progs.c. Tests run in forked Node
 * processes (one per worker, reused across tests) so that a test stuck in
 * synchronous emulation can be stopped: the parent arms a timer when the
 * worker starts a test (worker start-up does not count), re-armed at every
 * subtest start as test__start_subtest() does, and
 *
 *   after notifySecs   prints "WATCHDOG: test case T executes for N seconds..."
 *   after watchdogSecs prints "WATCHDOG: test case T executes for N seconds,
 *                      terminating with SIGKILL", kills the worker, records the
 *                      line in the test's log, fails the test (or its running
 *                      subtest) and goes on with a fresh worker.
 *
 * The kernel's watchdog sends SIGSEGV to its own thread instead and the
 * crash handler ends test_progs; here only the worker dies and the run
 * continues. A worker that exits while running a test fails that test the
 * same way. A worker that dies before it reports ready is a setup error.
 *
 *        parent                       slot 0 ── worker process (reused)
 *   ┌──────────────┐  do_test #3   ┌───────────────┐
 *   │ queue: 4 5 6 │ ────────────► │ runOneTest(3) │
 *   │ timer slot 0 │ ◄──── events  └───────────────┘
 *   └──────────────┘
 */
import { fork, type ChildProcess } from "node:child_process";
import type { TestDef } from "./discover.js";
import { SetupError } from "./discover.js";
import type { FromWorkerMsg, InitMsg, ToWorkerMsg } from "./protocol.js";
import { applyTestEvent, currentSubtest, newTestState, type TestEvent, type TestState } from "./state.js";

/** What the pool reports. */
export interface PoolHooks {
  /** Every event, after it was folded into `state`. */
  onEvent(def: TestDef, ev: TestEvent, state: TestState): void;
  /** The test is over (finished, killed by the watchdog, or its worker died). */
  onDone(def: TestDef, state: TestState): void;
  /** Runner messages for stderr (watchdog notices). */
  onStderr(text: string): void;
}

/** Pool settings. */
export interface PoolConfig {
  /** Number of worker processes. */
  size: number;
  /** Worker id reported to tests: "main" (-1, no -j) or "indexed" (0..size-1). */
  workerIds: "main" | "indexed";
  workerPath: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  init: Omit<InitMsg, "type" | "workerId">;
  /** Kill a test after this many seconds without a new subtest; 0: never. */
  watchdogSecs: number;
  /** Print a notice after this many seconds; 0: never. */
  notifySecs: number;
  hooks: PoolHooks;
}

interface Running {
  def: TestDef;
  state: TestState;
  startMs: number;
  timers: NodeJS.Timeout[];
  finish: () => void;
}

interface Slot {
  id: number;
  child?: ChildProcess;
  ready: boolean;
  closing: boolean;
  running?: Running;
}

/** Messages the watchdog prints, as test_progs (with our SIGKILL). */
export function watchdogNotice(testName: string, opts: { secs: number; kill: boolean }): string {
  const { secs, kill } = opts;
  return kill
    ? `WATCHDOG: test case ${testName} executes for ${secs} seconds, terminating with SIGKILL\n`
    : `WATCHDOG: test case ${testName} executes for ${secs} seconds...\n`;
}

/** The watchdog name of the running test: "test" or "test/subtest". */
function runningName(r: Running): string {
  const sub = currentSubtest(r.state);
  return sub ? `${r.def.name}/${sub.name}` : r.def.name;
}

/** A fixed set of worker slots that run tests on demand. */
export class WorkerPool {
  readonly #cfg: PoolConfig;
  readonly #slots: Slot[];
  #fatal: SetupError | undefined;

  constructor(cfg: PoolConfig) {
    this.#cfg = cfg;
    this.#slots = Array.from({ length: Math.max(1, cfg.size) }, (_, id) => ({ id, ready: false, closing: false }));
  }

  /** Start every worker now (start-up overlaps with the parent's work). */
  prestart(): void {
    for (const slot of this.#slots) if (!slot.child) this.#spawn(slot);
  }

  /** Run `defs` on all workers, each taking the next test when free. */
  async runAll(defs: readonly TestDef[]): Promise<void> {
    const queue = [...defs];
    await Promise.all(
      this.#slots.map(async (slot) => {
        for (let def = queue.shift(); def && !this.#fatal; def = queue.shift()) await this.#runJob(slot, def);
      }),
    );
    if (this.#fatal) throw this.#fatal;
  }

  /** Run `defs` one after another on the first worker, alone. */
  async runSerial(defs: readonly TestDef[]): Promise<void> {
    for (const def of defs) {
      if (this.#fatal) break;
      await this.#runJob(this.#slots[0], def);
    }
    if (this.#fatal) throw this.#fatal;
  }

  /** Ask every worker to exit; kill those that do not within a second. */
  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => this.#closeSlot(s)));
  }

  #closeSlot(slot: Slot): Promise<void> {
    const child = slot.child;
    if (!child) return Promise.resolve();
    slot.closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.exitCode !== null || child.signalCode !== null) {
        clearTimeout(timer);
        resolve();
        return;
      }
      this.#send(child, { type: "exit" });
    });
  }

  #send(child: ChildProcess, msg: ToWorkerMsg): void {
    if (child.connected) child.send(msg, () => {});
  }

  #spawn(slot: Slot): ChildProcess {
    const { workerPath, execArgv, env, init, workerIds } = this.#cfg;
    const child = fork(workerPath, [], {
      execArgv,
      env,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    slot.child = child;
    slot.ready = false;
    slot.closing = false;
    child.on("message", (msg: FromWorkerMsg) => this.#onMessage(slot, child, msg));
    child.on("exit", (code, signal) => this.#onExit(slot, child, code, signal));
    child.on("error", (err) => this.#onExit(slot, child, null, null, err));
    this.#send(child, { type: "init", workerId: workerIds === "main" ? -1 : slot.id, ...init });
    return child;
  }

  #runJob(slot: Slot, def: TestDef): Promise<void> {
    const child = slot.child ?? this.#spawn(slot);
    return new Promise((resolve) => {
      const running: Running = {
        def,
        state: newTestState(),
        startMs: performance.now(),
        timers: [],
        finish: () => {
          for (const t of running.timers) clearTimeout(t);
          running.state.durationMs = performance.now() - running.startMs;
          slot.running = undefined;
          this.#cfg.hooks.onDone(def, running.state);
          resolve();
        },
      };
      slot.running = running;
      this.#send(child, { type: "do_test", num: def.num, name: def.name, file: def.file, exportName: def.exportName });
    });
  }

  #apply(r: Running, ev: TestEvent): void {
    applyTestEvent(r.state, ev, { nowMs: performance.now() - r.startMs });
    this.#cfg.hooks.onEvent(r.def, ev, r.state);
  }

  /** (Re)start the watchdog of the slot's running test (watchdog_start()). */
  #arm(slot: Slot): void {
    const r = slot.running;
    if (!r) return;
    for (const t of r.timers) clearTimeout(t);
    r.timers = [];
    const { watchdogSecs, notifySecs } = this.#cfg;
    if (watchdogSecs === 0) return;
    if (notifySecs > 0 && notifySecs < watchdogSecs) {
      r.timers.push(
        setTimeout(
          () => this.#cfg.hooks.onStderr(watchdogNotice(runningName(r), { secs: notifySecs, kill: false })),
          notifySecs * 1000,
        ),
      );
    }
    r.timers.push(setTimeout(() => this.#kill(slot, r), watchdogSecs * 1000));
  }

  #kill(slot: Slot, r: Running): void {
    if (slot.running !== r) return;
    const line = watchdogNotice(runningName(r), { secs: this.#cfg.watchdogSecs, kill: true });
    this.#cfg.hooks.onStderr(line);
    const child = slot.child;
    slot.child = undefined;
    slot.ready = false;
    child?.kill("SIGKILL");
    this.#abort(r, line);
  }

  /** End a test that cannot finish: log the reason, fail it, close it. */
  #abort(r: Running, line: string): void {
    this.#apply(r, { type: "log", text: line });
    this.#apply(r, { type: "fail" });
    this.#apply(r, { type: "test_end" });
    r.finish();
  }

  #onMessage(slot: Slot, child: ChildProcess, msg: FromWorkerMsg): void {
    if (slot.child !== child) return;
    if (msg.type === "ready") {
      slot.ready = true;
      return;
    }
    const r = slot.running;
    if (!r || msg.num !== r.def.num) return;
    if (msg.type === "started") {
      // Worker start-up is not test time: the clock and the watchdog start now.
      r.startMs = performance.now();
      this.#arm(slot);
    } else if (msg.type === "event") {
      this.#apply(r, msg.ev);
      if (msg.ev.type === "subtest_start" && !msg.ev.filtered) this.#arm(slot);
    } else if (msg.type === "done") {
      r.finish();
    }
  }

  #onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, err?: Error): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    if (slot.closing) return;
    const how = err ? `error: ${err.message}` : signal ? `signal ${signal}` : `exit code ${code}`;
    if (!slot.ready) {
      this.#fatal ??= new SetupError(`test worker ${slot.id} failed to start (${how})`, { cause: err });
    }
    const r = slot.running;
    if (r)
      this.#abort(r, `test_progs: worker ${slot.id} exited unexpectedly (${how}) while running ${runningName(r)}\n`);
  }
}
