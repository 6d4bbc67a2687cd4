/**
 * Loading a constant into a register in the fewest instructions.
 *
 * Models `emit_a64_mov_i` and `emit_a64_mov_i64` of
 * arch/arm64/net/bpf_jit_comp.c (movz or movn, whichever leaves fewer
 * 16-bit chunks to patch with movk), extended the way LLVM's
 * AArch64_IMM::expandMOVImm is: a single `orr Rd, zr, #bitmask`, and
 * `orr` + one or two `movk` when that beats movz/movn + movk.
 *
 *   64-bit value = c3:c2:c1:c0 (16-bit chunks)
 *   candidates, shortest wins (ties: movz, movn, orr):
 *     movz #c_i, lsl #16i          + movk for every other nonzero chunk
 *     movn #~c_i, lsl #16i         + movk for every other chunk != 0xffff
 *     orr  #bitmask                 (the value is a bitmask immediate)
 *     orr  #bitmask + movk ×1..2    (a bitmask immediate agreeing on 3 or 2 chunks)
 *     32-bit forms (writing Wd zero-extends) when c3:c2 = 0
 *
 * Simplification: LLVM's further two-logical-instruction sequences
 * (orr+and, orr+eor) are not tried; a value that would need them takes the
 * movz/movn/orr + movk route (at most 4 instructions either way).
 *
 * The orr + movk tables (21,336 and 32,004 entries, built from the 5,334
 * 64-bit bitmask immediates) are built on first use.
 */
import { EncodeError } from "../errors.js";
import { decodeBitmaskImm, encodeBitmaskPair } from "./bitmask.js";
import { aarch64InsnGenLogicalImm, aarch64InsnGenMoveWide } from "./gen_dp.js";
import { hex } from "./fields.js";
import { A64_INSN } from "./insn_table.js";
import { A64_ZR } from "./regs.js";

const MOVZ = A64_INSN.movz;
const MOVN = A64_INSN.movn;
const MOVK = A64_INSN.movk;
const ORR_IMM = A64_INSN.orrImm;
const TWO32 = 0x1_0000_0000;

/**
 * The shortest sequence that sets the 32-bit register Wd (and clears the top
 * half of Xd) to `value`: 1 or 2 instructions. `value` is a u32 or an s32
 * (-2^31..2^32-1).
 */
export function mov32Imm(rd: number, value: number): number[] {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value >= TWO32) {
    throw new EncodeError(`immediate out of range: ${hex(value)} (32-bit: -2^31..2^32-1)`);
  }
  const v = value >>> 0;
  const c0 = v & 0xffff;
  const c1 = v >>> 16;
  if (c1 === 0) return [aarch64InsnGenMoveWide(MOVZ, false, rd, c0, 0)];
  if (c0 === 0) return [aarch64InsnGenMoveWide(MOVZ, false, rd, c1, 16)];
  if (c1 === 0xffff) return [aarch64InsnGenMoveWide(MOVN, false, rd, ~c0 & 0xffff, 0)];
  if (c0 === 0xffff) return [aarch64InsnGenMoveWide(MOVN, false, rd, ~c1 & 0xffff, 16)];
  if (encodeBitmaskPair(v, v) >= 0) return [aarch64InsnGenLogicalImm(ORR_IMM, false, rd, A64_ZR, v)];
  return [aarch64InsnGenMoveWide(MOVZ, false, rd, c0, 0), aarch64InsnGenMoveWide(MOVK, false, rd, c1, 16)];
}

/**
 * The shortest sequence (1..4 instructions) that sets the 64-bit register Xd
 * to `value`: a bigint (-2^63..2^64-1) or a safe-integer number (negative
 * values are two's complement, like a BPF imm sign-extended to 64 bits).
 */
export function mov64Imm(rd: number, value: bigint | number): number[] {
  let hi: number;
  let lo: number;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new EncodeError(`immediate out of range: ${hex(value)} (a safe integer)`);
    hi = Math.floor(value / TWO32) >>> 0;
    lo = value >>> 0;
  } else {
    if (value < -(1n << 63n) || value >= 1n << 64n) {
      throw new EncodeError(`immediate out of range: ${hex(value)} (64-bit: -2^63..2^64-1)`);
    }
    const v = BigInt.asUintN(64, value);
    hi = Number(v >> 32n);
    lo = Number(v & 0xffff_ffffn);
  }
  return mov64Pair(rd, hi, lo);
}

/** {@link mov64Imm} for a value given as two u32 halves. */
export function mov64Pair(rd: number, hi: number, lo: number): number[] {
  hi >>>= 0;
  lo >>>= 0;
  // Writing Wd clears the top half, and for such values the 32-bit sequence
  // is never longer (as in the kernel's emit_a64_mov_i64).
  if (hi === 0) return mov32Imm(rd, lo);
  const c = [lo & 0xffff, lo >>> 16, hi & 0xffff, hi >>> 16];
  let zeros = 0;
  let ones = 0;
  for (let i = 0; i < 4; i++) {
    if (c[i] === 0) zeros++;
    else if (c[i] === 0xffff) ones++;
  }
  const best = 4 - Math.max(zeros, ones);
  if (best <= 1) return wideSequence(rd, c, zeros >= ones);
  if (encodeBitmaskPair(hi, lo) >= 0) return [orrImm(rd, hi, lo)];
  if (best >= 3) {
    const seq = orrMovk(rd, c, best === 4 ? 2 : 1);
    if (seq !== undefined) return seq;
  }
  return wideSequence(rd, c, zeros >= ones);
}

function orrImm(rd: number, hi: number, lo: number): number {
  return aarch64InsnGenLogicalImm(ORR_IMM, true, rd, A64_ZR, (BigInt(hi) << 32n) | BigInt(lo));
}

/** movz (or movn) for the first chunk that needs it, movk for the others. */
function wideSequence(rd: number, c: number[], useMovz: boolean): number[] {
  const skip = useMovz ? 0 : 0xffff;
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    if (c[i] === skip) continue;
    if (out.length === 0) {
      out.push(
        useMovz
          ? aarch64InsnGenMoveWide(MOVZ, true, rd, c[i], 16 * i)
          : aarch64InsnGenMoveWide(MOVN, true, rd, ~c[i] & 0xffff, 16 * i),
      );
    } else {
      out.push(aarch64InsnGenMoveWide(MOVK, true, rd, c[i], 16 * i));
    }
  }
  if (out.length === 0) {
    out.push(useMovz ? aarch64InsnGenMoveWide(MOVZ, true, rd, 0, 0) : aarch64InsnGenMoveWide(MOVN, true, rd, 0, 0));
  }
  return out;
}

/** Bitmask immediates by (free chunks, the other chunks): see {@link orrTables}. */
interface OrrTables {
  /** key: j * 2^48 + the three chunks other than j → [hi, lo] of a bitmask immediate. */
  one: Map<number, readonly [number, number]>;
  /** key: pair index * 2^32 + the two chunks outside the pair → [hi, lo]. */
  two: Map<number, readonly [number, number]>;
}

const PAIRS: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [0, 3],
  [1, 2],
  [1, 3],
  [2, 3],
];

let tables: OrrTables | undefined;

/** Built once: every 64-bit bitmask immediate, indexed by the chunks an orr would get right. */
function orrTables(): OrrTables {
  if (tables !== undefined) return tables;
  const one = new Map<number, readonly [number, number]>();
  const two = new Map<number, readonly [number, number]>();
  for (let n = 0; n < 2; n++) {
    for (let immr = 0; immr < 64; immr++) {
      for (let imms = 0; imms < 64; imms++) {
        const v = decodeBitmaskImm(true, n, immr, imms);
        if (v === undefined) continue;
        const hi = Number(v >> 32n);
        const lo = Number(v & 0xffff_ffffn);
        const pair = [hi, lo] as const;
        const c = [lo & 0xffff, lo >>> 16, hi & 0xffff, hi >>> 16];
        for (let j = 0; j < 4; j++) {
          const key = j * 2 ** 48 + pack(c, j, -1);
          if (!one.has(key)) one.set(key, pair);
        }
        for (let p = 0; p < PAIRS.length; p++) {
          const key = p * TWO32 + pack(c, PAIRS[p][0], PAIRS[p][1]);
          if (!two.has(key)) two.set(key, pair);
        }
      }
    }
  }
  tables = { one, two };
  return tables;
}

/** The chunks of `c` other than indexes a and b, most significant first, as one number. */
function pack(c: readonly number[], a: number, b: number): number {
  let acc = 0;
  for (let i = 3; i >= 0; i--) if (i !== a && i !== b) acc = acc * 0x10000 + c[i];
  return acc;
}

/** `orr #bitmask` + movk for 1 (or up to `maxMovk`) chunks, if some bitmask immediate fits. */
function orrMovk(rd: number, c: number[], maxMovk: number): number[] | undefined {
  const t = orrTables();
  for (let j = 0; j < 4; j++) {
    const hit = t.one.get(j * 2 ** 48 + pack(c, j, -1));
    if (hit !== undefined) return orrThenMovk(rd, c, hit);
  }
  if (maxMovk < 2) return undefined;
  for (let p = 0; p < PAIRS.length; p++) {
    const hit = t.two.get(p * TWO32 + pack(c, PAIRS[p][0], PAIRS[p][1]));
    if (hit !== undefined) return orrThenMovk(rd, c, hit);
  }
  return undefined;
}

function orrThenMovk(rd: number, c: number[], [hi, lo]: readonly [number, number]): number[] {
  const out = [orrImm(rd, hi, lo)];
  const have = [lo & 0xffff, lo >>> 16, hi & 0xffff, hi >>> 16];
  for (let i = 0; i < 4; i++) {
    if (have[i] !== c[i]) out.push(aarch64InsnGenMoveWide(MOVK, true, rd, c[i], 16 * i));
  }
  return out;
}
