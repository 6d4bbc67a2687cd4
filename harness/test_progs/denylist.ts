/**
 * DENYLIST.aarch64: the default deny list and --check-denylist.
 *
 * The file has the kernel's format (tools/testing/selftests/bpf/DENYLIST*):
 * `test` or `test/subtest`, padding, `# reason`. BPF CI passes it as
 * `-d @DENYLIST.aarch64`; `npm run selftests` applies it the same way by
 * default (test_progs itself never reads it).
 *
 * --check-denylist runs only the denylisted tests (the entries become an
 * allow list on top of the user's selection) and classifies each entry:
 *
 *   still fails   a matching test or subtest failed              (ok)
 *   skipped       everything it matched was skipped              (ok)
 *   not run       the user's -t/-a/-n... excluded it             (ok)
 *   NOW PASSES    everything it matched passed      → remove the entry
 *   NO MATCH      it names no test or subtest       → remove the entry
 *
 * and the run fails when any entry NOW PASSES or has NO MATCH, so the list
 * stays honest.
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { globMatch } from "./glob.js";
import type { TestId } from "./report.js";
import { testResult, type TestState } from "./state.js";
import { newFilterSet, parseTestListFile, type TestFilterSet } from "./test_list.js";

/** The default denylist file. */
export const DEFAULT_DENYLIST: string = join(PROJECT_ROOT, "DENYLIST.aarch64");

/** Read a denylist (glob entries, `-d @file` rules). Throws TestListError if unreadable. */
export function loadDenylist(path: string): TestFilterSet {
  const set = newFilterSet();
  parseTestListFile(path, set, { glob: true });
  return set;
}

/** Verdict on one entry. */
export type DenyStatus = "still fails" | "skipped" | "not run" | "NOW PASSES" | "NO MATCH";

/** One entry ("test" or "test/subtest") and its verdict. */
export interface DenyCheck {
  entry: string;
  status: DenyStatus;
}

interface Result {
  test: TestId;
  state: TestState;
}

/** The whole suite and the results of the tests that ran. */
export interface RunResults {
  suite: readonly TestId[];
  results: readonly Result[];
}

function verdict(outcomes: readonly ("fail" | "skip" | "pass")[]): DenyStatus {
  if (outcomes.includes("fail")) return "still fails";
  if (outcomes.every((o) => o === "skip")) return "skipped";
  return "NOW PASSES";
}

function checkEntry(entry: { test: string; sub?: string }, run: RunResults): DenyStatus {
  const { test, sub } = entry;
  const { suite, results } = run;
  if (!suite.some((t) => globMatch(t.name, test))) return "NO MATCH";
  const ran = results.filter((r) => r.state.tested && globMatch(r.test.name, test));
  if (ran.length === 0) return "not run";
  if (sub === undefined) {
    return verdict(ran.map((r) => (r.state.errorCnt ? "fail" : testResult(r.state) === "SKIP" ? "skip" : "pass")));
  }
  const outcomes: ("fail" | "skip" | "pass")[] = [];
  for (const r of ran) {
    const failedSubs = r.state.subtestStates.filter((s) => s.errorCnt > 0).length;
    if (r.state.errorCnt > failedSubs) outcomes.push("fail"); // failed outside any subtest
    for (const s of r.state.subtestStates) {
      if (s.filtered || !globMatch(s.name, sub)) continue;
      outcomes.push(s.errorCnt ? "fail" : s.skipped ? "skip" : "pass");
    }
  }
  return outcomes.length === 0 ? "NO MATCH" : verdict(outcomes);
}

/** Classify every entry of `deny` from the suite and the results of a --check-denylist run. */
export function checkDenylist(deny: TestFilterSet, run: RunResults): DenyCheck[] {
  const checks: DenyCheck[] = [];
  for (const t of deny.tests) {
    if (t.subtests.length === 0) checks.push({ entry: t.name, status: checkEntry({ test: t.name }, run) });
    for (const s of t.subtests)
      checks.push({ entry: `${t.name}/${s}`, status: checkEntry({ test: t.name, sub: s }, run) });
  }
  return checks;
}

/** True when an entry now passes or matches nothing. */
export function denylistCheckFailed(checks: readonly DenyCheck[]): boolean {
  return checks.some((c) => c.status === "NOW PASSES" || c.status === "NO MATCH");
}

/** The report printed before the Summary line. */
export function formatDenylistCheck(label: string, checks: readonly DenyCheck[]): string {
  let out = `\nDenylist check (${label}):\n`;
  if (checks.length === 0) return `${out}no entries\n`;
  for (const c of checks) {
    const advice = c.status === "NOW PASSES" || c.status === "NO MATCH" ? `: remove it from ${label}` : "";
    out += `${c.entry.padEnd(48)} ${c.status}${advice}\n`;
  }
  return out;
}
