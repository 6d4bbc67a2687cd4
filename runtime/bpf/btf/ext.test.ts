import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoaderError, parseElf, STT_FUNC } from "../elf.js";
import { Btf } from "./btf.js";
import { mutants } from "./corpus.js";
import { btfDumpC } from "./dump_c.js";
import { BPF_CORE_RELO_KIND_NAMES, parseBtfExt } from "./ext.js";
import { kernelImageFile } from "../../kernel/image.js";

const dir = mkdtempSync(join(tmpdir(), "a64bpf-btfext-test-"));
writeFileSync(join(dir, "vmlinux.h"), btfDumpC(kernelImageFile().btf));

const SRC = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

static __noinline int scale(int x)
{
	return x * 3;
}

__noinline int global_sub(struct iphdr *ip)
{
	return ip->ttl + scale(ip->protocol);
}

SEC("tc")
int prog(struct __sk_buff *skb)
{
	struct iphdr *ip = (void *)(long)skb->data;
	int r = 0;

	if ((void *)(ip + 1) > (void *)(long)skb->data_end)
		return 0;
	r += global_sub(ip);
	r += bpf_core_field_exists(ip->tos);
	r += bpf_core_type_size(struct tcphdr);
	r += bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_HASH);
	return r;
}

char _license[] SEC("license") = "GPL";
`;

function compile(): { path: string; btf: Btf; ext: ReturnType<typeof parseBtfExt>; elf: ReturnType<typeof parseElf> } {
  const src = join(dir, "prog.c");
  writeFileSync(src, SRC);
  const out = join(dir, "prog.o");
  const res = spawnSync("clang-19", ["-target", "bpf", "-O2", "-g", "-I", dir, "-c", src, "-o", out], {
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(res.stderr);
  const elf = parseElf(new Uint8Array(readFileSync(out)));
  const btf = Btf.parse(elf.sectionData(elf.sectionByName(".BTF")!));
  const ext = parseBtfExt(elf.sectionData(elf.sectionByName(".BTF.ext")!), btf.strings);
  return { path: out, btf, ext, elf };
}

const obj = compile();

test("func_info names every function at its symbol's offset", (t) => {
  const { btf, ext, elf } = obj;
  const expected = elf
    .symbols()
    .filter((s) => s.type === STT_FUNC)
    .map((s) => `${elf.sections[s.shndx].name}:${Number(s.value)}:${s.name}`)
    .sort();
  const got = [...ext.funcInfo.entries()]
    .flatMap(([sec, list]) => list.map((f) => `${sec}:${f.insnOff}:${btf.type(f.typeId).name}`))
    .sort();
  t.deepEqual(got, expected);
  for (const list of ext.funcInfo.values()) for (const f of list) t.is(btf.type(f.typeId).kind, "func");
});

test("line_info points at the source lines it names", (t) => {
  const lines = SRC.split("\n");
  let n = 0;
  for (const [sec, list] of obj.ext.lineInfo) {
    t.true(sec === "tc" || sec === ".text", sec);
    let prev = -1;
    for (const l of list) {
      t.true(l.fileName.endsWith("prog.c"), l.fileName);
      t.is(lines[l.lineNum - 1], l.line, `line ${l.lineNum}`);
      t.true(l.insnOff >= prev && l.insnOff % 8 === 0);
      prev = l.insnOff;
      n++;
    }
  }
  t.true(n > 8);
  const tc = obj.ext.lineInfo.get("tc")!;
  t.is(tc[0].insnOff, 0);
  t.regex(tc[0].line, /int prog\(struct __sk_buff \*skb\)/);
});

test("CO-RE relocations name the accessed members, types and enumerators", (t) => {
  const { btf, ext } = obj;
  const relos = [...ext.coreRelos.values()].flat();
  const described = relos.map((r) => {
    const ty = btf.type(r.typeId);
    const kind = BPF_CORE_RELO_KIND_NAMES[r.kind];
    const path = r.accessStr.split(":").map(Number);
    if (kind.startsWith("field_") && (ty.kind === "struct" || ty.kind === "union")) {
      return `${kind} ${ty.name}.${ty.members[path[1]].name}`;
    }
    if (kind.startsWith("enumval_") && ty.kind === "enum") return `${kind} ${ty.values[path[0]].name}`;
    return `${kind} ${ty.name}`;
  });
  for (const want of [
    "field_byte_offset iphdr.ttl",
    "field_byte_offset iphdr.protocol",
    "field_exists iphdr.tos",
    "type_size tcphdr",
    "enumval_value BPF_MAP_TYPE_HASH",
  ]) {
    t.true(described.includes(want), `${want} in ${described.join(", ")}`);
  }
});

test("corrupted .BTF.ext: every failure is a LoaderError", (t) => {
  const sec = obj.elf.sectionData(obj.elf.sectionByName(".BTF.ext")!).slice();
  t.throws(() => parseBtfExt(sec.subarray(0, 10), obj.btf.strings), {
    instanceOf: LoaderError,
    message: "BTF.ext: truncated header: 10 bytes",
  });
  const badRec = sec.slice();
  const hdrLen = new DataView(badRec.buffer).getUint32(4, true);
  const funcOff = new DataView(badRec.buffer).getUint32(8, true);
  new DataView(badRec.buffer).setUint32(hdrLen + funcOff, 4, true);
  t.throws(() => parseBtfExt(badRec, obj.btf.strings), {
    instanceOf: LoaderError,
    message: "BTF.ext: func_info record size 4 (need a multiple of 4, at least 8)",
  });
  let rejected = 0;
  for (const m of mutants(sec, { seed: 0xe47, count: 1500, hot: 64 })) {
    try {
      parseBtfExt(m.bytes, obj.btf.strings);
    } catch (err) {
      if (!(err instanceof LoaderError)) t.fail(`mutant ${m.index} (${m.kind}): ${String(err)}`);
      rejected++;
    }
  }
  t.true(rejected > 500, `${rejected} rejected`);
});
