import test from "ava";
import {
  newSelectorPair,
  selectionRunsSubtest,
  selectionRunsTest,
  selectorFromData,
  selectorToData,
  shouldRun,
  shouldRunSubtest,
  type SelectorPair,
} from "./selector.js";
import { parseTestList } from "./test_list.js";

function pair(spec: {
  t?: string[];
  b?: string[];
  a?: string[];
  d?: string[];
  n?: number[];
  sn?: number[];
}): SelectorPair {
  const p = newSelectorPair();
  for (const s of spec.t ?? []) parseTestList(s, p.test.whitelist, { glob: false });
  for (const s of spec.a ?? []) parseTestList(s, p.test.whitelist, { glob: true });
  for (const s of spec.b ?? []) parseTestList(s, p.test.blacklist, { glob: false });
  for (const s of spec.d ?? []) parseTestList(s, p.test.blacklist, { glob: true });
  if (spec.n) p.test.numSet = new Set(spec.n);
  if (spec.sn) p.subtest.numSet = new Set(spec.sn);
  return p;
}

const SUITE = ["fentry_test", "fexit_test", "tracing_struct", "exceptions"];

function run(p: SelectorPair): string[] {
  return SUITE.filter((name, i) => shouldRun(p.test, { num: i + 1, name }));
}

function subs(p: SelectorPair, testName: string, names: string[]): string[] {
  return names.filter((s, i) => shouldRunSubtest(p, { num: i + 1, test: testName, subtest: s }));
}

test("no options: everything runs", (t) => {
  t.deepEqual(run(pair({})), SUITE);
  t.deepEqual(subs(pair({}), "fentry_test", ["fentry", "fentry_many_args"]), ["fentry", "fentry_many_args"]);
});

test("-t and -b match substrings; -a and -d match globs", (t) => {
  t.deepEqual(run(pair({ t: ["test"] })), ["fentry_test", "fexit_test"]);
  t.deepEqual(run(pair({ a: ["test"] })), []);
  t.deepEqual(run(pair({ a: ["f*_test"] })), ["fentry_test", "fexit_test"]);
  t.deepEqual(run(pair({ b: ["ex"] })), ["fentry_test", "tracing_struct"]);
  t.deepEqual(run(pair({ d: ["ex"] })), SUITE);
  t.deepEqual(run(pair({ d: ["exceptions"] })), ["fentry_test", "fexit_test", "tracing_struct"]);
});

test("deny beats allow", (t) => {
  t.deepEqual(run(pair({ a: ["f*"], d: ["fexit_test"] })), ["fentry_test"]);
  t.deepEqual(run(pair({ t: ["fentry"], b: ["fentry"] })), []);
});

test("a test/subtest deny entry keeps the test and filters the subtest", (t) => {
  const p = pair({ d: ["fentry_test/fentry_many_args"] });
  t.deepEqual(run(p), SUITE);
  t.deepEqual(subs(p, "fentry_test", ["fentry", "fentry_many_args"]), ["fentry"]);
  t.deepEqual(subs(p, "fexit_test", ["fexit", "fexit_many_args"]), ["fexit", "fexit_many_args"]);
  // A whole-test deny entry filters every subtest too.
  t.deepEqual(subs(pair({ d: ["fentry_test"] }), "fentry_test", ["fentry"]), []);
});

test("a test/subtest allow entry selects the test and only matching subtests", (t) => {
  const p = pair({ a: ["tracing_struct/struct_many_args"] });
  t.deepEqual(run(p), ["tracing_struct"]);
  t.deepEqual(subs(p, "tracing_struct", ["struct_args", "struct_many_args", "union_args"]), ["struct_many_args"]);
  const q = pair({ t: ["many_args"] });
  t.deepEqual(run(q), []);
  const r = pair({ t: ["/many_args"] });
  // "*" + "" + "*" matches every test name; subtests filtered by *many_args*.
  t.deepEqual(run(r), SUITE);
  t.deepEqual(subs(r, "fexit_test", ["fexit", "fexit_many_args"]), ["fexit_many_args"]);
});

test("-n selects by number, NUM/SUBNUMS by subtest number", (t) => {
  t.deepEqual(run(pair({ n: [1, 3] })), ["fentry_test", "tracing_struct"]);
  const p = pair({ n: [3], sn: [2, 3] });
  t.deepEqual(subs(p, "tracing_struct", ["struct_args", "struct_many_args", "union_args", "int128_args"]), [
    "struct_many_args",
    "union_args",
  ]);
  // With an allow list, -n adds tests; their subtests need the -n subtest set.
  const q = pair({ t: ["fentry"], n: [3] });
  t.deepEqual(run(q), ["fentry_test", "tracing_struct"]);
  t.deepEqual(subs(q, "tracing_struct", ["struct_args"]), []);
  t.deepEqual(subs(q, "fentry_test", ["fentry"]), ["fentry"]);
});

test("a subtest matches by name or by description", (t) => {
  const p = pair({ a: ["verifier_x/*bounds*"] });
  t.true(shouldRunSubtest(p, { num: 1, test: "verifier_x", subtest: "prog1", desc: "check bounds" }));
  t.false(shouldRunSubtest(p, { num: 2, test: "verifier_x", subtest: "prog2", desc: "other" }));
  const d = pair({ d: ["verifier_x/prog1"] });
  t.false(shouldRunSubtest(d, { num: 1, test: "verifier_x", subtest: "prog1", desc: "check bounds" }));
});

test("a selection runs what every pair selects", (t) => {
  const user = pair({ t: ["test"] });
  const deny = pair({ a: ["fexit_test,exceptions"] });
  t.true(selectionRunsTest([user, deny], { num: 2, name: "fexit_test" }));
  t.false(selectionRunsTest([user, deny], { num: 1, name: "fentry_test" }));
  t.false(selectionRunsTest([user, deny], { num: 4, name: "exceptions" }));
  const sub = pair({ a: ["fexit_test/fexit_many_args"] });
  t.true(selectionRunsSubtest([user, sub], { num: 2, test: "fexit_test", subtest: "fexit_many_args" }));
  t.false(selectionRunsSubtest([user, sub], { num: 1, test: "fexit_test", subtest: "fexit" }));
});

test("selectors survive the trip through plain data", (t) => {
  const p = pair({ a: ["x/y"], d: ["z"], n: [5, 2] });
  const back = selectorFromData(JSON.parse(JSON.stringify(selectorToData(p.test))));
  t.deepEqual(back.whitelist, p.test.whitelist);
  t.deepEqual(back.blacklist, p.test.blacklist);
  t.deepEqual([...(back.numSet ?? [])], [2, 5]);
  t.true(shouldRun(back, { num: 5, name: "anything" }));
});
