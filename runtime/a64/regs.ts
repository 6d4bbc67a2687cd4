/**
 * A64 general-purpose registers as the encoders see them.
 *
 * Models the register enum of arch/arm64/include/asm/insn.h
 * (`AARCH64_INSN_REG_0..30`, `_FP`, `_LR`, `_ZR`, `_SP`) and the `A64_R(x)`,
 * `A64_FP`, `A64_LR`, `A64_ZR`, `A64_SP` names of arch/arm64/net/bpf_jit.h.
 *
 * Simplification / deliberate difference: in the kernel `AARCH64_INSN_REG_ZR`
 * and `AARCH64_INSN_REG_SP` are both the number 31 and each generator's
 * comment says which of the two a 31 means in that field. Here both still
 * *encode* as 31 (the low five bits), but they are distinct values, so every
 * field encoder checks that the caller meant what the encoding will do:
 *
 *   value   encodes as   meaning
 *   0..30   0..30        x0..x30 (w0..w30)
 *   31      31           xzr / wzr   (A64_ZR)
 *   63      31           sp / wsp    (A64_SP = A64_ZR | A64_REG_SP_FLAG)
 *
 * `add x0, sp, #0` cannot be asked for with A64_ZR, and `orr x0, xzr, x1`
 * cannot be asked for with A64_SP: a mix-up is an EncodeError, never a
 * silently different instruction.
 */
import { EncodeError } from "../errors.js";

/** A register operand: 0..30, {@link A64_ZR} or {@link A64_SP}. */
export type A64Reg = number;

/** Marks the stack pointer; the encoded register number is `reg & 31`. */
export const A64_REG_SP_FLAG = 0x20;
/** The zero register (xzr/wzr), encoded as 31. */
export const A64_ZR: A64Reg = 31;
/** The stack pointer (sp/wsp), encoded as 31. */
export const A64_SP: A64Reg = 31 | A64_REG_SP_FLAG;
/** The frame pointer x29. */
export const A64_FP: A64Reg = 29;
/** The link register x30. */
export const A64_LR: A64Reg = 30;
/** The intra-procedure-call scratch registers x16/x17 (AAPCS64 IP0/IP1). */
export const A64_IP0: A64Reg = 16;
/** See {@link A64_IP0}. */
export const A64_IP1: A64Reg = 17;

/**
 * General-purpose register `n` (0..30), like the kernel's `A64_R(n)`.
 * For 31 use {@link A64_ZR} or {@link A64_SP}: which one must be explicit.
 */
export function A64_R(n: number): A64Reg {
  if (n === (n & 31) && n !== 31) return n;
  const shown = Number.isInteger(n) ? `x${n}` : String(n);
  throw new EncodeError(`invalid register: ${shown} (A64_R takes 0..30; use A64_ZR or A64_SP for 31)`);
}

/** True when `r` is a valid operand value (0..30, A64_ZR or A64_SP). */
export function isA64Reg(r: unknown): r is A64Reg {
  return typeof r === "number" && (r === (r & 31) || r === A64_SP);
}

/**
 * Assembler name of a register: "x3"/"w3", "xzr"/"wzr", "sp"/"wsp", "x29"
 * (LLVM and capstone print x29/x30 rather than fp/lr). An invalid value is
 * shown as "x32", "x-1" or its String() form, for error messages.
 */
export function regName(r: number, is64 = true): string {
  return regLabel(r, is64);
}

function regLabel(r: number, is64: boolean): string {
  if (r === A64_SP) return is64 ? "sp" : "wsp";
  if (r === A64_ZR) return is64 ? "xzr" : "wzr";
  if (Number.isInteger(r)) return `${is64 ? "x" : "w"}${r}`;
  return String(r);
}
