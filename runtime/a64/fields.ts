/**
 * A64 field encoders: every range check of the encoders lives here.
 *
 * Models the field helpers of arch/arm64/lib/insn.c
 * (`aarch64_insn_encode_register`, `aarch64_insn_encode_immediate`,
 * `label_imm_common`, `aarch64_insn_encode_ldst_size`), with one difference:
 * where the kernel prints with pr_err and returns AARCH64_BREAK_FAULT, these
 * throw an {@link EncodeError} naming the field, the value and the allowed
 * range, e.g. "immediate out of range: imm12 = 4096 (0..4095)".
 *
 * Field positions used by the generators:
 *
 *   31                     21 20    16 15    10 9     5 4     0
 *   ┌──────────────────────┬────────┬────────┬───────┬───────┐
 *   │ opcode, sf, size ... │ Rm/Rs  │ Ra/Rt2 │  Rn   │ Rd/Rt │
 *   └──────────────────────┴────────┴────────┴───────┴───────┘
 *
 * Each check is a couple of integer comparisons on the success path; strings
 * are only built when an error is thrown. A check such as `v === (v & 0xfff)`
 * also rejects non-integers, NaN and values beyond 32 bits.
 */
import { EncodeError } from "../errors.js";
import { A64_SP, A64_ZR, regName } from "./regs.js";

/** Bit position of the Rd/Rt field. */
export const RD = 0;
/** Bit position of the Rn field. */
export const RN = 5;
/** Bit position of the Ra/Rt2 field. */
export const RA = 10;
/** Bit position of the Rm/Rs field. */
export const RM = 16;
/** The sf bit (bit 31): 64-bit variant of a data-processing instruction. */
export const SF_BIT = 0x80000000;

/** Register field names used in messages. */
export type RegField = "Rd" | "Rn" | "Rm" | "Rt" | "Rt2" | "Rs" | "Ra";

/**
 * A register field where 31 means the zero register: accepts 0..30 and
 * A64_ZR, returns the 5-bit field value.
 */
export function regZr(r: number, field: RegField): number {
  if (r === (r & 31)) return r;
  throw regError(r, field, "x0..x30 or xzr");
}

/**
 * A register field where 31 means the stack pointer: accepts 0..30 and
 * A64_SP, returns the 5-bit field value.
 */
export function regSp(r: number, field: RegField): number {
  if (r === (r & 31)) {
    if (r !== A64_ZR) return r;
  } else if (r === A64_SP) {
    return 31;
  }
  throw regError(r, field, "x0..x30 or sp");
}

function regError(r: number, field: RegField, allowed: string): EncodeError {
  return new EncodeError(`invalid register: ${regName(r)} (${field}: ${allowed})`);
}

/** An unsigned immediate of `bits` bits (1..30): returns it or throws "immediate out of range". */
export function uimm(v: number, bits: number, field: string): number {
  if (v === (v & ((1 << bits) - 1))) return v;
  throw new EncodeError(`immediate out of range: ${field} = ${v} (0..${(1 << bits) - 1})`);
}

/** A signed immediate of `bits` bits (1..31): returns its two's complement field value. */
export function simm(v: number, bits: number, field: string): number {
  const s = 32 - bits;
  if ((v << s) >> s === v) return v & ((1 << bits) - 1);
  throw new EncodeError(`immediate out of range: ${field} = ${v} (${-(1 << (bits - 1))}..${(1 << (bits - 1)) - 1})`);
}

/** A shift amount or bit position: 0..31 for 32-bit operations, 0..63 for 64-bit ones. */
export function shiftAmount(v: number, is64: boolean, what = "shift amount"): number {
  const max = is64 ? 63 : 31;
  if (v === (v & max)) return v;
  throw new EncodeError(`${what} out of range: ${v} (0..${max})`);
}

/** A four-bit condition code. */
export function condField(cond: number): number {
  if (cond === (cond & 15)) return cond;
  throw new EncodeError(`invalid condition code: ${cond} (0..15)`);
}

/**
 * A PC-relative branch or literal offset in bytes, encoded as a signed
 * `bits`-bit count of instructions: must be a multiple of 4 and within
 * ±2^(bits+1) bytes (-2^(bits+1) inclusive, +2^(bits+1) exclusive, as in the
 * kernel's label_imm_common). Returns the field value (offset / 4, masked).
 */
export function branchOffset(offset: number, bits: 26 | 19 | 14): number {
  const s = 32 - bits - 2;
  if ((offset << s) >> s === offset && (offset & 3) === 0) return (offset >> 2) & ((1 << bits) - 1);
  throw branchError(offset, bits);
}

function branchError(offset: number, bits: number): EncodeError {
  if (Number.isInteger(offset) && offset % 4 !== 0) {
    return new EncodeError(`branch offset not a multiple of 4: ${hex(offset)} bytes`);
  }
  return new EncodeError(`branch offset out of range: ${hex(offset)} bytes (±${sizeText(2 ** (bits + 1))})`);
}

/** "128 MiB", "1 MiB", "32 KiB", "4 GiB". */
export function sizeText(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 2 ** 10 && bytes % 2 ** 10 === 0) return `${bytes / 2 ** 10} KiB`;
  return `${bytes} bytes`;
}

/** A value for a message: "-0x10", "0x8000004", or String(v) when not an integer. */
export function hex(v: number | bigint): string {
  if (typeof v === "bigint") return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  if (!Number.isInteger(v)) return String(v);
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}
