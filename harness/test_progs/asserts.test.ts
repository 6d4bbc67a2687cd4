import test from "ava";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EINVAL, ENOTSUPP } from "../../runtime/errno.js";
import { BpfError, NotSupportedError } from "../../runtime/errors.js";
import {
  assertEq,
  assertErr,
  assertErrPtr,
  assertFail,
  assertFalse,
  assertGe,
  assertGt,
  assertHasSubstr,
  assertLe,
  assertLt,
  assertNeq,
  assertNull,
  assertOk,
  assertOkFd,
  assertOkPtr,
  assertStrEq,
  assertStrNeq,
  assertTrue,
  check,
  libbpfGetError,
  printFail,
  setErrno,
} from "./asserts.js";
import { parseStackLine } from "./caller.js";
import { runOneTest } from "./run_one.js";
import type { TestState } from "./state.js";

async function inTest(fn: () => unknown): Promise<TestState> {
  return runOneTest({ name: "fixture", num: 1, exportName: "test_fixture" }, fn, {
    selection: [],
    captureStdio: false,
    debug: false,
    sink: () => {},
  });
}

test.serial("passing asserts print '<func>:PASS:<tag> 0 nsec' and return true", async (t) => {
  const results: boolean[] = [];
  const state = await inTest(function test_passing() {
    results.push(
      assertTrue(1, "t"),
      assertFalse(0, "f"),
      assertEq(3, 3n, "eq"),
      assertNeq(1, 2, "neq"),
      assertLt(-1, 0, "lt"),
      assertLe(2n, 2, "le"),
      assertGt(0xffffffffn, 1, "gt"),
      assertGe(5, 5, "ge"),
      assertStrEq("a", "a", "streq"),
      assertStrNeq("abcX", "abcY", 3, "strneq"),
      assertHasSubstr("fentry_test", "entry", "substr"),
      assertOk(0, "ok"),
      assertErr(-22, "err"),
      assertNull(null, "null"),
      assertOkPtr({}, "okptr"),
      assertErrPtr(new NotSupportedError("x"), "errptr"),
      assertOkFd(3, "okfd"),
    );
  });
  t.true(results.every((r) => r === true));
  t.is(state.errorCnt, 0);
  const tags = [
    "t",
    "f",
    "eq",
    "neq",
    "lt",
    "le",
    "gt",
    "ge",
    "streq",
    "strneq",
    "substr",
    "ok",
    "err",
    "null",
    "okptr",
    "errptr",
    "okfd",
  ];
  t.is(state.logBuf, tags.map((tag) => `test_passing:PASS:${tag} 0 nsec\n`).join(""));
});

test.serial("failing asserts print the kernel's messages and return false", async (t) => {
  const results: boolean[] = [];
  setErrno(0);
  const state = await inTest(function test_failing() {
    results.push(
      assertTrue(0, "t"),
      assertFalse("x", "f"),
      assertEq(5, 7, "eq"),
      assertNeq(2n, 2, "neq"),
      assertLt(0, 0, "lt"),
      assertLe(3, 2, "le"),
      assertGt(1, 1, "gt"),
      assertGe(-1, 0, "ge"),
      assertStrEq("act", "exp", "streq"),
      assertStrNeq("abcX", "abdY", 3, "strneq"),
      assertHasSubstr("fentry", "fexit", "substr"),
      assertOk(-524, "fexit_many_args_attach"),
      assertErr(0, "err"),
      assertNull({}, "null"),
      assertOkFd(-9, "okfd"),
    );
  });
  t.true(results.every((r) => r === false));
  t.is(state.errorCnt, 15);
  t.is(
    state.logBuf,
    [
      "test_failing:FAIL:t unexpected t: got FALSE",
      "test_failing:FAIL:f unexpected f: got TRUE",
      "test_failing:FAIL:eq unexpected eq: actual 5 != expected 7",
      "test_failing:FAIL:neq unexpected neq: actual 2 == expected 2",
      "test_failing:FAIL:lt unexpected lt: actual 0 >= expected 0",
      "test_failing:FAIL:le unexpected le: actual 3 > expected 2",
      "test_failing:FAIL:gt unexpected gt: actual 1 <= expected 1",
      "test_failing:FAIL:ge unexpected ge: actual -1 < expected 0",
      "test_failing:FAIL:streq unexpected streq: actual 'act' != expected 'exp'",
      "test_failing:FAIL:strneq unexpected strneq: actual 'abc' != expected 'abd'",
      "test_failing:FAIL:substr unexpected substr: 'fexit' is not a substring of 'fentry'",
      "test_failing:FAIL:fexit_many_args_attach unexpected error: -524 (errno 524)",
      "test_failing:FAIL:err unexpected success: 0",
      "test_failing:FAIL:null unexpected pointer: <object Object>",
      "test_failing:FAIL:okfd unexpected fd: -9 (errno 9)",
      "",
    ].join("\n"),
  );
});

test.serial("integers print as C's (long long) cast", async (t) => {
  const state = await inTest(function test_casts() {
    assertEq(0xffffffffffffffffn, 0, "u64");
    assertEq(true, 2, "bool");
    assertEq(-3.7, 0, "trunc");
  });
  t.is(
    state.logBuf,
    "test_casts:FAIL:u64 unexpected u64: actual -1 != expected 0\n" +
      "test_casts:FAIL:bool unexpected bool: actual 1 != expected 2\n" +
      "test_casts:FAIL:trunc unexpected trunc: actual -3 != expected 0\n",
  );
});

test.serial("errors as results: assertOk logs the message, then the errno line", async (t) => {
  setErrno(0);
  const state = await inTest(function test_errors() {
    assertOk(new NotSupportedError("argument 9 of f: struct of 24 bytes"), "attach");
    assertOkPtr(new BpfError(EINVAL, "bad section"), "skel_open");
    assertOkPtr(null, "null_ptr");
    setErrno(ENOTSUPP);
    assertOk(1, "positive");
    assertErrPtr({}, "errptr");
  });
  t.is(
    state.logBuf,
    [
      "argument 9 of f: struct of 24 bytes",
      "test_errors:FAIL:attach unexpected error: -524 (errno 524)",
      "bad section",
      "test_errors:FAIL:skel_open unexpected error: -22",
      "test_errors:FAIL:null_ptr unexpected error: -22",
      "test_errors:FAIL:positive unexpected error: 1 (errno 524)",
      "test_errors:FAIL:errptr unexpected pointer: <object Object>",
      "",
    ].join("\n"),
  );
  setErrno(0);
});

test.serial("libbpfGetError follows libbpf_get_error()", (t) => {
  setErrno(0);
  t.is(libbpfGetError({}), 0);
  t.is(libbpfGetError(new NotSupportedError("x")), -524);
  t.is(libbpfGetError(new Error("plain")), -EINVAL);
  t.is(libbpfGetError(null), -EINVAL);
  setErrno(2);
  t.is(libbpfGetError(undefined), -2);
  setErrno(0);
});

test.serial("CHECK, ASSERT_FAIL and PRINT_FAIL", async (t) => {
  let checked: boolean[] = [];
  const state = await inTest(function test_legacy() {
    checked = [check(false, "fine", "never printed\n"), check(true, "bad", "err %d errno %d\n", -1, 22)];
    assertFail("gave up: %s", "why");
    printFail("line-numbered %s\n", "failure");
  });
  t.deepEqual(checked, [false, true]);
  t.is(state.errorCnt, 3);
  const lines = state.logBuf.split("\n");
  t.is(lines[0], "test_legacy:PASS:fine 0 nsec");
  t.is(lines[1], "test_legacy:FAIL:bad err -1 errno 22");
  t.is(lines[2], "test_legacy:FAIL: gave up: why");
  // __LINE__: the source line of the printFail() call in this file.
  const src = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n");
  const line = src.findIndex((l) => l.includes('printFail("line-numbered')) + 1;
  t.true(line > 0);
  t.is(lines[3], `test_legacy:FAIL:${line} line-numbered failure`);
});

test.serial("asserts inside a subtest fail the subtest; <func> is the caller", async (t) => {
  const { testStartSubtest } = await import("./test_progs.js");
  const helper_check = (v: number): boolean => assertEq(v, 1, "helper_val");
  const state = await inTest(function test_outer() {
    if (testStartSubtest("sub")) helper_check(2);
  });
  t.is(state.subtestStates[0].errorCnt, 1);
  t.is(state.errorCnt, 1);
  t.is(state.subtestStates[0].logBuf, "helper_check:FAIL:helper_val unexpected helper_val: actual 2 != expected 1\n");
});

test("asserts outside a running test are an error", (t) => {
  t.throws(() => assertTrue(true, "x"), { instanceOf: BpfError, message: "assertTrue called outside a running test" });
});

test("stack lines parse into function names and lines", (t) => {
  t.deepEqual(parseStackLine("    at test_fentry_test (file:///x/fentry_test.ts:12:5)"), {
    func: "test_fentry_test",
    line: 12,
  });
  t.deepEqual(parseStackLine("    at async test_many (file:///x/y.ts:40:3)"), { func: "test_many", line: 40 });
  t.deepEqual(parseStackLine("    at Object.run_subtest [as fn] (/x/y.js:7:1)"), { func: "run_subtest", line: 7 });
  t.deepEqual(parseStackLine("    at new Loader (/x/y.js:3:9)"), { func: "Loader", line: 3 });
  t.deepEqual(parseStackLine("    at file:///x/y.ts:9:2"), { func: "anonymous", line: 9 });
  t.deepEqual(parseStackLine("    at Object.<anonymous> (/x/y.js:1:1)"), { func: "anonymous", line: 1 });
});
