import test from "ava";
import { EncodeError } from "../errors.js";
import {
  A64_SHIFT_ASR,
  A64_SHIFT_LSL,
  A64_SHIFT_LSR,
  A64_SHIFT_ROR,
  aarch64InsnGenAddSubImm,
  aarch64InsnGenAddSubShiftedReg,
  aarch64InsnGenAdr,
  aarch64InsnGenBitfield,
  aarch64InsnGenCondSelect,
  aarch64InsnGenData1,
  aarch64InsnGenData2,
  aarch64InsnGenData3,
  aarch64InsnGenExtr,
  aarch64InsnGenLogicalImm,
  aarch64InsnGenLogicalShiftedReg,
  aarch64InsnGenMoveWide,
} from "./gen_dp.js";
import { A64_INSN as I } from "./insn_table.js";
import { a64Asr, a64Lsl, a64Lsr, a64Ror } from "./jit_macros.js";
import { checkRows, imm, initOracles, row, type OracleRow } from "./oracle_testutil.js";
import { A64_SP, A64_ZR } from "./regs.js";

test.before(initOracles);

const SHIFT_NAMES = ["lsl", "lsr", "asr", "ror"];

test("shift immediates: every amount of lsl/lsr/asr/ror, 32 and 64-bit", (t) => {
  const rows: OracleRow[] = [];
  for (const is64 of [true, false]) {
    const r = is64 ? "x" : "w";
    const size = is64 ? 64 : 32;
    for (let s = 0; s < size; s++) {
      // lsl #0 is ubfm #0, #size-1, which the Arm ARM prints as its lsr alias.
      const lsl = s === 0 ? `lsr ${r}0, ${r}1, #0` : `lsl ${r}0, ${r}1, ${imm(s)}`;
      const ubfmLsl =
        ((is64 ? 0xd3400000 : 0x53000000) | (((size - s) % size) << 16) | ((size - 1 - s) << 10) | 0x20) >>> 0;
      rows.push(row(`lsl ${size} #${s}`, () => a64Lsl(is64, 0, 1, s), ubfmLsl, lsl));
      const ubfmLsr = ((is64 ? 0xd340fc20 : 0x53007c20) | (s << 16)) >>> 0;
      rows.push(row(`lsr ${size} #${s}`, () => a64Lsr(is64, 0, 1, s), ubfmLsr, `lsr ${r}0, ${r}1, ${imm(s)}`));
      const sbfmAsr = ((is64 ? 0x9340fc20 : 0x13007c20) | (s << 16)) >>> 0;
      rows.push(row(`asr ${size} #${s}`, () => a64Asr(is64, 0, 1, s), sbfmAsr, `asr ${r}0, ${r}1, ${imm(s)}`));
      const extr = ((is64 ? 0x93c10020 : 0x13810020) | (s << 10)) >>> 0;
      rows.push(row(`ror ${size} #${s}`, () => a64Ror(is64, 0, 1, s), extr, `ror ${r}0, ${r}1, ${imm(s)}`));
    }
  }
  t.is(rows.length, 4 * (64 + 32));
  checkRows(t, rows);
});

test("shifted-register operands: every shift type and amount", (t) => {
  const rows: OracleRow[] = [];
  for (const is64 of [true, false]) {
    const r = is64 ? "x" : "w";
    const size = is64 ? 64 : 32;
    for (let type = 0; type < 4; type++) {
      for (let s = 0; s < size; s++) {
        const suffix = type === 0 && s === 0 ? "" : `, ${SHIFT_NAMES[type]} #${s}`; // operand shifts print in decimal
        const fields = ((is64 ? 0x80000000 : 0) | (type << 22) | (3 << 16) | (s << 10) | (2 << 5) | 1) >>> 0;
        rows.push(
          row(
            `orr ${type}/${s}`,
            () => aarch64InsnGenLogicalShiftedReg(I.orrReg, is64, 1, 2, 3, s, type),
            (0x2a000000 | fields) >>> 0,
            `orr ${r}1, ${r}2, ${r}3${suffix}`,
          ),
        );
        if (type === A64_SHIFT_ROR) continue; // add/sub have no ror
        rows.push(
          row(
            `sub ${type}/${s}`,
            () => aarch64InsnGenAddSubShiftedReg(I.subReg, is64, 1, 2, 3, s, type),
            (0x4b000000 | fields) >>> 0,
            `sub ${r}1, ${r}2, ${r}3${suffix}`,
          ),
        );
      }
    }
  }
  checkRows(t, rows);
  t.throws(() => aarch64InsnGenAddSubShiftedReg(I.addReg, true, 1, 2, 3, 1, A64_SHIFT_ROR), {
    instanceOf: EncodeError,
    message: "invalid shift type: 3 (lsl, lsr or asr)",
  });
  t.throws(() => aarch64InsnGenLogicalShiftedReg(I.andReg, false, 1, 2, 3, 32, A64_SHIFT_LSR), {
    message: "shift amount out of range: 32 (0..31)",
  });
  t.throws(() => aarch64InsnGenLogicalShiftedReg(I.andReg, true, 1, 2, 3, 64, A64_SHIFT_ASR), {
    message: "shift amount out of range: 64 (0..63)",
  });
  t.throws(() => aarch64InsnGenLogicalShiftedReg(I.andReg, true, 1, 2, 3, 1, 4), {
    message: "invalid shift type: 4 (lsl, lsr, asr or ror)",
  });
});

test("add/sub immediate: limits of imm12 and the lsl #12 form; which operands may be sp", (t) => {
  checkRows(t, [
    row("add #0", aarch64InsnGenAddSubImm(I.addImm, true, 1, 2, 0), 0x91000041, "add x1, x2, #0"),
    row("add #4095", aarch64InsnGenAddSubImm(I.addImm, true, 1, 2, 4095), 0x913ffc41, "add x1, x2, #0xfff"),
    row("add #4096", aarch64InsnGenAddSubImm(I.addImm, true, 1, 2, 4096), 0x91400441, "add x1, x2, #1, lsl #12"),
    row(
      "sub #0xfff000",
      aarch64InsnGenAddSubImm(I.subImm, false, 1, 2, 0xfff000),
      0x517ffc41,
      "sub w1, w2, #0xfff, lsl #12",
    ),
    row("add wsp", aarch64InsnGenAddSubImm(I.addImm, false, A64_SP, A64_SP, 8), 0x110023ff, "add wsp, wsp, #8"),
    row("adds (Rd = xzr: cmn)", aarch64InsnGenAddSubImm(I.addsImm, true, A64_ZR, A64_SP, 1), 0xb10007ff, "cmn sp, #1"),
    row("subs x0, sp", aarch64InsnGenAddSubImm(I.subsImm, true, 0, A64_SP, 1), 0xf10007e0, "subs x0, sp, #1"),
  ]);
  for (const [v, ok] of [
    [4097, false],
    [0x1000000, false],
    [0xfff001, false],
    [-4096, false],
    [0.5, false],
    [0x7ff000, true],
  ] as const) {
    if (ok) t.notThrows(() => aarch64InsnGenAddSubImm(I.addImm, true, 1, 2, v));
    else
      t.throws(() => aarch64InsnGenAddSubImm(I.addImm, true, 1, 2, v), {
        instanceOf: EncodeError,
        message: `immediate out of range: imm12 = ${v} (0..4095, or a multiple of 4096 up to 0xfff000)`,
      });
  }
  t.throws(() => aarch64InsnGenAddSubImm(I.addsImm, true, A64_SP, 1, 1), {
    message: "invalid register: sp (Rd: x0..x30 or xzr)",
  });
  t.throws(() => aarch64InsnGenAddSubImm(I.addImm, true, A64_ZR, 1, 1), {
    message: "invalid register: xzr (Rd: x0..x30 or sp)",
  });
  t.throws(() => aarch64InsnGenAddSubImm(I.addReg, true, 1, 1, 1), {
    message: "wrong instruction for add/sub (immediate): addReg (Add/subtract (shifted register))",
  });
});

test("move wide: every shift, imm16 limits", (t) => {
  const rows: OracleRow[] = [];
  for (const [name, entry, is64, shifts] of [
    ["movz", I.movz, true, [0, 16, 32, 48]],
    ["movk", I.movk, true, [0, 16, 32, 48]],
    ["movk", I.movk, false, [0, 16]],
  ] as const) {
    for (const sh of shifts) {
      const word = (entry.value | (is64 ? 0x80000000 : 0) | ((sh / 16) << 21) | (0xffff << 5) | 7) >>> 0;
      const r = is64 ? "x7" : "w7";
      // the mov alias of movz prints the value signed
      const text =
        name === "movz"
          ? `mov x7, ${imm(BigInt.asIntN(64, 0xffffn << BigInt(sh)))}`
          : `movk ${r}, #0xffff${sh ? `, lsl #${sh}` : ""}`;
      rows.push(
        row(`${name} lsl ${sh}`, () => aarch64InsnGenMoveWide(entry, is64, 7, 0xffff, sh), word, text, {
          asm: `${name} ${r}, #0xffff, lsl #${sh}`,
        }),
      );
    }
  }
  checkRows(t, rows);
  t.throws(() => aarch64InsnGenMoveWide(I.movz, false, 1, 1, 32), {
    instanceOf: EncodeError,
    message: "invalid shift: lsl #32 (0 or 16)",
  });
  t.throws(() => aarch64InsnGenMoveWide(I.movz, true, 1, 1, 8), { message: "invalid shift: lsl #8 (0, 16, 32 or 48)" });
  t.throws(() => aarch64InsnGenMoveWide(I.movz, true, 1, 0x10000, 0), {
    message: "immediate out of range: imm16 = 65536 (0..65535)",
  });
  t.throws(() => aarch64InsnGenMoveWide(I.movn, true, 1, -1, 0), {
    message: "immediate out of range: imm16 = -1 (0..65535)",
  });
});

test("bitfield, extract, data-processing 1/2/3 source, conditional select, adr/adrp", (t) => {
  checkRows(t, [
    row("ubfm max", aarch64InsnGenBitfield(I.ubfm, true, 1, 2, 63, 63), 0xd37ffc41, "lsr x1, x2, #0x3f"),
    row("sbfm 32", aarch64InsnGenBitfield(I.sbfm, false, 1, 2, 31, 0), 0x131f0041, "sbfiz w1, w2, #1, #1"),
    row("bfm", aarch64InsnGenBitfield(I.bfm, true, 1, 2, 8, 15), 0xb3483c41, "bfxil x1, x2, #8, #8"),
    row("extr", aarch64InsnGenExtr(true, 1, 2, 3, 63), 0x93c3fc41, "extr x1, x2, x3, #0x3f"),
    row("rbit", aarch64InsnGenData1(I.rbit, true, 1, 2), 0xdac00041, "rbit x1, x2"),
    row("clz", aarch64InsnGenData1(I.clz, false, 1, 2), 0x5ac01041, "clz w1, w2"),
    row("revW", aarch64InsnGenData1(I.revW, false, 1, 2), 0x5ac00841, "rev w1, w2"),
    row("revX", aarch64InsnGenData1(I.revX, true, 1, 2), 0xdac00c41, "rev x1, x2"),
    row("rorv", aarch64InsnGenData2(I.rorv, true, 1, 2, 3), 0x9ac32c41, "ror x1, x2, x3"),
    row("madd w/ xzr", aarch64InsnGenData3(I.madd, true, 1, A64_ZR, 2, 3), 0x9b037c41, "mul x1, x2, x3"),
    row("msub", aarch64InsnGenData3(I.msub, true, 1, 4, 2, 3), 0x9b039041, "msub x1, x2, x3, x4"),
    row("csinv", aarch64InsnGenCondSelect(I.csinv, true, 1, 2, 3, 0), 0xda830041, "csinv x1, x2, x3, eq"),
    row("csneg", aarch64InsnGenCondSelect(I.csneg, false, 1, 2, 3, 0xc), 0x5a83c441, "csneg w1, w2, w3, gt"),
    row("adr max", aarch64InsnGenAdr(I.adr, 3, 0xfffff), 0x707fffe3, "adr x3, #0xfffff", { pc: 0n }),
    row("adr min", aarch64InsnGenAdr(I.adr, 3, -0x100000), 0x10800003, "adr x3, #0", { asm: false }),
    row("adrp max", aarch64InsnGenAdr(I.adrp, 3, 0xfffff000), 0xf07fffe3, "adrp x3, #0x1000ff000", { asm: false }),
    row("adrp min", aarch64InsnGenAdr(I.adrp, 3, -0x100000000), 0x90800003, "adrp x3, #0xffffffff00100000", {
      asm: false,
    }),
  ]);
  t.throws(() => aarch64InsnGenBitfield(I.ubfm, false, 1, 2, 32, 0), {
    instanceOf: EncodeError,
    message: "immediate out of range: immr = 32 (0..31)",
  });
  t.throws(() => aarch64InsnGenBitfield(I.ubfm, true, 1, 2, 0, 64), {
    message: "immediate out of range: imms = 64 (0..63)",
  });
  t.throws(() => aarch64InsnGenExtr(false, 1, 2, 3, 32), { message: "lsb out of range: 32 (0..31)" });
  t.throws(() => aarch64InsnGenData1(I.revX, false, 1, 2), { message: "wrong width for REV: revX is 64-bit only" });
  t.throws(() => aarch64InsnGenData1(I.revW, true, 1, 2), { message: "wrong width for REV: revW is 32-bit only" });
  t.throws(() => aarch64InsnGenCondSelect(I.csel, true, 1, 2, 3, 16), {
    message: "invalid condition code: 16 (0..15)",
  });
  t.throws(() => aarch64InsnGenAdr(I.adr, 1, 0x100000), {
    message: "immediate out of range: adr offset = 1048576 (-1048576..1048575)",
  });
  t.throws(() => aarch64InsnGenAdr(I.adrp, 1, 4097), {
    message: "adrp offset out of range: 0x1001 (a multiple of 4096 within ±4 GiB)",
  });
  t.throws(() => aarch64InsnGenAdr(I.adrp, 1, 0x100000000), {
    message: "adrp offset out of range: 0x100000000 (a multiple of 4096 within ±4 GiB)",
  });
  t.throws(() => aarch64InsnGenLogicalImm(I.andsImm, true, A64_SP, 1, 0xff), {
    message: "invalid register: sp (Rd: x0..x30 or xzr)",
  });
  t.throws(() => aarch64InsnGenData2(I.madd, true, 1, 2, 3), {
    message: "wrong instruction for data-processing (2 source): madd (Data-processing (3 source))",
  });
  void A64_SHIFT_LSL;
});
