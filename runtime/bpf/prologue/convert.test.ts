/**
 * Argument conversion through BTF on hand-made types (runtime/kprobe has the
 * same against a real module built by clang): locations from AAPCS64,
 * member chains, arrays, unions, bitfields, casts, and perf's errors.
 */
import test from "ava";
import { EINVAL, ENOENT, EOPNOTSUPP } from "../../errno.js";
import { BpfError } from "../../errors.js";
import { Btf } from "../btf/btf.js";
import { BtfEncoder } from "../btf/encode.js";
import {
  BTF_INT_SIGNED,
  BTF_KIND_ARRAY,
  BTF_KIND_FLOAT,
  BTF_KIND_FUNC,
  BTF_KIND_FUNC_PROTO,
  BTF_KIND_INT,
  BTF_KIND_PTR,
  BTF_KIND_STRUCT,
  BTF_KIND_TYPEDEF,
  BTF_KIND_UNION,
  type BtfFuncProto,
} from "../btf/types.js";
import { convertPerfProbeArg, registerAlias, type ProbeFunc } from "./convert.js";
import { bpfGenPrologue } from "./gen_prologue.js";
import { paramLocations } from "./param_location.js";
import { parsePerfProbeArg } from "./perf_probe_arg.js";
import { synthesizeProbeTraceArg } from "./probe_trace_arg.js";

/** Type ids of the hand-made BTF, in encoding order. */
const T = {
  long: 1,
  int: 2,
  uchar: 3,
  uint: 4,
  inner: 5,
  innerPtr: 6,
  obj: 7,
  objPtr: 8,
  longArr4: 9,
  word: 10,
  ucharArr8: 11,
  double: 12,
  big: 13,
  pair: 14,
  charPtr: 15,
  i128: 16,
  objT: 17,
  objTPtr: 18,
};

function buildBtf(): Btf {
  const b = new BtfEncoder();
  const int = (name: string, size: number, signed: boolean): void => {
    b.type(BTF_KIND_INT, { name, sizeOrType: size, extra: [((signed ? BTF_INT_SIGNED : 0) << 24) | (size * 8)] });
  };
  const members = (list: [string, number, number, number?][]): number[] =>
    list.flatMap(([n, type, bitOff, bits]) => [b.str(n), type, ((bits ?? 0) << 24) | bitOff]);
  int("long", 8, true); // 1
  int("int", 4, true); // 2
  int("unsigned char", 1, false); // 3
  int("unsigned int", 4, false); // 4
  b.type(BTF_KIND_STRUCT, {
    name: "kprobe_inner",
    kflag: true,
    vlen: 4,
    sizeOrType: 24,
    extra: members([
      ["pad", T.long, 0],
      ["val", T.long, 64],
      ["ival", T.int, 128],
      ["bits", T.uint, 160, 5],
    ]),
  }); // 5
  b.type(BTF_KIND_PTR, { sizeOrType: T.inner }); // 6
  b.type(BTF_KIND_STRUCT, {
    name: "kprobe_obj",
    vlen: 6,
    sizeOrType: 88,
    extra: members([
      ["tag", T.int, 0],
      ["inner", T.innerPtr, 64],
      ["flags", T.long, 128],
      ["embedded", T.inner, 192],
      ["arr", T.longArr4, 384],
      ["w", T.word, 640],
    ]),
  }); // 7
  b.type(BTF_KIND_PTR, { sizeOrType: T.obj }); // 8
  b.type(BTF_KIND_ARRAY, { extra: [T.long, T.int, 4] }); // 9
  b.type(BTF_KIND_UNION, {
    name: "kprobe_word",
    vlen: 2,
    sizeOrType: 8,
    extra: members([
      ["word", T.long, 0],
      ["bytes", T.ucharArr8, 0],
    ]),
  }); // 10
  b.type(BTF_KIND_ARRAY, { extra: [T.uchar, T.int, 8] }); // 11
  b.type(BTF_KIND_FLOAT, { name: "double", sizeOrType: 8 }); // 12
  b.type(BTF_KIND_STRUCT, {
    name: "big",
    vlen: 3,
    sizeOrType: 24,
    extra: members([
      ["a", T.long, 0],
      ["b", T.long, 64],
      ["c", T.long, 128],
    ]),
  }); // 13
  b.type(BTF_KIND_STRUCT, {
    name: "pair",
    vlen: 2,
    sizeOrType: 16,
    extra: members([
      ["lo", T.long, 0],
      ["hi", T.long, 64],
    ]),
  }); // 14
  b.type(BTF_KIND_PTR, { sizeOrType: T.uchar }); // 15
  b.type(BTF_KIND_INT, { name: "__int128", sizeOrType: 16, extra: [(BTF_INT_SIGNED << 24) | 128] }); // 16
  b.type(BTF_KIND_TYPEDEF, { name: "obj_t", sizeOrType: T.obj }); // 17
  b.type(BTF_KIND_PTR, { sizeOrType: T.objT }); // 18
  let next = 19;
  const func = (name: string, params: [string, number][]): void => {
    b.type(BTF_KIND_FUNC_PROTO, {
      vlen: params.length,
      sizeOrType: T.long,
      extra: params.flatMap(([n, t]) => [b.str(n), t]),
    });
    b.type(BTF_KIND_FUNC, { name, vlen: 1, sizeOrType: next });
    next += 2;
  };
  func("kprobe_target", [
    ["obj", T.objPtr],
    ["x", T.long],
  ]);
  func("many", [
    ...Array.from({ length: 8 }, (_, i): [string, number] => [`a${i}`, T.long]),
    ["obj9", T.objPtr],
    ["big", T.big],
    ["pair", T.pair],
    ["d", T.double],
    ["str", T.charPtr],
  ]);
  func("regs", [
    ["p", T.pair],
    ["b", T.big],
    ["x", T.long],
    ["o", T.objTPtr],
  ]);
  func("wide", [
    ["a", T.long],
    ["w", T.i128],
    ["c", T.long],
  ]);
  func("late_wide", [
    ...Array.from({ length: 7 }, (_, i): [string, number] => [`a${i}`, T.long]),
    ["w", T.i128],
    ["z", T.long],
  ]);
  return Btf.parse(b.build());
}

const btf = buildBtf();

function fn(name: string): ProbeFunc {
  const sig = btf.funcSignature(name);
  if (!sig) throw new Error(`no ${name}`);
  return { name, btf, proto: sig.proto as BtfFuncProto };
}

const conv = (f: string, arg: string, isGlobal?: (n: string) => boolean): string =>
  synthesizeProbeTraceArg(convertPerfProbeArg(fn(f), parsePerfProbeArg(arg), { isGlobal }));

test("AAPCS64 locations: X registers, even pairs for 16-byte-aligned values, stack, by-reference composites, FP", (t) => {
  const loc = (f: string) => paramLocations(btf, fn(f).proto).map((p) => [p.name, p.location]);
  t.deepEqual(loc("wide"), [
    ["a", { kind: "reg", reg: 0, regs: 1 }],
    ["w", { kind: "reg", reg: 2, regs: 2 }],
    ["c", { kind: "reg", reg: 4, regs: 1 }],
  ]);
  t.deepEqual(loc("late_wide").slice(7), [
    ["w", { kind: "stack", offset: 0 }],
    ["z", { kind: "stack", offset: 16 }],
  ]);
  t.deepEqual(loc("many").slice(8), [
    ["obj9", { kind: "stack", offset: 0 }],
    ["big", { kind: "stack-indirect", offset: 8 }],
    ["pair", { kind: "stack", offset: 16 }],
    ["d", { kind: "fp", why: "8-byte floating-point value" }],
    ["str", { kind: "stack", offset: 32 }],
  ]);
  t.deepEqual(loc("regs"), [
    ["p", { kind: "reg", reg: 0, regs: 2 }],
    ["b", { kind: "reg-indirect", reg: 2 }],
    ["x", { kind: "reg", reg: 3, regs: 1 }],
    ["o", { kind: "reg", reg: 4, regs: 1 }],
  ]);
});

test("member chains: each -> through a pointer is a new dereference, '.' and indexes add to it", (t) => {
  t.is(conv("kprobe_target", "obj->inner->val"), "val=+8(+8(%x0)):s64");
  t.is(conv("kprobe_target", "obj->flags"), "flags=+16(%x0):s64");
  t.is(conv("kprobe_target", "obj->embedded.ival"), "ival=+40(%x0):s32", "24 + 16");
  t.is(conv("kprobe_target", "obj->arr[2]"), "arr=+64(%x0):s64", "48 + 2 * 8");
  t.is(conv("kprobe_target", "obj->w.bytes[3]"), "bytes=+83(%x0):x8", "union members at 0");
  t.is(
    conv("kprobe_target", "obj->inner[1].val"),
    "val=+32(+8(%x0)):s64",
    "index through a pointer: new deref at 1 * 24",
  );
  t.is(conv("kprobe_target", "obj->inner"), "inner=+8(%x0):x64", "pointers are unsigned 64-bit");
  t.is(
    conv("kprobe_target", "obj->embedded.bits"),
    "bits=+44(%x0):b5@0/32",
    "bitfield in its 32-bit container at byte 44",
  );
  t.is(conv("kprobe_target", "obj->embedded"), "embedded=+24(%x0):x64", "a struct is cut down to 64 bits");
  t.is(conv("kprobe_target", "obj->arr"), "arr=+48(%x0)", "an array has no type");
  t.is(conv("kprobe_target", "obj"), "%x0:x64");
  t.is(conv("kprobe_target", "x"), "%x1:s64");
  t.is(conv("regs", "o->flags"), "flags=+16(%x4):s64", "through a typedef");
});

test("locations turn into derefs: stacked arguments through %sp, by-reference composites through their pointer", (t) => {
  t.is(conv("many", "obj9->inner->val"), "val=+8(+8(+0(%sp))):s64");
  t.is(conv("many", "big.b"), "b=+8(+8(%sp)):s64");
  t.is(conv("many", "pair.hi"), "hi=+24(%sp):s64");
  t.is(conv("regs", "b.c"), "c=+16(%x2):s64");
  t.is(conv("many", "str:string"), "+0(+32(%sp)):string", ":string dereferences a char pointer");
  t.is(conv("many", "a7"), "%x7:s64");
});

test("casts, @user and register names", (t) => {
  t.is(conv("kprobe_target", "obj->flags:u8"), "flags=+16(%x0):u8");
  t.is(conv("kprobe_target", "obj->flags:u"), "flags=+16(%x0):u64", "a bare u/s/x only sets the prefix");
  t.is(conv("kprobe_target", "obj->tag:s"), "tag=+0(%x0):s32");
  const user = convertPerfProbeArg(fn("kprobe_target"), parsePerfProbeArg("obj->inner->val@user"));
  t.deepEqual(user.refs, [
    { offset: 8n, userAccess: true },
    { offset: 8n, userAccess: true },
  ]);
  t.is(conv("kprobe_target", "x5"), "%x5", "a register named without %");
  t.is(conv("kprobe_target", "sp"), "%sp");
  t.is(conv("kprobe_target", "lr:u32"), "%lr:u32");
  t.is(conv("kprobe_target", "%x3"), "%x3", "raw values pass through");
  t.is(registerAlias("x30"), undefined, "perf has no %x30");
  t.is(registerAlias("x07"), undefined);
});

test("a global becomes @name with a deref at 0, which the prologue refuses with -ENOTSUP", (t) => {
  const g = convertPerfProbeArg(fn("kprobe_target"), parsePerfProbeArg("kprobe_global"), {
    isGlobal: (n) => n === "kprobe_global",
  });
  t.is(synthesizeProbeTraceArg(g), "+0(@kprobe_global)");
  t.is(t.throws(() => bpfGenPrologue([g]), { instanceOf: BpfError })?.errno, EOPNOTSUPP);
});

test("perf's errors: wrong operator, missing member, not a struct, structure on a register, FP, unknown name", (t) => {
  const cases: [string, string, number, string][] = [
    ["kprobe_target", "obj->embedded->val", EINVAL, "semantic error: val must be referred by '.'"],
    ["kprobe_target", "obj.tag", EINVAL, "semantic error: tag must be referred by '->'"],
    ["kprobe_target", "obj->nope", EINVAL, "obj(type:kprobe_obj) has no member nope"],
    ["kprobe_target", "obj->tag->x", EINVAL, "tag is not a data structure nor an union"],
    ["kprobe_target", "obj->flags[1]", EINVAL, "flags is not a data structure nor an union"],
    ["kprobe_target", "obj->embedded[0]", EINVAL, "semantic error: embedded is not a pointer nor array"],
    ["kprobe_target", "x->a", EINVAL, "x is not a data structure nor an union"],
    ["regs", "p.hi", EOPNOTSUPP, "structure on a register is not supported yet: p"],
    ["kprobe_target", "obj->flags:string", EINVAL, "failed to cast into string: long is not a pointer nor array"],
    ["kprobe_target", "obj->inner:string", EINVAL, "failed to cast into string: kprobe_inner is not (unsigned) char"],
    ["kprobe_target", "x:u12", EINVAL, "invalid type: u12"],
    ["kprobe_target", "nope", ENOENT, "failed to find 'nope' in this function: kprobe_target"],
    ["kprobe_target", "x0->a", EINVAL, "register %x0 has no type: fields need a typed variable"],
    [
      "many",
      "d",
      EOPNOTSUPP,
      "sorry, we don't support this variable location yet: d of many is a 8-byte floating-point value in a floating-point register",
    ],
  ];
  for (const [f, arg, errno, message] of cases) {
    const err = t.throws(() => conv(f, arg), { instanceOf: BpfError });
    t.deepEqual({ errno: err?.errno, message: err?.message }, { errno, message }, arg);
  }
});
