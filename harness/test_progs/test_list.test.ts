import test from "ava";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EINVAL, ENOENT, ERANGE } from "../../runtime/errno.js";
import {
  insertTest,
  newFilterSet,
  parseNumList,
  parseTestList,
  parseTestListFile,
  parseTestListText,
  testListLine,
  TestListError,
} from "./test_list.js";

test("substring specs become *name* on both sides of the first '/'", (t) => {
  const set = newFilterSet();
  parseTestList("many_args,fentry_test/fentry,a/b/c", set, { glob: false });
  t.deepEqual(set.tests, [
    { name: "*many_args*", subtests: [] },
    { name: "*fentry_test*", subtests: ["*fentry*"] },
    { name: "*a*", subtests: ["*b/c*"] },
  ]);
});

test("glob specs are kept as given; empty comma items are skipped like strtok", (t) => {
  const set = newFilterSet();
  parseTestList(",,fentry_*,,tracing_struct/struct_many_args,", set, { glob: true });
  t.deepEqual(set.tests, [
    { name: "fentry_*", subtests: [] },
    { name: "tracing_struct", subtests: ["struct_many_args"] },
  ]);
});

test("entries of the same test merge their subtests, without duplicates", (t) => {
  const set = newFilterSet();
  insertTest(set, "t/a", { glob: true });
  insertTest(set, "t/b", { glob: true });
  insertTest(set, "t/a", { glob: true });
  insertTest(set, "t", { glob: true });
  t.deepEqual(set.tests, [{ name: "t", subtests: ["a", "b"] }]);
});

test("list-file lines follow parse_test_list_file", (t) => {
  t.is(
    testListLine("fentry_test/fentry_many_args                     # fentry_many_args:FAIL"),
    "fentry_test/fentry_many_args",
  );
  t.is(testListLine("   \t indented   # reason"), "indented");
  t.is(testListLine("no_comment   \r"), "no_comment");
  t.is(testListLine("# a comment"), undefined);
  t.is(testListLine("   # indented comment"), undefined);
  t.is(testListLine(""), undefined);
  t.is(testListLine("    "), undefined);
  // The kernel's quirk: a one-character entry is skipped.
  t.is(testListLine("x"), undefined);
  t.is(testListLine("  x   # one char"), undefined);
  t.is(testListLine("xy"), "xy");
  t.is(testListLine("a b # inner space kept"), "a b");
});

test("a DENYLIST-format text becomes a merged filter set", (t) => {
  const set = newFilterSet();
  parseTestListText(
    [
      "# TEMPORARY",
      "fentry_test/fentry_many_args                     # -524",
      "fexit_test/fexit_many_args                       # -524",
      "fentry_test/fentry                               # same test, second subtest",
      "exceptions                                       # whole test",
      "",
    ].join("\n"),
    set,
    { glob: true },
  );
  t.deepEqual(set.tests, [
    { name: "fentry_test", subtests: ["fentry_many_args", "fentry"] },
    { name: "fexit_test", subtests: ["fexit_many_args"] },
    { name: "exceptions", subtests: [] },
  ]);
});

test("parseTestListFile reads a file and reports a missing one like the kernel", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-list-"));
  const path = join(dir, "list");
  writeFileSync(path, "foo\nbar/baz # c\n");
  const set = newFilterSet();
  parseTestListFile(path, set, { glob: false });
  t.deepEqual(set.tests, [
    { name: "*foo*", subtests: [] },
    { name: "*bar*", subtests: ["*baz*"] },
  ]);
  const err = t.throws(() => parseTestListFile(join(dir, "missing"), newFilterSet(), { glob: true }), {
    instanceOf: TestListError,
  });
  t.is(err?.errno, ENOENT);
  t.is(err?.message, `Failed to open '${join(dir, "missing")}': -2`);
});

test("parseNumList accepts numbers, ranges and lists", (t) => {
  t.deepEqual([...parseNumList("7")], [7]);
  t.deepEqual(
    [...parseNumList("1,3-5")].sort((a, b) => a - b),
    [1, 3, 4, 5],
  );
  t.deepEqual([...parseNumList("2-2,2")], [2]);
  t.deepEqual([...parseNumList(" 4")], [4]);
  // strtol without digits reads 0: ",1" selects 0 and 1, as in the kernel.
  t.deepEqual([...parseNumList(",1")].sort(), [0, 1]);
});

test("parseNumList rejects what the kernel rejects", (t) => {
  for (const bad of ["", "a", "1-", "5-3", "1-3-5", "1x", "-1", "1,,x"]) {
    const err = t.throws(() => parseNumList(bad), { instanceOf: TestListError }, bad);
    t.is(err?.errno, EINVAL, bad);
  }
  t.is(t.throws(() => parseNumList("1-99999999"), { instanceOf: TestListError })?.errno, ERANGE);
});
