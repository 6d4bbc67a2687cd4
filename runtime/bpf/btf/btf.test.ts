import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoaderError, parseElf } from "../elf.js";
import { Btf } from "./btf.js";
import { mutants } from "./corpus.js";
import { BtfEncoder } from "./encode.js";
import { btfDumpRaw } from "./dump_raw.js";
import { btfDumpC } from "./dump_c.js";
import { buildKernel } from "../../kernel/build.js";
import { BPF_TESTMOD_SOURCES, buildModule, type ExportedSymbol } from "../../kernel/module.js";
import { kernelImageFile } from "../../kernel/image.js";
import { MODULES_BASE } from "../../kernel/layout.js";
import { runTool } from "../../kernel/toolchain.js";

const dir = mkdtempSync(join(tmpdir(), "a64bpf-btf-test-"));

/** bpftool's raw dump of a file's .BTF: the independent oracle. */
function bpftoolRaw(path: string): string {
  const res = spawnSync("bpftool", ["btf", "dump", "file", path, "format", "raw"], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(res.stderr);
  return res.stdout;
}

function btfOf(bytes: Uint8Array): Btf {
  const elf = parseElf(bytes);
  return Btf.parse(elf.sectionData(elf.sectionByName(".BTF")!));
}

const kernel = buildKernel();
const kimg = kernelImageFile();
const exports = new Map<string, ExportedSymbol>(
  kimg.exports.map((n) => [n, { addr: kimg.address(n), owner: "kernel" }]),
);
const testmod = buildModule(BPF_TESTMOD_SOURCES, { name: "bpf_testmod", base: MODULES_BASE, exports });

function bpfObject(): string {
  const src = join(dir, "kinds.c");
  writeFileSync(
    src,
    [
      "#define __tag(x) __attribute__((btf_decl_tag(x)))",
      "enum big { BIG_A = 0x123456789aLL, BIG_B = -1 };",
      "enum ubig { UB = 0xffffffffffffffffULL };",
      "enum neg { N1 = -5, N2 = 7 };",
      'struct s { int a __tag("member"); int *p; double d; unsigned x:3; } __tag("struct");',
      "struct s gs; enum big gb; enum ubig gu; enum neg gn; float f1;",
      'int fn(int a, struct s *b) __tag("func");',
      "int fn(int a, struct s *b) { return a + b->a + gs.a; }",
      "static volatile const int cst = 5;",
      "int use_cst(void) { return cst; }",
    ].join("\n"),
  );
  const out = join(dir, "kinds.o");
  runTool("clang", ["-target", "bpf", "-O2", "-g", "-c", src, "-o", out], { what: "compile kinds.c" });
  return out;
}
const kindsObj = bpfObject();

test("parsed kernel, bpf_testmod and BPF-object BTF print exactly as bpftool's raw dump", (t) => {
  for (const [path, bytes] of [
    [kernel.path, kernel.bytes],
    [testmod.path, testmod.bytes],
    [kindsObj, new Uint8Array(spawnSync("cat", [kindsObj]).stdout)],
  ] as const) {
    const btf = btfOf(bytes);
    t.true(btf.length > 10, path);
    t.is(btfDumpRaw(btf), bpftoolRaw(path), path);
  }
});

test("kernel BTF: FUNC and FUNC_PROTO of the fentry test functions with names and sizes", (t) => {
  const btf = kimg.btf;
  const sig = btf.funcSignature("bpf_fentry_test6")!;
  t.is(sig.func.linkage, "static");
  t.deepEqual(
    sig.proto.params.map((p) => [p.name, btf.sizeof(p.type)]),
    [
      ["a", 8],
      ["b", 8],
      ["c", 2],
      ["d", 4],
      ["e", 8],
      ["f", 8],
    ],
  );
  t.is(btf.resolved(sig.proto.returnType).name, "int");
  t.is(btf.funcSignature("printk"), undefined, "variadic services are assembly stubs without BTF");
  t.is(
    btf
      .funcSignature("kmalloc")!
      .proto.params.map((p) => p.name)
      .join(","),
    "size,flags",
  );
  t.is(btf.funcSignature("no_such_function"), undefined);
});

test("bpf_testmod BTF: 11 arguments, a 16-byte struct on the stack and __int128", (t) => {
  const btf = btfOf(testmod.bytes);
  const t11 = btf.funcSignature("bpf_testmod_fentry_test11")!;
  t.deepEqual(
    t11.proto.params.map((p) => `${p.name}:${btf.sizeof(p.type)}`),
    ["a:8", "b:8", "c:2", "d:4", "e:8", "f:1", "g:4", "h:4", "i:8", "j:8", "k:8"],
  );
  const s9 = btf.funcSignature("bpf_testmod_test_struct_arg_9")!;
  const h = s9.proto.params[7];
  t.is(h.name, "h");
  t.is(btf.resolved(h.type).kind, "struct");
  t.is(btf.resolved(h.type).name, "bpf_testmod_struct_arg_5");
  t.is(btf.sizeof(h.type), 16);
  t.is(btf.alignof(h.type), 8);
  t.deepEqual(
    ["a", "b", "c", "d"].map((m) => btf.offsetof(h.type, m)),
    [0, 2, 4, 8],
  );
  const i128 = btf.funcSignature("bpf_testmod_test_int128_arg")!;
  t.deepEqual(
    i128.proto.params.map((p) => [p.name, btf.sizeof(p.type), btf.alignof(p.type)]),
    [
      ["a", 16, 16],
      ["b", 4, 4],
      ["c", 8, 8],
    ],
  );
  t.is(btf.sizeof(btf.funcSignature("bpf_testmod_test_int128_ret")!.proto.returnType), 16);
  const u2 = btf.get("bpf_testmod_union_arg_2", "union");
  t.is(btf.sizeof(u2.id), 16);
  const s3 = btf.get("bpf_testmod_struct_arg_3", "struct");
  t.is(btf.sizeof(s3.id), 4, "flexible array member adds nothing");
  t.is(btf.offsetof(s3.id, "b"), 4);
});

test("layout queries: resolve, bitfields, anonymous members, packed structs", (t) => {
  const btf = kimg.btf;
  const u32 = btf.get("__u32", "typedef");
  const base = btf.resolved(u32.id);
  t.is(base.kind, "int");
  t.is(base.name, "unsigned int");
  const ip = btf.get("iphdr", "struct");
  t.deepEqual(btf.member(ip.id, "version")!.member.bitfieldSize, 4);
  t.is(btf.member(ip.id, "version")!.bitOffset, 4);
  t.is(btf.offsetof(ip.id, "saddr"), 12, "found through the anonymous union");
  t.is(btf.offsetof(ip.id, "daddr"), 16);
  t.throws(() => btf.offsetof(ip.id, "ihl"), { instanceOf: LoaderError, message: /is a bitfield$/ });
  t.throws(() => btf.offsetof(ip.id, "nope"), { instanceOf: LoaderError, message: /no member named nope$/ });
  const eth = btf.get("ethhdr", "struct");
  t.false(btf.isPacked(eth.id), "packed, but its layout is the natural one: BTF cannot tell");
  t.is(btf.alignof(eth.id), 2);
  t.is(btf.sizeof(eth.id), 14);
  t.false(btf.isPacked(ip.id));
  const skb = btf.get("__sk_buff", "struct");
  t.is(btf.sizeof(skb.id), 192);
  t.is(btf.offsetof(skb.id, "protocol"), 16);
  t.is(btf.offsetof(skb.id, "flow_keys"), 144);
  t.is(btf.offsetof(skb.id, "hwtstamp"), 184);
  const regs = btf.get("user_pt_regs", "struct");
  t.deepEqual([btf.sizeof(regs.id), btf.offsetof(regs.id, "sp"), btf.offsetof(regs.id, "pc")], [272, 248, 256]);
  const ptRegs = btf.get("pt_regs", "struct");
  t.is(btf.offsetof(ptRegs.id, "pc"), 256, "pt_regs starts with user_pt_regs");
  t.is(btf.find("bpf_func_id", "enum")!.values.find((v) => v.name === "BPF_FUNC_tail_call")!.value, 12n);
  t.is(btf.find("bpf_attach_type", "enum")!.values.find((v) => v.name === "BPF_TRACE_FENTRY")!.value, 24n);
  t.is(btf.find("bpf_func_id", "struct"), undefined);
  t.throws(() => btf.get("nope", "struct"), { instanceOf: LoaderError, message: "BTF: no STRUCT named nope" });
  t.throws(() => btf.type(1 << 20), { instanceOf: LoaderError, message: /^BTF: unknown type id 1048576/ });
});

test("hand-made BTF with every kind parses with the right fields", (t) => {
  const b = new BtfEncoder();
  const b0 = (s: string): number => b.str(s);
  b.type(1, { name: "int", sizeOrType: 4, extra: [(1 << 24) | 32] }) // 1 INT signed
    .type(2, { sizeOrType: 4 }) // 2 PTR → 4
    .type(18, { name: "user", sizeOrType: 1 }) // 3 TYPE_TAG user → int
    .type(2, { sizeOrType: 3 }) // 4 PTR → type tag (int __user *)
    .type(11, { sizeOrType: 2 }) // 5 RESTRICT → ptr
    .type(7, { name: "u", kflag: true }) // 6 FWD union
    .type(19, { name: "e64", vlen: 1, kflag: true, sizeOrType: 8, extra: [b0("A"), 0xffffffff, 0xffffffff] }) // 7 ENUM64 signed -1
    .type(13, { vlen: 2, sizeOrType: 1, extra: [b0("x"), 1, 0, 0] }) // 8 FUNC_PROTO (int x, ...)
    .type(12, { name: "vf", vlen: 1, sizeOrType: 8 }) // 9 FUNC global
    .type(16, { name: "half", sizeOrType: 2 }) // 10 FLOAT
    .type(17, { name: "t", sizeOrType: 9, extra: [0] }) // 11 DECL_TAG on param 0 of vf
    .type(3, { extra: [1, 1, 5] }) // 12 ARRAY int[5]
    .type(14, { name: "v", sizeOrType: 12, extra: [1] }) // 13 VAR global
    .type(15, { name: ".data", vlen: 1, sizeOrType: 20, extra: [13, 0, 20] }) // 14 DATASEC
    .type(1, { name: "char", sizeOrType: 1, extra: [(2 << 24) | 8] }) // 15 INT char
    .type(4, { name: "pk", vlen: 2, sizeOrType: 5, extra: [b0("a"), 15, 0, b0("b"), 1, 8] }); // 16 struct { char a; int b; } packed
  const btf = Btf.parse(b.build());
  t.is(btf.length, 17);
  t.true(btf.isPacked(16));
  t.is(btf.alignof(16), 1);
  t.is(btf.offsetof(16, "b"), 1);
  t.like(btf.type(3), { kind: "type_tag", name: "user", type: 1 });
  t.is(btf.resolve(3), 1);
  t.like(btf.type(6), { kind: "fwd", fwdKind: "union", name: "u" });
  t.deepEqual(btf.find("e64", "enum64")!.values, [{ name: "A", value: -1n }]);
  const proto = btf.type(8);
  t.true(proto.kind === "func_proto" && proto.variadic && proto.params.length === 1);
  t.like(btf.type(9), { kind: "func", linkage: "global" });
  t.like(btf.type(11), { kind: "decl_tag", componentIdx: 0 });
  t.is(btf.sizeof(12), 20);
  t.is(btf.sizeof(13), 20);
  t.is(btf.sizeof(5), 8);
  t.is(btf.alignof(10), 2);
  t.throws(() => btf.sizeof(6), { instanceOf: LoaderError, message: "BTF type 6: FWD 'u' has no size" });
  t.throws(() => btf.sizeof(9), { instanceOf: LoaderError, message: "BTF type 9: FUNC 'vf' has no size" });
});

test("malformed BTF gives LoaderErrors naming the type", (t) => {
  const int = () => new BtfEncoder().type(1, { name: "int", sizeOrType: 4, extra: [(1 << 24) | 32] });
  const cases: [string, Uint8Array, string | RegExp][] = [
    ["short", new Uint8Array(10), "BTF: truncated header: 10 bytes (need 24)"],
    ["big-endian", int().build((v) => v.setUint16(0, 0x9feb, true)), "BTF: big-endian data is not supported"],
    ["version", int().build((v) => v.setUint8(2, 2)), "BTF: unsupported version 2"],
    [
      "type section past end",
      int().build((v) => v.setUint32(12, 0x1000, true)),
      /^BTF: type section 0x0\+0x1000 beyond end of data$/,
    ],
    ["misaligned", int().build((v) => v.setUint32(8, 2, true)), /not 4-byte aligned$/],
    ["overlap", int().build((v) => v.setUint32(16, 4, true)), /^BTF: string section .* beyond end of data$|overlap/],
    ["kind 0", new BtfEncoder().type(0, { name: "x" }).build(), "BTF type 1: invalid kind 0"],
    ["kind 31", new BtfEncoder().type(31, { name: "x" }).build(), "BTF type 1: invalid kind 31"],
    [
      "int size",
      new BtfEncoder().type(1, { name: "int", sizeOrType: 3, extra: [24] }).build(),
      "BTF type 1 (INT): invalid size 3",
    ],
    [
      "int bits",
      new BtfEncoder().type(1, { name: "int", sizeOrType: 4, extra: [33] }).build(),
      /^BTF type 1 \(INT\): invalid bits 33/,
    ],
    [
      "name offset",
      new BtfEncoder().type(2).build((v) => v.setUint32(24, 0x5000, true)),
      /^BTF type 1 \(PTR\): name: string offset 0x5000 outside string table/,
    ],
    ["dangling", new BtfEncoder().type(2, { sizeOrType: 7 }).build(), "BTF type 1 (PTR): references unknown type 7"],
    [
      "member dangling",
      int()
        .type(4, { name: "s", vlen: 1, sizeOrType: 4, extra: [0, 9, 0] })
        .build(),
      "BTF type 2 (STRUCT): member 0 references unknown type 9",
    ],
    [
      "member beyond size",
      int()
        .type(4, { name: "s", vlen: 1, sizeOrType: 4, extra: [0, 1, 64] })
        .build(),
      "BTF type 2 (STRUCT): member 0 at bit 64 beyond size 4",
    ],
    [
      "truncated members",
      int()
        .type(4, { name: "s", vlen: 3, sizeOrType: 4, extra: [0, 1, 0] })
        .build(),
      /^BTF type 2 \(STRUCT\): records truncated/,
    ],
    [
      "typedef loop",
      new BtfEncoder().type(8, { name: "a", sizeOrType: 2 }).type(8, { name: "b", sizeOrType: 1 }).build(),
      "BTF type 1 (TYPEDEF): type chain loops or is too deep",
    ],
    [
      "const self",
      new BtfEncoder().type(10, { sizeOrType: 1 }).build(),
      "BTF type 1 (CONST): type chain loops or is too deep",
    ],
    [
      "func not proto",
      int().type(12, { name: "f", sizeOrType: 1 }).build(),
      "BTF type 2 (FUNC f): type 1 is not a FUNC_PROTO",
    ],
    [
      "void param",
      int()
        .type(13, { vlen: 2, sizeOrType: 1, extra: [0, 0, 0, 1] })
        .build(),
      "BTF type 2 (FUNC_PROTO): param 0 has type void",
    ],
    [
      "bad linkage",
      int()
        .type(14, { name: "v", sizeOrType: 1, extra: [7] })
        .build(),
      "BTF type 2 (VAR): invalid linkage 7",
    ],
    [
      "decl tag index",
      int()
        .type(4, { name: "s", sizeOrType: 4 })
        .type(17, { name: "t", sizeOrType: 2, extra: [3] })
        .build(),
      "BTF type 3 (DECL_TAG t): component_idx 3 out of range",
    ],
  ];
  for (const [what, bytes, msg] of cases) {
    const err = t.throws(() => Btf.parse(bytes), { instanceOf: LoaderError }, what);
    if (typeof msg === "string") t.is(err!.message, msg, what);
    else t.regex(err!.message, msg, what);
  }
  // A struct that contains itself by value cannot loop the layout code.
  const self = Btf.parse(
    int()
      .type(4, { name: "s", vlen: 1, sizeOrType: 8, extra: [0, 2, 0] })
      .build(),
  );
  t.throws(() => self.alignof(2), { instanceOf: LoaderError, message: /too deep/ });
});

test("seeded corpus of corrupted BTF: every failure is a LoaderError, queries and writers never crash", (t) => {
  const bases = [btfSection(kernel.bytes), btfSection(testmod.bytes)];
  let rejected = 0;
  for (const [i, base] of bases.entries()) {
    for (const m of mutants(base, { seed: 0xb7f + i, count: 800, hot: 24 + 240 })) {
      try {
        const btf = Btf.parse(m.bytes);
        btfDumpRaw(btf);
        if (m.index % 8 === 0) {
          try {
            btfDumpC(btf);
          } catch (err) {
            if (!(err instanceof LoaderError)) throw err;
          }
        }
        for (const ty of btf.types) {
          try {
            if (ty.kind === "struct" || ty.kind === "union") {
              btf.sizeof(ty.id);
              btf.alignof(ty.id);
            }
          } catch (err) {
            if (!(err instanceof LoaderError)) throw err;
          }
        }
      } catch (err) {
        if (!(err instanceof LoaderError)) t.fail(`mutant ${i}/${m.index} (${m.kind}): ${String(err)}`);
        rejected++;
      }
    }
  }
  t.true(rejected > 500, `${rejected} rejected`);
});

function btfSection(image: Uint8Array): Uint8Array {
  const elf = parseElf(image);
  return elf.sectionData(elf.sectionByName(".BTF")!).slice();
}
