/**
 * RUN_TESTS(skel): a test that is a table of BPF programs, one subtest per
 * program, each annotated with what loading (and running) it must give.
 *
 * Models test_loader__run_subtests(), run_subtest(), prepare_case(),
 * emit_verifier_log(), match_msg() and validate_msgs() of
 * tools/testing/selftests/bpf/test_loader.c. The annotations arrive already
 * parsed as {@link TableProgSpec} (the BPF loader reads them from the
 * object's BTF decl tags `comment:test_expect_msg=...` etc.); loading and
 * test-running are done by a caller-supplied {@link TableRunner}.
 *
 * Per program, as the kernel:
 *   1. subtest named after the description (or the program), selectable by either;
 *   2. load with log level max(__log_level, 1 with -v, 2 with -vvv);
 *   3. __failure: ASSERT_ERR(err, "unexpected_load_success"),
 *      __success: ASSERT_OK(err, "unexpected_load_failure") (+ verifier log on failure);
 *   4. every __msg must be found in the log, in order (strstr from the end
 *      of the previous match; "{{re}}" parts are POSIX extended regexes);
 *      a __not_msg must not appear between its neighbouring __msg matches;
 *   5. __retval: test-run once, "Unexpected retval: %d != %d" on mismatch
 *      (POINTER_VALUE 0xbadcafe accepts any value).
 *
 * Simplifications: no unprivileged variants, no __xlated/__jited/__stderr
 * checks, no line-anchored messages, auxiliary programs are the runner's
 * business.
 */
import { printFail, assertErr, assertOk } from "./asserts.js";
import { env } from "./context.js";
import { Verbosity } from "./options.js";
import { formatException } from "./run_one.js";
import { testEndSubtest, testLog, testSkip, testStartSubtestWithDesc } from "./test_progs.js";

/** POINTER_VALUE of bpf_misc.h: a __retval that accepts any value. */
export const POINTER_VALUE = 0xbadcafe;

/** A __msg / __not_msg pattern: verbatim text with optional "{{regex}}" parts. */
export interface ExpectMsg {
  pattern: string;
  /** __not_msg. */
  negative?: boolean;
}

/** A program's annotations. */
export interface TableProgSpec {
  /** Program name (selectable with -t test/name). */
  name: string;
  /** __description: the subtest's display name (also selectable). */
  description?: string;
  /** __success (true) or __failure (false). */
  expectSuccess: boolean;
  /** __msg (strings) and __not_msg ({ pattern, negative: true }), in source order. */
  msgs: readonly (string | ExpectMsg)[];
  /** __retval: run the program once and compare its return value. */
  retval?: number;
  /** __log_level. */
  logLevel?: number;
  /** Skip with test__skip() (e.g. __arch_* not matching arm64); the string is the reason. */
  skip?: string;
}

/** Result of a test run. */
export interface TableRunResult {
  /** 0, or the negative errno of BPF_PROG_TEST_RUN. */
  err: number;
  retval: number;
}

/** Result of a load. */
export interface TableLoadResult {
  /** 0, or the load's negative errno. */
  err: number;
  /** Verifier log at the requested level. */
  log: string;
  /** Test-run the loaded program (needed for __retval). */
  testRun?: () => Promise<TableRunResult> | TableRunResult;
  /** Release the program. */
  close?: () => void;
}

/** Loads one program for {@link runTests}. */
export type TableRunner = (
  spec: TableProgSpec,
  opts: { logLevel: number },
) => Promise<TableLoadResult> | TableLoadResult;

const STRERROR: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  7: "Argument list too long",
  12: "Cannot allocate memory",
  13: "Permission denied",
  14: "Bad address",
  16: "Device or resource busy",
  22: "Invalid argument",
  28: "No space left on device",
  95: "Operation not supported",
  524: "Unknown error 524",
};

function strerror(errno: number): string {
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}

/** prepare_case(): the log level a load uses. */
export function effectiveLogLevel(specLevel: number, verbosity: number): number {
  let min = 0;
  if (verbosity > Verbosity.NONE) min = 1;
  if (verbosity > Verbosity.VERY) min = 2;
  return (specLevel & 3) < min ? (specLevel & 4) | min : specLevel;
}

/** emit_verifier_log(). */
function emitVerifierLog(log: string, force: boolean): void {
  if (!force && env.verbosity === Verbosity.NONE) return;
  testLog("VERIFIER LOG:\n=============\n%s=============\n", log);
}

interface Pattern {
  text: string;
  negative: boolean;
  regex?: RegExp;
}

const ERE_SPECIAL = ".[]\\()*+?{}|^$";

/** compile_regex(): verbatim text with "{{re}}" parts → a RegExp (multiline, like REG_NEWLINE). */
export function compileMsgPattern(pattern: string): RegExp | undefined {
  if (!pattern.includes("{{")) return undefined;
  let src = "";
  let inRegex = false;
  for (let i = 0; i < pattern.length;) {
    if (!inRegex && pattern.startsWith("{{", i)) {
      inRegex = true;
      i += 2;
    } else if (inRegex && pattern.startsWith("}}", i)) {
      inRegex = false;
      i += 2;
    } else {
      const c = pattern[i++];
      src += !inRegex && ERE_SPECIAL.includes(c) ? `\\${c}` : c;
    }
  }
  if (inRegex) throw new Error(`Regexp has open '{{' but no closing '}}': '${pattern}'`);
  return new RegExp(src, "m");
}

/** match_msg(): where `p` first matches in `log` at or after `from`. */
function matchMsg(p: Pattern, log: string, from: number): { start: number; end: number } | undefined {
  if (!p.regex) {
    const at = log.indexOf(p.text, from);
    return at < 0 ? undefined : { start: at, end: at + p.text.length };
  }
  const m = p.regex.exec(log.slice(from));
  return m ? { start: from + m.index, end: from + m.index + m[0].length } : undefined;
}

/**
 * validate_msgs(): check `msgs` against `log`; on the first mismatch fail
 * the subtest, show the log (unless -v already did) and list the patterns
 * as MATCHED / EXPECTED / UNEXPECTED. Named like the kernel's function
 * because its name is the `<func>` of the FAIL line.
 */
export function validate_msgs(log: string, msgs: readonly (string | ExpectMsg)[]): void {
  const pats: Pattern[] = [];
  for (const m of msgs) {
    const text = typeof m === "string" ? m : m.pattern;
    let regex: RegExp | undefined;
    try {
      regex = compileMsgPattern(text);
    } catch (err) {
      printFail("%s\n", (err as Error).message);
      return;
    }
    pats.push({ text, negative: typeof m !== "string" && !!m.negative, regex });
  }
  const matches: ({ start: number; end: number } | undefined)[] = pats.map(() => undefined);
  // Positive patterns match in order, each after the previous match.
  let pos = 0;
  pats.forEach((p, i) => {
    if (p.negative) return;
    const m = matchMsg(p, log, pos);
    if (m) {
      matches[i] = m;
      pos = m.end;
    }
  });
  // A negative pattern is looked for between the neighbouring positive matches.
  let spanStart = 0;
  for (let i = 0; i < pats.length; i++) {
    if (!pats[i].negative) {
      spanStart = matches[i]?.end ?? spanStart;
      continue;
    }
    let next = i + 1;
    while (next < pats.length && pats[next].negative) next++;
    const spanEnd = next < pats.length ? (matches[next]?.start ?? log.length) : log.length;
    for (let j = i; j < next; j++) {
      const m = matchMsg(pats[j], log, spanStart);
      if (m && m.end <= spanEnd) matches[j] = m;
    }
    i = next - 1;
  }
  for (let i = 0; i < pats.length; i++) {
    const noMatch = !pats[i].negative && !matches[i];
    const unexpected = pats[i].negative && !!matches[i];
    if (!noMatch && !unexpected) continue;
    printFail("expect_msg\n");
    if (env.verbosity === Verbosity.NONE) emitVerifierLog(log, true);
    for (let j = 0; j <= i; j++) {
      const status = j < i ? "MATCHED   " : noMatch ? "EXPECTED  " : "UNEXPECTED";
      testLog("%s %s: '%s'\n", status, pats[j].regex ? " REGEX" : "SUBSTR", pats[j].text);
    }
    break;
  }
}

/**
 * run_subtest(): one program. Named like the kernel's function because its
 * name is the `<func>` of the PASS/FAIL lines.
 */
async function run_subtest(spec: TableProgSpec, runner: TableRunner): Promise<void> {
  if (!testStartSubtestWithDesc(spec.name, spec.description)) return;
  if (spec.skip !== undefined) {
    if (spec.skip) testLog("run_subtest:SKIP: %s\n", spec.skip);
    testSkip();
    testEndSubtest();
    return;
  }
  let res: TableLoadResult | undefined;
  try {
    res = await runner(spec, { logLevel: effectiveLogLevel(spec.logLevel ?? 0, env.verbosity) });
    if (spec.expectSuccess) {
      if (!assertOk(res.err, "unexpected_load_failure")) {
        emitVerifierLog(res.log, true);
        return;
      }
    } else if (!assertErr(res.err, "unexpected_load_success")) {
      emitVerifierLog(res.log, false);
      return;
    }
    emitVerifierLog(res.log, false);
    validate_msgs(res.log, spec.msgs);
    if (spec.retval === undefined || !spec.expectSuccess) return;
    if (!res.testRun) {
      printFail("no test run available for __retval(%d)\n", spec.retval);
      return;
    }
    const run = await res.testRun();
    if (run.err) {
      const errno = -run.err;
      printFail("FAIL: Unexpected bpf_prog_test_run error: %d (%s) ", errno, strerror(errno));
      return;
    }
    assertOk(0, "bpf_prog_test_run");
    if (run.retval !== spec.retval && spec.retval !== POINTER_VALUE) {
      printFail("Unexpected retval: %d != %d\n", run.retval, spec.retval);
    }
  } catch (err) {
    printFail("%s", formatException("runner", err, env.debug).replace(/^runner:FAIL:/, ""));
  } finally {
    res?.close?.();
    testEndSubtest();
  }
}

/**
 * RUN_TESTS: one subtest per spec, in order, checked as test_loader.c does.
 * Call it from a test function (`export async function test_verifier_x() {
 * await runTests(specs, load); }`).
 */
export async function runTests(specs: readonly TableProgSpec[], runner: TableRunner): Promise<void> {
  for (const spec of specs) await run_subtest(spec, runner);
}
