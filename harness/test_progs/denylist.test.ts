import test from "ava";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  checkDenylist,
  DEFAULT_DENYLIST,
  denylistCheckFailed,
  formatDenylistCheck,
  loadDenylist,
  loadDenylistReasons,
  observedText,
} from "./denylist.js";
import { applyTestEvent, newTestState, type TestEvent, type TestState } from "./state.js";
import { newFilterSet, parseTestListText } from "./test_list.js";

function fold(events: TestEvent[]): TestState {
  const s = newTestState();
  for (const ev of events) applyTestEvent(s, ev);
  applyTestEvent(s, { type: "test_end" });
  return s;
}
const start = (name: string): TestEvent => ({ type: "subtest_start", name, filtered: false });

test("the default denylist is DENYLIST.aarch64 at the repository root, and it parses", (t) => {
  t.is(DEFAULT_DENYLIST, join(PROJECT_ROOT, "DENYLIST.aarch64"));
  const set = loadDenylist(DEFAULT_DENYLIST);
  for (const e of set.tests) t.regex(e.name, /^[\w*]+$/);
  // Every entry of ours states the failure it expects, so --check-denylist can hold it to it.
  const reasons = loadDenylistReasons(DEFAULT_DENYLIST);
  for (const e of set.tests)
    for (const sub of e.subtests) {
      const entry = `${e.name}/${sub}`;
      t.truthy(observedText(reasons.get(entry)), `${entry}: no \`observed\` text in its reason`);
    }
});

test("reasons: parsed beside entries, the observed text is the first backquoted part", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-deny-"));
  const path = join(dir, "DENY");
  writeFileSync(path, "# header\n\nt/a   # `boom 1`: why\nt/b\nu  # plain prose\n");
  const reasons = loadDenylistReasons(path);
  t.deepEqual(
    [...reasons],
    [
      ["t/a", "`boom 1`: why"],
      ["u", "plain prose"],
    ],
  );
  t.is(observedText(reasons.get("t/a")), "boom 1");
  t.is(observedText(reasons.get("u")), undefined);
  t.is(observedText(undefined), undefined);
});

test("--check-denylist: an entry that fails without its observed text FAILS DIFFERENTLY", (t) => {
  const deny = newFilterSet();
  parseTestListText("t/same\nt/other\nt/prose\nwhole\n", deny, { glob: true });
  const reasons = new Map([
    ["t/same", "`invalid func unknown#195896080`: poisoned"],
    ["t/other", "`cannot use helper bpf_loop#181`: no helper"],
    ["t/prose", "free text is not checked"],
    ["whole", "`R6 invalid mem access`"],
  ]);
  const suite = [
    { num: 1, name: "t" },
    { num: 2, name: "whole" },
  ];
  const log = (text: string): TestEvent => ({ type: "log", text });
  const results = [
    {
      test: suite[0],
      state: fold([
        start("same"),
        log("2: (85) call unknown#195896080\ninvalid func unknown#195896080\n"),
        { type: "fail" },
        start("other"),
        log("Unreleased reference id=1\n"),
        { type: "fail" },
        start("prose"),
        { type: "fail" },
      ]),
    },
    // A whole-test entry looks in the test's log and every subtest's.
    { test: suite[1], state: fold([start("s"), log("R6 invalid mem access 'scalar'\n"), { type: "fail" }]) },
  ];
  const checks = checkDenylist(deny, { suite, results }, reasons);
  t.deepEqual(checks, [
    { entry: "t/same", status: "still fails" },
    { entry: "t/other", status: "FAILS DIFFERENTLY", expected: "cannot use helper bpf_loop#181" },
    { entry: "t/prose", status: "still fails" },
    { entry: "whole", status: "still fails" },
  ]);
  t.true(denylistCheckFailed(checks));
  t.is(
    formatDenylistCheck("D", [checks[1]]),
    "\nDenylist check (D):\n" +
      `${"t/other".padEnd(48)} FAILS DIFFERENTLY: no failing log shows \`cannot use helper bpf_loop#181\`; fix the regression or the reason in D\n`,
  );
  // Without reasons nothing is held to a text.
  t.is(checkDenylist(deny, { suite, results })[1].status, "still fails");
});

test("the fixture denylist parses by parse_test_list_file rules", (t) => {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const set = loadDenylist(join(here, "fixtures", "DENYLIST.fixtures"));
  t.deepEqual(set.tests, [
    { name: "fail_eq", subtests: [] },
    { name: "fail_subtest", subtests: ["bad"] },
    { name: "throws", subtests: [] },
  ]);
});

test("--check-denylist classifies every entry", (t) => {
  const deny = newFilterSet();
  parseTestListText(
    [
      "fentry_test/fentry_many_args   # still broken",
      "fexit_test/fexit_many_args     # fixed since",
      "tracing_struct                 # fixed since",
      "exceptions                     # still broken",
      "gone_test                      # no such test",
      "fexit_test/no_such_subtest     # stale subtest",
      "skippy                         # skipped",
      "not_selected                   # outside -t",
    ].join("\n"),
    deny,
    { glob: true },
  );
  const suite = ["fentry_test", "fexit_test", "tracing_struct", "exceptions", "skippy", "not_selected"].map(
    (name, i) => ({
      num: i + 1,
      name,
    }),
  );
  const results = [
    { test: suite[0], state: fold([start("fentry_many_args"), { type: "fail" }]) },
    { test: suite[1], state: fold([start("fexit_many_args")]) },
    { test: suite[2], state: fold([start("struct_args"), start("struct_many_args")]) },
    { test: suite[3], state: fold([{ type: "fail" }]) },
    { test: suite[4], state: fold([{ type: "skip" }]) },
  ];
  const checks = checkDenylist(deny, { suite, results });
  t.deepEqual(checks, [
    { entry: "fentry_test/fentry_many_args", status: "still fails" },
    { entry: "fexit_test/fexit_many_args", status: "NOW PASSES" },
    { entry: "fexit_test/no_such_subtest", status: "NO MATCH" },
    { entry: "tracing_struct", status: "NOW PASSES" },
    { entry: "exceptions", status: "still fails" },
    { entry: "gone_test", status: "NO MATCH" },
    { entry: "skippy", status: "skipped" },
    { entry: "not_selected", status: "not run" },
  ]);
  t.true(denylistCheckFailed(checks));
  t.false(denylistCheckFailed(checks.filter((c) => c.status === "still fails" || c.status === "skipped")));
  const text = formatDenylistCheck("DENYLIST.aarch64", checks.slice(0, 2));
  t.is(
    text,
    "\nDenylist check (DENYLIST.aarch64):\n" +
      `${"fentry_test/fentry_many_args".padEnd(48)} still fails\n` +
      `${"fexit_test/fexit_many_args".padEnd(48)} NOW PASSES: remove it from DENYLIST.aarch64\n`,
  );
  t.is(formatDenylistCheck("D", []), "\nDenylist check (D):\nno entries\n");
});

test("a failure outside the matched subtests still counts as failing", (t) => {
  const deny = newFilterSet();
  parseTestListText("t/late_sub\n", deny, { glob: true });
  // The test failed before it reached its subtest.
  const results = [{ test: { num: 1, name: "t" }, state: fold([{ type: "fail" }]) }];
  t.deepEqual(checkDenylist(deny, { suite: [{ num: 1, name: "t" }], results }), [
    { entry: "t/late_sub", status: "still fails" },
  ]);
});
