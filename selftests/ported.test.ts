/**
 * The ported selftests through the real command line (built JavaScript, as
 * `npm run selftests` runs them): they pass; test_progs' selection options
 * behave on the real suite; and a deliberately broken trampoline (the
 * test-only A64BPF_TEST_TRAMP_DROP_ARG switch: the 9th argument is not
 * copied into the BPF context) makes fentry_many_args and fexit_many_args
 * FAIL with the kernel-style assertion lines — the ports can fail.
 */
import test from "ava";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../runtime/paths.js";

const BIN = join(PROJECT_ROOT, "dist", "bin", "a64bpf.js");

function selftests(args: string[], env: Record<string, string> = {}) {
  return spawnSync("node", [BIN, "selftests", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    cwd: PROJECT_ROOT,
  });
}

test.before(() => {
  execFileSync("node", [join(PROJECT_ROOT, "scripts", "build.mjs")]);
});

test("every ported subtest passes", (t) => {
  const r = selftests([]);
  t.is(r.status, 0, r.stdout + r.stderr);
  for (const line of [
    "fentry_test/fentry:OK",
    "fentry_test/fentry_many_args:OK",
    "fexit_test/fexit:OK",
    "fexit_test/fexit_many_args:OK",
    "tracing_struct/struct_args:OK",
    "tracing_struct/struct_many_args:OK",
    "tracing_struct/int128_args:OK",
    "tracing_struct/union_args:OK",
  ]) {
    t.regex(r.stdout, new RegExp(`^#\\d+/\\d+\\s+${line}$`, "m"), line);
  }
  t.regex(r.stdout, /^#\d+\s+exceptions:OK$/m, "exceptions: every subtest not on DENYLIST.aarch64");
  t.regex(r.stdout, /^Summary: 4\/103 PASSED, 0 SKIPPED, 0 FAILED$/m);
});

test("DENYLIST.aarch64 is honest: --check-denylist finds every entry still failing for its written reason", (t) => {
  const r = selftests(["--check-denylist"]);
  t.is(r.status, 0, r.stdout + r.stderr);
  const entries = readFileSync(join(PROJECT_ROOT, "DENYLIST.aarch64"), "utf8")
    .split("\n")
    .filter((l) => /^\w/.test(l))
    .map((l) => l.split(/\s+/)[0]);
  t.true(entries.length > 0);
  for (const e of entries) t.regex(r.stdout, new RegExp(`^${e}\\s+still fails$`, "m"), e);
});

test("a trampoline that drops the 9th argument makes the many_args ports fail, naming the tag", (t) => {
  const r = selftests(["-t", "fentry_test,fexit_test"], { A64BPF_TEST_TRAMP_DROP_ARG: "8" });
  t.is(r.status, 1);
  t.regex(
    r.stdout,
    /^fentry_many_args:FAIL:fentry_many_args_result2 unexpected fentry_many_args_result2: actual 0 != expected 1$/m,
  );
  t.regex(
    r.stdout,
    /^fexit_many_args:FAIL:fexit_many_args_result3 unexpected fexit_many_args_result3: actual 0 != expected 1$/m,
  );
  t.regex(r.stdout, /^#\d+\/2\s+fentry_test\/fentry_many_args:FAIL$/m);
  t.regex(r.stdout, /^#\d+\/1\s+fentry_test\/fentry:OK$/m, "bpf_fentry_test* have at most 6 arguments");
  t.regex(r.stdout, /^Summary: 0\/2 PASSED, 0 SKIPPED, 2 FAILED$/m);
});

test("selection on the real suite: -a, -d, -l, -J, --junit, -j2", (t) => {
  const a = selftests(["-a", "tracing_struct/struct_many_args"]);
  t.is(a.status, 0);
  t.regex(a.stdout, /tracing_struct\/struct_many_args:OK/);
  t.notRegex(a.stdout, /struct_args:OK|fentry_test/);

  const d = selftests(["-d", "fentry_test/*"]);
  t.is(d.status, 0);
  t.notRegex(d.stdout, /fentry_test\//);
  t.regex(d.stdout, /fexit_test\/fexit:OK/);

  const l = selftests(["-l"]);
  t.is(l.status, 0);
  // test_progs lists test names (subtests are only known by running them).
  t.deepEqual(l.stdout.trim().split("\n"), ["exceptions", "fentry_test", "fexit_test", "tracing_struct"]);

  const dir = mkdtempSync(join(tmpdir(), "a64bpf-selftests-"));
  const j = selftests(["-J", join(dir, "out.json"), "--junit", join(dir, "out.xml"), "-j2"]);
  t.is(j.status, 0);
  const json = JSON.parse(readFileSync(join(dir, "out.json"), "utf8")) as Record<string, unknown>;
  t.is(json.success, 4);
  t.is(json.success_subtest, 103);
  t.is(json.failed, 0);
  t.regex(readFileSync(join(dir, "out.xml"), "utf8"), /<testcase [^>]*name="fentry_many_args"/);
});
