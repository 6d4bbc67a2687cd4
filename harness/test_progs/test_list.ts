/**
 * Test lists: the NAMES arguments of -t/-b/-a/-d, `@file` lists (the
 * DENYLIST format) and the NUM lists of -n.
 *
 * Models parse_test_list(), parse_test_list_file(), insert_test() and
 * parse_num_list() in tools/testing/selftests/bpf/testing_helpers.c.
 *
 *   NAMES    := SPEC { "," SPEC }           (empty items are skipped, as strtok does)
 *   SPEC     := TEST [ "/" SUBTEST ]        (split at the first '/')
 *   glob     -a/-d: TEST and SUBTEST are globs (only '*' special)
 *   substr   -t/-b: each becomes "*TEST*" / "*SUBTEST*"
 *
 *   @file    one SPEC per line; leading white space skipped, text cut at the
 *            first '#', trailing white space trimmed; empty lines skipped and,
 *            as in the kernel, so is a line whose trimmed text is a single
 *            character. Entries naming the same TEST merge their subtests.
 *
 *   NUM list := ITEM { "," ITEM },  ITEM := N | N "-" M   (N <= M)
 *
 * Simplification: numbers are kept in a Set instead of a bool array, and a
 * range wider than MAX_NUM is refused (ERANGE) instead of allocated.
 */
import { readFileSync } from "node:fs";
import { EINVAL, ERANGE } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";

/** One test entry: a test-name pattern and its subtest patterns (none: the whole test). */
export interface TestFilter {
  name: string;
  subtests: string[];
}

/** An ordered set of test entries (the kernel's `struct test_filter_set`). */
export interface TestFilterSet {
  tests: TestFilter[];
}

/** Largest test or subtest number accepted by {@link parseNumList}. */
export const MAX_NUM = 1_000_000;

/** A test list that cannot be read or parsed; `errno` is the kernel's (ENOENT, EINVAL, ...). */
export class TestListError extends BpfError {}

/** How a spec is matched: globs (-a/-d) or substrings (-t/-b). */
export interface ListOptions {
  glob: boolean;
}

/** A new, empty filter set. */
export function newFilterSet(): TestFilterSet {
  return { tests: [] };
}

function doInsertTest(set: TestFilterSet, testStr: string, subtestStr: string | undefined): void {
  let test = set.tests.find((t) => t.name === testStr);
  if (!test) {
    test = { name: testStr, subtests: [] };
    set.tests.push(test);
  }
  if (subtestStr === undefined) return;
  if (!test.subtests.includes(subtestStr)) test.subtests.push(subtestStr);
}

/**
 * Add one `test[/subtest]` spec to `set`. Globs are kept as given; substring
 * specs (-t/-b) become `*spec*` on both sides of the '/'.
 */
export function insertTest(set: TestFilterSet, spec: string, opts: ListOptions): void {
  const slash = spec.indexOf("/");
  const testPart = slash < 0 ? spec : spec.slice(0, slash);
  const subPart = slash < 0 ? undefined : spec.slice(slash + 1);
  const wrap = (s: string): string => (opts.glob ? s : `*${s}*`);
  doInsertTest(set, wrap(testPart), subPart === undefined ? undefined : wrap(subPart));
}

/** Add every comma-separated spec of `s` (empty items skipped, as strtok_r does). */
export function parseTestList(s: string, set: TestFilterSet, opts: ListOptions): void {
  for (const spec of s.split(",")) {
    if (spec.length > 0) insertTest(set, spec, opts);
  }
}

const C_SPACE = /[ \t\n\v\f\r]/;

/** The spec on one list-file line, or undefined when the kernel skips the line. */
export function testListLine(line: string): string | undefined {
  let start = 0;
  while (start < line.length && C_SPACE.test(line[start])) start++;
  let end = start; // index of the last non-space character before '#'
  for (let i = start; i < line.length && line[i] !== "#"; i++) {
    if (!C_SPACE.test(line[i])) end = i;
  }
  // The kernel's `capture_end == capture_start` test: also drops one-character lines.
  if (end === start) return undefined;
  return line.slice(start, end + 1);
}

/** Add the specs of a list file's text (DENYLIST format) to `set`. */
export function parseTestListText(text: string, set: TestFilterSet, opts: ListOptions): void {
  for (const line of text.split("\n")) {
    const spec = testListLine(line);
    if (spec !== undefined) insertTest(set, spec, opts);
  }
}

/**
 * Read a list file (the `@file` form) into `set`. Throws {@link TestListError}
 * with the kernel's message "Failed to open '<path>': -<errno>" when the file
 * cannot be read.
 */
export function parseTestListFile(path: string, set: TestFilterSet, opts: ListOptions): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const errno = errnoOf(err);
    throw new TestListError(errno, `Failed to open '${path}': ${-errno}`, { cause: err });
  }
  parseTestListText(text, set, opts);
}

const ERRNO_BY_CODE: Record<string, number> = { ENOENT: 2, EACCES: 13, EISDIR: 21, ENOTDIR: 20, ELOOP: 40 };

function errnoOf(err: unknown): number {
  const e = err as { errno?: number; code?: string };
  if (typeof e.code === "string" && e.code in ERRNO_BY_CODE) return ERRNO_BY_CODE[e.code];
  return typeof e.errno === "number" ? Math.abs(e.errno) : EINVAL;
}

const LEADING_INT = /^[ \t\n\v\f\r]*([+-]?\d+)/;

/**
 * Parse a -n number list ("1,3-5") into the set of selected numbers.
 * Throws {@link TestListError} (EINVAL; ERANGE past {@link MAX_NUM}) on
 * malformed input: empty list, reversed range, dangling '-', stray text,
 * negative numbers.
 */
export function parseNumList(s: string): Set<number> {
  const set = new Set<number>();
  let rest = s;
  let parsingEnd = false;
  let start = 0;
  let end: number;
  while (rest.length > 0) {
    // strtol(): no digits means 0 with `next` left at the start.
    const m = LEADING_INT.exec(rest);
    const num = m ? Number(m[1]) : 0;
    const next = m ? m[0].length : 0;
    if (num < 0) throw numError(s, EINVAL);
    if (num > MAX_NUM) throw numError(s, ERANGE);
    if (parsingEnd) end = num;
    else start = num;
    const c = rest[next];
    if (!parsingEnd && c === "-") {
      rest = rest.slice(next + 1);
      parsingEnd = true;
      continue;
    } else if (c === ",") {
      parsingEnd = false;
      rest = rest.slice(next + 1);
      end = num;
    } else if (c === undefined) {
      parsingEnd = false;
      rest = "";
      end = num;
    } else {
      throw numError(s, EINVAL);
    }
    if (start > end) throw numError(s, EINVAL);
    for (let i = start; i <= end; i++) set.add(i);
  }
  if (set.size === 0 || parsingEnd) throw numError(s, EINVAL);
  return set;
}

function numError(s: string, errno: number): TestListError {
  return new TestListError(errno, `invalid number list: '${s}'`);
}
