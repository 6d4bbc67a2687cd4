/**
 * The -J/--json-summary report.
 *
 * Models the json_writer output of calculate_summary_and_print_errors() and
 * dump_test_log() in tools/testing/selftests/bpf/test_progs.c:
 *
 *   {"success":S,"success_subtest":SS,"skipped":K,"failed":F,
 *    "results":[{"name":"fentry_test","number":12,"message":"<test log>","failed":true,
 *                "subtests":[{"name":"fentry_many_args","number":2,"message":"<log>","failed":true}]}]}
 *
 * Only failed tests are listed, each with only its failed subtests; the
 * messages are the captured logs. Compact, one line, newline-terminated, as
 * the kernel's json_writer writes it.
 *
 * Simplification: test_progs fills "results" only while replaying "All error
 * logs", so with -v its list is empty; here failed tests are listed whatever
 * the verbosity.
 */
import type { TestId, Summary } from "./report.js";
import type { TestState } from "./state.js";

/** One failed subtest in the JSON report. */
export interface JsonSubtestResult {
  name: string;
  number: number;
  message: string;
  failed: boolean;
}

/** One failed test in the JSON report. */
export interface JsonTestResult {
  name: string;
  number: number;
  message: string;
  failed: boolean;
  subtests: JsonSubtestResult[];
}

/** The whole -J document. */
export interface JsonSummary {
  success: number;
  success_subtest: number;
  skipped: number;
  failed: number;
  results: JsonTestResult[];
}

/** Build the -J document from the summary and the per-test results. */
export function buildJsonSummary(
  summary: Summary,
  results: readonly { test: TestId; state: TestState }[],
): JsonSummary {
  const failed = results
    .filter((r) => r.state.tested && r.state.errorCnt > 0)
    .sort((a, b) => a.test.num - b.test.num)
    .map((r) => ({
      name: r.test.name,
      number: r.test.num,
      message: r.state.logBuf,
      failed: true,
      subtests: r.state.subtestStates.flatMap((sub, i) =>
        sub.errorCnt > 0 && !sub.filtered ? [{ name: sub.name, number: i + 1, message: sub.logBuf, failed: true }] : [],
      ),
    }));
  return {
    success: summary.succ,
    success_subtest: summary.subSucc,
    skipped: summary.skip,
    failed: summary.fail,
    results: failed,
  };
}

/** The file text: compact JSON and a newline. */
export function formatJsonSummary(doc: JsonSummary): string {
  return `${JSON.stringify(doc)}\n`;
}
