/**
 * The ASSERT_* and CHECK helpers, printing the kernel's lines into the
 * running test's log.
 *
 * Models the macros of tools/testing/selftests/bpf/test_progs.h:
 *
 *   pass:  <func>:PASS:<tag> 0 nsec
 *   fail:  <func>:FAIL:<tag> <message>          (and the test or subtest fails)
 *
 * with the kernel's messages, e.g. ASSERT_EQ → "unexpected <tag>: actual X
 * != expected Y", ASSERT_OK → "unexpected error: R (errno E)". <func> is the
 * name of the calling function (see caller.ts). Every helper returns the
 * macro's value (true when the assertion held), so `if (!assertOk(err, "x"))
 * return;` reads like the C.
 *
 * Simplifications: integers are numbers, bigints or booleans and print as
 * C's `(long long)` cast would (bigints wrap to signed 64 bits); pointers
 * are objects (valid), `null`/`undefined` (NULL) or Error values (the
 * ERR_PTR of libbpf), and `%p` prints `(nil)` for NULL and `<object Name>`
 * for an object; `errno` is the value set with {@link setErrno}, or -res
 * when res is negative (libbpf 1.0 sets errno = -ret).
 */
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { callerFrame, callerName } from "./caller.js";
import { currentTest } from "./context.js";
import { cFormat, type PrintfArg } from "./printf.js";

/** An integer as the C macros take it. */
export type CInt = number | bigint | boolean;
/** A pointer: an object, NULL (null/undefined) or an error pointer (an Error). */
export type CPtr = object | null | undefined;

let lastErrno = 0;

/** Set the C `errno` that ASSERT_OK and friends print (libbpf-like APIs call this). */
export function setErrno(errno: number): void {
  lastErrno = Math.abs(errno);
}

/** The C `errno` as last set. */
export function getErrno(): number {
  return lastErrno;
}

function asLL(v: CInt): bigint | number {
  if (typeof v === "bigint") return BigInt.asIntN(64, v);
  if (typeof v === "boolean") return v ? 1n : 0n;
  return Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : v;
}

function fmtLL(v: CInt): string {
  return String(asLL(v));
}

function cmp(a: CInt, b: CInt): number {
  const x = typeof a === "boolean" ? Number(a) : a;
  const y = typeof b === "boolean" ? Number(b) : b;
  if (x < y) return -1;
  if (x > y) return 1;
  return x == y ? 0 : Number.NaN;
}

function fmtPtr(p: unknown): string {
  if (p === null || p === undefined || p === 0 || p === 0n || p === false) return "(nil)";
  if (typeof p === "number" || typeof p === "bigint") return `0x${BigInt.asUintN(64, BigInt(p)).toString(16)}`;
  if (p instanceof Error) return `<error ${p.name}: ${p.message}>`;
  const name = (p as { constructor?: { name?: string } }).constructor?.name;
  return `<object ${name || "Object"}>`;
}

function errnoOfError(e: Error): number {
  return e instanceof BpfError ? e.errno : EINVAL;
}

/**
 * The value libbpf_get_error() gives for `ptr`: 0 for a valid pointer, the
 * negative errno for an Error, -errno (or -EINVAL if unset) for NULL.
 */
export function libbpfGetError(ptr: CPtr): number {
  if (ptr instanceof Error) return -errnoOfError(ptr);
  if (ptr === null || ptr === undefined) return -(lastErrno || EINVAL);
  return 0;
}

function report(boundary: Function, failed: boolean, tag: string, message: string): boolean {
  const ctx = currentTest(boundary.name);
  const func = callerName(boundary);
  if (failed) {
    ctx.emit({ type: "fail" });
    ctx.emit({ type: "log", text: `${func}:FAIL:${tag} ${message}\n` });
  } else {
    ctx.emit({ type: "log", text: `${func}:PASS:${tag} 0 nsec\n` });
  }
  return !failed;
}

/** ASSERT_TRUE: "unexpected <name>: got FALSE". */
export function assertTrue(actual: unknown, name: string): boolean {
  return report(assertTrue, !actual, name, `unexpected ${name}: got FALSE`);
}

/** ASSERT_FALSE: "unexpected <name>: got TRUE". */
export function assertFalse(actual: unknown, name: string): boolean {
  return report(assertFalse, !!actual, name, `unexpected ${name}: got TRUE`);
}

/** ASSERT_EQ: "unexpected <name>: actual X != expected Y". */
export function assertEq(actual: CInt, expected: CInt, name: string): boolean {
  const ok = cmp(actual, expected) === 0;
  return report(assertEq, !ok, name, `unexpected ${name}: actual ${fmtLL(actual)} != expected ${fmtLL(expected)}`);
}

/** ASSERT_NEQ: "unexpected <name>: actual X == expected Y". */
export function assertNeq(actual: CInt, expected: CInt, name: string): boolean {
  const ok = cmp(actual, expected) !== 0;
  return report(assertNeq, !ok, name, `unexpected ${name}: actual ${fmtLL(actual)} == expected ${fmtLL(expected)}`);
}

/** ASSERT_LT: "unexpected <name>: actual X >= expected Y". */
export function assertLt(actual: CInt, expected: CInt, name: string): boolean {
  const ok = cmp(actual, expected) < 0;
  return report(assertLt, !ok, name, `unexpected ${name}: actual ${fmtLL(actual)} >= expected ${fmtLL(expected)}`);
}

/** ASSERT_LE: "unexpected <name>: actual X > expected Y". */
export function assertLe(actual: CInt, expected: CInt, name: string): boolean {
  const ok = cmp(actual, expected) <= 0;
  return report(assertLe, !ok, name, `unexpected ${name}: actual ${fmtLL(actual)} > expected ${fmtLL(expected)}`);
}

/** ASSERT_GT: "unexpected <name>: actual X <= expected Y". */
export function assertGt(actual: CInt, expected: CInt, name: string): boolean {
  const ok = cmp(actual, expected) > 0;
  return report(assertGt, !ok, name, `unexpected ${name}: actual ${fmtLL(actual)} <= expected ${fmtLL(expected)}`);
}

/** ASSERT_GE: "unexpected <name>: actual X < expected Y". */
export function assertGe(actual: CInt, expected: CInt, name: string): boolean {
  const ok = cmp(actual, expected) >= 0;
  return report(assertGe, !ok, name, `unexpected ${name}: actual ${fmtLL(actual)} < expected ${fmtLL(expected)}`);
}

/** ASSERT_STREQ: "unexpected <name>: actual 'A' != expected 'E'". */
export function assertStrEq(actual: string, expected: string, name: string): boolean {
  return report(
    assertStrEq,
    actual !== expected,
    name,
    `unexpected ${name}: actual '${actual}' != expected '${expected}'`,
  );
}

/**
 * ASSERT_STRNEQ — the kernel's "strNcmp equal": the first `len` characters
 * of `actual` and `expected` are equal. "unexpected <name>: actual 'A' !=
 * expected 'E'" with both cut to `len`.
 */
export function assertStrNeq(actual: string, expected: string, len: number, name: string): boolean {
  const a = actual.slice(0, len);
  const e = expected.slice(0, len);
  return report(assertStrNeq, a !== e, name, `unexpected ${name}: actual '${a}' != expected '${e}'`);
}

/** ASSERT_HAS_SUBSTR: "unexpected <name>: 'SUB' is not a substring of 'STR'". */
export function assertHasSubstr(str: string, substr: string, name: string): boolean {
  return report(
    assertHasSubstr,
    !str.includes(substr),
    name,
    `unexpected ${name}: '${substr}' is not a substring of '${str}'`,
  );
}

function resOf(res: CInt | Error | null | undefined): CInt {
  if (res instanceof Error) return -errnoOfError(res);
  return res ?? 0;
}

function logError(res: unknown, boundary: string): void {
  if (res instanceof Error) currentTest(boundary).emit({ type: "log", text: `${res.message}\n` });
}

/**
 * ASSERT_OK: res == 0, else "unexpected error: R (errno E)". An Error counts
 * as its negative errno (its message is logged first); null/undefined as 0.
 */
export function assertOk(res: CInt | Error | null | undefined, name: string): boolean {
  const r = resOf(res);
  const ok = cmp(r, 0) === 0;
  if (!ok) logError(res, "assertOk");
  const errno = cmp(r, 0) < 0 ? -Number(asLL(r)) : lastErrno;
  return report(assertOk, !ok, name, `unexpected error: ${fmtLL(r)} (errno ${errno})`);
}

/** ASSERT_ERR: res < 0, else "unexpected success: R". An Error counts as its negative errno. */
export function assertErr(res: CInt | Error | null | undefined, name: string): boolean {
  const r = resOf(res);
  return report(assertErr, !(cmp(r, 0) < 0), name, `unexpected success: ${fmtLL(r)}`);
}

/** ASSERT_NULL: ptr is NULL, else "unexpected pointer: %p". */
export function assertNull(ptr: unknown, name: string): boolean {
  const ok = ptr === null || ptr === undefined || ptr === 0 || ptr === 0n || ptr === false;
  return report(assertNull, !ok, name, `unexpected pointer: ${fmtPtr(ptr)}`);
}

/** ASSERT_OK_PTR: libbpf_get_error(ptr) == 0, else "unexpected error: E". */
export function assertOkPtr(ptr: CPtr, name: string): boolean {
  const err = libbpfGetError(ptr);
  if (err) logError(ptr, "assertOkPtr");
  return report(assertOkPtr, err !== 0, name, `unexpected error: ${err}`);
}

/** ASSERT_ERR_PTR: libbpf_get_error(ptr) != 0, else "unexpected pointer: %p". */
export function assertErrPtr(ptr: CPtr, name: string): boolean {
  return report(assertErrPtr, libbpfGetError(ptr) === 0, name, `unexpected pointer: ${fmtPtr(ptr)}`);
}

/** ASSERT_OK_FD: fd >= 0, else "unexpected fd: FD (errno E)". */
export function assertOkFd(fd: CInt, name: string): boolean {
  const ok = cmp(fd, 0) >= 0;
  const errno = cmp(fd, 0) < 0 ? -Number(asLL(fd)) : lastErrno;
  return report(assertOkFd, !ok, name, `unexpected fd: ${fmtLL(fd)} (errno ${errno})`);
}

/** ASSERT_FAIL: always fails, "<func>:FAIL: <message>" (printf format). */
export function assertFail(fmt: string, ...args: PrintfArg[]): boolean {
  report(assertFail, true, "", cFormat(fmt, args));
  return false;
}

/**
 * CHECK(condition, tag, format...): fails when `condition` is true, printing
 * "<func>:FAIL:<tag> " plus the printf-formatted message (which, as in C,
 * brings its own newline); otherwise "<func>:PASS:<tag> 0 nsec". Returns
 * `condition` (true means failed), like the macro.
 */
export function check(condition: unknown, tag: string, fmt: string, ...args: PrintfArg[]): boolean {
  const ctx = currentTest("check");
  const func = callerName(check);
  if (condition) {
    ctx.emit({ type: "fail" });
    ctx.emit({ type: "log", text: `${func}:FAIL:${tag} ${cFormat(fmt, args)}` });
  } else {
    ctx.emit({ type: "log", text: `${func}:PASS:${tag} 0 nsec\n` });
  }
  return !!condition;
}

/** PRINT_FAIL(format...): fails the test, printing "<func>:FAIL:<line> " plus the message. */
export function printFail(fmt: string, ...args: PrintfArg[]): void {
  const ctx = currentTest("printFail");
  const { func, line } = callerFrame(printFail);
  ctx.emit({ type: "fail" });
  ctx.emit({ type: "log", text: `${func}:FAIL:${line} ${cFormat(fmt, args)}` });
}
