import test from "ava";
import { ENOTSUPP } from "../errno.js";
import { aapcs64ArgLayout, type ArgType } from "./arg_layout.js";

// Expected placements below were read off clang-19 -O2 --target=aarch64-linux-gnu
// output for callers of these prototypes (see the header of arg_layout.ts);
// the end-to-end tests in tramp/ check the same rules against compiled code.

const long = (name = ""): ArgType => ({ name, typeName: "long", kind: "int", size: 8, align: 8, signed: true });
const int = (name = ""): ArgType => ({ name, typeName: "int", kind: "int", size: 4, align: 4, signed: true });
const char = (name = ""): ArgType => ({ name, typeName: "char", kind: "int", size: 1, align: 1, signed: true });
const short = (name = ""): ArgType => ({ name, typeName: "short", kind: "int", size: 2, align: 2, signed: true });
const i128 = (name = ""): ArgType => ({ name, typeName: "__int128", kind: "int", size: 16, align: 16, signed: true });
const s16 = (align = 8): ArgType => ({ name: "s", typeName: "struct s16", kind: "struct", size: 16, align });
const s12: ArgType = { name: "e", typeName: "struct s12", kind: "struct", size: 12, align: 4 };
const sevenLongs = () => Array.from({ length: 7 }, (_, i) => long(`a${i}`));

function where(args: ArgType[]): string[] {
  return aapcs64ArgLayout("f", args).args.map((p) => (p.loc.kind === "reg" ? `x${p.loc.reg}` : `sp+${p.loc.offset}`));
}

test("f1(int, __int128): the __int128 starts at an even register (C.8)", (t) => {
  t.deepEqual(where([int(), i128()]), ["x0", "x2"]);
});

test("f2(7 longs, __int128, long): x7 is skipped, the __int128 is 16-aligned on the stack, nothing returns to x7", (t) => {
  t.deepEqual(where([...sevenLongs(), i128(), long()]).slice(7), ["sp+0", "sp+16"]);
});

test("f3(7 longs, struct s16, long): a composite that does not fit goes wholly to the stack (C.11)", (t) => {
  t.deepEqual(where([...sevenLongs(), s16(), long()]).slice(7), ["sp+0", "sp+16"]);
});

test("f4/f5/f6: struct alignment for passing (struct-level aligned ignored, member-level counted)", (t) => {
  t.deepEqual(where([int(), s16(8)]), ["x0", "x1"], "struct { long a, b; } __attribute__((aligned(16)))");
  t.deepEqual(
    where([int(), s16(16)]),
    ["x0", "x2"],
    "struct { _Alignas(16) long a; long b; } / struct { __int128 v; }",
  );
});

test("f7(8 longs, char, __int128, struct s12, short): padding on the stack", (t) => {
  const l = aapcs64ArgLayout("f7", [...sevenLongs(), long(), char(), i128(), s12, short()]);
  t.deepEqual(
    l.args.slice(8).map((p) => p.loc),
    [
      { kind: "stack", offset: 0 },
      { kind: "stack", offset: 16 },
      { kind: "stack", offset: 32 },
      { kind: "stack", offset: 48 },
    ],
  );
  t.is(l.stackBytes, 56);
  // The BPF context is packed: 8 longs, char, __int128 (2 slots), s12 (2 slots), short.
  t.deepEqual(
    l.args.slice(8).map((p) => p.ctxSlot),
    [8, 9, 11, 13],
  );
  t.is(l.ctxSlots, 14);
});

test("bpf_testmod_test_struct_arg_9: a..g in x0-x6, the 16-byte struct h and i on the stack", (t) => {
  const ptr = (name: string): ArgType => ({ name, typeName: "void *", kind: "ptr", size: 8, align: 8 });
  const s5: ArgType = { name: "h", typeName: "struct bpf_testmod_struct_arg_5", kind: "struct", size: 16, align: 8 };
  const l = aapcs64ArgLayout("bpf_testmod_test_struct_arg_9", [
    long("a"),
    ptr("b"),
    short("c"),
    int("d"),
    ptr("e"),
    char("f"),
    short("g"),
    s5,
    long("i"),
  ]);
  t.deepEqual(
    l.args.map((p) => (p.loc.kind === "reg" ? `x${p.loc.reg}` : `sp+${p.loc.offset}`)),
    ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "sp+0", "sp+16"],
  );
  t.is(l.ctxSlots, 10);
  t.is(l.regsUsed, 7);
});

test("refusals: more than 12 arguments, floating point, over 16 bytes", (t) => {
  const many = Array.from({ length: 13 }, (_, i) => long(`a${i}`));
  const e1 = t.throws(() => aapcs64ArgLayout("g", many));
  t.is((e1 as { errno?: number }).errno, ENOTSUPP);
  t.regex(e1?.message ?? "", /g has 13 arguments: more than MAX_BPF_FUNC_ARGS \(12\)/);
  const e2 = t.throws(() =>
    aapcs64ArgLayout("h", [int(), { name: "d", typeName: "double", kind: "float", size: 8, align: 8 }]),
  );
  t.is((e2 as { errno?: number }).errno, ENOTSUPP);
  t.regex(e2?.message ?? "", /argument 2 \(double d\) of h: floating-point arguments/);
  const e3 = t.throws(() =>
    aapcs64ArgLayout("k", [{ name: "big", typeName: "struct big", kind: "struct", size: 24, align: 8 }]),
  );
  t.regex(e3?.message ?? "", /argument 1 \(struct big big\) of k: 24-byte arguments are not supported/);
});
