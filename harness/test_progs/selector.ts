/**
 * Which tests and subtests run.
 *
 * Models should_run(), match_subtest() and should_run_subtest() in
 * tools/testing/selftests/bpf/test_progs.c:
 *
 *   test T (number N) runs when
 *     no blacklist entry matching T is a whole-test entry (no subtests), and
 *     ( a whitelist entry matches T
 *       or (no whitelist and no -n set)
 *       or N is in the -n set )
 *
 *   subtest S (number M) of T runs when
 *     no blacklist entry matches T/S (a whole-test entry matches every S;
 *       S matches by its name or by its description), and
 *     ( a whitelist entry matches T/S
 *       or (no whitelist and no -n subtest set)
 *       or M is in the -n subtest set )
 *
 * Deny beats allow; a `t/s` deny entry keeps T running and filters S.
 *
 * Simplification/extension: a {@link Selection} is a list of selector pairs
 * that must all agree. A normal run has one pair; --check-denylist adds the
 * denylist as a second, allow-only pair so that only denylisted tests run.
 * Selections are plain data so they can be sent to worker processes.
 */
import { globMatch } from "./glob.js";
import { newFilterSet, type TestFilterSet } from "./test_list.js";

/** The kernel's `struct test_selector`; `numSet` null means no -n given. */
export interface TestSelector {
  whitelist: TestFilterSet;
  blacklist: TestFilterSet;
  numSet: ReadonlySet<number> | null;
}

/** A test selector plus the subtest selector that holds the -n NUM/SUBNUMS part. */
export interface SelectorPair {
  test: TestSelector;
  subtest: TestSelector;
}

/** Every pair must select a test (or subtest) for it to run. */
export type Selection = readonly SelectorPair[];

/** Plain-data form of a {@link TestSelector} (for IPC). */
export interface TestSelectorData {
  whitelist: TestFilterSet;
  blacklist: TestFilterSet;
  numSet: number[] | null;
}

/** An empty selector: selects everything. */
export function newTestSelector(): TestSelector {
  return { whitelist: newFilterSet(), blacklist: newFilterSet(), numSet: null };
}

/** An empty pair: selects every test and subtest. */
export function newSelectorPair(): SelectorPair {
  return { test: newTestSelector(), subtest: newTestSelector() };
}

/** should_run(): does `sel` select test number `num` named `name`? */
export function shouldRun(sel: TestSelector, num: number, name: string): boolean {
  for (const t of sel.blacklist.tests) {
    if (globMatch(name, t.name) && t.subtests.length === 0) return false;
  }
  for (const t of sel.whitelist.tests) {
    if (globMatch(name, t.name)) return true;
  }
  if (sel.whitelist.tests.length === 0 && !sel.numSet) return true;
  return sel.numSet !== null && sel.numSet.has(num);
}

/** match_subtest(): does an entry of `filter` match `testName/subtestName`? */
export function matchSubtest(filter: TestFilterSet, testName: string, subtestName: string): boolean {
  for (const t of filter.tests) {
    if (!globMatch(testName, t.name)) continue;
    if (t.subtests.length === 0) return true;
    if (t.subtests.some((s) => globMatch(subtestName, s))) return true;
  }
  return false;
}

/** Names of a subtest: its test, its name and (RUN_TESTS) its description. */
export interface SubtestNames {
  test: string;
  subtest: string;
  desc?: string;
}

/** match_subtest_desc(): an entry matches the subtest's name or, if different, its description. */
export function matchSubtestDesc(filter: TestFilterSet, names: SubtestNames): boolean {
  if (matchSubtest(filter, names.test, names.subtest)) return true;
  if (!names.desc || names.desc === names.subtest) return false;
  return matchSubtest(filter, names.test, names.desc);
}

/** should_run_subtest(): does the pair select subtest number `subtestNum` of `names.test`? */
export function shouldRunSubtest(pair: SelectorPair, subtestNum: number, names: SubtestNames): boolean {
  const sel = pair.test;
  if (matchSubtestDesc(sel.blacklist, names)) return false;
  if (matchSubtestDesc(sel.whitelist, names)) return true;
  if (sel.whitelist.tests.length === 0 && !pair.subtest.numSet) return true;
  return pair.subtest.numSet !== null && pair.subtest.numSet.has(subtestNum);
}

/** Does every pair of `selection` select the test? */
export function selectionRunsTest(selection: Selection, num: number, name: string): boolean {
  return selection.every((p) => shouldRun(p.test, num, name));
}

/** Does every pair of `selection` select the subtest? */
export function selectionRunsSubtest(selection: Selection, subtestNum: number, names: SubtestNames): boolean {
  return selection.every((p) => shouldRunSubtest(p, subtestNum, names));
}

/** Plain data for IPC. */
export function selectorToData(sel: TestSelector): TestSelectorData {
  return {
    whitelist: sel.whitelist,
    blacklist: sel.blacklist,
    numSet: sel.numSet ? [...sel.numSet].sort((a, b) => a - b) : null,
  };
}

/** Inverse of {@link selectorToData}. */
export function selectorFromData(data: TestSelectorData): TestSelector {
  return {
    whitelist: data.whitelist,
    blacklist: data.blacklist,
    numSet: data.numSet ? new Set(data.numSet) : null,
  };
}
