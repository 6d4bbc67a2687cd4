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
 * The orr + movk table (53,340 keys over the 5,334 64-bit bitmask
 * immediates) is built on first use.
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

/**
 * Which bitmask immediates agree with a value on given 16-bit chunks: an
 * open-addressing hash table over typed arrays (no allocation and only small
 * integers per lookup; a Map keyed by 48-bit numbers was 20 times slower).
 *
 *   key = (tag, a, b, c)            value = index into PAT_HI/PAT_LO
 *   tag 1..4: chunk tag-1 is free, a/b/c are the other three (low to high)
 *   tag 5..10: a pair of chunks is free (PAIRS[tag-5]), a/b the other two, c = 0
 */
class ChunkTable {
  static readonly SIZE = 1 << 17;
  readonly #tag = new Uint8Array(ChunkTable.SIZE);
  readonly #a = new Uint16Array(ChunkTable.SIZE);
  readonly #b = new Uint16Array(ChunkTable.SIZE);
  readonly #c = new Uint16Array(ChunkTable.SIZE);
  readonly #val = new Int32Array(ChunkTable.SIZE);

  static #hash(tag: number, a: number, b: number, c: number): number {
    let h = Math.imul(tag, 0x9e3779b1) ^ a;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ b;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ c;
    h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
    return (h ^ (h >>> 15)) & (ChunkTable.SIZE - 1);
  }

  /** Add the key unless present (the first pattern with a key wins). */
  insert(tag: number, a: number, b: number, c: number, val: number): void {
    for (let i = ChunkTable.#hash(tag, a, b, c); ; i = (i + 1) & (ChunkTable.SIZE - 1)) {
      if (this.#tag[i] === 0) {
        this.#tag[i] = tag;
        this.#a[i] = a;
        this.#b[i] = b;
        this.#c[i] = c;
        this.#val[i] = val;
        return;
      }
      if (this.#tag[i] === tag && this.#a[i] === a && this.#b[i] === b && this.#c[i] === c) return;
    }
  }

  /** The value stored for the key, or -1. */
  get(tag: number, a: number, b: number, c: number): number {
    for (let i = ChunkTable.#hash(tag, a, b, c); ; i = (i + 1) & (ChunkTable.SIZE - 1)) {
      const t = this.#tag[i];
      if (t === 0) return -1;
      if (t === tag && this.#a[i] === a && this.#b[i] === b && this.#c[i] === c) return this.#val[i];
    }
  }
}

/** The pairs of chunk indexes a 2-movk sequence may leave to movk. */
const PAIRS: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [0, 3],
  [1, 2],
  [1, 3],
  [2, 3],
];

let table: ChunkTable | undefined;
let patHi: Uint32Array;
let patLo: Uint32Array;

/** Built once (about 20 ms): every 64-bit bitmask immediate under every key that could find it. */
function orrTable(): ChunkTable {
  if (table !== undefined) return table;
  const t = new ChunkTable();
  const his: number[] = [];
  const los: number[] = [];
  for (let n = 0; n < 2; n++) {
    for (let immr = 0; immr < 64; immr++) {
      for (let imms = 0; imms < 64; imms++) {
        const v = decodeBitmaskImm(true, n, immr, imms);
        if (v === undefined) continue;
        const k = his.length;
        const hi = Number(v >> 32n);
        const lo = Number(v & 0xffff_ffffn);
        his.push(hi);
        los.push(lo);
        const c = [lo & 0xffff, lo >>> 16, hi & 0xffff, hi >>> 16];
        for (let j = 0; j < 4; j++) {
          const rest = c.filter((_, i) => i !== j);
          t.insert(1 + j, rest[0], rest[1], rest[2], k);
        }
        for (let p = 0; p < PAIRS.length; p++) {
          const rest = c.filter((_, i) => i !== PAIRS[p][0] && i !== PAIRS[p][1]);
          t.insert(5 + p, rest[0], rest[1], 0, k);
        }
      }
    }
  }
  patHi = Uint32Array.from(his);
  patLo = Uint32Array.from(los);
  table = t;
  return t;
}

/** `orr #bitmask` + movk for 1 (or up to `maxMovk`) chunks, if some bitmask immediate fits. */
function orrMovk(rd: number, c: number[], maxMovk: number): number[] | undefined {
  const t = orrTable();
  const [c0, c1, c2, c3] = c;
  let k = t.get(1, c1, c2, c3);
  if (k < 0) k = t.get(2, c0, c2, c3);
  if (k < 0) k = t.get(3, c0, c1, c3);
  if (k < 0) k = t.get(4, c0, c1, c2);
  if (k < 0 && maxMovk >= 2) {
    k = t.get(5, c2, c3, 0);
    if (k < 0) k = t.get(6, c1, c3, 0);
    if (k < 0) k = t.get(7, c1, c2, 0);
    if (k < 0) k = t.get(8, c0, c3, 0);
    if (k < 0) k = t.get(9, c0, c2, 0);
    if (k < 0) k = t.get(10, c0, c1, 0);
  }
  return k < 0 ? undefined : orrThenMovk(rd, c, patHi[k], patLo[k]);
}

function orrThenMovk(rd: number, c: number[], hi: number, lo: number): number[] {
  const out = [orrImm(rd, hi, lo)];
  const have = [lo & 0xffff, lo >>> 16, hi & 0xffff, hi >>> 16];
  for (let i = 0; i < 4; i++) {
    if (have[i] !== c[i]) out.push(aarch64InsnGenMoveWide(MOVK, true, rd, c[i], 16 * i));
  }
  return out;
}
