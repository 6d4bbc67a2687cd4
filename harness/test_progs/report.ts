/**
 * What test_progs prints: result lines, captured logs, the "All error logs"
 * replay and the Summary line.
 *
 * Models print_test_result(), print_subtest_name(), print_test_log(),
 * dump_test_log() and calculate_summary_and_print_errors() of
 * tools/testing/selftests/bpf/test_progs.c:
 *
 *   <test log, if printed>
 *   <subtest 1 log, if printed>
 *   #12/1    fentry_test/fentry:OK
 *   #12/2    fentry_test/fentry_many_args:FAIL
 *   #12      fentry_test:FAIL
 *   ...
 *
 *   All error logs:                      (failures and no -v)
 *   <each failed test again: its log, its failed subtests, its line>
 *   Summary: 3/5 PASSED, 1 SKIPPED, 1 FAILED
 *
 * Logs are printed for failed tests and subtests, for tests that called
 * test__force_log(), and for everything with -v.
 */
import { subtestResult, testResult, type TestState } from "./state.js";

/** TEST_NUM_WIDTH: width of the "#N" / "#N/M" column. */
export const TEST_NUM_WIDTH = 7;

/** Name and number of a test. */
export interface TestId {
  num: number;
  name: string;
}

/** print_test_result(): "#N       name:RESULT" (no newline). */
export function formatTestLine(test: TestId, state: TestState): string {
  return `#${String(test.num).padEnd(TEST_NUM_WIDTH)} ${test.name}:${testResult(state)}`;
}

/** print_subtest_name(): "#N/M     test/subtest:RESULT" (no newline; no ":RESULT" without a result). */
export function formatSubtestLine(test: TestId, sub: { num: number; name: string; result?: string }): string {
  const num = `${test.num}/${sub.num}`.padEnd(TEST_NUM_WIDTH);
  return `#${num} ${test.name}/${sub.name}${sub.result === undefined ? "" : `:${sub.result}`}`;
}

/** print_test_log(): the log, with a newline added if it lacks one; "" for an empty log. */
export function formatLog(log: string): string {
  if (!log) return "";
  return log.endsWith("\n") ? log : `${log}\n`;
}

/** Options of {@link dumpTestLog}. */
export interface DumpOptions {
  /** Show only failed subtests (the "All error logs" replay). */
  skipOkSubtests: boolean;
  /** The result comes from a parallel worker (-j): print even with -v. */
  parExecResult: boolean;
  verbose: boolean;
}

/** dump_test_log(): everything printed for one finished test. */
export function dumpTestLog(test: TestId, state: TestState, opts: DumpOptions): string {
  const failed = state.errorCnt > 0;
  const printTest = opts.verbose || state.forceLog || failed;
  if (opts.verbose && !opts.parExecResult) return "";
  let out = "";
  if (printTest) out += formatLog(state.logBuf);
  state.subtestStates.forEach((sub, i) => {
    const subFailed = sub.errorCnt > 0;
    if ((opts.skipOkSubtests && !subFailed) || sub.filtered) return;
    if (opts.verbose || state.forceLog || subFailed) out += formatLog(sub.logBuf);
    out += `${formatSubtestLine(test, { num: i + 1, name: sub.name, result: subtestResult(sub) })}\n`;
  });
  return `${out}${formatTestLine(test, state)}\n`;
}

/** The counts of the Summary line. */
export interface Summary {
  /** Top-level tests without errors (skipped ones included, as test_progs counts them). */
  succ: number;
  /** Subtests that passed. */
  subSucc: number;
  /** Skipped subtests plus test__skip() calls outside subtests. */
  skip: number;
  /** Top-level tests with errors. */
  fail: number;
}

/** Add up the tested states. */
export function summarize(states: Iterable<TestState>): Summary {
  const s: Summary = { succ: 0, subSucc: 0, skip: 0, fail: 0 };
  for (const st of states) {
    if (!st.tested) continue;
    s.subSucc += st.subSuccCnt;
    s.skip += st.skipCnt;
    if (st.errorCnt) s.fail++;
    else s.succ++;
  }
  return s;
}

/** "Summary: %d/%d PASSED, %d SKIPPED, %d FAILED" (with newline). */
export function formatSummary(s: Summary): string {
  return `Summary: ${s.succ}/${s.subSucc} PASSED, ${s.skip} SKIPPED, ${s.fail} FAILED\n`;
}

/**
 * The "All error logs" replay: "" unless some test failed and -v is off;
 * otherwise "\nAll error logs:\n" and each failed test (in number order)
 * with its log and only its failed subtests.
 */
export function formatErrorLogs(results: readonly { test: TestId; state: TestState }[], verbose: boolean): string {
  const failed = results.filter((r) => r.state.tested && r.state.errorCnt > 0);
  if (verbose || failed.length === 0) return "";
  let out = "\nAll error logs:\n";
  for (const r of [...failed].sort((a, b) => a.test.num - b.test.num)) {
    out += dumpTestLog(r.test, r.state, { skipOkSubtests: true, parExecResult: true, verbose });
  }
  return out;
}
