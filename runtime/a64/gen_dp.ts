/**
 * A64 data-processing generators: one function per encoding class.
 *
 * Models the data-processing generators of arch/arm64/lib/insn.c
 * (`aarch64_insn_gen_add_sub_imm`, `_add_sub_shifted_reg`,
 * `_logical_shifted_reg`, `_logical_immediate`, `_movewide`, `_bitfield`,
 * `_extr`, `_data1`, `_data2`, `_data3`, `_adr`) plus conditional select,
 * named in camelCase. Encodings: Arm ARM C4.1 "Data Processing --
 * Immediate" and "Data Processing -- Register"; instruction pages in C6.2.
 *
 * Differences from the kernel: the `type` argument is the instruction's
 * table entry (`A64_INSN.subsImm`) instead of an enum, `is64` replaces the
 * variant enum, and bad operands throw an EncodeError instead of returning
 * AARCH64_BREAK_FAULT. The positional signatures mirror insn.c (that is why
 * they take more than two positional arguments) and allocate nothing.
 *
 * Which registers may be sp (31 = sp) and which xzr (31 = zr):
 *
 *   class                         Rd        Rn        Rm/Ra
 *   add/sub (immediate)           sp  (*)   sp        -
 *   add/sub (shifted register)    zr        zr        zr
 *   logical (immediate)           sp  (*)   zr        -
 *   logical (shifted register)    zr        zr        zr
 *   everything else here          zr        zr        zr
 *   (*) zr for the flag-setting forms adds/subs/ands (cmp, cmn, tst)
 */
import { EncodeError } from "../errors.js";
import { bitmaskImmField } from "./bitmask.js";
import { condField, hex, RA, RM, RN, regSp, regZr, SF_BIT, shiftAmount, simm, uimm } from "./fields.js";
import { A64_INSN, type A64InsnDesc } from "./insn_table.js";

// Shift types of the shifted-register forms (bits 23..22).
/** Logical shift left. */
export const A64_SHIFT_LSL = 0;
/** Logical shift right. */
export const A64_SHIFT_LSR = 1;
/** Arithmetic shift right. */
export const A64_SHIFT_ASR = 2;
/** ROR: logical (shifted register) only. */
export const A64_SHIFT_ROR = 3;

const ADD_IMM = A64_INSN.addImm;
const ADDS_IMM = A64_INSN.addsImm;
const SUB_IMM = A64_INSN.subImm;
const SUBS_IMM = A64_INSN.subsImm;
const ANDS_IMM = A64_INSN.andsImm;
const EXTR = A64_INSN.extr.value;
const ADR = A64_INSN.adr;
const ADRP = A64_INSN.adrp;
const REV_W = A64_INSN.revW;
const REV_X = A64_INSN.revX;
const REV32 = A64_INSN.rev32;
const DP1_BASE = 0x5ac00000;
const MADD = A64_INSN.madd;
const MSUB = A64_INSN.msub;
const CLS_ADDSUB_REG = A64_INSN.addReg.cls;
const CLS_LOG_REG = A64_INSN.andReg.cls;
const CLS_MOVEW = A64_INSN.movz.cls;
const CLS_BITFIELD = A64_INSN.ubfm.cls;
const CLS_DP1 = REV_W.cls;
const CLS_DP2 = A64_INSN.udiv.cls;
const CLS_CSEL = A64_INSN.csel.cls;

function badType(generator: string, type: A64InsnDesc): EncodeError {
  return new EncodeError(`wrong instruction for ${generator}: ${type.name} (${type.cls})`);
}

/**
 * ADD/ADDS/SUB/SUBS (immediate) — Arm ARM "Add/subtract (immediate)".
 *
 * `imm` is 0..4095, or a multiple of 4096 up to 0xfff000 (encoded with
 * `lsl #12`, as insn.c does). Rd may be sp except for adds/subs; Rn may be sp.
 */
export function aarch64InsnGenAddSubImm(type: A64InsnDesc, is64: boolean, rd: number, rn: number, imm: number): number {
  const setsFlags = type === ADDS_IMM || type === SUBS_IMM;
  if (!setsFlags && type !== ADD_IMM && type !== SUB_IMM) throw badType("add/sub (immediate)", type);
  let field: number;
  if (imm === (imm & 0xfff)) field = imm << 10;
  else if (imm === (imm & 0xfff000))
    field = (imm >>> 2) | 0x400000; // imm12 = imm >> 12 at bit 10, sh = 1
  else throw new EncodeError(`immediate out of range: imm12 = ${imm} (0..4095, or a multiple of 4096 up to 0xfff000)`);
  const d = setsFlags ? regZr(rd, "Rd") : regSp(rd, "Rd");
  return (type.value | (is64 ? SF_BIT : 0) | field | (regSp(rn, "Rn") << RN) | d) >>> 0;
}

function shiftField(is64: boolean, shift: number, shiftType: number, allowRor: boolean): number {
  if (shiftType !== (shiftType & 3) || (!allowRor && shiftType === A64_SHIFT_ROR)) {
    throw new EncodeError(
      `invalid shift type: ${shiftType} (${allowRor ? "lsl, lsr, asr or ror" : "lsl, lsr or asr"})`,
    );
  }
  return (shiftType << 22) | (shiftAmount(shift, is64) << 10);
}

/**
 * ADD/ADDS/SUB/SUBS (shifted register) — Arm ARM "Add/subtract (shifted
 * register)": `Rd = Rn ± (Rm <shift> #amount)`. All registers are x0..x30 or
 * xzr (register 31 is never sp here).
 */
export function aarch64InsnGenAddSubShiftedReg(
  type: A64InsnDesc,
  is64: boolean,
  rd: number,
  rn: number,
  rm: number,
  shift = 0,
  shiftType = A64_SHIFT_LSL,
): number {
  if (type.cls !== CLS_ADDSUB_REG) throw badType("add/sub (shifted register)", type);
  return (
    (type.value |
      (is64 ? SF_BIT : 0) |
      shiftField(is64, shift, shiftType, false) |
      (regZr(rm, "Rm") << RM) |
      (regZr(rn, "Rn") << RN) |
      regZr(rd, "Rd")) >>>
    0
  );
}

/**
 * AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register) — Arm ARM "Logical
 * (shifted register)".
 */
export function aarch64InsnGenLogicalShiftedReg(
  type: A64InsnDesc,
  is64: boolean,
  rd: number,
  rn: number,
  rm: number,
  shift = 0,
  shiftType = A64_SHIFT_LSL,
): number {
  if (type.cls !== CLS_LOG_REG) throw badType("logical (shifted register)", type);
  return (
    (type.value |
      (is64 ? SF_BIT : 0) |
      shiftField(is64, shift, shiftType, true) |
      (regZr(rm, "Rm") << RM) |
      (regZr(rn, "Rn") << RN) |
      regZr(rd, "Rd")) >>>
    0
  );
}

/**
 * AND/ORR/EOR/ANDS (immediate) — Arm ARM "Logical (immediate)". `imm` must
 * be a bitmask immediate (see bitmask.ts); anything else throws
 * "immediate has no bitmask encoding". Rd may be sp except for ands.
 */
export function aarch64InsnGenLogicalImm(
  type: A64InsnDesc,
  is64: boolean,
  rd: number,
  rn: number,
  imm: bigint | number,
): number {
  if (type.cls !== ANDS_IMM.cls) throw badType("logical (immediate)", type);
  const d = type === ANDS_IMM ? regZr(rd, "Rd") : regSp(rd, "Rd");
  const bits = bitmaskImmField(is64, imm);
  return (type.value | (is64 ? SF_BIT : 0) | (bits << 10) | (regZr(rn, "Rn") << RN) | d) >>> 0;
}

/**
 * MOVN/MOVZ/MOVK — Arm ARM "Move wide (immediate)". `shift` is the bit
 * shift of the 16-bit immediate: 0 or 16 (32-bit), 0, 16, 32 or 48 (64-bit).
 */
export function aarch64InsnGenMoveWide(
  type: A64InsnDesc,
  is64: boolean,
  rd: number,
  imm16: number,
  shift: number,
): number {
  if (type.cls !== CLS_MOVEW) throw badType("move wide (immediate)", type);
  if ((shift & 15) !== 0 || shift !== (shift & (is64 ? 48 : 16))) {
    throw new EncodeError(`invalid shift: lsl #${shift} (${is64 ? "0, 16, 32 or 48" : "0 or 16"})`);
  }
  return (type.value | (is64 ? SF_BIT : 0) | (shift << 17) | (uimm(imm16, 16, "imm16") << 5) | regZr(rd, "Rd")) >>> 0;
}

/**
 * SBFM/BFM/UBFM — Arm ARM "Bitfield". immr and imms are 0..31 (32-bit) or
 * 0..63 (64-bit); N is set equal to sf.
 */
export function aarch64InsnGenBitfield(
  type: A64InsnDesc,
  is64: boolean,
  rd: number,
  rn: number,
  immr: number,
  imms: number,
): number {
  if (type.cls !== CLS_BITFIELD) throw badType("bitfield", type);
  const max = is64 ? 63 : 31;
  if (immr !== (immr & max)) throw new EncodeError(`immediate out of range: immr = ${immr} (0..${max})`);
  if (imms !== (imms & max)) throw new EncodeError(`immediate out of range: imms = ${imms} (0..${max})`);
  const sfn = is64 ? SF_BIT | 0x400000 : 0;
  return (type.value | sfn | (immr << 16) | (imms << 10) | (regZr(rn, "Rn") << RN) | regZr(rd, "Rd")) >>> 0;
}

/** EXTR — Arm ARM "Extract": `Rd = (Rn:Rm) >> lsb`; `ror Rd, Rs, #n` is extr with Rn = Rm = Rs. */
export function aarch64InsnGenExtr(is64: boolean, rd: number, rn: number, rm: number, lsb: number): number {
  const sfn = is64 ? SF_BIT | 0x400000 : 0;
  const imms = shiftAmount(lsb, is64, "lsb");
  return (EXTR | sfn | (regZr(rm, "Rm") << RM) | (imms << 10) | (regZr(rn, "Rn") << RN) | regZr(rd, "Rd")) >>> 0;
}

/**
 * RBIT/REV16/REV/REV32/CLZ — Arm ARM "Data-processing (1 source)".
 *
 * Like the kernel's REVERSE_32 type, `A64_INSN.rev32` gives `rev32 Xd, Xn`
 * for a 64-bit operation and `rev Wd, Wn` for a 32-bit one (same opcode);
 * `A64_INSN.revX` (rev Xd) is 64-bit only and `A64_INSN.revW` 32-bit only.
 */
export function aarch64InsnGenData1(type: A64InsnDesc, is64: boolean, rd: number, rn: number): number {
  if (type.cls !== CLS_DP1) throw badType("data-processing (1 source)", type);
  if ((type === REV_X && !is64) || (type === REV_W && is64)) {
    throw new EncodeError(`wrong width for ${type.page}: ${type.name} is ${is64 ? "32" : "64"}-bit only`);
  }
  const opcode = type === REV32 || type === REV_W ? 0x800 : type.value & 0xfc00;
  return (DP1_BASE | (is64 ? SF_BIT : 0) | opcode | (regZr(rn, "Rn") << RN) | regZr(rd, "Rd")) >>> 0;
}

/** UDIV/SDIV/LSLV/LSRV/ASRV/RORV — Arm ARM "Data-processing (2 source)". */
export function aarch64InsnGenData2(type: A64InsnDesc, is64: boolean, rd: number, rn: number, rm: number): number {
  if (type.cls !== CLS_DP2) throw badType("data-processing (2 source)", type);
  return (type.value | (is64 ? SF_BIT : 0) | (regZr(rm, "Rm") << RM) | (regZr(rn, "Rn") << RN) | regZr(rd, "Rd")) >>> 0;
}

/**
 * MADD/MSUB — Arm ARM "Data-processing (3 source)": `Rd = Ra ± Rn * Rm`.
 * Operand order as the kernel's A64_MADD(sf, Rd, Ra, Rn, Rm).
 */
export function aarch64InsnGenData3(
  type: A64InsnDesc,
  is64: boolean,
  rd: number,
  ra: number,
  rn: number,
  rm: number,
): number {
  if (type !== MADD && type !== MSUB) throw badType("data-processing (3 source)", type);
  return (
    (type.value |
      (is64 ? SF_BIT : 0) |
      (regZr(rm, "Rm") << RM) |
      (regZr(ra, "Ra") << RA) |
      (regZr(rn, "Rn") << RN) |
      regZr(rd, "Rd")) >>>
    0
  );
}

/** CSEL/CSINC/CSINV/CSNEG — Arm ARM "Conditional select": `Rd = cond ? Rn : op(Rm)`. */
export function aarch64InsnGenCondSelect(
  type: A64InsnDesc,
  is64: boolean,
  rd: number,
  rn: number,
  rm: number,
  cond: number,
): number {
  if (type.cls !== CLS_CSEL) throw badType("conditional select", type);
  return (
    (type.value |
      (is64 ? SF_BIT : 0) |
      (regZr(rm, "Rm") << RM) |
      (condField(cond) << 12) |
      (regZr(rn, "Rn") << RN) |
      regZr(rd, "Rd")) >>>
    0
  );
}

/**
 * ADR/ADRP — Arm ARM "PC-rel. addressing". `offset` is in bytes from the
 * instruction: ADR takes -1 MiB..1 MiB-1; ADRP takes a multiple of 4096
 * (the distance between the 4 KiB pages of the instruction and the target)
 * within ±4 GiB.
 *
 *   31 30  29 28    24 23                5 4    0
 *   op  immlo  10000   immhi (19 bits)     Rd
 */
export function aarch64InsnGenAdr(type: A64InsnDesc, rd: number, offset: number): number {
  let imm: number;
  if (type === ADR) {
    imm = simm(offset, 21, "adr offset");
  } else if (type === ADRP) {
    const pages = offset / 4096;
    if (!Number.isInteger(pages) || pages < -(1 << 20) || pages >= 1 << 20) {
      throw new EncodeError(`adrp offset out of range: ${hex(offset)} (a multiple of 4096 within ±4 GiB)`);
    }
    imm = pages & 0x1fffff;
  } else {
    throw badType("PC-rel. addressing", type);
  }
  return (type.value | ((imm & 3) << 29) | ((imm >>> 2) << 5) | regZr(rd, "Rd")) >>> 0;
}
