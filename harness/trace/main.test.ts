import test from "ava";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { buildBpfProg } from "../../runtime/loader/progs_build.js";
import { PROJECT_ROOT } from "../../runtime/paths.js";

const BIN = join(PROJECT_ROOT, "dist", "bin", "a64bpf.js");
const trace = (...args: string[]) =>
  spawnSync("node", [BIN, "trace", ...args], { encoding: "utf8", cwd: PROJECT_ROOT });

test.before(() => {
  execFileSync("node", [join(PROJECT_ROOT, "scripts", "build.mjs")]);
});

test("a64bpf trace: fentry_many_args.o on bpf_testmod_test_read prints every result as 1", (t) => {
  const obj = buildBpfProg("fentry_many_args").path;
  const r = trace("--object", obj, "--call", "bpf_testmod_test_read", "0", "0", "0", "0", "0", "1", "--json");
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { func: string; ret: number; globals: Record<string, number> };
  t.is(out.ret, -5, "bpf_testmod_test_read returns -EIO");
  t.deepEqual(out.globals, { test1_result: 1, test2_result: 1, test3_result: 1 });
});

test("a64bpf trace: fexit sees the return value of a direct call; text output", (t) => {
  const r = trace(
    "--object",
    join(PROJECT_ROOT, "selftests", "progs", "fexit_many_args.c"),
    "--call",
    "bpf_testmod_fentry_test11",
    ...Array.from({ length: 11 }, (_, i) => String(16 + i)),
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^bpf_testmod_fentry_test11\(\) = 231$/m);
  t.regex(r.stdout, /^test1_result = 0$/m, "test7's program did not run");
  t.regex(r.stdout, /^test2_result = 1$/m);
  t.regex(r.stdout, /^test3_result = 1$/m);
});

test("a64bpf trace: errors are reported with a non-zero exit", (t) => {
  const r1 = trace("--object", "/nonexistent.o", "--call", "bpf_fentry_test1", "1");
  t.is(r1.status, 1);
  t.regex(r1.stderr, /^a64bpf trace: /);
  const r2 = trace("--object", buildBpfProg("fentry_many_args").path, "--call", "bpf_testmod_fentry_test7", "1");
  t.is(r2.status, 1);
  t.regex(r2.stderr, /bpf_testmod_fentry_test7 takes 7 arguments, 1 given/);
  const r3 = trace("--call", "x");
  t.is(r3.status, 2, "missing --object is a usage error");
});
