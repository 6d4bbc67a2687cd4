/**
 * The --junit report (a64bpf's addition for CI systems: GitLab, Jenkins,
 * GitHub test reporters read JUnit XML).
 *
 *   <testsuites name="test_progs" tests=".." failures=".." skipped=".." time="..">
 *     <testsuite name="test_progs" tests=".." failures=".." skipped=".." time="..">
 *       <testcase classname="test_progs" name="fentry_test" time="0.120">
 *         <failure message="fentry_test:FAIL">…what "All error logs" shows for it…</failure>
 *       </testcase>
 *       <testcase classname="test_progs.fentry_test" name="fentry_many_args" time="0.060">
 *         <failure message="fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)">…subtest log…</failure>
 *       </testcase>
 *       <testcase … name="fentry"><skipped/></testcase>
 *
 * One testcase per test that ran and per subtest that was not filtered out.
 * `message` is the first FAIL line of the log (or "<name>:FAIL"). Times are
 * seconds. Characters XML 1.0 cannot carry are dropped.
 */
import { dumpTestLog, type TestId } from "./report.js";
import { testResult, type TestState } from "./state.js";

const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** Escape text for an XML attribute or element. */
export function xmlEscape(s: string): string {
  return s
    .replace(INVALID_XML, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

interface Case {
  classname: string;
  name: string;
  timeMs: number;
  outcome: "pass" | "fail" | "skip";
  message: string;
  body: string;
}

function firstFailLine(log: string, fallback: string): string {
  return log.split("\n").find((l) => l.includes(":FAIL:")) ?? fallback;
}

function casesOf(test: TestId, state: TestState): Case[] {
  const result = testResult(state);
  const cases: Case[] = [
    {
      classname: "test_progs",
      name: test.name,
      timeMs: state.durationMs,
      outcome: result === "FAIL" ? "fail" : result === "SKIP" ? "skip" : "pass",
      message: firstFailLine(state.logBuf, `${test.name}:FAIL`),
      body:
        result === "FAIL"
          ? dumpTestLog(test, state, { skipOkSubtests: true, parExecResult: true, verbose: false })
          : "",
    },
  ];
  for (const sub of state.subtestStates) {
    if (sub.filtered) continue;
    cases.push({
      classname: `test_progs.${test.name}`,
      name: sub.name,
      timeMs: sub.durationMs,
      outcome: sub.errorCnt ? "fail" : sub.skipped ? "skip" : "pass",
      message: firstFailLine(sub.logBuf, `${sub.name}:FAIL`),
      body: sub.logBuf,
    });
  }
  return cases;
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** The --junit document for the tests that ran, in number order. */
export function formatJunit(results: readonly { test: TestId; state: TestState }[]): string {
  const cases = [...results]
    .filter((r) => r.state.tested)
    .sort((a, b) => a.test.num - b.test.num)
    .flatMap((r) => casesOf(r.test, r.state));
  const failures = cases.filter((c) => c.outcome === "fail").length;
  const skipped = cases.filter((c) => c.outcome === "skip").length;
  const time = secs(results.reduce((t, r) => t + (r.state.tested ? r.state.durationMs : 0), 0));
  const counts = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}"`;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="test_progs" ${counts}>`,
    `  <testsuite name="test_progs" ${counts}>`,
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${xmlEscape(c.classname)}" name="${xmlEscape(c.name)}" time="${secs(c.timeMs)}"`;
    if (c.outcome === "pass") lines.push(`${open}/>`);
    else if (c.outcome === "skip") lines.push(`${open}>`, `      <skipped/>`, `    </testcase>`);
    else {
      lines.push(
        `${open}>`,
        `      <failure message="${xmlEscape(c.message)}" type="FAIL">${xmlEscape(c.body)}</failure>`,
        `    </testcase>`,
      );
    }
  }
  lines.push(`  </testsuite>`, `</testsuites>`, ``);
  return lines.join("\n");
}
