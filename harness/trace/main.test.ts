import test from "ava";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

test("a64bpf trace: globals are typed by BTF (arrays, structs, strings, enums); attach errors keep libbpf's reason", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-trace-"));
  const mod = join(dir, "tmod.c");
  writeFileSync(
    mod,
    [
      "int tmod_traced(int a) { return a + 1; }",
      "/* notrace, as the kernel's notrace with -fpatchable-function-entry: no patchable entry */",
      "__attribute__((patchable_function_entry(0, 0))) int tmod_notrace(int a) { return a; }",
      "",
    ].join("\n"),
  );
  const prog = join(dir, "typed.c");
  writeFileSync(
    prog,
    [
      '#include "vmlinux.h"',
      "#include <bpf/bpf_helpers.h>",
      "#include <bpf/bpf_tracing.h>",
      'char _license[] SEC("license") = "GPL";',
      "enum colour { RED = 1, GREEN = 2 };",
      "struct pair { int lo; unsigned char flag : 1; unsigned char rest : 7; long hi; };",
      "__u64 arr[3];",
      "struct pair p;",
      'char name[8] = "init";',
      "enum colour c = RED;",
      'SEC("fentry/tmod_traced")',
      "int BPF_PROG(on_traced, int a)",
      "{",
      "\tarr[0] = a; arr[2] = 7;",
      "\tp.lo = -a; p.flag = 1; p.rest = 5; p.hi = 1L << 40;",
      "\tname[0] = 'I'; name[1] = 'n';",
      "\tc = GREEN;",
      "\treturn 0;",
      "}",
      "",
    ].join("\n"),
  );
  const r = trace("--module", mod, "--object", prog, "--call", "tmod_traced", "41", "--json");
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ret: number; globals: Record<string, unknown> };
  t.is(out.ret, 42);
  t.deepEqual(out.globals, {
    arr: [41, 0, 7],
    p: { lo: -41, flag: 1, rest: 5, hi: 2 ** 40 },
    name: "Init",
    c: "GREEN",
  });
  // The same program on a function without a patchable entry: libbpf's message, the reason, the errno.
  writeFileSync(
    prog,
    [
      ...[`#include "vmlinux.h"`, "#include <bpf/bpf_helpers.h>", "#include <bpf/bpf_tracing.h>"],
      'char _license[] SEC("license") = "GPL";',
      'SEC("fentry/tmod_notrace") int BPF_PROG(on_notrace, int a) { return 0; }',
      "",
    ].join("\n"),
  );
  const bad = trace("--module", mod, "--object", prog, "--call", "tmod_notrace", "1");
  t.is(bad.status, 1);
  t.regex(
    bad.stderr,
    /^a64bpf trace: libbpf: prog 'on_notrace': failed to attach: -ENOTSUPP: attach fentry on_notrace to tmod_notrace: .* is not traceable: no patchable function entry \(ENOTSUPP, -524\)$/m,
  );
});
