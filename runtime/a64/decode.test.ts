import test from "ava";
import { Prng } from "../prng.js";
import { decodeBitmaskImm } from "./bitmask.js";
import {
  aarch64GetBranchOffset,
  aarch64InsnAdrGetOffset,
  aarch64InsnDecodeImmediate,
  aarch64InsnDecodeLogicalImm,
  aarch64InsnDecodeRegister,
  aarch64InsnEncodeImmediate,
  aarch64InsnIsBOrBl,
  aarch64InsnIsBranchImm,
  aarch64InsnIsNop,
  aarch64SetBranchOffset,
  DecodeError,
  decodeA64,
  type A64ImmType,
} from "./decode.js";
import { disasmWord } from "./disasm.js";
import { aarch64InsnGenAdr, aarch64InsnGenLogicalImm } from "./gen_dp.js";
import { A64_INSN as I } from "./insn_table.js";
import * as M from "./jit_macros.js";
import { initOracles, ORACLE_PC } from "./oracle_testutil.js";

test.before(initOracles);

/** The branch target capstone prints, minus the pc: an independent reading of the offset. */
function capstoneOffset(word: number): number {
  const text = disasmWord(word, ORACLE_PC);
  const m = /#(0x[0-9a-f]+|\d+)$/.exec(text);
  if (m === null) throw new Error(`no target in "${text}"`);
  return Number(BigInt.asIntN(64, BigInt(m[1]) - ORACLE_PC));
}

/** Each immediate-branch class: a generator taking an offset in instructions, and its range. */
const BRANCHES: readonly [string, (n: number) => number, number][] = [
  ["b", (n) => M.a64B(n), 1 << 25],
  ["bl", (n) => M.a64Bl(n), 1 << 25],
  ["b.cond", (n) => M.a64BCond(0xb, n), 1 << 18],
  ["cbz", (n) => M.a64Cbz(true, 7, n), 1 << 18],
  ["cbnz", (n) => M.a64Cbnz(false, 7, n), 1 << 18],
  ["tbz", (n) => M.a64Tbz(7, 40, n), 1 << 13],
  ["tbnz", (n) => M.a64Tbnz(7, 3, n), 1 << 13],
];

test("aarch64GetBranchOffset reads what the generators wrote (and what capstone reads)", (t) => {
  const rng = new Prng(9);
  for (const [name, gen, range] of BRANCHES) {
    for (const n of [0, 1, -1, range - 1, -range, ...Array.from({ length: 20 }, () => rng.below(2 * range) - range)]) {
      const w = gen(n);
      t.true(aarch64InsnIsBranchImm(w), name);
      t.is(aarch64GetBranchOffset(w), n * 4, `${name} ${n}`);
      if (n === range - 1 || n === -range) t.is(capstoneOffset(w), n * 4, `${name} ${n}: capstone`);
    }
  }
});

test("aarch64SetBranchOffset replaces only the offset, range-checked per class", (t) => {
  for (const [name, gen, range] of BRANCHES) {
    const w = gen(5);
    for (const n of [0, -3, range - 1, -range]) {
      const v = aarch64SetBranchOffset(w, n * 4);
      t.is(v, gen(n), `${name} → ${n}`);
    }
    t.throws(() => aarch64SetBranchOffset(w, range * 4), { message: /^branch offset out of range/ });
  }
  t.throws(() => aarch64SetBranchOffset(M.a64Br(1), 4), {
    instanceOf: DecodeError,
    message: "not an immediate branch: 0xd61f0020",
  });
  t.throws(() => aarch64GetBranchOffset(M.a64Nop()), {
    instanceOf: DecodeError,
    message: "not an immediate branch: 0xd503201f",
  });
});

test("predicates: nop, immediate branches, b/bl", (t) => {
  t.true(aarch64InsnIsNop(0xd503201f));
  t.false(aarch64InsnIsNop(M.a64Bti("c")));
  t.false(aarch64InsnIsNop(M.a64Paciasp()));
  for (const [name, gen] of BRANCHES) t.true(aarch64InsnIsBranchImm(gen(2)), name);
  for (const w of [M.a64Br(1), M.a64Blr(1), M.a64Ret(), M.a64Adr(0, 8), M.a64LdrLiteral(true, 0, 8), M.a64Nop()]) {
    t.false(aarch64InsnIsBranchImm(w), disasmWord(w));
  }
  t.true(aarch64InsnIsBOrBl(M.a64B(3)));
  t.true(aarch64InsnIsBOrBl(M.a64Bl(-3)));
  t.false(aarch64InsnIsBOrBl(M.a64Cbz(true, 0, 3)));
});

test("immediate fields decode and re-encode (kernel aarch64_insn_{de,en}code_immediate)", (t) => {
  const ldr = M.a64Ldr64I(1, 2, 8 * 0x123); // imm12 = 0x123
  t.is(aarch64InsnDecodeImmediate("imm12", ldr), 0x123);
  t.is(aarch64InsnEncodeImmediate("imm12", ldr, 0xfff), M.a64Ldr64I(1, 2, 8 * 0xfff));
  const ldur = M.a64Ldur64(1, 2, -8);
  t.is(aarch64InsnDecodeImmediate("imm9", ldur), 0x1f8);
  t.is(aarch64InsnEncodeImmediate("imm9", ldur, -256), M.a64Ldur64(1, 2, -256));
  const stp = M.a64Stp(true, 1, 2, 3, -16);
  t.is(aarch64InsnDecodeImmediate("imm7", stp), 0x7e);
  const movz = M.a64Movz(true, 0, 0xbeef, 16);
  t.is(aarch64InsnDecodeImmediate("imm16", movz), 0xbeef);
  const and = M.a64AndI(true, 0, 1, 0xffn);
  t.is(aarch64InsnDecodeImmediate("immN", and), 1);
  t.is(aarch64InsnDecodeImmediate("immR", and), 0);
  t.is(aarch64InsnDecodeImmediate("immS", and), 7);
  const b = M.a64B(-1);
  t.is(aarch64InsnDecodeImmediate("imm26", b), 0x3ffffff);
  t.is(aarch64InsnEncodeImmediate("imm26", b, 4), M.a64B(4));
  const types: A64ImmType[] = [
    "imm26",
    "imm19",
    "imm16",
    "imm14",
    "imm12",
    "imm9",
    "imm7",
    "imm6",
    "immS",
    "immR",
    "immN",
  ];
  const rng = new Prng(3);
  for (const type of types) {
    const w = rng.nextU32();
    const v = aarch64InsnDecodeImmediate(type, w);
    t.is(aarch64InsnEncodeImmediate(type, w, v), w, `${type}: re-encoding the decoded field gives the word back`);
  }
  t.throws(() => aarch64InsnEncodeImmediate("imm12", ldr, 4096), {
    instanceOf: DecodeError,
    message: "immediate out of range: imm12 = 4096 (-2048..4095)",
  });
  t.throws(() => aarch64InsnDecodeImmediate("imm5" as A64ImmType, 0), { message: "unknown immediate type: imm5" });
});

test("adr/adrp offsets and registers decode", (t) => {
  for (const off of [0, 1, -1, 0xfffff, -0x100000, 12345]) {
    const w = aarch64InsnGenAdr(I.adr, 5, off);
    t.is(aarch64InsnAdrGetOffset(w), off);
    t.is(aarch64InsnEncodeImmediate("immAdr", w, 0), aarch64InsnGenAdr(I.adr, 5, 0));
  }
  for (const pages of [0, 1, -1, (1 << 20) - 1, -(1 << 20)]) {
    const w = aarch64InsnGenAdr(I.adrp, 5, pages * 4096);
    t.is(aarch64InsnAdrGetOffset(w), pages * 4096);
  }
  t.throws(() => aarch64InsnAdrGetOffset(M.a64Nop()), {
    instanceOf: DecodeError,
    message: "not an adr/adrp: 0xd503201f",
  });
  const madd = M.a64Madd(true, 1, 2, 3, 4); // madd x1, x3, x4, x2
  t.is(aarch64InsnDecodeRegister("Rd", madd), 1);
  t.is(aarch64InsnDecodeRegister("Ra", madd), 2);
  t.is(aarch64InsnDecodeRegister("Rn", madd), 3);
  t.is(aarch64InsnDecodeRegister("Rm", madd), 4);
  const ldp = M.a64Ldp(true, 7, 8, 9, 0);
  t.is(aarch64InsnDecodeRegister("Rt", ldp), 7);
  t.is(aarch64InsnDecodeRegister("Rt2", ldp), 8);
  t.is(aarch64InsnDecodeRegister("Rs", M.a64Ldadd(true, 6, 7, 8)), 6);
});

test("logical immediates decode to their value", (t) => {
  const rng = new Prng(17);
  for (let i = 0; i < 200; i++) {
    const is64 = rng.below(2) === 1;
    const v = decodeBitmaskImm(is64, is64 ? rng.below(2) : 0, rng.below(64), rng.below(64));
    if (v === undefined) continue;
    const w = aarch64InsnGenLogicalImm(rng.pick([I.andImm, I.orrImm, I.eorImm, I.andsImm]), is64, 1, 2, v);
    t.is(aarch64InsnDecodeLogicalImm(w), v);
  }
  t.throws(() => aarch64InsnDecodeLogicalImm(M.a64Add(true, 0, 1, 2)), {
    message: "not a logical immediate: 0x8b020020",
  });
  t.throws(() => aarch64InsnDecodeLogicalImm(0x12400000), {
    instanceOf: DecodeError,
    message: "reserved bitmask immediate encoding: 0x12400000",
  });
});

test("decodeA64 names the entry of generated words and nothing for words outside the table", (t) => {
  t.is(decodeA64(M.a64Nop())?.name, "nop");
  t.is(decodeA64(M.a64Bti("j"))?.name, "bti");
  t.is(decodeA64(M.a64Ldr64I(1, 2, 8))?.name, "ldrImm");
  t.is(decodeA64(M.a64Ldur64(1, 2, -8))?.name, "ldur");
  t.is(decodeA64(M.a64LdpPre(true, 1, 2, 3, 16))?.name, "ldpPre");
  t.is(decodeA64(M.a64Cas(true, 1, 2, 3, { acquire: true, release: true }))?.name, "casal");
  t.is(decodeA64(M.a64Ldadd(false, 1, 2, 3, { release: true }))?.name, "ldaddl");
  t.is(decodeA64(M.a64Rev32(false, 1, 2))?.name, "revW");
  t.is(decodeA64(M.a64Cset(true, 0, 0))?.name, "csinc");
  t.is(decodeA64(0x00000000), undefined, "udf #0");
  t.is(decodeA64(0x1e220820), undefined, "fmul s0, s1, s2");
  t.is(decodeA64(0x3d800000), undefined, "str q0, [x0]");
  t.is(decodeA64(0xd53bd040), undefined, "mrs x0, tpidr_el0");
});
