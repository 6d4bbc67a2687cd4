/**
 * A hang watchdog for fuzzers whose cases run synchronously on the main
 * thread (a case stuck in an endless loop never returns, so a time check
 * after the case cannot fire).
 *
 *   main thread                      watchdog thread (worker)
 *   ───────────                      ────────────────────────
 *   beat(seed) ── Atomics.store ──►  shared [beats, seed]
 *   … runs case seed …               every 100 ms: beats changed? remember when
 *   beat(seed+1)                     no change for hangMs → write
 *                                      "<label>: seed S hangs: no progress for N s"
 *                                    to fd 2 (fs.writeSync: the main thread's
 *                                    stderr stream is stuck with it), then
 *                                    SIGKILL the process
 *   stop() ── worker.terminate()
 *
 * The process dies with SIGKILL because the stuck thread may be inside
 * native code (Unicorn) where no JavaScript signal handler would run.
 */
import { Worker } from "node:worker_threads";

/** Heartbeats of the cases a fuzzer runs. */
export interface HangWatchdog {
  /** A new case starts: `seed` is what the report names (replay with `--seed S --cases 1`). */
  beat(seed: number): void;
  /** Stop watching (the fuzzer finished). */
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const shared = new Int32Array(workerData.buffer);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let last = Atomics.load(shared, 0);
let since = Date.now();
for (;;) {
  Atomics.wait(sleeper, 0, 0, 100);
  const now = Atomics.load(shared, 0);
  if (now !== last) { last = now; since = Date.now(); continue; }
  if (Date.now() - since >= workerData.hangMs) {
    const seed = Atomics.load(shared, 1);
    writeSync(2, workerData.label + ": seed " + seed + " hangs: no progress for " +
      (workerData.hangMs / 1000) + " s; replay it with --seed " + seed + " --cases 1\\n");
    process.kill(process.pid, "SIGKILL");
  }
}
`;

/** Start watching: if no {@link HangWatchdog.beat} comes for `hangMs`, report the last seed and kill the process. */
export function startHangWatchdog(opts: { label: string; hangMs: number }): HangWatchdog {
  const buffer = new SharedArrayBuffer(8);
  const shared = new Int32Array(buffer);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { buffer, hangMs: opts.hangMs, label: opts.label },
  });
  worker.unref();
  return {
    beat(seed: number): void {
      Atomics.store(shared, 1, seed | 0);
      Atomics.add(shared, 0, 1);
    },
    async stop(): Promise<void> {
      await worker.terminate();
    },
  };
}
