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

/** A test's number and name. */
export interface TestRef {
  num: number;
  name: string;
}

/** should_run(): does `sel` select the test? */
export function shouldRun(sel: TestSelector, test: TestRef): boolean {
  const { num, name } = test;
  for (const t of sel.blacklist.tests) {
    if (globMatch(name, t.name) && t.subtests.length === 0) return false;
  }
  for (const t of sel.whitelist.tests) {
    if (globMatch(name, t.name)) return true;
  }
  if (sel.whitelist.tests.length === 0 && !sel.numSet) return true;
  return sel.numSet !== null && sel.numSet.has(num);
}

/** match_subtest(): does an entry of `filter` match `test/subtest`? */
export function matchSubtest(filter: TestFilterSet, names: { test: string; subtest: string }): boolean {
  for (const t of filter.tests) {
    if (!globMatch(names.test, t.name)) continue;
    if (t.subtests.length === 0) return true;
    if (t.subtests.some((s) => globMatch(names.subtest, s))) return true;
  }
  return false;
}

/** A subtest: its number (from 1), its test, its name and (RUN_TESTS) its description. */
export interface SubtestRef {
  num: number;
  test: string;
  subtest: string;
  desc?: string;
}

/** match_subtest_desc(): an entry matches the subtest's name or, if different, its description. */
export function matchSubtestDesc(filter: TestFilterSet, names: Omit<SubtestRef, "num">): boolean {
  if (matchSubtest(filter, { test: names.test, subtest: names.subtest })) return true;
  if (!names.desc || names.desc === names.subtest) return false;
  return matchSubtest(filter, { test: names.test, subtest: names.desc });
}

/** should_run_subtest(): does the pair select the subtest? */
export function shouldRunSubtest(pair: SelectorPair, names: SubtestRef): boolean {
  const sel = pair.test;
  const subtestNum = names.num;
  if (matchSubtestDesc(sel.blacklist, names)) return false;
  if (matchSubtestDesc(sel.whitelist, names)) return true;
  if (sel.whitelist.tests.length === 0 && !pair.subtest.numSet) return true;
  return pair.subtest.numSet !== null && pair.subtest.numSet.has(subtestNum);
}

/** Does every pair of `selection` select the test? */
export function selectionRunsTest(selection: Selection, test: TestRef): boolean {
  return selection.every((p) => shouldRun(p.test, test));
}

/** Does every pair of `selection` select the subtest? */
export function selectionRunsSubtest(selection: Selection, names: SubtestRef): boolean {
  return selection.every((p) => shouldRunSubtest(p, names));
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
