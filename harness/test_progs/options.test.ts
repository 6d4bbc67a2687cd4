import test from "ava";
import { availableParallelism } from "node:os";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_WATCHDOG_SECS, parseOptions, resolveUserSelection, UsageError, Verbosity } from "./options.js";
import { shouldRun, shouldRunSubtest } from "./selector.js";
import { TestListError } from "./test_list.js";

test("defaults are test_progs'", (t) => {
  const o = parseOptions([]);
  t.is(o.verbosity, Verbosity.NONE);
  t.is(o.workers, 0);
  t.is(o.watchdogSecs, DEFAULT_WATCHDOG_SECS);
  t.is(DEFAULT_WATCHDOG_SECS, 120);
  t.true(o.denylist);
  t.false(o.checkDenylist || o.list || o.count || o.debug || o.verifierStats);
});

test("-v, -vv, -vvv and --verbose[=LEVEL]", (t) => {
  t.is(parseOptions(["-v"]).verbosity, Verbosity.NORMAL);
  t.is(parseOptions(["-vv"]).verbosity, Verbosity.VERY);
  t.is(parseOptions(["-vv"]).extraProgLoadLogFlags, 1);
  t.is(parseOptions(["-vvv"]).verbosity, Verbosity.SUPER);
  t.is(parseOptions(["-vvv"]).extraProgLoadLogFlags, 2);
  t.is(parseOptions(["--verbose"]).verbosity, Verbosity.NORMAL);
  t.is(parseOptions(["--verbose=v"]).verbosity, Verbosity.VERY);
  t.is(parseOptions(["--verbose=vv"]).verbosity, Verbosity.SUPER);
  t.is(parseOptions(["--verbose=3"]).verbosity, Verbosity.SUPER);
  t.is(parseOptions(["--verb"]).verbosity, Verbosity.NORMAL);
  const err = t.throws(() => parseOptions(["-vvvv"]), { instanceOf: UsageError });
  t.is(err?.message, "Unrecognized verbosity setting ('vvv'), only -v and -vv are supported");
});

test("-j takes an optional attached value only", (t) => {
  t.is(parseOptions(["-j"]).workers, availableParallelism());
  t.is(parseOptions(["-j4"]).workers, 4);
  t.is(parseOptions(["--workers=3"]).workers, 3);
  t.is(parseOptions(["--workers"]).workers, availableParallelism());
  t.is(t.throws(() => parseOptions(["-j", "4"]), { instanceOf: UsageError })?.message, "unexpected argument: 4");
  t.is(t.throws(() => parseOptions(["-j0"]), { instanceOf: UsageError })?.message, "Invalid number of worker: 0.");
  t.throws(() => parseOptions(["-jx"]), { instanceOf: UsageError });
});

test("options with required values take them attached or from the next word", (t) => {
  const o = parseOptions(["-tfoo", "-t", "bar", "--name=baz", "--name", "qux", "-a", "x*", "-dy/z", "-b", "w"]);
  t.deepEqual(o.nameArgs, [
    { list: "allow", glob: false, value: "foo" },
    { list: "allow", glob: false, value: "bar" },
    { list: "allow", glob: false, value: "baz" },
    { list: "allow", glob: false, value: "qux" },
    { list: "allow", glob: true, value: "x*" },
    { list: "deny", glob: true, value: "y/z" },
    { list: "deny", glob: false, value: "w" },
  ]);
  const p = parseOptions(["-J", "out.json", "--junit", "out.xml", "-w", "5", "--tests-dir", "d", "--denylist=f"]);
  t.is(p.jsonSummary, "out.json");
  t.is(p.junit, "out.xml");
  t.is(p.watchdogSecs, 5);
  t.is(p.testsDir, "d");
  t.is(p.denylistFile, "f");
  t.is(t.throws(() => parseOptions(["-t"]), { instanceOf: UsageError })?.message, "option requires an argument -- 't'");
});

test("flags group like getopt", (t) => {
  const o = parseOptions(["-lcs", "--debug", "--no-denylist", "--check-denylist"]);
  t.true(o.list && o.count && o.verifierStats && o.debug && o.checkDenylist);
  t.false(o.denylist);
  // -v's optional value swallows the rest of the word.
  t.throws(() => parseOptions(["-vl"]), { instanceOf: UsageError });
});

test("-n NUM[/SUBNUMS]", (t) => {
  const o = parseOptions(["-n", "1,3-5/2"]);
  t.deepEqual([...(o.testNums ?? [])].sort(), [1, 3, 4, 5]);
  t.deepEqual([...(o.subtestNums ?? [])], [2]);
  t.is(t.throws(() => parseOptions(["-n", "x"]), { instanceOf: UsageError })?.message, "Failed to parse test numbers.");
  t.is(
    t.throws(() => parseOptions(["-n", "1/x"]), { instanceOf: UsageError })?.message,
    "Failed to parse subtest numbers.",
  );
});

test("-w needs a non-negative number of seconds", (t) => {
  t.is(parseOptions(["-w0"]).watchdogSecs, 0);
  t.is(
    t.throws(() => parseOptions(["-w", "-3"]), { instanceOf: UsageError })?.message,
    "Invalid watchdog timeout: -3.",
  );
});

test("unknown options, ambiguous prefixes and stray words are usage errors", (t) => {
  t.is(t.throws(() => parseOptions(["--frobnicate"]))?.message, "unrecognized option '--frobnicate'");
  t.is(t.throws(() => parseOptions(["--n"]))?.message, "option '--n' is ambiguous");
  t.is(t.throws(() => parseOptions(["-X"]))?.message, "invalid option -- 'X'");
  t.is(t.throws(() => parseOptions(["stray"]))?.message, "unexpected argument: stray");
  t.is(t.throws(() => parseOptions(["--list=1"]))?.message, "option '--list' doesn't allow an argument");
  t.deepEqual(parseOptions(["-l", "--"]).list, true);
});

test("resolveUserSelection combines -t/-b/-a/-d/@file/-n in order", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-opts-"));
  const file = join(dir, "deny");
  writeFileSync(file, "fentry_test/fentry_many_args   # reason\nexceptions\n");
  const pair = resolveUserSelection(
    parseOptions(["-a", "f*", "-d", `@${file}`, "-t", "struct", "-b", "union", "-n", "9"]),
  );
  t.deepEqual(pair.test.whitelist.tests, [
    { name: "f*", subtests: [] },
    { name: "*struct*", subtests: [] },
  ]);
  t.deepEqual(pair.test.blacklist.tests, [
    { name: "fentry_test", subtests: ["fentry_many_args"] },
    { name: "exceptions", subtests: [] },
    { name: "*union*", subtests: [] },
  ]);
  t.true(shouldRun(pair.test, { num: 1, name: "fentry_test" }));
  t.false(shouldRunSubtest(pair, { num: 2, test: "fentry_test", subtest: "fentry_many_args" }));
  t.false(shouldRun(pair.test, { num: 2, name: "exceptions" }));
  t.true(shouldRun(pair.test, { num: 9, name: "anything_else" }));
  t.throws(() => resolveUserSelection(parseOptions(["-d", `@${join(dir, "nope")}`])), { instanceOf: TestListError });
});
