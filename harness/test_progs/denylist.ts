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
 *   FAILS DIFFERENTLY  it failed, but its reason's `observed` text
 *                 is in no failing log              → fix the code or the reason
 *
 * and the run fails on NOW PASSES, NO MATCH or FAILS DIFFERENTLY, so the
 * list stays honest. A reason states the failure it expects between
 * backquotes (the kernel's lists are free prose; ours is checked):
 *
 *   exceptions/reject_with_lock   # `cannot use helper bpf_spin_lock#93`: no spin locks
 *                                   └─ must appear in the subtest's log ─┘
 */
import { readFileSync } from "node:fs";
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

/**
 * The reasons written beside the entries of a denylist file, by entry
 * ("test" or "test/subtest" as written). Entries without a reason are absent.
 */
export function loadDenylistReasons(path: string): Map<string, string> {
  const reasons = new Map<string, string>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const hash = line.indexOf("#");
    if (hash <= 0) continue;
    const entry = line.slice(0, hash).trim();
    const reason = line.slice(hash + 1).trim();
    if (entry && reason) reasons.set(entry, reason);
  }
  return reasons;
}

/** The text a reason says the failure shows: its first `backquoted` part. */
export function observedText(reason: string | undefined): string | undefined {
  const m = reason === undefined ? null : /`([^`]+)`/.exec(reason);
  return m ? m[1] : undefined;
}

/** Verdict on one entry. */
export type DenyStatus = "still fails" | "skipped" | "not run" | "NOW PASSES" | "NO MATCH" | "FAILS DIFFERENTLY";

/** One entry ("test" or "test/subtest") and its verdict. */
export interface DenyCheck {
  entry: string;
  status: DenyStatus;
  /** For FAILS DIFFERENTLY: the observed text the reason promised. */
  expected?: string;
}

interface Result {
  test: TestId;
  state: TestState;
}

/** An entry's outcome, with the logs of what failed (for the reason check). */
interface EntryOutcome {
  status: DenyStatus;
  failedLogs: string[];
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

function checkEntry(entry: { test: string; sub?: string }, run: RunResults): EntryOutcome {
  const { test, sub } = entry;
  const { suite, results } = run;
  if (!suite.some((t) => globMatch(t.name, test))) return { status: "NO MATCH", failedLogs: [] };
  const ran = results.filter((r) => r.state.tested && globMatch(r.test.name, test));
  if (ran.length === 0) return { status: "not run", failedLogs: [] };
  const failedLogs: string[] = [];
  const outcomes: ("fail" | "skip" | "pass")[] = [];
  for (const r of ran) {
    const st = r.state;
    if (sub === undefined) {
      if (st.errorCnt) {
        outcomes.push("fail");
        failedLogs.push(st.logBuf, ...st.subtestStates.map((s) => s.logBuf));
      } else outcomes.push(testResult(st) === "SKIP" ? "skip" : "pass");
      continue;
    }
    const failedSubs = st.subtestStates.filter((s) => s.errorCnt > 0).length;
    if (st.errorCnt > failedSubs) {
      outcomes.push("fail"); // failed outside any subtest
      failedLogs.push(st.logBuf);
    }
    for (const s of st.subtestStates) {
      if (s.filtered || !globMatch(s.name, sub)) continue;
      outcomes.push(s.errorCnt ? "fail" : s.skipped ? "skip" : "pass");
      if (s.errorCnt) failedLogs.push(s.logBuf);
    }
  }
  if (outcomes.length === 0) return { status: "NO MATCH", failedLogs };
  return { status: verdict(outcomes), failedLogs };
}

/**
 * Classify every entry of `deny` from the suite and the results of a
 * --check-denylist run. With `reasons`, an entry that still fails must show
 * its reason's `observed` text in a failing log, or it FAILS DIFFERENTLY.
 */
export function checkDenylist(
  deny: TestFilterSet,
  run: RunResults,
  reasons?: ReadonlyMap<string, string>,
): DenyCheck[] {
  const checks: DenyCheck[] = [];
  const classify = (entry: string, e: { test: string; sub?: string }): void => {
    const out = checkEntry(e, run);
    const want = observedText(reasons?.get(entry));
    if (out.status === "still fails" && want !== undefined && !out.failedLogs.some((l) => l.includes(want))) {
      checks.push({ entry, status: "FAILS DIFFERENTLY", expected: want });
      return;
    }
    checks.push({ entry, status: out.status });
  };
  for (const t of deny.tests) {
    if (t.subtests.length === 0) classify(t.name, { test: t.name });
    for (const s of t.subtests) classify(`${t.name}/${s}`, { test: t.name, sub: s });
  }
  return checks;
}

/** True when an entry now passes or matches nothing. */
export function denylistCheckFailed(checks: readonly DenyCheck[]): boolean {
  return checks.some((c) => c.status === "NOW PASSES" || c.status === "NO MATCH" || c.status === "FAILS DIFFERENTLY");
}

/** The report printed before the Summary line. */
export function formatDenylistCheck(label: string, checks: readonly DenyCheck[]): string {
  let out = `\nDenylist check (${label}):\n`;
  if (checks.length === 0) return `${out}no entries\n`;
  for (const c of checks) {
    const advice =
      c.status === "NOW PASSES" || c.status === "NO MATCH"
        ? `: remove it from ${label}`
        : c.status === "FAILS DIFFERENTLY"
          ? `: no failing log shows \`${c.expected}\`; fix the regression or the reason in ${label}`
          : "";
    out += `${c.entry.padEnd(48)} ${c.status}${advice}\n`;
  }
  return out;
}
