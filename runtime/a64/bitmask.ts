/**
 * Bitmask immediates of the A64 logical-immediate instructions (AND, ORR,
 * EOR, ANDS, TST): the encoder and the decoder.
 *
 * Models `aarch64_encode_immediate` of arch/arm64/lib/insn.c and the Arm ARM
 * pseudocode function `DecodeBitMasks` (shared/functions/bitmasks), written
 * from the definition, not from either source:
 *
 *   A bitmask immediate is an element of e = 2, 4, 8, 16, 32 or 64 bits
 *   holding a run of s ones (1 <= s < e), rotated right by r (0 <= r < e),
 *   and replicated to fill the register (32 or 64 bits).
 *
 *   N:immr:imms (13 bits, at insn bits 22, 21..16, 15..10)
 *   ┌───┬────────┬─────────────┐
 *   │ N │  immr  │    imms     │   N = 1 only for e = 64
 *   └───┴────────┴─────────────┘   imms = size prefix | (s - 1):
 *                                    e=64: N=1 xxxxxx    e=16: 10xxxx
 *                                    e=32: N=0 0xxxxx    e=8:  110xxx
 *                                    immr = r            e=4:  1110xx
 *                                                        e=2:  11110x
 *
 * There are 5334 such values for 64-bit registers and 1302 for 32-bit ones;
 * 0 and all-ones are never encodable. Each value has exactly one canonical
 * encoding (immr < e); the decoder, like the hardware, ignores the immr bits
 * above the element size.
 *
 * The encoder works on two u32 halves (no bigint on the hot path): the JIT
 * asks for every ALU immediate whether it is a bitmask immediate.
 */
import { EncodeError } from "../errors.js";
import { hex } from "./fields.js";

/** The value 2^32 as a number. */
const TWO32 = 0x1_0000_0000;

/**
 * Canonical N:immr:imms of the 64-bit value `hi:lo` (two u32 halves), or -1
 * when it is not a bitmask immediate. For a 32-bit operation pass `hi === lo`
 * (the 32-bit value replicated): the result then always has N = 0.
 */
export function encodeBitmaskPair(hi: number, lo: number): number {
  hi >>>= 0;
  lo >>>= 0;
  if (hi !== lo) return encodeElement64(hi, lo);
  // Find the smallest element size e (32 down to 2) whose halves agree.
  let e = 32;
  let x = lo;
  while (e > 2) {
    const h = e >>> 1;
    const m = (1 << h) - 1;
    if ((x & m) !== ((x >>> h) & m)) break;
    e = h;
    x &= m;
  }
  const ones = e === 32 ? 0xffffffff : (1 << e) - 1;
  if (x === 0 || x === ones) return -1;
  // starts: bit i set when bit i is 1 and bit i-1 (cyclically) is 0.
  const rotl1 = e === 32 ? ((x << 1) | (x >>> 31)) >>> 0 : ((x << 1) | (x >>> (e - 1))) & ones;
  const starts = (x & ~rotl1) >>> 0;
  if ((starts & (starts - 1)) !== 0) return -1; // more than one run of ones
  const p = ctz32(starts);
  const s = popcount32(x);
  const immr = (e - p) & (e - 1);
  const imms = (~(2 * e - 1) & 0x3f) | (s - 1);
  return (immr << 6) | imms;
}

function encodeElement64(hi: number, lo: number): number {
  // hi !== lo: the element is the whole 64 bits (never 0 or all-ones).
  const rhi = ((hi << 1) | (lo >>> 31)) >>> 0;
  const rlo = ((lo << 1) | (hi >>> 31)) >>> 0;
  const shi = (hi & ~rhi) >>> 0;
  const slo = (lo & ~rlo) >>> 0;
  if (popcount32(shi) + popcount32(slo) !== 1) return -1;
  const p = slo !== 0 ? ctz32(slo) : 32 + ctz32(shi);
  const s = popcount32(hi) + popcount32(lo);
  const immr = (64 - p) & 63;
  return (1 << 12) | (immr << 6) | (s - 1);
}

/**
 * Canonical N:immr:imms (13 bits) of `value` for a 32-bit (`is64` false) or
 * 64-bit logical instruction, or -1 when the value has no encoding.
 *
 * `value` is a bigint or an integer number. 64-bit: -2^63..2^64-1 (negative
 * values are two's complement). 32-bit: -2^31..2^32-1. Anything else
 * (fractions, values wider than the register) throws: it is a caller bug,
 * not an unencodable immediate.
 */
export function encodeBitmaskImm(is64: boolean, value: bigint | number): number {
  if (typeof value === "number") {
    if (!is64) {
      if (Number.isInteger(value) && value >= -0x8000_0000 && value < TWO32) {
        const lo = value >>> 0;
        return encodeBitmaskPair(lo, lo);
      }
    } else if (Number.isSafeInteger(value)) {
      return encodeBitmaskPair(Math.floor(value / TWO32) >>> 0, value >>> 0);
    }
    throw widthError(is64, value);
  }
  if (!is64) {
    if (value >= -0x8000_0000n && value < 0x1_0000_0000n) {
      const lo = Number(BigInt.asUintN(32, value));
      return encodeBitmaskPair(lo, lo);
    }
    throw widthError(is64, value);
  }
  if (value < -(1n << 63n) || value >= 1n << 64n) throw widthError(is64, value);
  const v = BigInt.asUintN(64, value);
  return encodeBitmaskPair(Number(v >> 32n), Number(v & 0xffff_ffffn));
}

function widthError(is64: boolean, value: bigint | number): EncodeError {
  const range = is64 ? "-2^63..2^64-1" : "-2^31..2^32-1";
  return new EncodeError(`immediate out of range: ${hex(value)} (${is64 ? 64 : 32}-bit: ${range})`);
}

/** Whether `value` can be the immediate of a 32-bit or 64-bit AND/ORR/EOR/ANDS. */
export function isValidBitmaskImm(is64: boolean, value: bigint | number): boolean {
  return encodeBitmaskImm(is64, value) >= 0;
}

/**
 * N:immr:imms of `value` (see {@link encodeBitmaskImm}); throws an
 * EncodeError naming the value when it has no encoding.
 */
export function bitmaskImmField(is64: boolean, value: bigint | number): number {
  const enc = encodeBitmaskImm(is64, value);
  if (enc >= 0) return enc;
  throw new EncodeError(`immediate has no bitmask encoding: ${hex(normalise(is64, value))} (${is64 ? 64 : 32}-bit)`);
}

function normalise(is64: boolean, value: bigint | number): bigint {
  return BigInt.asUintN(is64 ? 64 : 32, BigInt(value));
}

/**
 * `DecodeBitMasks` for the immediate form: the register value selected by
 * N, immr and imms, or undefined for a reserved encoding (N = 1 in a 32-bit
 * instruction, no element size, or an all-ones element).
 */
export function decodeBitmaskImm(is64: boolean, n: number, immr: number, imms: number): bigint | undefined {
  if ((n & ~1) !== 0 || (immr & ~63) !== 0 || (imms & ~63) !== 0) return undefined;
  if (!is64 && n !== 0) return undefined;
  const combined = (n << 6) | (~imms & 0x3f);
  if (combined === 0) return undefined;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return undefined;
  const e = 1 << len;
  const levels = e - 1;
  const s = imms & levels;
  const r = immr & levels;
  if (s === levels) return undefined;
  const eb = BigInt(e);
  const emask = (1n << eb) - 1n;
  const run = (1n << BigInt(s + 1)) - 1n;
  const rb = BigInt(r);
  const elem = ((run >> rb) | (run << (eb - rb))) & emask;
  const width = is64 ? 64 : 32;
  let out = 0n;
  for (let i = 0; i < width; i += e) out |= elem << BigInt(i);
  return out;
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function ctz32(v: number): number {
  return 31 - Math.clz32(v & -v);
}
