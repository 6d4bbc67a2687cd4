import test from "ava";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EACCES, EINVAL } from "../../runtime/errno.js";
import { configureEnv, env } from "./context.js";
import { Verbosity } from "./options.js";
import { runOneTest } from "./run_one.js";
import {
  compileMsgPattern,
  effectiveLogLevel,
  POINTER_VALUE,
  runTests,
  type TableLoadResult,
  type TableProgSpec,
  type TableRunner,
} from "./run_tests.js";
import { newSelectorPair, type Selection } from "./selector.js";
import type { TestState } from "./state.js";
import { parseTestList } from "./test_list.js";

const VERIFIER_LOG =
  "0: R1=ctx() R10=fp0\n1: (61) r0 = *(u32 *)(r1 +0)\nR1 invalid mem access 'scalar'\nprocessed 2 insns\n";

/** A fake loader: per program, what the load and the test run give. */
function fakeRunner(table: Record<string, Partial<TableLoadResult> & { retval?: number; runErr?: number }>): {
  runner: TableRunner;
  levels: Record<string, number>;
  closed: string[];
} {
  const levels: Record<string, number> = {};
  const closed: string[] = [];
  const runner: TableRunner = (spec, opts) => {
    levels[spec.name] = opts.logLevel;
    const row = table[spec.name];
    if (!row) throw new Error(`no such program: ${spec.name}`);
    return {
      err: row.err ?? 0,
      log: row.log ?? "",
      testRun: () => ({ err: row.runErr ?? 0, retval: row.retval ?? 0 }),
      close: () => closed.push(spec.name),
    };
  };
  return { runner, levels, closed };
}

async function runTable(specs: TableProgSpec[], runner: TableRunner, selection: Selection = []): Promise<TestState> {
  return runOneTest(
    { name: "verifier_fake", num: 7, exportName: "test_verifier_fake" },
    () => runTests(specs, runner),
    { selection, captureStdio: false, debug: false, sink: () => {} },
  );
}

function lineOf(needle: string): number {
  const src = readFileSync(fileURLToPath(new URL("./run_tests.ts", import.meta.url)), "utf8").split("\n");
  return src.findIndex((l) => l.includes(needle)) + 1;
}

test.serial("a passing table: one OK subtest per program, kernel PASS lines", async (t) => {
  const { runner, levels, closed } = fakeRunner({
    good: { log: VERIFIER_LOG, retval: 2 },
    bad_access: { err: -EACCES, log: VERIFIER_LOG },
    any_ret: { retval: 12345 },
  });
  const state = await runTable(
    [
      { name: "good", expectSuccess: true, msgs: ["r0 = *(u32 *)(r1 +0)", "processed 2 insns"], retval: 2 },
      {
        name: "bad_access",
        description: "invalid access is rejected",
        expectSuccess: false,
        msgs: ["R1 invalid mem access 'scalar'"],
      },
      { name: "any_ret", expectSuccess: true, msgs: [], retval: POINTER_VALUE },
    ],
    runner,
  );
  t.is(state.errorCnt, 0);
  t.deepEqual(
    state.subtestStates.map((s) => [s.name, s.errorCnt, s.skipped]),
    [
      ["good", 0, false],
      ["invalid access is rejected", 0, false],
      ["any_ret", 0, false],
    ],
  );
  t.is(
    state.subtestStates[0].logBuf,
    "run_subtest:PASS:unexpected_load_failure 0 nsec\nrun_subtest:PASS:bpf_prog_test_run 0 nsec\n",
  );
  t.is(state.subtestStates[1].logBuf, "run_subtest:PASS:unexpected_load_success 0 nsec\n");
  t.deepEqual(levels, { good: 0, bad_access: 0, any_ret: 0 });
  t.deepEqual(closed, ["good", "bad_access", "any_ret"]);
});

test.serial("load results that contradict __success/__failure fail the subtest", async (t) => {
  const { runner } = fakeRunner({ loads: { err: 0, log: "ok log\n" }, rejects: { err: -EINVAL, log: "bad log\n" } });
  const state = await runTable(
    [
      { name: "loads", expectSuccess: false, msgs: [] },
      { name: "rejects", expectSuccess: true, msgs: [] },
    ],
    runner,
  );
  t.is(state.errorCnt, 2);
  t.is(state.subtestStates[0].logBuf, "run_subtest:FAIL:unexpected_load_success unexpected success: 0\n");
  t.is(
    state.subtestStates[1].logBuf,
    "run_subtest:FAIL:unexpected_load_failure unexpected error: -22 (errno 22)\nVERIFIER LOG:\n=============\nbad log\n=============\n",
  );
});

test.serial("__msg patterns must appear in order; the failure lists them", async (t) => {
  const { runner } = fakeRunner({ p: { err: -EACCES, log: VERIFIER_LOG } });
  const state = await runTable(
    [{ name: "p", expectSuccess: false, msgs: ["R1 invalid mem access", "r0 = *(u32 *)(r1 +0)"] }],
    runner,
  );
  const line = lineOf('printFail("expect_msg\\n")');
  t.is(
    state.subtestStates[0].logBuf,
    "run_subtest:PASS:unexpected_load_success 0 nsec\n" +
      `validate_msgs:FAIL:${line} expect_msg\n` +
      `VERIFIER LOG:\n=============\n${VERIFIER_LOG}=============\n` +
      "MATCHED    SUBSTR: 'R1 invalid mem access'\n" +
      "EXPECTED   SUBSTR: 'r0 = *(u32 *)(r1 +0)'\n",
  );
  t.is(state.errorCnt, 1);
});

test.serial("{{regex}} parts and __not_msg spans", async (t) => {
  const { runner } = fakeRunner({ p: { err: -EACCES, log: VERIFIER_LOG } });
  const ok = await runTable(
    [
      {
        name: "p",
        expectSuccess: false,
        msgs: ["{{[0-9]+}}: (61) r0", { pattern: "invalid", negative: true }, "processed {{[0-9]+}} insns"],
      },
    ],
    runner,
  );
  // "invalid" lies between the two positive matches: UNEXPECTED.
  t.is(ok.errorCnt, 1);
  t.true(
    ok.subtestStates[0].logBuf.endsWith("MATCHED     REGEX: '{{[0-9]+}}: (61) r0'\nUNEXPECTED SUBSTR: 'invalid'\n"),
  );
  const fine = await runTable(
    [{ name: "p", expectSuccess: false, msgs: [{ pattern: "invalid", negative: true }, "R10=fp0", "processed 2"] }],
    runner,
  );
  // "invalid" comes after R10=fp0, outside the span before it: no failure.
  t.is(fine.errorCnt, 0);
});

test("compileMsgPattern escapes verbatim text and keeps regex parts", (t) => {
  t.is(compileMsgPattern("plain (text)"), undefined);
  const re = compileMsgPattern("r{{[0-9]}} = *(u32 *)");
  t.truthy(re);
  t.true(re!.test("r7 = *(u32 *)"));
  t.false(re!.test("rx = *(u32 *)"));
  t.throws(() => compileMsgPattern("{{unclosed"), {
    message: "Regexp has open '{{' but no closing '}}': '{{unclosed'",
  });
});

test.serial("__retval mismatches and test-run errors are PRINT_FAILs", async (t) => {
  const { runner } = fakeRunner({ r: { retval: 1 }, e: { runErr: -EINVAL } });
  const state = await runTable(
    [
      { name: "r", expectSuccess: true, msgs: [], retval: 2 },
      { name: "e", expectSuccess: true, msgs: [], retval: 0 },
    ],
    runner,
  );
  t.is(
    state.subtestStates[0].logBuf,
    "run_subtest:PASS:unexpected_load_failure 0 nsec\nrun_subtest:PASS:bpf_prog_test_run 0 nsec\n" +
      `run_subtest:FAIL:${lineOf('printFail("Unexpected retval')} Unexpected retval: 1 != 2\n`,
  );
  t.is(
    state.subtestStates[1].logBuf,
    "run_subtest:PASS:unexpected_load_failure 0 nsec\n" +
      `run_subtest:FAIL:${lineOf('printFail("FAIL: Unexpected bpf_prog_test_run')} FAIL: Unexpected bpf_prog_test_run error: 22 (Invalid argument) `,
  );
});

test.serial("filtered and skipped programs; a throwing loader fails only its subtest", async (t) => {
  const { runner, closed } = fakeRunner({ a: {}, c: {} });
  const sel = newSelectorPair();
  parseTestList("verifier_fake/*", sel.test.whitelist, { glob: true });
  parseTestList("verifier_fake/a_desc", sel.test.blacklist, { glob: true });
  const state = await runTable(
    [
      { name: "a", description: "a_desc", expectSuccess: true, msgs: [] },
      { name: "b", expectSuccess: true, msgs: [] },
      { name: "s", expectSuccess: true, msgs: [], skip: "__arch_x86_64" },
      { name: "c", expectSuccess: true, msgs: [] },
    ],
    runner,
    [sel],
  );
  t.deepEqual(
    state.subtestStates.map((s) => [s.name, s.filtered, s.errorCnt, s.skipped]),
    [
      ["a_desc", true, 0, false],
      ["b", false, 1, false],
      ["s", false, 0, true],
      ["c", false, 0, false],
    ],
  );
  t.regex(state.subtestStates[1].logBuf, /^run_subtest:FAIL:\d+ exception Error: no such program: b\n$/);
  t.is(state.subtestStates[2].logBuf, "run_subtest:SKIP: __arch_x86_64\n");
  t.deepEqual(closed, ["c"]);
  t.is(state.skipCnt, 1);
  t.is(state.subSuccCnt, 1);
});

test.serial("log levels follow prepare_case() and -v/-vvv", async (t) => {
  t.is(effectiveLogLevel(0, Verbosity.NONE), 0);
  t.is(effectiveLogLevel(0, Verbosity.NORMAL), 1);
  t.is(effectiveLogLevel(0, Verbosity.VERY), 1);
  t.is(effectiveLogLevel(0, Verbosity.SUPER), 2);
  t.is(effectiveLogLevel(4, Verbosity.NORMAL), 5);
  t.is(effectiveLogLevel(2, Verbosity.NORMAL), 2);
  t.is(effectiveLogLevel(6, Verbosity.SUPER), 6);
  const saved = { ...env };
  const hadVerboseEnv = "SELFTESTS_VERBOSE" in process.env;
  configureEnv({
    workerId: -1,
    workers: 0,
    verbosity: Verbosity.NORMAL,
    extraProgLoadLogFlags: 0,
    verifierStats: false,
    debug: false,
  });
  try {
    const { runner, levels } = fakeRunner({ v: { log: "the log\n" } });
    const state = await runTable([{ name: "v", expectSuccess: true, msgs: [], logLevel: 4 }], runner);
    t.is(levels.v, 5);
    // With -v the verifier log is shown for passing programs too.
    t.is(
      state.subtestStates[0].logBuf,
      "run_subtest:PASS:unexpected_load_failure 0 nsec\nVERIFIER LOG:\n=============\nthe log\n=============\n",
    );
  } finally {
    Object.assign(env, saved);
    if (!hadVerboseEnv) delete process.env.SELFTESTS_VERBOSE;
  }
});
