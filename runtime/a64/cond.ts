/**
 * A64 condition codes (Arm ARM C1.2.4, "Condition code").
 *
 * Models `enum aarch64_insn_condition` of arch/arm64/include/asm/insn.h and
 * the `A64_COND_*` names of arch/arm64/net/bpf_jit.h. The four-bit value is
 * the encoding used by B.cond, CSEL/CSINC/CSINV/CSNEG and CCMP.
 *
 *   cond  name  meaning (after cmp a, b)      flags
 *   0000  eq    a == b                        Z
 *   0001  ne    a != b                        !Z
 *   0010  cs/hs a >= b unsigned               C
 *   0011  cc/lo a <  b unsigned               !C
 *   0100  mi    negative                      N
 *   0101  pl    positive or zero              !N
 *   0110  vs    overflow                      V
 *   0111  vc    no overflow                   !V
 *   1000  hi    a >  b unsigned               C && !Z
 *   1001  ls    a <= b unsigned               !(C && !Z)
 *   1010  ge    a >= b signed                 N == V
 *   1011  lt    a <  b signed                 N != V
 *   1100  gt    a >  b signed                 !Z && N == V
 *   1101  le    a <= b signed                 !(!Z && N == V)
 *   1110  al    always
 *   1111  nv    always (behaves as al)
 *
 * Inverting a condition flips bit 0 (not meaningful for al/nv).
 */
import { EncodeError } from "../errors.js";

/** A four-bit condition code, 0..15. */
export type A64Cond = number;

/** Equal (Z). */
export const A64_COND_EQ: A64Cond = 0x0;
/** Not equal (!Z). */
export const A64_COND_NE: A64Cond = 0x1;
/** Carry set: unsigned >= (C). */
export const A64_COND_CS: A64Cond = 0x2;
/** Unsigned higher or same: alias of cs. */
export const A64_COND_HS: A64Cond = A64_COND_CS;
/** Carry clear: unsigned < (!C). */
export const A64_COND_CC: A64Cond = 0x3;
/** Unsigned lower: alias of cc. */
export const A64_COND_LO: A64Cond = A64_COND_CC;
/** Negative (N). */
export const A64_COND_MI: A64Cond = 0x4;
/** Positive or zero (!N). */
export const A64_COND_PL: A64Cond = 0x5;
/** Overflow (V). */
export const A64_COND_VS: A64Cond = 0x6;
/** No overflow (!V). */
export const A64_COND_VC: A64Cond = 0x7;
/** Unsigned > (C && !Z). */
export const A64_COND_HI: A64Cond = 0x8;
/** Unsigned <= (!C || Z). */
export const A64_COND_LS: A64Cond = 0x9;
/** Signed >= (N == V). */
export const A64_COND_GE: A64Cond = 0xa;
/** Signed < (N != V). */
export const A64_COND_LT: A64Cond = 0xb;
/** Signed > (!Z && N == V). */
export const A64_COND_GT: A64Cond = 0xc;
/** Signed <= (Z || N != V). */
export const A64_COND_LE: A64Cond = 0xd;
/** Always. */
export const A64_COND_AL: A64Cond = 0xe;
/** Always (the encoding behaves as al). */
export const A64_COND_NV: A64Cond = 0xf;

const NAMES = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];

/** Assembler name of a condition ("eq", "hs", ...), as LLVM and capstone print it. */
export function condName(cond: A64Cond): string {
  if (cond === (cond & 15)) return NAMES[cond];
  throw new EncodeError(`invalid condition code: ${cond} (0..15)`);
}

/**
 * The opposite condition (eq ↔ ne, lt ↔ ge, ...). al and nv have no
 * opposite: they throw, as inverting "always" is always a caller bug.
 */
export function condInvert(cond: A64Cond): A64Cond {
  if (cond === (cond & 15) && cond < A64_COND_AL) return cond ^ 1;
  throw new EncodeError(`condition has no inverse: ${cond} (0..13)`);
}
