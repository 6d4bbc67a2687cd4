/**
 * A64 decoders: which table entry a word is, and the immediate fields that
 * text poking and the tests read back.
 *
 * Models the decode side of arch/arm64/lib/insn.c: `aarch64_insn_is_nop`,
 * `aarch64_insn_is_branch_imm`, `aarch64_get_branch_offset`,
 * `aarch64_set_branch_offset`, `aarch64_insn_decode_immediate`,
 * `aarch64_insn_encode_immediate`, `aarch64_insn_decode_register`,
 * `aarch64_insn_adrp_get_offset`, and `aarch64_insn_decode_logical_imm`-style
 * bitmask decoding, in camelCase.
 *
 * Differences from the kernel: asking for the branch offset of a word that is
 * no immediate branch throws a {@link DecodeError} (the kernel BUG()s), and
 * encoding an immediate that does not fit its field throws instead of being
 * masked.
 */
import { EINVAL } from "../errno.js";
import { BpfError, type BpfErrorOptions } from "../errors.js";
import { decodeBitmaskImm } from "./bitmask.js";
import { branchOffset, hex } from "./fields.js";
import { A64_INSN, A64_INSN_TABLE, type A64InsnDesc } from "./insn_table.js";

/** A word is not the instruction (class) a decoder was asked about. */
export class DecodeError extends BpfError {
  constructor(message: string, options: BpfErrorOptions = {}) {
    super(EINVAL, message, options);
  }
}

/** Groups of entries sharing a mask, most specific mask first. */
const GROUPS: readonly { mask: number; byValue: Map<number, A64InsnDesc> }[] = buildGroups();

function buildGroups(): { mask: number; byValue: Map<number, A64InsnDesc> }[] {
  const byMask = new Map<number, Map<number, A64InsnDesc>>();
  for (const e of A64_INSN_TABLE) {
    let m = byMask.get(e.mask);
    if (m === undefined) byMask.set(e.mask, (m = new Map()));
    if (m.has(e.value)) throw new DecodeError(`duplicate A64 table entry: ${e.name} and ${m.get(e.value)!.name}`);
    m.set(e.value, e);
  }
  return [...byMask.entries()]
    .map(([mask, byValue]) => ({ mask, byValue }))
    .sort((a, b) => popcount(b.mask) - popcount(a.mask) || b.mask - a.mask);
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x = (x & (x - 1)) >>> 0) n++;
  return n;
}

/**
 * The table entry of `word` (the most specific one: `nop` rather than
 * `hint`), or undefined when the word is not in the table.
 */
export function decodeA64(word: number): A64InsnDesc | undefined {
  const w = word >>> 0;
  for (const g of GROUPS) {
    const e = g.byValue.get((w & g.mask) >>> 0);
    if (e !== undefined) return e;
  }
  return undefined;
}

const NOP = A64_INSN.nop.value;
const B = A64_INSN.b;
const BL = A64_INSN.bl;
const CBZ = A64_INSN.cbz;
const CBNZ = A64_INSN.cbnz;
const TBZ = A64_INSN.tbz;
const TBNZ = A64_INSN.tbnz;
const BCOND = A64_INSN.bcond;
const ADR = A64_INSN.adr;
const ADRP = A64_INSN.adrp;

function is(w: number, e: A64InsnDesc): boolean {
  return (w & e.mask) >>> 0 === e.value;
}

/** `aarch64_insn_is_nop`: the word is exactly `nop` (hint #0). */
export function aarch64InsnIsNop(insn: number): boolean {
  return insn >>> 0 === NOP;
}

/**
 * `aarch64_insn_is_branch_imm`: b, bl, cbz, cbnz, tbz, tbnz or b.cond — every
 * branch with a PC-relative immediate (as in the kernel, not only b/bl).
 */
export function aarch64InsnIsBranchImm(insn: number): boolean {
  return (
    is(insn, B) || is(insn, BL) || is(insn, TBZ) || is(insn, TBNZ) || is(insn, CBZ) || is(insn, CBNZ) || is(insn, BCOND)
  );
}

/** `aarch64_insn_is_b` / `_bl` in one: an unconditional immediate branch, with or without link. */
export function aarch64InsnIsBOrBl(insn: number): boolean {
  return is(insn, B) || is(insn, BL);
}

function sext(v: number, bits: number): number {
  const s = 32 - bits;
  return (v << s) >> s;
}

/**
 * `aarch64_get_branch_offset`: the signed byte offset of an immediate branch
 * (b/bl: imm26; cbz/cbnz/b.cond: imm19; tbz/tbnz: imm14).
 */
export function aarch64GetBranchOffset(insn: number): number {
  const w = insn >>> 0;
  if (is(w, B) || is(w, BL)) return sext(w & 0x3ffffff, 26) * 4;
  if (is(w, CBZ) || is(w, CBNZ) || is(w, BCOND)) return sext((w >>> 5) & 0x7ffff, 19) * 4;
  if (is(w, TBZ) || is(w, TBNZ)) return sext((w >>> 5) & 0x3fff, 14) * 4;
  throw new DecodeError(`not an immediate branch: ${hex(w)}`);
}

/**
 * `aarch64_set_branch_offset`: `insn` with its branch offset replaced by
 * `offset` bytes (range-checked for the instruction's field).
 */
export function aarch64SetBranchOffset(insn: number, offset: number): number {
  const w = insn >>> 0;
  if (is(w, B) || is(w, BL)) return ((w & ~0x3ffffff) | branchOffset(offset, 26)) >>> 0;
  if (is(w, CBZ) || is(w, CBNZ) || is(w, BCOND)) {
    return ((w & ~(0x7ffff << 5)) | (branchOffset(offset, 19) << 5)) >>> 0;
  }
  if (is(w, TBZ) || is(w, TBNZ)) return ((w & ~(0x3fff << 5)) | (branchOffset(offset, 14) << 5)) >>> 0;
  throw new DecodeError(`not an immediate branch: ${hex(w)}`);
}

/** The immediate fields of `enum aarch64_insn_imm_type`. */
export type A64ImmType =
  "imm26" | "imm19" | "imm16" | "imm14" | "imm12" | "imm9" | "imm7" | "imm6" | "immS" | "immR" | "immN";

/** [bits, shift] of each immediate field. */
const IMM_FIELDS: Readonly<Record<A64ImmType, readonly [number, number]>> = Object.freeze({
  imm26: [26, 0],
  imm19: [19, 5],
  imm16: [16, 5],
  imm14: [14, 5],
  imm12: [12, 10],
  imm9: [9, 12],
  imm7: [7, 15],
  imm6: [6, 10],
  immS: [6, 10],
  immR: [6, 16],
  immN: [1, 22],
});

function immField(type: A64ImmType): readonly [number, number] {
  const f = Object.hasOwn(IMM_FIELDS, type) ? IMM_FIELDS[type] : undefined;
  if (f === undefined) throw new DecodeError(`unknown immediate type: ${String(type)}`);
  return f;
}

/**
 * `aarch64_insn_decode_immediate`: the raw (unsigned, unscaled) value of an
 * immediate field. "immAdr" is the 21-bit immhi:immlo of adr/adrp.
 */
export function aarch64InsnDecodeImmediate(type: A64ImmType | "immAdr", insn: number): number {
  const w = insn >>> 0;
  if (type === "immAdr") return (((w >>> 5) & 0x7ffff) << 2) | ((w >>> 29) & 3);
  const [bits, shift] = immField(type);
  return (w >>> shift) & ((1 << bits) - 1);
}

/**
 * `aarch64_insn_encode_immediate`: `insn` with an immediate field replaced.
 * `imm` may be given unsigned (0..2^bits-1) or as a negative two's
 * complement value (-2^(bits-1)..-1); anything wider throws.
 */
export function aarch64InsnEncodeImmediate(type: A64ImmType | "immAdr", insn: number, imm: number): number {
  const [bits, shift] = type === "immAdr" ? [21, 0] : immField(type);
  const max = 2 ** bits;
  if (!Number.isInteger(imm) || imm < -(max / 2) || imm >= max) {
    throw new DecodeError(`immediate out of range: ${type} = ${imm} (${-(max / 2)}..${max - 1})`);
  }
  const v = imm & (max - 1);
  const w = insn >>> 0;
  if (type === "immAdr") return ((w & ~((0x7ffff << 5) | (3 << 29))) | ((v & 3) << 29) | ((v >>> 2) << 5)) >>> 0;
  return ((w & ~((max - 1) * 2 ** shift)) | (v << shift)) >>> 0;
}

/** The register fields of `enum aarch64_insn_register_type`. */
export type A64RegType = "Rt" | "Rd" | "Rn" | "Rt2" | "Ra" | "Rm" | "Rs";

/** `aarch64_insn_decode_register`: the 5-bit register number (31 is sp or zr, depending on the instruction). */
export function aarch64InsnDecodeRegister(type: A64RegType, insn: number): number {
  const w = insn >>> 0;
  switch (type) {
    case "Rt":
    case "Rd":
      return w & 31;
    case "Rn":
      return (w >>> 5) & 31;
    case "Rt2":
    case "Ra":
      return (w >>> 10) & 31;
    case "Rm":
    case "Rs":
      return (w >>> 16) & 31;
    default:
      throw new DecodeError(`unknown register type: ${String(type)}`);
  }
}

/**
 * The byte offset of adr (PC-relative) or adrp (in bytes: the page offset
 * times 4096), like `aarch64_insn_adrp_get_offset` for adrp.
 */
export function aarch64InsnAdrGetOffset(insn: number): number {
  const w = insn >>> 0;
  const imm = sext(aarch64InsnDecodeImmediate("immAdr", w), 21);
  if (is(w, ADR)) return imm;
  if (is(w, ADRP)) return imm * 4096;
  throw new DecodeError(`not an adr/adrp: ${hex(w)}`);
}

/**
 * The value of the bitmask immediate of a logical-immediate instruction
 * (and/orr/eor/ands with an immediate), as an unsigned bigint of the
 * instruction's width.
 */
export function aarch64InsnDecodeLogicalImm(insn: number): bigint {
  const w = insn >>> 0;
  if ((w & 0x1f800000) >>> 0 !== 0x12000000) throw new DecodeError(`not a logical immediate: ${hex(w)}`);
  const v = decodeBitmaskImm((w & 0x80000000) !== 0, (w >>> 22) & 1, (w >>> 16) & 63, (w >>> 10) & 63);
  if (v === undefined) throw new DecodeError(`reserved bitmask immediate encoding: ${hex(w)}`);
  return v;
}
