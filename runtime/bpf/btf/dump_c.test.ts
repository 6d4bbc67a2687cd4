import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseElf } from "../elf.js";
import { Btf } from "./btf.js";
import { btfDeclaration, btfDumpC } from "./dump_c.js";
import { BtfEncoder } from "./encode.js";
import { kernelImageFile } from "../../kernel/image.js";

const dir = mkdtempSync(join(tmpdir(), "a64bpf-dumpc-test-"));
const kernel = kernelImageFile();

/** clang-19 -target bpf on `src` (a file in `dir`); returns diagnostics or throws them. */
function clangBpf(name: string, src: string, extra: string[] = []): string {
  writeFileSync(join(dir, name), src);
  const args = ["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", "-D__TARGET_ARCH_arm64", "-I", dir, ...extra];
  const res = spawnSync("clang-19", [...args, "-c", join(dir, name), "-o", join(dir, `${name}.o`)], {
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(`clang ${name} failed:\n${res.stderr}`);
  return join(dir, `${name}.o`);
}

function btfOfObject(path: string): Btf {
  const elf = parseElf(new Uint8Array(readFileSync(path)));
  return Btf.parse(elf.sectionData(elf.sectionByName(".BTF")!));
}

/**
 * _Static_asserts of every named struct/union's size and of its named,
 * non-bitfield members' offsets, as the BTF says: compiled against the
 * dumped header, they prove the C has the BTF's layout.
 */
function layoutAsserts(btf: Btf, names: (t: { kind: string; name: string }) => string): string {
  const out: string[] = [];
  for (const t of btf.types) {
    if ((t.kind !== "struct" && t.kind !== "union") || !t.name) continue;
    const c = names(t);
    out.push(`_Static_assert(sizeof(${c}) == ${t.size}, "sizeof ${c}");`);
    for (const m of t.members) {
      if (!m.name || m.bitfieldSize) continue;
      out.push(`_Static_assert(__builtin_offsetof(${c}, ${m.name}) == ${m.bitOffset / 8}, "${c}.${m.name}");`);
    }
  }
  return out.join("\n");
}

test("vmlinux.h of the simulated kernel compiles in a tc and a tracing program", (t) => {
  const header = btfDumpC(kernel.btf);
  t.true(header.startsWith("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"));
  t.true(
    header.includes(
      "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif",
    ),
  );
  t.true(header.includes("#pragma clang attribute pop"));
  writeFileSync(join(dir, "vmlinux.h"), header);
  const tc = clangBpf(
    "tc.c",
    `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");
SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 key = 0;
	__u64 *v;
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_VALUE) || ip->version != 4)
		return TC_ACT_OK;
	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	if (skb->sk && skb->sk->family == 2 && skb->protocol == bpf_htons(0x0800))
		return TC_ACT_OK;
	return ip->protocol == IPPROTO_TCP ? TC_ACT_OK : TC_ACT_SHOT;
}
char _license[] SEC("license") = "GPL";
`,
    ["-DETH_P_IP_VALUE=0x0800"],
  );
  const trace = clangBpf(
    "trace.c",
    `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
__u64 test1_result = 0, test2_result = 0, kprobe_res = 0;
SEC("fentry/bpf_fentry_test1")
int BPF_PROG(test1, int a)
{
	test1_result = a == 1;
	return 0;
}
SEC("fexit/bpf_fentry_test2")
int BPF_PROG(test2, int a, __u64 b, int ret)
{
	test2_result = a == 2 && b == 3 && ret == 5;
	return 0;
}
SEC("kprobe/bpf_fentry_test3")
int BPF_KPROBE(kp, char a, int b, __u64 c)
{
	kprobe_res = PT_REGS_IP(ctx) + a + b + c + PT_REGS_FP(ctx);
	return 0;
}
char _license[] SEC("license") = "GPL";
`,
  );
  // The programs' own BTF references the kernel's types by name.
  t.truthy(btfOfObject(tc).find("__sk_buff", "struct"));
  t.truthy(btfOfObject(trace).find("test1", "func"));
});

test("vmlinux.h reproduces the kernel's struct layouts (checked by clang)", (t) => {
  writeFileSync(join(dir, "vmlinux.h"), btfDumpC(kernel.btf));
  const asserts = layoutAsserts(kernel.btf, (x) => `${x.kind} ${x.name}`);
  t.true(asserts.split("\n").length > 150, `${asserts.split("\n").length} asserts`);
  t.notThrows(() => clangBpf("layout.c", `#include "vmlinux.h"\n${asserts}\n`));
});

const TRICKY = `
struct list_head { struct list_head *next, *prev; };
typedef struct { int counter; } atomic_t;
typedef int (*cb_t)(long);
typedef int (*cb2_t)(cb_t, struct list_head *);
struct node;
typedef struct node *node_p;
struct node { node_p left, right; atomic_t refs; struct list_head list; cb2_t ops[2]; };
union u { int a; struct { short lo, hi; } parts; long l; };
struct gaps { char c; long l __attribute__((aligned(16))); int x:3; int :0; int y:5; char tail[3]; };
struct pk { char a; int b; long c; } __attribute__((packed));
struct anon { int a; union { int b; struct { char c; char d; }; }; enum { ANON_X = 3, ANON_Y } e; };
struct arrs { const char *names[4]; int (*fns[3])(void); char grid[2][3]; const volatile int cvi; int *const cp; };
struct s1; struct s2 { struct s1 *p; }; struct s1 { struct s2 s; };
struct fwd_only;
enum wide { W_A = 0x100000000LL, W_B = -1 };
struct user { struct fwd_only *f; void (*release)(struct user *); long long big; unsigned long long ub; _Bool flag; enum wide w; };
struct node n0; union u u0; struct gaps g0; struct pk p0; struct anon a0; struct arrs ar0; struct s1 s10; struct user us0;
`;

test("tricky C: the dump compiles, keeps every layout, and is a fixpoint of C → BTF → C", (t) => {
  const btf = btfOfObject(clangBpf("tricky.c", TRICKY));
  const header = btfDumpC(btf, { guard: "__TRICKY_H__" });
  writeFileSync(join(dir, "tricky.h"), header);
  const asserts = layoutAsserts(btf, (x) => `${x.kind} ${x.name}`);
  // Use every named type so that the round trip's BTF contains them all.
  const uses = btf.types
    .filter((x) => x.name && ["struct", "union", "typedef", "enum", "enum64"].includes(x.kind))
    .map((x) => `${x.kind === "typedef" ? x.name : `${x.kind.replace("64", "")} ${x.name}`} *use_${x.name};`)
    .join("\n");
  const again = btfOfObject(clangBpf("again.c", `#include "tricky.h"\n${asserts}\n${uses}\n`));
  const blocks = (h: string) => new Set(h.split("\n\n").filter((b) => /^(struct|union|enum|typedef)/.test(b)));
  t.deepEqual([...blocks(btfDumpC(again, { guard: "__TRICKY_H__" }))].sort(), [...blocks(header)].sort());
  // Spot checks of the spelling.
  t.true(header.includes("typedef struct {\n\tint counter;\n} atomic_t;"));
  t.true(header.includes("typedef int (*cb2_t)(cb_t, struct list_head *);"));
  t.true(header.includes("\tint (*fns[3])(void);"));
  t.true(header.includes("\tchar grid[2][3];"));
  t.true(header.includes("\tint *const cp;"));
  t.true(header.includes("} __attribute__((packed));"));
  t.true(header.includes("\tenum {\n\t\tANON_X = 3,\n\t\tANON_Y = 4,\n\t} e;"));
  t.true(header.includes("W_A = 4294967296LL") || header.includes("W_A = 4294967296ULL"));
  t.true(header.includes("struct fwd_only;"));
  t.true(header.indexOf("struct s1;") < header.indexOf("struct s2 {"), "s1 declared before s2 uses it");
  t.true(header.indexOf("struct s2 {") < header.indexOf("struct s1 {"), "s2 defined before s1 embeds it");
  t.true(header.indexOf("typedef struct node *node_p;") < header.indexOf("struct node {"));
});

test("names used twice get ___2, enumerators too; opaque structs keep their alignment", (t) => {
  const b = new BtfEncoder();
  b.type(1, { name: "int", sizeOrType: 4, extra: [(1 << 24) | 32] }); // 1
  b.type(4, { name: "foo", vlen: 1, sizeOrType: 4, extra: [b.str("a"), 1, 0] }); // 2 struct foo { int a; }
  b.type(4, { name: "foo", vlen: 1, sizeOrType: 8, extra: [b.str("b"), 1, 32] }); // 3 another struct foo
  b.type(6, { vlen: 1, sizeOrType: 4, extra: [b.str("DUP"), 1] }); // 4 enum { DUP = 1 }
  b.type(6, { vlen: 1, sizeOrType: 4, extra: [b.str("DUP"), 2] }); // 5 enum { DUP = 2 }
  b.type(4, { name: "bpf_timer", sizeOrType: 16 }); // 6 struct with padding only
  const btf = Btf.parse(b.build());
  const h = btfDumpC(btf);
  t.true(h.includes("struct foo {\n\tint a;\n};"));
  t.true(h.includes("struct foo___2 {\n\tlong: 32;\n\tint b;\n};"));
  t.true(h.includes("\tDUP = 1,"));
  t.true(h.includes("\tDUP___2 = 2,"));
  t.true(h.includes("struct bpf_timer {\n\tlong: 64;\n\tlong: 64;\n} __attribute__((aligned(8)));"));
  writeFileSync(join(dir, "dups.h"), h);
  t.notThrows(() =>
    clangBpf(
      "dups.c",
      '#include "dups.h"\n_Static_assert(sizeof(struct foo___2) == 8, "");\n' +
        '_Static_assert(__alignof__(struct bpf_timer) == 8, "");\nstruct foo f; struct foo___2 f2; struct bpf_timer tm;\n',
    ),
  );
});

test("btfDeclaration spells single declarations", (t) => {
  const btf = kernel.btf;
  const proto = btf.funcSignature("bpf_prog_test_run_tracing")!.proto;
  t.is(btfDeclaration(btf, proto.params[1].type, { name: "retval" }), "u32 *retval");
  const kmalloc = btf.funcSignature("kmalloc")!;
  t.is(
    btfDeclaration(btf, kmalloc.func.type, { name: "kmalloc" }),
    "void *kmalloc(unsigned long size, unsigned int flags)",
  );
  const cb = btf.get("callback_head", "struct");
  t.is(btfDeclaration(btf, cb.members[1].type, { name: "func" }), "void (*func)(struct callback_head *)");
});
