/**
 * Running the selected tests: in worker processes (the default) or in this
 * process (--debug, A64BPF_NO_FORK=1, for debuggers).
 *
 * Models the two modes of main() in tools/testing/selftests/bpf/test_progs.c:
 * without -j every test runs in order (here on one worker, so the watchdog
 * can kill it; output order is deterministic); with -jN, N workers take the
 * non-serial tests as they become free, then the serial_test_* tests run
 * alone, one after another (on worker 0, so `env.workerId` is 0 there where
 * test_progs runs them in its main process, id -1).
 */
import { configureEnv, type EnvSettings } from "./context.js";
import type { TestDef } from "./discover.js";
import { loadTestFunction } from "./load_test.js";
import { WorkerPool, type PoolHooks } from "./pool.js";
import { selectorToData, type Selection } from "./selector.js";
import { runOneTest } from "./run_one.js";
import { applyTestEvent, newTestState } from "./state.js";

/** How to run. */
export interface ExecuteConfig {
  settings: Omit<EnvSettings, "workerId" | "workers">;
  selection: Selection;
  /** -jN given (N workers); 0 for the ordered single-worker mode. */
  workers: number;
  watchdogSecs: number;
  notifySecs: number;
  workerPath: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
}

/** Test_progs prints the first watchdog notice after this many seconds. */
export const WATCHDOG_NOTIFY_SECS = 10;

/** A started set of workers, ready before the tests are known. */
export function startPool(cfg: ExecuteConfig, hooks: PoolHooks): WorkerPool {
  const pool = new WorkerPool({
    size: cfg.workers > 0 ? cfg.workers : 1,
    workerIds: cfg.workers > 0 ? "indexed" : "main",
    workerPath: cfg.workerPath,
    execArgv: cfg.execArgv,
    env: cfg.env,
    init: {
      ...cfg.settings,
      workers: cfg.workers,
      selection: cfg.selection.map((p) => ({ test: selectorToData(p.test), subtest: selectorToData(p.subtest) })),
    },
    watchdogSecs: cfg.watchdogSecs,
    notifySecs: cfg.notifySecs,
    hooks,
  });
  pool.prestart();
  return pool;
}

/** Run `defs` (in number order) on `pool`; -j runs serial_test_* last and alone. */
export async function runOnPool(pool: WorkerPool, defs: readonly TestDef[], parallel: boolean): Promise<void> {
  if (!parallel) {
    await pool.runSerial(defs);
    return;
  }
  await pool.runAll(defs.filter((d) => !d.serial));
  await pool.runSerial(defs.filter((d) => d.serial));
}

/** Run `defs` one by one in this process (no watchdog: a hung test hangs the run). */
export async function runInProcess(cfg: ExecuteConfig, defs: readonly TestDef[], hooks: PoolHooks): Promise<void> {
  configureEnv({ ...cfg.settings, workerId: -1, workers: 0 });
  for (const def of defs) {
    const state = newTestState();
    const start = performance.now();
    let fn: () => unknown;
    try {
      fn = await loadTestFunction(def.file, def.exportName);
    } catch (err) {
      fn = () => {
        throw err;
      };
    }
    await runOneTest(def, fn, {
      selection: cfg.selection,
      captureStdio: true,
      debug: cfg.settings.debug,
      sink: (ev) => {
        applyTestEvent(state, ev, { nowMs: performance.now() - start });
        hooks.onEvent(def, ev, state);
      },
    });
    state.durationMs = performance.now() - start;
    hooks.onDone(def, state);
  }
}
