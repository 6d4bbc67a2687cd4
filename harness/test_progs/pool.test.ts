import test from "ava";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { discoverTests, SetupError } from "./discover.js";
import { Verbosity } from "./options.js";
import { WorkerPool, watchdogNotice } from "./pool.js";
import type { TestEvent, TestState } from "./state.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));

test("watchdog notices read like test_progs'", (t) => {
  t.is(
    watchdogNotice("spin/spinning", { secs: 10, kill: false }),
    "WATCHDOG: test case spin/spinning executes for 10 seconds...\n",
  );
  t.is(
    watchdogNotice("spin", { secs: 120, kill: true }),
    "WATCHDOG: test case spin executes for 120 seconds, terminating with SIGKILL\n",
  );
});

test("notice first, kill later; events stream in order; the next test gets a fresh worker", async (t) => {
  const defs = (await discoverTests(join(HERE, "fixtures", "hang"), ".ts")).filter(
    (d) => d.name === "spin" || d.name === "after",
  );
  const stderr: { text: string; atMs: number }[] = [];
  const events: string[] = [];
  const done: { name: string; state: TestState }[] = [];
  const t0 = performance.now();
  const pool = new WorkerPool({
    size: 1,
    workerIds: "main",
    workerPath: join(HERE, "worker.ts"),
    execArgv: process.execArgv,
    env: process.env,
    init: {
      workers: 0,
      verbosity: Verbosity.NONE,
      extraProgLoadLogFlags: 0,
      verifierStats: false,
      debug: false,
      selection: [],
    },
    watchdogSecs: 2,
    notifySecs: 1,
    hooks: {
      onEvent: (def, ev: TestEvent) => events.push(`${def.name}:${ev.type}`),
      onDone: (def, state) => done.push({ name: def.name, state }),
      onStderr: (text) => stderr.push({ text, atMs: performance.now() - t0 }),
    },
  });
  try {
    await pool.runSerial(defs);
  } finally {
    await pool.close();
  }
  t.deepEqual(
    stderr.map((s) => s.text),
    [
      "WATCHDOG: test case spin/spinning executes for 1 seconds...\n",
      "WATCHDOG: test case spin/spinning executes for 2 seconds, terminating with SIGKILL\n",
    ],
  );
  t.true(stderr[1].atMs - stderr[0].atMs >= 900, `${stderr[1].atMs - stderr[0].atMs} ms between notice and kill`);
  t.deepEqual(events.slice(0, 6), [
    "spin:subtest_start",
    "spin:log",
    "spin:subtest_start",
    "spin:log",
    "spin:log",
    "spin:fail",
  ]);
  t.deepEqual(
    done.map((d) => [d.name, d.state.errorCnt, d.state.subSuccCnt, d.state.tested]),
    [
      ["spin", 1, 1, true],
      ["after", 0, 0, true],
    ],
  );
  t.is(
    done[0].state.subtestStates[1].logBuf,
    `about to spin\n${watchdogNotice("spin/spinning", { secs: 2, kill: true })}`,
  );
});

test("the watchdog restarts at each subtest start, as test__start_subtest() does", async (t) => {
  const defs = await discoverTests(join(HERE, "fixtures", "slow"), ".ts");
  const stderr: string[] = [];
  const done: TestState[] = [];
  const pool = new WorkerPool({
    size: 1,
    workerIds: "main",
    workerPath: join(HERE, "worker.ts"),
    execArgv: process.execArgv,
    env: process.env,
    init: {
      workers: 0,
      verbosity: Verbosity.NONE,
      extraProgLoadLogFlags: 0,
      verifierStats: false,
      debug: false,
      selection: [],
    },
    watchdogSecs: 1,
    notifySecs: 0,
    hooks: { onEvent: () => {}, onDone: (_def, state) => done.push(state), onStderr: (text) => stderr.push(text) },
  });
  try {
    await pool.runSerial(defs);
  } finally {
    await pool.close();
  }
  // 3 × 0.6 s > 1 s, but no subtest alone reaches it.
  t.deepEqual(stderr, []);
  t.is(done[0].errorCnt, 0);
  t.is(done[0].subSuccCnt, 3);
  t.true(done[0].durationMs >= 1800, `${done[0].durationMs} ms`);
});

test("a worker that dies before it is ready is a setup error", async (t) => {
  const defs = (await discoverTests(join(HERE, "fixtures", "slow"), ".ts")).slice(0, 1);
  const done: TestState[] = [];
  const pool = new WorkerPool({
    size: 1,
    workerIds: "main",
    workerPath: join(HERE, "fixtures", "no_such_worker.js"),
    execArgv: [],
    env: process.env,
    init: {
      workers: 0,
      verbosity: Verbosity.NONE,
      extraProgLoadLogFlags: 0,
      verifierStats: false,
      debug: false,
      selection: [],
    },
    watchdogSecs: 5,
    notifySecs: 0,
    hooks: { onEvent: () => {}, onDone: (_def, state) => done.push(state), onStderr: () => {} },
  });
  try {
    const err = await t.throwsAsync(pool.runSerial(defs), { instanceOf: SetupError });
    t.is(err?.message, "test worker 0 failed to start (exit code 1)");
  } finally {
    await pool.close();
  }
  t.is(done.length, 1);
  t.is(done[0].errorCnt, 1);
});
