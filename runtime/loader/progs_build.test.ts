import test from "ava";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuildError } from "../kernel/toolchain.js";
import { parseElf, EM_BPF } from "../bpf/elf.js";
import { buildBpfProg, listBpfProgs, vmlinuxHeaderDir } from "./progs_build.js";

test("selftests/progs programs compile with clang-19 -target bpf, and a second build is a cache hit", (t) => {
  t.true(listBpfProgs().includes("test_loader_tc"));
  const a = buildBpfProg("test_loader_tc");
  const elf = parseElf(a.bytes);
  t.is(elf.header.machine, EM_BPF);
  t.truthy(elf.sectionByName(".BTF"), "-g gives BTF");
  t.truthy(elf.sectionByName(".BTF.ext"));
  const b = buildBpfProg("test_loader_tc");
  t.true(b.cached);
  t.is(b.hash, a.hash);
});

test("the cache key covers the source and its headers; compiler errors are BuildErrors with clang's text", (t) => {
  const cacheDir = mkdtempSync(join(tmpdir(), "a64bpf-progs-cache-"));
  const src = mkdtempSync(join(tmpdir(), "a64bpf-progs-src-"));
  writeFileSync(join(src, "local.h"), "#define VALUE 1\n");
  const prog = (v: string) =>
    writeFileSync(
      join(src, "p.c"),
      `#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include "local.h"\nSEC("tc") int p(void *ctx) { return VALUE + ${v}; }\nchar _license[] SEC("license") = "GPL";\n`,
    );
  prog("1");
  const first = buildBpfProg("p", { srcDir: src, cacheDir });
  t.false(first.cached);
  t.true(buildBpfProg("p", { srcDir: src, cacheDir }).cached);
  writeFileSync(join(src, "local.h"), "#define VALUE 2\n");
  const second = buildBpfProg("p", { srcDir: src, cacheDir });
  t.false(second.cached, "a header change rebuilds");
  t.not(second.hash, first.hash);
  prog("undefined_identifier");
  const e = t.throws(() => buildBpfProg("p", { srcDir: src, cacheDir }), { instanceOf: BuildError });
  t.regex(e!.message, /compile p\.c: clang-19 failed \(exit 1\):\n.*undefined_identifier/s);
  t.true(vmlinuxHeaderDir({ cacheDir }).startsWith(cacheDir));
});
