import test from "ava";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { checkDenylist, DEFAULT_DENYLIST, denylistCheckFailed, formatDenylistCheck, loadDenylist } from "./denylist.js";
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
