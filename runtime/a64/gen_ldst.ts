/**
 * A64 load/store generators: one function per encoding class.
 *
 * Models the load/store generators of arch/arm64/lib/insn.c
 * (`aarch64_insn_gen_load_store_imm`, `_load_store_reg`, `_load_literal`,
 * `_load_store_pair`, `_load_store_ex`, `_atomic_ld_op`, `_cas`) in
 * camelCase, plus the unscaled (LDUR/STUR) and single-register pre/post-index
 * forms the kernel does not generate. Encodings: Arm ARM C4.1 "Loads and
 * Stores"; instruction pages in C6.2.
 *
 * A load/store *kind* is the size and opc bits of the integer load/store
 * register classes, ready to be ORed into the word:
 *
 *   31 30 29 28 27 26 25 24 23 22 21 .. 12 11 10 9   5 4   0
 *   size   1  1  1  0  x  x  opc    ...   form  Rn    Rt
 *
 *   kind             size opc  access                      Rt
 *   A64_LDST_STRB     00   00  store byte                  w
 *   A64_LDST_LDRB     00   01  load byte, zero-extend      w
 *   A64_LDST_LDRSB_X  00   10  load byte, sign-extend      x
 *   A64_LDST_LDRSB_W  00   11  load byte, sign-extend      w
 *   A64_LDST_STRH     01   00  store halfword              w
 *   A64_LDST_LDRH     01   01  load halfword               w
 *   A64_LDST_LDRSH_X  01   10  load halfword, sign-extend  x
 *   A64_LDST_LDRSH_W  01   11  load halfword, sign-extend  w
 *   A64_LDST_STR_W    10   00  store word                  w
 *   A64_LDST_LDR_W    10   01  load word                   w
 *   A64_LDST_LDRSW    10   10  load word, sign-extend      x
 *   A64_LDST_STR_X    11   00  store doubleword            x
 *   A64_LDST_LDR_X    11   01  load doubleword             x
 *
 * Offsets are always in bytes. Rn (the base) may be sp, never xzr; Rt may be
 * xzr (`str xzr, [x0]`), never sp. Writeback forms whose result the Arm ARM
 * calls CONSTRAINED UNPREDICTABLE (a load or store with writeback to its own
 * data register, ldp into one register twice, stxr whose status register is
 * also the data or base) are refused.
 */
import { EncodeError } from "../errors.js";
import { branchOffset, hex, RA, RM, RN, regSp, regZr, SF_BIT } from "./fields.js";
import { A64_INSN, type A64InsnDesc } from "./insn_table.js";
import { A64_ZR, regName } from "./regs.js";

/** A load/store kind: size (bits 31..30) and opc (bits 23..22), see the file header. */
export type A64LdStKind = number;

/** Strb Wt. */
export const A64_LDST_STRB: A64LdStKind = 0x00000000;
/** Ldrb Wt (zero-extends). */
export const A64_LDST_LDRB: A64LdStKind = 0x00400000;
/** Ldrsb Xt (sign-extends to 64). */
export const A64_LDST_LDRSB_X: A64LdStKind = 0x00800000;
/** Ldrsb Wt (sign-extends to 32). */
export const A64_LDST_LDRSB_W: A64LdStKind = 0x00c00000;
/** Strh Wt. */
export const A64_LDST_STRH: A64LdStKind = 0x40000000;
/** Ldrh Wt (zero-extends). */
export const A64_LDST_LDRH: A64LdStKind = 0x40400000;
/** Ldrsh Xt (sign-extends to 64). */
export const A64_LDST_LDRSH_X: A64LdStKind = 0x40800000;
/** Ldrsh Wt (sign-extends to 32). */
export const A64_LDST_LDRSH_W: A64LdStKind = 0x40c00000;
/** Str Wt. */
export const A64_LDST_STR_W: A64LdStKind = 0x80000000;
/** Ldr Wt (zero-extends). */
export const A64_LDST_LDR_W: A64LdStKind = 0x80400000;
/** Ldrsw Xt (sign-extends to 64). */
export const A64_LDST_LDRSW: A64LdStKind = 0x80800000;
/** Str Xt. */
export const A64_LDST_STR_X: A64LdStKind = 0xc0000000;
/** Ldr Xt. */
export const A64_LDST_LDR_X: A64LdStKind = 0xc0400000;

/** Per kind index (size * 4 + opc): mnemonic, unscaled mnemonic, Rt is 64-bit, is a load. */
const KINDS: readonly ({ name: string; unscaled: string; x: boolean; load: boolean } | undefined)[] = [
  { name: "strb", unscaled: "sturb", x: false, load: false },
  { name: "ldrb", unscaled: "ldurb", x: false, load: true },
  { name: "ldrsb", unscaled: "ldursb", x: true, load: true },
  { name: "ldrsb", unscaled: "ldursb", x: false, load: true },
  { name: "strh", unscaled: "sturh", x: false, load: false },
  { name: "ldrh", unscaled: "ldurh", x: false, load: true },
  { name: "ldrsh", unscaled: "ldursh", x: true, load: true },
  { name: "ldrsh", unscaled: "ldursh", x: false, load: true },
  { name: "str", unscaled: "stur", x: false, load: false },
  { name: "ldr", unscaled: "ldur", x: false, load: true },
  { name: "ldrsw", unscaled: "ldursw", x: true, load: true },
  undefined,
  { name: "str", unscaled: "stur", x: true, load: false },
  { name: "ldr", unscaled: "ldur", x: true, load: true },
  undefined,
  undefined,
];

const FORM_UIMM = 0x39000000;
const FORM_UNSCALED = 0x38000000;
const FORM_POST = 0x38000400;
const FORM_PRE = 0x38000c00;
const FORM_REG = 0x38200800;
/** Register offset, option = 011 (LSL/UXTX), S = 0: `[Xn, Xm]`. */
const REG_LSL = 0x6000;

function kindIndex(kind: number): number {
  return ((kind >>> 28) & 0xc) | ((kind >>> 22) & 3);
}

/** Validates a kind; returns its index. */
function checkKind(kind: number): number {
  const i = kindIndex(kind);
  if (kind === (kind & 0xc0c00000) >>> 0 && KINDS[i] !== undefined) return i;
  throw new EncodeError(`invalid load/store kind: ${hex(kind)} (one of the A64_LDST_* constants)`);
}

/** True when `kind` is a load (any of the A64_LDST_LD* kinds). */
export function a64LdStIsLoad(kind: A64LdStKind): boolean {
  return KINDS[checkKind(kind)]!.load;
}

/** Access size in bytes of a kind (1, 2, 4 or 8). */
export function a64LdStBytes(kind: A64LdStKind): number {
  return 1 << (checkKind(kind) >>> 2);
}

/** Assembler text of a single-register access, for messages: "ldr x1, [x2, #12]". */
function ldstText(kind: number, rt: number, rn: number, addr: string, unscaled = false): string {
  const k = KINDS[kindIndex(kind)]!;
  return `${unscaled ? k.unscaled : k.name} ${regName(rt, k.x)}, ${addr.replace("%n", regName(rn))}`;
}

function writebackError(text: string): EncodeError {
  return new EncodeError(`unpredictable writeback: ${text} (Rt is also the base register)`);
}

/**
 * LDR/STR (immediate, unsigned offset) — Arm ARM "Load/store register
 * (unsigned immediate)": `[Xn|SP, #offset]` with offset 0..4095 × size,
 * a multiple of the access size (the kernel's aarch64_insn_gen_load_store_imm).
 */
export function aarch64InsnGenLoadStoreImm(kind: A64LdStKind, rt: number, rn: number, offset: number): number {
  const i = checkKind(kind);
  const size = i >>> 2;
  const imm = offset >> size;
  if (imm << size !== offset || imm !== (imm & 0xfff)) {
    const text = ldstText(kind, rt, rn, `[%n, #${offset}]`);
    if (Number.isInteger(offset) && offset % (1 << size) !== 0 && offset >= 0 && offset <= 4095 << size) {
      throw new EncodeError(`offset not a multiple of ${1 << size}: ${text}`);
    }
    const hint = Number.isInteger(offset) && offset < 0 && offset >= -256 ? "; use ldur/stur for -256..255" : "";
    throw new EncodeError(`offset out of range: ${text} (0..${4095 << size} in steps of ${1 << size}${hint})`);
  }
  return (FORM_UIMM | kind | (imm << 10) | (regSp(rn, "Rn") << RN) | regZr(rt, "Rt")) >>> 0;
}

function imm9(kind: number, rt: number, rn: number, offset: number, form: string): number {
  if ((offset << 23) >> 23 === offset) return (offset & 0x1ff) << 12;
  const text = ldstText(kind, rt, rn, form.replace("%o", String(offset)), form === "[%n, #%o]");
  throw new EncodeError(`offset out of range: ${text} (-256..255)`);
}

/**
 * LDUR/STUR family — Arm ARM "Load/store register (unscaled immediate)":
 * `[Xn|SP, #offset]` with a signed byte offset -256..255, not scaled (the JIT
 * uses it for negative and unaligned offsets).
 */
export function aarch64InsnGenLoadStoreUnscaled(kind: A64LdStKind, rt: number, rn: number, offset: number): number {
  checkKind(kind);
  const field = imm9(kind, rt, rn, offset, "[%n, #%o]");
  return (FORM_UNSCALED | kind | field | (regSp(rn, "Rn") << RN) | regZr(rt, "Rt")) >>> 0;
}

/**
 * LDR/STR (immediate, pre-index) — Arm ARM "Load/store register (immediate
 * pre-indexed)": `[Xn|SP, #offset]!`, offset -256..255; Xn += offset first.
 */
export function aarch64InsnGenLoadStorePre(kind: A64LdStKind, rt: number, rn: number, offset: number): number {
  checkKind(kind);
  const field = imm9(kind, rt, rn, offset, "[%n, #%o]!");
  const n = regSp(rn, "Rn");
  const t = regZr(rt, "Rt");
  if (rt === rn) throw writebackError(ldstText(kind, rt, rn, `[%n, #${offset}]!`));
  return (FORM_PRE | kind | field | (n << RN) | t) >>> 0;
}

/**
 * LDR/STR (immediate, post-index) — Arm ARM "Load/store register (immediate
 * post-indexed)": `[Xn|SP], #offset`, offset -256..255; Xn += offset after.
 */
export function aarch64InsnGenLoadStorePost(kind: A64LdStKind, rt: number, rn: number, offset: number): number {
  checkKind(kind);
  const field = imm9(kind, rt, rn, offset, "[%n], #%o");
  const n = regSp(rn, "Rn");
  const t = regZr(rt, "Rt");
  if (rt === rn) throw writebackError(ldstText(kind, rt, rn, `[%n], #${offset}`));
  return (FORM_POST | kind | field | (n << RN) | t) >>> 0;
}

/**
 * LDR/STR (register) — Arm ARM "Load/store register (register offset)":
 * `[Xn|SP, Xm]` (option LSL, amount 0), as the kernel's
 * aarch64_insn_gen_load_store_reg emits it.
 */
export function aarch64InsnGenLoadStoreReg(kind: A64LdStKind, rt: number, rn: number, rm: number): number {
  checkKind(kind);
  return (FORM_REG | kind | REG_LSL | (regZr(rm, "Rm") << RM) | (regSp(rn, "Rn") << RN) | regZr(rt, "Rt")) >>> 0;
}

const LDR_LIT = A64_INSN.ldrLit.value;
const LDRSW_LIT = A64_INSN.ldrswLit.value;

/**
 * LDR/LDRSW (literal) — Arm ARM "Load register (literal)": load from
 * PC + offset, offset a multiple of 4 within ±1 MiB. `kind` is
 * A64_LDST_LDR_W, A64_LDST_LDR_X or A64_LDST_LDRSW.
 */
export function aarch64InsnGenLoadLiteral(kind: A64LdStKind, rt: number, offset: number): number {
  let base: number;
  if (kind === A64_LDST_LDR_W) base = LDR_LIT;
  else if (kind === A64_LDST_LDR_X) base = LDR_LIT | 0x40000000;
  else if (kind === A64_LDST_LDRSW) base = LDRSW_LIT;
  else throw new EncodeError(`invalid literal load kind: 0x${(kind >>> 0).toString(16)} (ldr w, ldr x or ldrsw)`);
  return (base | (branchOffset(offset, 19) << 5) | regZr(rt, "Rt")) >>> 0;
}

const STP = A64_INSN.stp;
const LDP = A64_INSN.ldp;
const STP_PRE = A64_INSN.stpPre;
const LDP_PRE = A64_INSN.ldpPre;
const STP_POST = A64_INSN.stpPost;
const LDP_POST = A64_INSN.ldpPost;

/**
 * LDP/STP — Arm ARM "Load/store register pair (offset | pre-indexed |
 * post-indexed)"; `type` is one of A64_INSN.stp, ldp, stpPre, ldpPre, stpPost,
 * ldpPost. Offset in bytes: a multiple of 4 in -256..252 (32-bit) or of 8
 * in -512..504 (64-bit).
 *
 *   31 30 29   27 26 25 23 22 21     15 14    10 9    5 4    0
 *   opc   1 0 1  0  idx    L   imm7     Rt2      Rn     Rt
 *   opc: 00 = 32-bit, 10 = 64-bit; idx: 001 post, 010 offset, 011 pre
 */
export function aarch64InsnGenLoadStorePair(
  type: A64InsnDesc,
  is64: boolean,
  rt: number,
  rt2: number,
  rn: number,
  offset: number,
): number {
  const pre = type === STP_PRE || type === LDP_PRE;
  const post = type === STP_POST || type === LDP_POST;
  if (!pre && !post && type !== STP && type !== LDP)
    throw new EncodeError(`wrong instruction for ldp/stp: ${type.name}`);
  const shift = is64 ? 3 : 2;
  const imm = offset >> shift;
  if (imm << shift !== offset || (imm << 25) >> 25 !== imm) {
    const text = pairText(type, is64, rt, rt2, rn, offset, pre, post);
    const size = 1 << shift;
    if (Number.isInteger(offset) && offset % size !== 0 && offset >= -64 * size && offset < 64 * size) {
      throw new EncodeError(`offset not a multiple of ${size}: ${text}`);
    }
    throw new EncodeError(`offset out of range: ${text} (${-64 * size}..${63 * size} in steps of ${size})`);
  }
  const t = regZr(rt, "Rt");
  const t2 = regZr(rt2, "Rt2");
  const n = regSp(rn, "Rn");
  if (rt === rt2 && (type === LDP || type === LDP_PRE || type === LDP_POST)) {
    throw new EncodeError(
      `unpredictable load pair: ${pairText(type, is64, rt, rt2, rn, offset, pre, post)} (Rt == Rt2)`,
    );
  }
  if ((pre || post) && (rn === rt || rn === rt2)) {
    const text = pairText(type, is64, rt, rt2, rn, offset, pre, post);
    throw new EncodeError(`unpredictable writeback: ${text} (the base register is also a data register)`);
  }
  return (type.value | (is64 ? SF_BIT : 0) | ((imm & 0x7f) << 15) | (t2 << RA) | (n << RN) | t) >>> 0;
}

function pairText(
  type: A64InsnDesc,
  is64: boolean,
  rt: number,
  rt2: number,
  rn: number,
  offset: number,
  pre: boolean,
  post: boolean,
): string {
  const addr = post ? `[${regName(rn)}], #${offset}` : `[${regName(rn)}, #${offset}]${pre ? "!" : ""}`;
  return `${type.mnemonic} ${regName(rt, is64)}, ${regName(rt2, is64)}, ${addr}`;
}

const LDXR = A64_INSN.ldxr;
const LDAXR = A64_INSN.ldaxr;
const STXR = A64_INSN.stxr;
const STLXR = A64_INSN.stlxr;
const LDAR = A64_INSN.ldar;
const STLR = A64_INSN.stlr;

/**
 * LDXR/LDAXR/STXR/STLXR and LDAR/STLR — Arm ARM "Load/store exclusive
 * register" and "Load/store ordered", 32 or 64 bit. `rs` is the status
 * register of stxr/stlxr (w, 0 = success); loads and ldar/stlr take none.
 * Operand order as the kernel's A64_STXR(sf, Rt, Rn, Rs); the assembler
 * writes `stxr Ws, Xt, [Xn]`.
 */
export function aarch64InsnGenLoadStoreEx(
  type: A64InsnDesc,
  is64: boolean,
  rt: number,
  rn: number,
  rs?: number,
): number {
  const withStatus = type === STXR || type === STLXR;
  if (!withStatus && type !== LDXR && type !== LDAXR && type !== LDAR && type !== STLR) {
    throw new EncodeError(`wrong instruction for load/store exclusive: ${type.name}`);
  }
  let status = 0;
  if (withStatus) {
    if (rs === undefined) throw new EncodeError(`missing status register: ${type.mnemonic} needs Rs`);
    status = regZr(rs, "Rs") << RM;
    if (rs === rt || (rs === rn && rs !== A64_ZR)) {
      const text = `${type.mnemonic} ${regName(rs, false)}, ${regName(rt, is64)}, [${regName(rn)}]`;
      throw new EncodeError(`unpredictable store exclusive: ${text} (Rs is also Rt or Rn)`);
    }
  } else if (rs !== undefined) {
    throw new EncodeError(`unexpected status register: ${type.mnemonic} takes no Rs`);
  }
  return (type.value | (is64 ? 0x40000000 : 0) | status | (regSp(rn, "Rn") << RN) | regZr(rt, "Rt")) >>> 0;
}

/** Memory ordering of an atomic: acquire (A), release (L), or both (AL). */
export interface A64MemOrder {
  /** Load-acquire semantics (the "a" suffix). */
  acquire?: boolean;
  /** Store-release semantics (the "l" suffix). */
  release?: boolean;
}

/** No ordering; prefer these shared constants to avoid an object per call. */
export const A64_MO_NONE: A64MemOrder = Object.freeze({});
/** Acquire: ldadda, casa, ... */
export const A64_MO_ACQUIRE: A64MemOrder = Object.freeze({ acquire: true });
/** Release: ldaddl, casl, ... */
export const A64_MO_RELEASE: A64MemOrder = Object.freeze({ release: true });
/** Acquire and release: ldaddal, casal, ... (what the kernel's BPF JIT emits). */
export const A64_MO_ACQ_REL: A64MemOrder = Object.freeze({ acquire: true, release: true });

/** The LSE operations of "Atomic memory operations" the generator takes. */
export type A64AtomicOp = "ldadd" | "ldclr" | "ldeor" | "ldset" | "swp";

/** o3 (bit 15) and opc (bits 14..12) of an atomic operation, or -1. */
function atomicOpc(op: A64AtomicOp): number {
  switch (op) {
    case "ldadd":
      return 0x0000;
    case "ldclr":
      return 0x1000;
    case "ldeor":
      return 0x2000;
    case "ldset":
      return 0x3000;
    case "swp":
      return 0x8000;
    default:
      return -1;
  }
}
const ATOMIC_BASE = 0xb8200000;
const CAS_BASE = A64_INSN.cas.value;

/**
 * LDADD/LDCLR/LDEOR/LDSET/SWP and their a/l/al forms — Arm ARM "Atomic
 * memory operations" (FEAT_LSE): `Rt = [Xn]; [Xn] = [Xn] <op> Rs`
 * (`swp`: `[Xn] = Rs`). Assembler order `ldadd Rs, Rt, [Xn|SP]`; Rt = xzr
 * gives the st<op> alias.
 */
export function aarch64InsnGenAtomicLdOp(
  op: A64AtomicOp,
  is64: boolean,
  rs: number,
  rt: number,
  rn: number,
  order: A64MemOrder = A64_MO_NONE,
): number {
  const opc = atomicOpc(op);
  if (opc < 0) {
    throw new EncodeError(`invalid atomic operation: ${String(op)} (ldadd, ldclr, ldeor, ldset or swp)`);
  }
  const ar = (order.acquire ? 0x800000 : 0) | (order.release ? 0x400000 : 0);
  return (
    (ATOMIC_BASE |
      (is64 ? 0x40000000 : 0) |
      ar |
      opc |
      (regZr(rs, "Rs") << RM) |
      (regSp(rn, "Rn") << RN) |
      regZr(rt, "Rt")) >>>
    0
  );
}

/**
 * CAS/CASA/CASL/CASAL — Arm ARM "Compare and swap" (FEAT_LSE): compare
 * [Xn] with Rs, store Rt if equal; Rs receives the old value either way.
 * Assembler order `cas Rs, Rt, [Xn|SP]`.
 */
export function aarch64InsnGenCas(
  is64: boolean,
  rs: number,
  rt: number,
  rn: number,
  order: A64MemOrder = A64_MO_NONE,
): number {
  const lo0 = (order.acquire ? 0x400000 : 0) | (order.release ? 0x8000 : 0);
  return (
    (CAS_BASE | (is64 ? 0x40000000 : 0) | lo0 | (regZr(rs, "Rs") << RM) | (regSp(rn, "Rn") << RN) | regZr(rt, "Rt")) >>>
    0
  );
}
