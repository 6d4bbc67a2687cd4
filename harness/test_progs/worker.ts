/**
 * A test worker process (forked by pool.ts): runs the tests the parent
 * sends, one at a time, and streams every test event back.
 *
 * Models worker_main() of tools/testing/selftests/bpf/test_progs.c. A
 * worker lives for many tests (fixtures made with getTestEnv() are shared
 * by them); the parent kills it only when its watchdog fires, and then
 * starts a fresh one.
 */
import { configureEnv, maybeCurrentTest } from "./context.js";
import { loadTestFunction } from "./load_test.js";
import type { DoTestMsg, FromWorkerMsg, ToWorkerMsg } from "./protocol.js";
import { describeError, runOneTest } from "./run_one.js";
import { selectorFromData, type Selection } from "./selector.js";

// PRINT_FAIL line numbers and --debug stacks name source lines when running built JavaScript.
process.setSourceMapsEnabled(true);

let selection: Selection = [];
let debug = false;
let queue: Promise<void> = Promise.resolve();

function send(msg: FromWorkerMsg): void {
  if (!process.send || !process.connected) process.exit(0);
  process.send(msg);
}

async function doTest(msg: DoTestMsg): Promise<void> {
  send({ type: "started", num: msg.num });
  let fn: () => unknown;
  try {
    fn = await loadTestFunction(msg.file, msg.exportName);
  } catch (err) {
    fn = () => {
      throw err;
    };
  }
  await runOneTest(msg, fn, {
    selection,
    captureStdio: true,
    debug,
    sink: (ev) => send({ type: "event", num: msg.num, ev }),
  });
  send({ type: "done", num: msg.num });
}

function handle(msg: ToWorkerMsg): Promise<void> | void {
  switch (msg.type) {
    case "init":
      configureEnv(msg);
      debug = msg.debug;
      selection = msg.selection.map((p) => ({ test: selectorFromData(p.test), subtest: selectorFromData(p.subtest) }));
      send({ type: "ready" });
      return;
    case "do_test":
      return doTest(msg);
    case "exit":
      process.exit(0);
  }
}

// Between tests (run_one.ts watches during a test), a stray error is reported, not fatal.
function strayError(err: unknown): void {
  if (maybeCurrentTest()) return;
  process.stderr.write(`test_progs: worker error outside a test: ${describeError(err)}\n`);
}
process.on("uncaughtException", strayError);
process.on("unhandledRejection", strayError);

process.on("message", (msg: ToWorkerMsg) => {
  queue = queue.then(() => handle(msg));
});
process.on("disconnect", () => process.exit(0));
