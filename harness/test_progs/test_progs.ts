/**
 * The API of ported selftests: what `#include "test_progs.h"` gives a
 * kernel prog_tests/*.c file, in camelCase.
 *
 *   test__start_subtest(name)        testStartSubtest(name)
 *   test__start_subtest_with_desc    testStartSubtestWithDesc(name, desc)
 *   test__end_subtest()              testEndSubtest()
 *   test__skip() / test__fail()      testSkip() / testFail()
 *   test__force_log()                testForceLog()
 *   printf(...) into the log         testLog(fmt, ...args)
 *   ASSERT_EQ(a, e, "tag") ...       assertEq(a, e, "tag") ...   (asserts.ts)
 *   env                              env (context.ts)
 *
 * A ported test is a module under selftests/prog_tests/ exporting
 * `function test_<name>()` (or `serial_test_<name>()`), possibly async.
 * Tests reach the simulated kernel through {@link getTestEnv}, created once
 * per worker process and shared by the tests that worker runs (test_progs
 * also shares one kernel across tests).
 *
 * Models tools/testing/selftests/bpf/test_progs.h and the test__*()
 * functions of test_progs.c.
 */
import { currentTest, env, maybeCurrentTest } from "./context.js";
import { cFormat, type PrintfArg } from "./printf.js";
import { selectionRunsSubtest } from "./selector.js";
import { currentSubtest } from "./state.js";

export { env, type TestEnv } from "./context.js";
export { Verbosity, type VerbosityLevel } from "./options.js";
export * from "./asserts.js";

/**
 * test__start_subtest_with_desc(): start the next subtest, shown as
 * `description` (or `name`) and selected when -t/-a/-b/-d entries match its
 * name or its description. Ends the previous subtest.
 * Returns false when the subtest is filtered out: the caller must skip it.
 * The subtest keeps its number #N/M either way.
 */
export function testStartSubtestWithDesc(name: string, description?: string): boolean {
  const ctx = currentTest("testStartSubtest");
  const num = ctx.state.subtestStates.length + 1;
  if (!name) {
    process.stderr.write(`Subtest #${num} didn't provide sub-test name!\n`);
    ctx.emit({ type: "subtest_start", name: "", filtered: true });
    return false;
  }
  const selected = selectionRunsSubtest(ctx.selection, { num, test: ctx.name, subtest: name, desc: description });
  ctx.emit({ type: "subtest_start", name: description || name, filtered: !selected });
  env.subtestName = selected ? description || name : undefined;
  return selected;
}

/** test__start_subtest(): see {@link testStartSubtestWithDesc}. */
export function testStartSubtest(name: string): boolean {
  return testStartSubtestWithDesc(name);
}

/** test__end_subtest(): end the running subtest now (it also ends at the next start or at test end). */
export function testEndSubtest(): void {
  const ctx = currentTest("testEndSubtest");
  if (currentSubtest(ctx.state)) ctx.emit({ type: "subtest_end" });
  env.subtestName = undefined;
}

/** test__skip(): mark the running subtest skipped, or count a skip for the test. */
export function testSkip(): void {
  currentTest("testSkip").emit({ type: "skip" });
}

/** test__fail(): count a failure for the running subtest or test. */
export function testFail(): void {
  currentTest("testFail").emit({ type: "fail" });
}

/** test__force_log(): print this test's log even if it passes. */
export function testForceLog(): void {
  currentTest("testForceLog").emit({ type: "force_log" });
}

/**
 * printf() into the running test's log (C format: "%d", "%llx", "%-7s",
 * ...; no newline is added). Outside a test it goes to stdout.
 */
export function testLog(fmt: string, ...args: PrintfArg[]): void {
  const text = cFormat(fmt, args);
  const ctx = maybeCurrentTest();
  if (ctx) ctx.emit({ type: "log", text });
  else process.stdout.write(text);
}

const testEnvs = new Map<string, unknown>();

/**
 * A per-process fixture (e.g. a booted simulated kernel), created by
 * `factory` on first use and shared by later tests in the same worker.
 * A factory that throws, or returns a promise that rejects, is not cached:
 * the next test retries.
 *
 *   const k = await getTestEnv("kernel", () => bootKernel());
 */
export function getTestEnv<T>(key: string, factory: () => T): T {
  if (testEnvs.has(key)) return testEnvs.get(key) as T;
  const value = factory();
  testEnvs.set(key, value);
  if (value instanceof Promise) {
    value.catch(() => {
      if (testEnvs.get(key) === value) testEnvs.delete(key);
    });
  }
  return value;
}

/** Drop a fixture created by {@link getTestEnv} (its owner cleans it up). */
export function dropTestEnv(key: string): void {
  testEnvs.delete(key);
}
