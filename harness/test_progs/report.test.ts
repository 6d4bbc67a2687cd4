import test from "ava";
import { execFileSync } from "node:child_process";
import { buildJsonSummary, formatJsonSummary } from "./json_summary.js";
import { formatJunit, xmlEscape } from "./junit.js";
import {
  dumpTestLog,
  formatErrorLogs,
  formatLog,
  formatSubtestLine,
  formatSummary,
  formatTestLine,
  summarize,
} from "./report.js";
import { applyTestEvent, newTestState, testResult, type TestEvent, type TestState } from "./state.js";

function fold(events: TestEvent[]): TestState {
  const s = newTestState();
  for (const ev of events) applyTestEvent(s, ev);
  return s;
}

const log = (text: string): TestEvent => ({ type: "log", text });
const start = (name: string, filtered = false): TestEvent => ({ type: "subtest_start", name, filtered });
const FAIL: TestEvent = { type: "fail" };
const SKIP: TestEvent = { type: "skip" };
const END: TestEvent = { type: "test_end" };

test("result words follow print_test_result()", (t) => {
  t.is(testResult(fold([END])), "OK");
  t.is(testResult(fold([FAIL, END])), "FAIL");
  t.is(testResult(fold([SKIP, END])), "SKIP");
  t.is(testResult(fold([start("a"), SKIP, start("b"), SKIP, END])), "SKIP");
  t.is(testResult(fold([start("a"), SKIP, start("b"), END])), "OK (SKIP: 1/2)");
  // Filtered subtests still count in y, as test_progs counts subtest_num.
  t.is(testResult(fold([start("a"), SKIP, start("b", true), start("c"), END])), "OK (SKIP: 1/3)");
  t.is(testResult(fold([start("a"), SKIP, start("b"), FAIL, END])), "FAIL");
});

test("events fold into the kernel's counters", (t) => {
  const s = fold([log("top\n"), start("a"), log("in a\n"), start("b"), FAIL, start("c"), SKIP, start("d", true), END]);
  t.is(s.logBuf, "top\n");
  t.is(s.subtestStates[0].logBuf, "in a\n");
  t.is(s.subSuccCnt, 1);
  t.is(s.errorCnt, 1);
  t.is(s.skipCnt, 1);
  t.true(s.tested);
  t.false(s.inSubtest);
  t.deepEqual(
    s.subtestStates.map((x) => [x.name, x.errorCnt, x.skipped, x.filtered]),
    [
      ["a", 0, false, false],
      ["b", 1, false, false],
      ["c", 0, true, false],
      ["d", 0, false, true],
    ],
  );
  // A skip outside subtests counts for the test; after a subtest ended, events go to the test.
  const u = fold([start("a"), { type: "subtest_end" }, log("after\n"), SKIP, END]);
  t.is(u.logBuf, "after\n");
  t.is(u.skipCnt, 1);
  t.is(u.subSuccCnt, 1);
});

test("result lines pad the number column to 7", (t) => {
  t.is(formatTestLine({ num: 1, name: "fentry_test" }, fold([END])), "#1       fentry_test:OK");
  t.is(formatTestLine({ num: 113, name: "fexit_test" }, fold([FAIL, END])), "#113     fexit_test:FAIL");
  t.is(formatTestLine({ num: 12345678, name: "x" }, fold([END])), "#12345678 x:OK");
  t.is(
    formatSubtestLine({ num: 113, name: "fexit_test" }, { num: 2, name: "fexit_many_args", result: "FAIL" }),
    "#113/2   fexit_test/fexit_many_args:FAIL",
  );
  t.is(formatSubtestLine({ num: 1, name: "a" }, { num: 10, name: "b", result: "OK" }), "#1/10    a/b:OK");
  t.is(formatSubtestLine({ num: 1234, name: "a" }, { num: 100, name: "b" }), "#1234/100 a/b");
  t.is(formatLog(""), "");
  t.is(formatLog("x"), "x\n");
  t.is(formatLog("x\n"), "x\n");
});

const FAILED = fold([
  log("setup ok\n"),
  start("fentry"),
  log("fentry:PASS:fentry_attach 0 nsec\n"),
  start("fentry_many_args"),
  log("fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)"),
  FAIL,
  start("filtered", true),
  END,
]);
const ID = { num: 113, name: "fentry_test" };

test("dump_test_log(): failed tests show the test log and failed subtests' logs", (t) => {
  t.is(
    dumpTestLog(ID, FAILED, { skipOkSubtests: false, parExecResult: false, verbose: false }),
    [
      "setup ok",
      "#113/1   fentry_test/fentry:OK",
      "fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)",
      "#113/2   fentry_test/fentry_many_args:FAIL",
      "#113     fentry_test:FAIL",
      "",
    ].join("\n"),
  );
  // The replay shows only failed subtests.
  t.is(
    dumpTestLog(ID, FAILED, { skipOkSubtests: true, parExecResult: true, verbose: false }),
    [
      "setup ok",
      "fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)",
      "#113/2   fentry_test/fentry_many_args:FAIL",
      "#113     fentry_test:FAIL",
      "",
    ].join("\n"),
  );
  // Streamed with -v (no -j): nothing left to print here.
  t.is(dumpTestLog(ID, FAILED, { skipOkSubtests: false, parExecResult: false, verbose: true }), "");
});

test("dump_test_log(): passing tests print lines only, unless forced or verbose", (t) => {
  const ok = fold([log("quiet\n"), start("a"), log("a log\n"), END]);
  t.is(
    dumpTestLog({ num: 2, name: "t" }, ok, { skipOkSubtests: false, parExecResult: false, verbose: false }),
    "#2/1     t/a:OK\n#2       t:OK\n",
  );
  const forced = fold([{ type: "force_log" }, log("quiet\n"), start("a"), log("a log\n"), END]);
  t.is(
    dumpTestLog({ num: 2, name: "t" }, forced, { skipOkSubtests: false, parExecResult: false, verbose: false }),
    "quiet\na log\n#2/1     t/a:OK\n#2       t:OK\n",
  );
  t.is(
    dumpTestLog({ num: 2, name: "t" }, ok, { skipOkSubtests: false, parExecResult: true, verbose: true }),
    "quiet\na log\n#2/1     t/a:OK\n#2       t:OK\n",
  );
});

test("summary counts and the All error logs replay", (t) => {
  const okSkip = fold([start("a"), start("b"), SKIP, END]);
  const skipped = fold([SKIP, END]);
  const notRun = newTestState();
  const results = [
    { test: { num: 3, name: "third" }, state: FAILED },
    { test: { num: 1, name: "first" }, state: okSkip },
    { test: { num: 2, name: "second" }, state: skipped },
    { test: { num: 4, name: "fourth" }, state: notRun },
  ];
  const s = summarize(results.map((r) => r.state));
  t.deepEqual(s, { succ: 2, subSucc: 2, skip: 2, fail: 1 });
  t.is(formatSummary(s), "Summary: 2/2 PASSED, 2 SKIPPED, 1 FAILED\n");
  t.is(
    formatErrorLogs(results, false),
    [
      "",
      "All error logs:",
      "setup ok",
      "fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)",
      "#3/2     third/fentry_many_args:FAIL",
      "#3       third:FAIL",
      "",
    ].join("\n"),
  );
  t.is(formatErrorLogs(results, true), "");
  t.is(formatErrorLogs(results.slice(1), false), "");
});

test("-J lists failed tests with failed subtests, in test_progs' shape", (t) => {
  const results = [
    { test: { num: 1, name: "first" }, state: fold([log("fine\n"), END]) },
    { test: ID, state: FAILED },
  ];
  const doc = buildJsonSummary(summarize(results.map((r) => r.state)), results);
  const text = formatJsonSummary(doc);
  t.true(text.endsWith("}\n"));
  t.false(text.slice(0, -1).includes("\n"));
  t.deepEqual(JSON.parse(text), {
    success: 1,
    success_subtest: 1,
    skipped: 0,
    failed: 1,
    results: [
      {
        name: "fentry_test",
        number: 113,
        message: "setup ok\n",
        failed: true,
        subtests: [
          {
            name: "fentry_many_args",
            number: 2,
            message: "fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)",
            failed: true,
          },
        ],
      },
    ],
  });
  t.deepEqual(Object.keys(doc), ["success", "success_subtest", "skipped", "failed", "results"]);
  t.deepEqual(Object.keys(doc.results[0]), ["name", "number", "message", "failed", "subtests"]);
});

test("--junit: one testcase per test and subtest, failures carry the log", (t) => {
  const skipped = fold([SKIP, END]);
  const xml = formatJunit([
    { test: ID, state: FAILED },
    { test: { num: 2, name: "skipper" }, state: skipped },
  ]);
  const lines = xml.split("\n");
  t.is(lines[0], '<?xml version="1.0" encoding="UTF-8"?>');
  t.regex(lines[1], /^<testsuites name="test_progs" tests="4" failures="2" errors="0" skipped="1" time="\d+\.\d{3}">$/);
  t.regex(xml, /<testcase classname="test_progs" name="skipper" time="\d+\.\d{3}">\n {6}<skipped\/>\n {4}<\/testcase>/);
  t.regex(xml, /<testcase classname="test_progs.fentry_test" name="fentry" time="[\d.]+"\/>/);
  t.notRegex(xml, /name="filtered"/);
  t.true(
    xml.includes(
      '<failure message="fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)" type="FAIL">' +
        "fentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)</failure>",
    ),
  );
  t.true(
    xml.includes(
      '<failure message="fentry_test:FAIL" type="FAIL">setup ok\nfentry_many_args:FAIL:fentry_many_args_attach unexpected error: -524 (errno 524)\n' +
        "#113/2   fentry_test/fentry_many_args:FAIL\n#113     fentry_test:FAIL\n</failure>",
    ),
  );
  // Tests come out in number order.
  t.true(xml.indexOf('name="skipper"') < xml.indexOf('name="fentry_test"'));
});

test("xmlEscape escapes markup and drops characters XML cannot carry", (t) => {
  t.is(xmlEscape(`<a href="x">&'\u0001\u001b[0m\t`), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;[0m\t");
});

test("--junit output is well-formed XML (python's parser as the oracle)", (t) => {
  let hasPython = true;
  try {
    execFileSync("python3", ["-c", "pass"]);
  } catch {
    hasPython = false;
  }
  if (!hasPython) {
    t.log("python3 not installed: the XML parser check did not run");
    t.pass();
    return;
  }
  const nasty = fold([log("<script>&\"'\u0007 ]]> end\n"), FAIL, END]);
  const xml = formatJunit([
    { test: ID, state: FAILED },
    { test: { num: 5, name: "nasty" }, state: nasty },
  ]);
  const script = [
    "import sys, xml.etree.ElementTree as E",
    "r = E.fromstring(sys.stdin.read())",
    "cases = r.findall('./testsuite/testcase')",
    "print(len(cases), sum(1 for c in cases if c.find('failure') is not None))",
    "print(r.find('./testsuite/testcase/failure').text.splitlines()[0])",
  ].join("\n");
  const out = execFileSync("python3", ["-c", script], { input: xml, encoding: "utf8" }).split("\n");
  t.is(out[0], "4 3");
  // The first failure is test #5's: its text survives the escaping (minus the BEL).
  t.is(out[1], `<script>&"' ]]> end`);
});
