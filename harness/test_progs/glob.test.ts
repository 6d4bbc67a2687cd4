import test from "ava";
import { globMatch } from "./glob.js";

test("exact names need no wildcard and must match whole", (t) => {
  t.true(globMatch("fentry_test", "fentry_test"));
  t.false(globMatch("fentry_test", "fentry"));
  t.false(globMatch("fentry", "fentry_test"));
  t.true(globMatch("", ""));
  t.false(globMatch("a", ""));
});

test("'*' matches any run, including none, anywhere", (t) => {
  t.true(globMatch("fentry_test", "fentry*"));
  t.true(globMatch("fentry_test", "*test"));
  t.true(globMatch("fentry_test", "*"));
  t.true(globMatch("", "*"));
  t.true(globMatch("fentry_test", "f*_*t"));
  t.true(globMatch("fentry_test", "**entry**"));
  t.false(globMatch("fexit_test", "fentry*"));
  t.false(globMatch("test", "*test*x"));
  t.true(globMatch("tracing_struct", "*_*"));
});

test("only '*' is special", (t) => {
  t.false(globMatch("fentry_test", "fentry?test"));
  t.true(globMatch("a?b", "a?b"));
  t.true(globMatch("[x]", "[x]"));
  t.false(globMatch("x", "[x]"));
});

// Independent oracle: a regular expression built from the pattern.
function oracle(str: string, pat: string): boolean {
  const re = new RegExp(
    `^${pat
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "s",
  );
  return re.test(str);
}

test("agrees with a regex oracle on random names and patterns", (t) => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const alphabet = "ab_*";
  for (let i = 0; i < 3000; i++) {
    const str = Array.from({ length: rand(7) }, () => "ab_"[rand(3)]).join("");
    const pat = Array.from({ length: rand(6) }, () => alphabet[rand(4)]).join("");
    t.is(globMatch(str, pat), oracle(str, pat), `${JSON.stringify(str)} vs ${JSON.stringify(pat)}`);
  }
});
