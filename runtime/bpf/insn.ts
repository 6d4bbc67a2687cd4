/**
 * The BPF instruction value type: `struct bpf_insn` (include/uapi/linux/bpf.h)
 * as a readonly plain value.
 *
 *   struct bpf_insn, 8 bytes, little-endian (RFC 9669 §3.1)
 *
 *    byte 0      byte 1          bytes 2-3        bytes 4-7
 *   +--------+--------+--------+----------------+--------------------------------+
 *   |  code  | src:4  | dst:4  |   off (s16)    |           imm (s32)            |
 *   +--------+--------+--------+----------------+--------------------------------+
 *             high nibble low nibble
 *
 * ld_imm64 keeps its wire form: two slots. The first is `BPF_LD | BPF_IMM |
 * BPF_DW` with the low 32 bits in imm; the second has code, dst, src and off
 * all 0 and the high 32 bits in imm. Jump offsets count slots, so the second
 * slot is an instruction index of its own, exactly as in the kernel.
 *
 * Field ranges: code u8, dst/src 4 bits (0..15: r0–r10, plus r12 as the
 * base of stack-argument loads and stores (stack_arg.ts); r11 is the
 * kernel-internal BPF_REG_AX), off s16, imm s32.
 */
import { BPF_DW, BPF_IMM, BPF_LD } from "./opcodes.js";

/** One 8-byte BPF instruction slot. */
export interface Insn {
  /** Opcode byte (u8). */
  readonly code: number;
  /** Destination register (0..15). */
  readonly dst: number;
  /** Source register or sub-opcode (0..15). */
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly off: number;
  /** Signed 32-bit immediate. */
  readonly imm: number;
}

/** True when every field of `v` is an integer in its range (code u8, regs u4, off s16, imm s32). */
export function isWellFormedInsn(v: Insn): boolean {
  return (
    Number.isInteger(v.code) &&
    v.code >= 0 &&
    v.code <= 0xff &&
    Number.isInteger(v.dst) &&
    v.dst >= 0 &&
    v.dst <= 15 &&
    Number.isInteger(v.src) &&
    v.src >= 0 &&
    v.src <= 15 &&
    Number.isInteger(v.off) &&
    v.off >= -0x8000 &&
    v.off <= 0x7fff &&
    Number.isInteger(v.imm) &&
    v.imm >= -0x80000000 &&
    v.imm <= 0x7fffffff
  );
}

/** True when slot `i` is the first slot of a ld_imm64 (opcode 0x18). */
export function isLdImm64(insns: readonly Insn[], i: number): boolean {
  return insns[i]?.code === (BPF_LD | BPF_IMM | BPF_DW);
}

/**
 * The 64-bit constant of the ld_imm64 at slot `i`: `(u64)insns[i+1].imm << 32 |
 * (u32)insns[i].imm`. Returns undefined when slot `i` is not a ld_imm64 or its
 * second slot is missing (the codec's validation reports those).
 */
export function ldImm64Value(insns: readonly Insn[], i: number): bigint | undefined {
  const lo = insns[i];
  const hi = insns[i + 1];
  if (!lo || !hi || lo.code !== (BPF_LD | BPF_IMM | BPF_DW)) return undefined;
  return (BigInt(hi.imm >>> 0) << 32n) | BigInt(lo.imm >>> 0);
}

/** Slots taken by the instruction at `i`: 2 for a ld_imm64, else 1. */
export function insnSlots(insns: readonly Insn[], i: number): 1 | 2 {
  return isLdImm64(insns, i) ? 2 : 1;
}
