/**
 * Test-name globs as test_progs matches them.
 *
 * Models `glob_match()` in tools/testing/selftests/bpf/test_progs.c (adapted
 * there from tools/perf/util/string.c). Only `*` is special: it matches any
 * run of characters, including none. There is no `?`, no character class and
 * no escape; a pattern without `*` must equal the name exactly.
 */

/**
 * True when `str` matches the glob `pat` (only `*` is special).
 *
 * globMatch("fentry_test", "fentry*")   → true
 * globMatch("fentry_test", "fentry")    → false (no `*`: exact match only)
 */
export function globMatch(str: string, pat: string): boolean {
  return matchFrom(str, 0, pat, 0);
}

function matchFrom(str: string, si: number, pat: string, pi: number): boolean {
  // Literal prefix up to the first '*'.
  while (si < str.length && pi < pat.length && pat[pi] !== "*") {
    if (str[si] !== pat[pi]) return false;
    si++;
    pi++;
  }
  if (pat[pi] === "*") {
    while (pat[pi] === "*") pi++;
    if (pi === pat.length) return true; // a trailing '*' matches the rest
    while (si < str.length) {
      if (matchFrom(str, si++, pat, pi)) return true;
    }
  }
  return si === str.length && pi === pat.length;
}
