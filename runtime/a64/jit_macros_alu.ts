/**
 * BPF JIT macros, part 3: add/sub, logical, moves, bitfields and their
 * aliases (shifts, extends), byte reversal, multiply/divide, conditional
 * select — the data-processing macros of arch/arm64/net/bpf_jit.h in
 * camelCase. See jit_macros.ts for the conventions; import through it.
 *
 * a64Mov follows A64_MOV (`add Rd, Rn, #0`, so it can copy to and from sp);
 * with Rn = A64_ZR it emits `mov Rd, xzr` as `orr Rd, xzr, xzr`.
 */
import { EncodeError } from "../errors.js";
import { condInvert } from "./cond.js";
import {
  aarch64InsnGenAddSubImm,
  aarch64InsnGenAddSubShiftedReg,
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
import { A64_INSN } from "./insn_table.js";
import { A64_SP, A64_ZR } from "./regs.js";

const T = {
  addImm: A64_INSN.addImm,
  addsImm: A64_INSN.addsImm,
  subImm: A64_INSN.subImm,
  subsImm: A64_INSN.subsImm,
  addReg: A64_INSN.addReg,
  addsReg: A64_INSN.addsReg,
  subReg: A64_INSN.subReg,
  subsReg: A64_INSN.subsReg,
  andReg: A64_INSN.andReg,
  bicReg: A64_INSN.bicReg,
  orrReg: A64_INSN.orrReg,
  ornReg: A64_INSN.ornReg,
  eorReg: A64_INSN.eorReg,
  andsReg: A64_INSN.andsReg,
  andImm: A64_INSN.andImm,
  orrImm: A64_INSN.orrImm,
  eorImm: A64_INSN.eorImm,
  andsImm: A64_INSN.andsImm,
  movn: A64_INSN.movn,
  movz: A64_INSN.movz,
  movk: A64_INSN.movk,
  sbfm: A64_INSN.sbfm,
  ubfm: A64_INSN.ubfm,
  rev16: A64_INSN.rev16,
  rev32: A64_INSN.rev32,
  revX: A64_INSN.revX,
  udiv: A64_INSN.udiv,
  sdiv: A64_INSN.sdiv,
  lslv: A64_INSN.lslv,
  lsrv: A64_INSN.lsrv,
  asrv: A64_INSN.asrv,
  rorv: A64_INSN.rorv,
  madd: A64_INSN.madd,
  msub: A64_INSN.msub,
  csel: A64_INSN.csel,
  csinc: A64_INSN.csinc,
} as const;

// ─── Add/subtract, logical, moves ───────────────────────────────────────────

/** `add Rd, Rn, #imm12` (A64_ADD_I); Rd/Rn may be sp; a multiple of 4096 uses lsl #12. */
export function a64AddI(is64: boolean, rd: number, rn: number, imm12: number): number {
  return aarch64InsnGenAddSubImm(T.addImm, is64, rd, rn, imm12);
}
/** `sub Rd, Rn, #imm12` (A64_SUB_I). */
export function a64SubI(is64: boolean, rd: number, rn: number, imm12: number): number {
  return aarch64InsnGenAddSubImm(T.subImm, is64, rd, rn, imm12);
}
/** `adds Rd, Rn, #imm12` (A64_ADDS_I). */
export function a64AddsI(is64: boolean, rd: number, rn: number, imm12: number): number {
  return aarch64InsnGenAddSubImm(T.addsImm, is64, rd, rn, imm12);
}
/** `subs Rd, Rn, #imm12` (A64_SUBS_I). */
export function a64SubsI(is64: boolean, rd: number, rn: number, imm12: number): number {
  return aarch64InsnGenAddSubImm(T.subsImm, is64, rd, rn, imm12);
}
/** `cmp Rn, #imm12` = subs zr, Rn, #imm12 (A64_CMP_I). */
export function a64CmpI(is64: boolean, rn: number, imm12: number): number {
  return aarch64InsnGenAddSubImm(T.subsImm, is64, A64_ZR, rn, imm12);
}
/** `cmn Rn, #imm12` = adds zr, Rn, #imm12 (A64_CMN_I). */
export function a64CmnI(is64: boolean, rn: number, imm12: number): number {
  return aarch64InsnGenAddSubImm(T.addsImm, is64, A64_ZR, rn, imm12);
}

/**
 * `mov Rd, Rn` (A64_MOV): `add Rd, Rn, #0` like the kernel, so sp works on
 * either side; `mov Rd, zr` (Rn = A64_ZR) is `orr Rd, zr, zr`.
 */
export function a64Mov(is64: boolean, rd: number, rn: number): number {
  if (rn === A64_ZR && rd !== A64_SP) return aarch64InsnGenLogicalShiftedReg(T.orrReg, is64, rd, A64_ZR, A64_ZR);
  return aarch64InsnGenAddSubImm(T.addImm, is64, rd, rn, 0);
}

/** `add Rd, Rn, Rm` (A64_ADD). */
export function a64Add(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenAddSubShiftedReg(T.addReg, is64, rd, rn, rm);
}
/** `sub Rd, Rn, Rm` (A64_SUB). */
export function a64Sub(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenAddSubShiftedReg(T.subReg, is64, rd, rn, rm);
}
/** `adds Rd, Rn, Rm`. */
export function a64Adds(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenAddSubShiftedReg(T.addsReg, is64, rd, rn, rm);
}
/** `subs Rd, Rn, Rm` (A64_SUBS). */
export function a64Subs(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenAddSubShiftedReg(T.subsReg, is64, rd, rn, rm);
}
/** `neg Rd, Rm` = sub Rd, zr, Rm (A64_NEG). */
export function a64Neg(is64: boolean, rd: number, rm: number): number {
  return aarch64InsnGenAddSubShiftedReg(T.subReg, is64, rd, A64_ZR, rm);
}
/** `cmp Rn, Rm` = subs zr, Rn, Rm (A64_CMP). */
export function a64Cmp(is64: boolean, rn: number, rm: number): number {
  return aarch64InsnGenAddSubShiftedReg(T.subsReg, is64, A64_ZR, rn, rm);
}
/** `cmn Rn, Rm` = adds zr, Rn, Rm. */
export function a64Cmn(is64: boolean, rn: number, rm: number): number {
  return aarch64InsnGenAddSubShiftedReg(T.addsReg, is64, A64_ZR, rn, rm);
}

/** `and Rd, Rn, Rm` (A64_AND). */
export function a64And(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.andReg, is64, rd, rn, rm);
}
/** `orr Rd, Rn, Rm` (A64_ORR). */
export function a64Orr(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.orrReg, is64, rd, rn, rm);
}
/** `eor Rd, Rn, Rm` (A64_EOR). */
export function a64Eor(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.eorReg, is64, rd, rn, rm);
}
/** `ands Rd, Rn, Rm` (A64_ANDS). */
export function a64Ands(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.andsReg, is64, rd, rn, rm);
}
/** `bic Rd, Rn, Rm`: Rd = Rn & ~Rm. */
export function a64Bic(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.bicReg, is64, rd, rn, rm);
}
/** `orn Rd, Rn, Rm`: Rd = Rn | ~Rm. */
export function a64Orn(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.ornReg, is64, rd, rn, rm);
}
/** `tst Rn, Rm` = ands zr, Rn, Rm (A64_TST). */
export function a64Tst(is64: boolean, rn: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.andsReg, is64, A64_ZR, rn, rm);
}
/** `mvn Rd, Rm` = orn Rd, zr, Rm (A64_MVN). */
export function a64Mvn(is64: boolean, rd: number, rm: number): number {
  return aarch64InsnGenLogicalShiftedReg(T.ornReg, is64, rd, A64_ZR, rm);
}

/** `and Rd, Rn, #imm` (A64_AND_I): imm must be a bitmask immediate. */
export function a64AndI(is64: boolean, rd: number, rn: number, imm: bigint | number): number {
  return aarch64InsnGenLogicalImm(T.andImm, is64, rd, rn, imm);
}
/** `orr Rd, Rn, #imm` (A64_ORR_I). */
export function a64OrrI(is64: boolean, rd: number, rn: number, imm: bigint | number): number {
  return aarch64InsnGenLogicalImm(T.orrImm, is64, rd, rn, imm);
}
/** `eor Rd, Rn, #imm` (A64_EOR_I). */
export function a64EorI(is64: boolean, rd: number, rn: number, imm: bigint | number): number {
  return aarch64InsnGenLogicalImm(T.eorImm, is64, rd, rn, imm);
}
/** `ands Rd, Rn, #imm` (A64_ANDS_I). */
export function a64AndsI(is64: boolean, rd: number, rn: number, imm: bigint | number): number {
  return aarch64InsnGenLogicalImm(T.andsImm, is64, rd, rn, imm);
}
/** `tst Rn, #imm` = ands zr, Rn, #imm (A64_TST_I). */
export function a64TstI(is64: boolean, rn: number, imm: bigint | number): number {
  return aarch64InsnGenLogicalImm(T.andsImm, is64, A64_ZR, rn, imm);
}

/** `movn Rd, #imm16, lsl #shift` (A64_MOVN): Rd = ~(imm16 << shift). */
export function a64Movn(is64: boolean, rd: number, imm16: number, shift: number): number {
  return aarch64InsnGenMoveWide(T.movn, is64, rd, imm16, shift);
}
/** `movz Rd, #imm16, lsl #shift` (A64_MOVZ). */
export function a64Movz(is64: boolean, rd: number, imm16: number, shift: number): number {
  return aarch64InsnGenMoveWide(T.movz, is64, rd, imm16, shift);
}
/** `movk Rd, #imm16, lsl #shift` (A64_MOVK): replace one 16-bit chunk. */
export function a64Movk(is64: boolean, rd: number, imm16: number, shift: number): number {
  return aarch64InsnGenMoveWide(T.movk, is64, rd, imm16, shift);
}

// ─── Bitfield, shifts, extends, byte reversal ───────────────────────────────

/** `sbfm Rd, Rn, #immr, #imms` (A64_SBFM). */
export function a64Sbfm(is64: boolean, rd: number, rn: number, immr: number, imms: number): number {
  return aarch64InsnGenBitfield(T.sbfm, is64, rd, rn, immr, imms);
}
/** `ubfm Rd, Rn, #immr, #imms` (A64_UBFM). */
export function a64Ubfm(is64: boolean, rd: number, rn: number, immr: number, imms: number): number {
  return aarch64InsnGenBitfield(T.ubfm, is64, rd, rn, immr, imms);
}

function regBits(is64: boolean): number {
  return is64 ? 64 : 32;
}

/** `lsl Rd, Rn, #shift` = ubfm Rd, Rn, #(-shift mod size), #(size-1-shift) (A64_LSL). */
export function a64Lsl(is64: boolean, rd: number, rn: number, shift: number): number {
  const bits = regBits(is64);
  shiftCheck(is64, shift);
  return a64Ubfm(is64, rd, rn, (bits - shift) & (bits - 1), bits - 1 - shift);
}
/** `lsr Rd, Rn, #shift` = ubfm Rd, Rn, #shift, #(size-1) (A64_LSR). */
export function a64Lsr(is64: boolean, rd: number, rn: number, shift: number): number {
  return a64Ubfm(is64, rd, rn, shiftCheck(is64, shift), regBits(is64) - 1);
}
/** `asr Rd, Rn, #shift` = sbfm Rd, Rn, #shift, #(size-1) (A64_ASR). */
export function a64Asr(is64: boolean, rd: number, rn: number, shift: number): number {
  return a64Sbfm(is64, rd, rn, shiftCheck(is64, shift), regBits(is64) - 1);
}
/** `ror Rd, Rn, #shift` = extr Rd, Rn, Rn, #shift. */
export function a64Ror(is64: boolean, rd: number, rn: number, shift: number): number {
  return aarch64InsnGenExtr(is64, rd, rn, rn, shift);
}

function shiftCheck(is64: boolean, shift: number): number {
  const max = regBits(is64) - 1;
  if (shift === (shift & max)) return shift;
  throw new EncodeError(`shift amount out of range: ${shift} (0..${max})`);
}

/** `ubfx Rd, Rn, #lsb, #width` = ubfm Rd, Rn, #lsb, #(lsb+width-1). */
export function a64Ubfx(is64: boolean, rd: number, rn: number, lsb: number, width: number): number {
  return a64Ubfm(is64, rd, rn, lsb, fieldEnd(is64, lsb, width));
}
/** `sbfx Rd, Rn, #lsb, #width` = sbfm Rd, Rn, #lsb, #(lsb+width-1). */
export function a64Sbfx(is64: boolean, rd: number, rn: number, lsb: number, width: number): number {
  return a64Sbfm(is64, rd, rn, lsb, fieldEnd(is64, lsb, width));
}

function fieldEnd(is64: boolean, lsb: number, width: number): number {
  const bits = regBits(is64);
  if (lsb !== (lsb & (bits - 1)) || !Number.isInteger(width) || width < 1 || lsb + width > bits) {
    throw new EncodeError(`bitfield out of range: lsb ${lsb}, width ${width} (lsb + width <= ${bits}, width >= 1)`);
  }
  return lsb + width - 1;
}

/** `uxtb` = ubfm Rd, Rn, #0, #7 (zero-extend the low byte). */
export function a64Uxtb(is64: boolean, rd: number, rn: number): number {
  return a64Ubfm(is64, rd, rn, 0, 7);
}
/** `uxth` = ubfm Rd, Rn, #0, #15 (A64_UXTH). */
export function a64Uxth(is64: boolean, rd: number, rn: number): number {
  return a64Ubfm(is64, rd, rn, 0, 15);
}
/** `uxtw` = ubfm Rd, Rn, #0, #31 (A64_UXTW). */
export function a64Uxtw(is64: boolean, rd: number, rn: number): number {
  return a64Ubfm(is64, rd, rn, 0, 31);
}
/** `sxtb` = sbfm Rd, Rn, #0, #7 (A64_SXTB). */
export function a64Sxtb(is64: boolean, rd: number, rn: number): number {
  return a64Sbfm(is64, rd, rn, 0, 7);
}
/** `sxth` = sbfm Rd, Rn, #0, #15 (A64_SXTH). */
export function a64Sxth(is64: boolean, rd: number, rn: number): number {
  return a64Sbfm(is64, rd, rn, 0, 15);
}
/** `sxtw` = sbfm Rd, Rn, #0, #31 (A64_SXTW). */
export function a64Sxtw(is64: boolean, rd: number, rn: number): number {
  return a64Sbfm(is64, rd, rn, 0, 31);
}

/** `rev16 Rd, Rn` (A64_REV16): swap the bytes of each halfword. */
export function a64Rev16(is64: boolean, rd: number, rn: number): number {
  return aarch64InsnGenData1(T.rev16, is64, rd, rn);
}
/** `rev32 Xd, Xn` (64-bit) or `rev Wd, Wn` (32-bit) (A64_REV32): swap the bytes of each word. */
export function a64Rev32(is64: boolean, rd: number, rn: number): number {
  return aarch64InsnGenData1(T.rev32, is64, rd, rn);
}
/** `rev Xd, Xn` (A64_REV64): swap the bytes of the doubleword. */
export function a64Rev64(rd: number, rn: number): number {
  return aarch64InsnGenData1(T.revX, true, rd, rn);
}

// ─── Multiply, divide, variable shifts, conditional select ──────────────────

/** `udiv Rd, Rn, Rm` (A64_UDIV); division by zero gives 0. */
export function a64Udiv(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenData2(T.udiv, is64, rd, rn, rm);
}
/** `sdiv Rd, Rn, Rm` (A64_SDIV); x/0 = 0 and INT_MIN/-1 = INT_MIN. */
export function a64Sdiv(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenData2(T.sdiv, is64, rd, rn, rm);
}
/** `lsl Rd, Rn, Rm` = lslv (A64_LSLV); shift taken modulo the register size. */
export function a64Lslv(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenData2(T.lslv, is64, rd, rn, rm);
}
/** `lsr Rd, Rn, Rm` = lsrv (A64_LSRV). */
export function a64Lsrv(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenData2(T.lsrv, is64, rd, rn, rm);
}
/** `asr Rd, Rn, Rm` = asrv (A64_ASRV). */
export function a64Asrv(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenData2(T.asrv, is64, rd, rn, rm);
}
/** `ror Rd, Rn, Rm` = rorv. */
export function a64Rorv(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenData2(T.rorv, is64, rd, rn, rm);
}

/** `madd Rd, Rn, Rm, Ra`: Rd = Ra + Rn * Rm; kernel operand order A64_MADD(sf, Rd, Ra, Rn, Rm). */
export function a64Madd(is64: boolean, rd: number, ra: number, rn: number, rm: number): number {
  return aarch64InsnGenData3(T.madd, is64, rd, ra, rn, rm);
}
/** `msub Rd, Rn, Rm, Ra`: Rd = Ra - Rn * Rm; kernel operand order A64_MSUB(sf, Rd, Ra, Rn, Rm). */
export function a64Msub(is64: boolean, rd: number, ra: number, rn: number, rm: number): number {
  return aarch64InsnGenData3(T.msub, is64, rd, ra, rn, rm);
}
/** `mul Rd, Rn, Rm` = madd Rd, Rn, Rm, zr (A64_MUL). */
export function a64Mul(is64: boolean, rd: number, rn: number, rm: number): number {
  return aarch64InsnGenData3(T.madd, is64, rd, A64_ZR, rn, rm);
}

/** `csel Rd, Rn, Rm, cond`: Rd = cond ? Rn : Rm. */
export function a64Csel(is64: boolean, rd: number, rn: number, rm: number, cond: number): number {
  return aarch64InsnGenCondSelect(T.csel, is64, rd, rn, rm, cond);
}
/** `csinc Rd, Rn, Rm, cond`: Rd = cond ? Rn : Rm + 1. */
export function a64Csinc(is64: boolean, rd: number, rn: number, rm: number, cond: number): number {
  return aarch64InsnGenCondSelect(T.csinc, is64, rd, rn, rm, cond);
}
/** `cset Rd, cond` = csinc Rd, zr, zr, !cond: Rd = cond ? 1 : 0 (cond al/nv throw). */
export function a64Cset(is64: boolean, rd: number, cond: number): number {
  return aarch64InsnGenCondSelect(T.csinc, is64, rd, A64_ZR, A64_ZR, condInvert(cond));
}
