/**
 * `a64bpf btf dump`: the vmlinux.h it writes compiles a tracing and a tc
 * program with clang-19 -target bpf; raw output matches bpftool's format;
 * object files and modules are dumped too; bad arguments are refused.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBpfProg } from "../../runtime/loader/progs_build.js";
import { runBtf } from "./main.js";

function run(argv: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = runBtf(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test("btf dump --format c > vmlinux.h, then clang-19 -target bpf of programs including it succeeds", (t) => {
  const r = run(["dump", "--format", "c"]);
  t.is(r.code, 0, r.err);
  t.true(r.out.startsWith("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"));
  t.regex(r.out, /struct __sk_buff \{/);
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-btf-dump-"));
  writeFileSync(join(dir, "vmlinux.h"), r.out);
  writeFileSync(
    join(dir, "prog.c"),
    `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char _license[] SEC("license") = "GPL";
__u64 seen;
SEC("fentry/bpf_fentry_test2")
int BPF_PROG(f, int a, __u64 b) { seen = a + b; return 0; }
SEC("tc")
int t(struct __sk_buff *skb) { return skb->len > 10 && skb->protocol == 8; }
`,
  );
  const cc = spawnSync(
    "clang-19",
    [
      "-target",
      "bpf",
      "-O2",
      "-g",
      "-D__TARGET_ARCH_arm64",
      "-Wall",
      "-Werror",
      "-I",
      dir,
      "-c",
      join(dir, "prog.c"),
      "-o",
      join(dir, "prog.o"),
    ],
    { encoding: "utf8" },
  );
  t.is(cc.status, 0, cc.stderr);
  // Same result with bpftool's word syntax.
  t.is(run(["dump", "format", "c"]).out, r.out);
});

test("btf dump: raw format, an object file's BTF, a module's BTF, and errors", (t) => {
  const help = run(["--help"]);
  t.is(help.code, 0);
  t.regex(help.out, /^usage: a64bpf btf dump /);
  const raw = run(["dump"]);
  t.is(raw.code, 0);
  t.regex(raw.out, /^\[1\] /);
  t.regex(
    raw.out,
    /\] FUNC 'bpf_fentry_test1' type_id=\d+ linkage=static/,
    "pahole writes vmlinux functions as static",
  );
  const obj = run(["dump", "file", buildBpfProg("test_loader_tc").path, "--format", "raw"]);
  t.is(obj.code, 0, obj.err);
  t.regex(obj.out, /\] FUNC 'tc_prog' type_id=\d+ linkage=global/);
  t.regex(obj.out, /\] DATASEC '\.maps' size=\d+ vlen=2/);
  const mod = run(["dump", "module", "bpf_testmod", "--format", "c"]);
  t.is(mod.code, 0, mod.err);
  t.regex(mod.out, /struct bpf_testmod_struct_arg_1 \{/);
  t.is(run(["dump", "--format", "json"]).code, 2);
  t.is(run(["list"]).code, 2);
  const missing = run(["dump", "file", "/nonexistent.o"]);
  t.is(missing.code, 1);
  t.regex(missing.err, /^a64bpf btf dump: cannot read \/nonexistent\.o/);
});
