/**
 * The A64 instruction table: one `{mask, value}` entry per instruction (and
 * addressing form), naming its Arm ARM page.
 *
 * Models the `__AARCH64_INSN_FUNCS(name, mask, value)` list of
 * arch/arm64/include/asm/insn.h, which gives the kernel its
 * `aarch64_insn_is_<name>()` and `aarch64_insn_get_<name>_value()` helpers.
 * A word `w` is an instance of entry `e` when `(w & e.mask) === e.value`; the
 * generators start from `e.value` and OR the fields in.
 *
 * Facts come from the Arm Architecture Reference Manual (DDI 0487): the
 * encoding classes of C4.1 ("A64 instruction set encoding", index by
 * encoding) and the instruction pages of C6.2 ("Alphabetical list of A64 base
 * instructions"), named here by their titles.
 *
 * Simplifications: only the instructions a64bpf emits are listed (no
 * SIMD/FP, no SVE, no system-register moves, no extended-register add/sub).
 * Loads and stores are listed for the 8/16/32/64-bit integer forms; atomics
 * and exclusives for 32 and 64 bits (bit 31 set, bit 30 = size<0>).
 * Where an instruction's variant bits (sf, size<0>, opc<0> of ldrsb/ldrsh)
 * select only the register width, the entry leaves them out of its mask.
 */
import { EncodeError } from "../errors.js";

/** One instruction (or one addressing form of it). */
export interface A64InsnDesc {
  /** Unique key, also the property name in {@link A64_INSN} ("addImm", "ldrPre"). */
  readonly name: string;
  /** Base mnemonic in lower case, without aliases ("subs", not "cmp"). */
  readonly mnemonic: string;
  /** Bits that identify the instruction. */
  readonly mask: number;
  /** Their values; `value & ~mask` is 0. */
  readonly value: number;
  /** Arm ARM C6.2 page title, e.g. "ADD (immediate)". */
  readonly page: string;
  /** Arm ARM C4.1 encoding class, e.g. "Add/subtract (immediate)". */
  readonly cls: string;
}

function d(name: string, mnemonic: string, mask: number, value: number, page: string, cls: string): A64InsnDesc {
  return Object.freeze({ name, mnemonic, mask: mask >>> 0, value: value >>> 0, page, cls });
}

// ─── Data processing — immediate ────────────────────────────────────────────
const PCREL = "PC-rel. addressing";
const ADDSUB_IMM = "Add/subtract (immediate)";
const LOG_IMM = "Logical (immediate)";
const MOVEW = "Move wide (immediate)";
const BITFIELD = "Bitfield";
const EXTRACT = "Extract";
// ─── Branches, exception generating and system ──────────────────────────────
const BCOND = "Conditional branch (immediate)";
const EXCEPTION = "Exception generation";
const HINTS = "Hints";
const BARRIERS = "Barriers";
const BR_REG = "Unconditional branch (register)";
const BR_IMM = "Unconditional branch (immediate)";
const CMP_BR = "Compare and branch (immediate)";
const TST_BR = "Test and branch (immediate)";
// ─── Loads and stores ───────────────────────────────────────────────────────
const LDST_EX = "Load/store exclusive register";
const LDST_ORD = "Load/store ordered";
const CAS = "Compare and swap";
const ATOMIC = "Atomic memory operations";
const LD_LIT = "Load register (literal)";
const LDSTP_POST = "Load/store register pair (post-indexed)";
const LDSTP_OFF = "Load/store register pair (offset)";
const LDSTP_PRE = "Load/store register pair (pre-indexed)";
const LDST_UNSCALED = "Load/store register (unscaled immediate)";
const LDST_POST = "Load/store register (immediate post-indexed)";
const LDST_PRE = "Load/store register (immediate pre-indexed)";
const LDST_REG = "Load/store register (register offset)";
const LDST_UIMM = "Load/store register (unsigned immediate)";
// ─── Data processing — register ─────────────────────────────────────────────
const DP2 = "Data-processing (2 source)";
const DP1 = "Data-processing (1 source)";
const LOG_REG = "Logical (shifted register)";
const ADDSUB_REG = "Add/subtract (shifted register)";
const DP3 = "Data-processing (3 source)";
const CSEL = "Conditional select";

/**
 * The integer load/store kinds: register width and signedness per (size, opc).
 * `sizeMask`/`opcMask` say which of those bits identify the instruction.
 *
 *   31 30 29 28 27 26 25 24 23 22
 *   size  1  1  1  V  x  x  opc      V = 0 (integer registers)
 */
const LDST_KINDS = [
  { base: "strb", unscaled: "sturb", size: 0, opc: 0, sizeMask: 3, opcMask: 3, page: "STRB" },
  { base: "ldrb", unscaled: "ldurb", size: 0, opc: 1, sizeMask: 3, opcMask: 3, page: "LDRB" },
  { base: "ldrsb", unscaled: "ldursb", size: 0, opc: 2, sizeMask: 3, opcMask: 2, page: "LDRSB" },
  { base: "strh", unscaled: "sturh", size: 1, opc: 0, sizeMask: 3, opcMask: 3, page: "STRH" },
  { base: "ldrh", unscaled: "ldurh", size: 1, opc: 1, sizeMask: 3, opcMask: 3, page: "LDRH" },
  { base: "ldrsh", unscaled: "ldursh", size: 1, opc: 2, sizeMask: 3, opcMask: 2, page: "LDRSH" },
  { base: "str", unscaled: "stur", size: 2, opc: 0, sizeMask: 2, opcMask: 3, page: "STR" },
  { base: "ldr", unscaled: "ldur", size: 2, opc: 1, sizeMask: 2, opcMask: 3, page: "LDR" },
  { base: "ldrsw", unscaled: "ldursw", size: 2, opc: 2, sizeMask: 3, opcMask: 3, page: "LDRSW" },
] as const;

/** The five addressing forms of the integer load/store register class. */
const LDST_FORMS = [
  { suffix: "Imm", value: 0x39000000, mask: 0x3f000000, cls: LDST_UIMM, page: "(immediate)", unscaled: false },
  { suffix: "Unscaled", value: 0x38000000, mask: 0x3f200c00, cls: LDST_UNSCALED, page: "", unscaled: true },
  { suffix: "Post", value: 0x38000400, mask: 0x3f200c00, cls: LDST_POST, page: "(immediate)", unscaled: false },
  { suffix: "Pre", value: 0x38000c00, mask: 0x3f200c00, cls: LDST_PRE, page: "(immediate)", unscaled: false },
  { suffix: "Reg", value: 0x38200800, mask: 0x3f200c00, cls: LDST_REG, page: "(register)", unscaled: false },
] as const;

function ldstEntries(): A64InsnDesc[] {
  const out: A64InsnDesc[] = [];
  for (const f of LDST_FORMS) {
    for (const k of LDST_KINDS) {
      const mnemonic = f.unscaled ? k.unscaled : k.base;
      const name = f.unscaled ? k.unscaled : `${k.base}${f.suffix}`;
      const mask = f.mask | (k.sizeMask << 30) | (k.opcMask << 22);
      const value = f.value | (k.size << 30) | (k.opc << 22);
      const page = f.unscaled ? mnemonic.toUpperCase() : `${k.page} ${f.page}`;
      out.push(d(name, mnemonic, mask, value, page, f.cls));
    }
  }
  return out;
}

/** LSE atomic memory operations: (o3, opc) and the four orderings. */
const ATOMIC_OPS = [
  { op: "ldadd", o3: 0, opc: 0, page: "LDADD, LDADDA, LDADDAL, LDADDL" },
  { op: "ldclr", o3: 0, opc: 1, page: "LDCLR, LDCLRA, LDCLRAL, LDCLRL" },
  { op: "ldeor", o3: 0, opc: 2, page: "LDEOR, LDEORA, LDEORAL, LDEORL" },
  { op: "ldset", o3: 0, opc: 3, page: "LDSET, LDSETA, LDSETAL, LDSETL" },
  { op: "swp", o3: 1, opc: 0, page: "SWP, SWPA, SWPAL, SWPL" },
] as const;

/** Acquire (A, bit 23) and release (R, bit 22) suffixes of atomics; CAS uses L (bit 22) and o0 (bit 15). */
const ORDERS = [
  { suffix: "", a: 0, r: 0 },
  { suffix: "a", a: 1, r: 0 },
  { suffix: "l", a: 0, r: 1 },
  { suffix: "al", a: 1, r: 1 },
] as const;

function atomicEntries(): A64InsnDesc[] {
  const out: A64InsnDesc[] = [];
  for (const o of ATOMIC_OPS) {
    for (const ord of ORDERS) {
      const v = 0xb8200000 | (ord.a << 23) | (ord.r << 22) | (o.o3 << 15) | (o.opc << 12);
      out.push(d(`${o.op}${ord.suffix}`, `${o.op}${ord.suffix}`, 0xbfe0fc00, v, o.page, ATOMIC));
    }
  }
  for (const ord of ORDERS) {
    const v = 0x88a07c00 | (ord.a << 22) | (ord.r << 15);
    out.push(d(`cas${ord.suffix}`, `cas${ord.suffix}`, 0xbfe0fc00, v, "CAS, CASA, CASAL, CASL", CAS));
  }
  return out;
}

const ENTRIES: readonly A64InsnDesc[] = [
  d("adr", "adr", 0x9f000000, 0x10000000, "ADR", PCREL),
  d("adrp", "adrp", 0x9f000000, 0x90000000, "ADRP", PCREL),

  d("addImm", "add", 0x7f800000, 0x11000000, "ADD (immediate)", ADDSUB_IMM),
  d("addsImm", "adds", 0x7f800000, 0x31000000, "ADDS (immediate)", ADDSUB_IMM),
  d("subImm", "sub", 0x7f800000, 0x51000000, "SUB (immediate)", ADDSUB_IMM),
  d("subsImm", "subs", 0x7f800000, 0x71000000, "SUBS (immediate)", ADDSUB_IMM),

  d("andImm", "and", 0x7f800000, 0x12000000, "AND (immediate)", LOG_IMM),
  d("orrImm", "orr", 0x7f800000, 0x32000000, "ORR (immediate)", LOG_IMM),
  d("eorImm", "eor", 0x7f800000, 0x52000000, "EOR (immediate)", LOG_IMM),
  d("andsImm", "ands", 0x7f800000, 0x72000000, "ANDS (immediate)", LOG_IMM),

  d("movn", "movn", 0x7f800000, 0x12800000, "MOVN", MOVEW),
  d("movz", "movz", 0x7f800000, 0x52800000, "MOVZ", MOVEW),
  d("movk", "movk", 0x7f800000, 0x72800000, "MOVK", MOVEW),

  d("sbfm", "sbfm", 0x7f800000, 0x13000000, "SBFM", BITFIELD),
  d("bfm", "bfm", 0x7f800000, 0x33000000, "BFM", BITFIELD),
  d("ubfm", "ubfm", 0x7f800000, 0x53000000, "UBFM", BITFIELD),
  d("extr", "extr", 0x7fa00000, 0x13800000, "EXTR", EXTRACT),

  d("bcond", "b.cond", 0xff000010, 0x54000000, "B.cond", BCOND),
  d("svc", "svc", 0xffe0001f, 0xd4000001, "SVC", EXCEPTION),
  d("brk", "brk", 0xffe0001f, 0xd4200000, "BRK", EXCEPTION),
  d("hint", "hint", 0xfffff01f, 0xd503201f, "HINT", HINTS),
  d("nop", "nop", 0xffffffff, 0xd503201f, "NOP", HINTS),
  d("paciasp", "paciasp", 0xffffffff, 0xd503233f, "PACIA, PACIA1716, PACIASP, PACIAZ, PACIZA", HINTS),
  d("autiasp", "autiasp", 0xffffffff, 0xd50323bf, "AUTIA, AUTIA1716, AUTIASP, AUTIAZ, AUTIZA", HINTS),
  d("bti", "bti", 0xffffff3f, 0xd503241f, "BTI", HINTS),
  d("dsb", "dsb", 0xfffff0ff, 0xd503309f, "DSB", BARRIERS),
  d("dmb", "dmb", 0xfffff0ff, 0xd50330bf, "DMB", BARRIERS),
  d("isb", "isb", 0xfffff0ff, 0xd50330df, "ISB", BARRIERS),
  d("br", "br", 0xfffffc1f, 0xd61f0000, "BR", BR_REG),
  d("blr", "blr", 0xfffffc1f, 0xd63f0000, "BLR", BR_REG),
  d("ret", "ret", 0xfffffc1f, 0xd65f0000, "RET", BR_REG),
  d("b", "b", 0xfc000000, 0x14000000, "B", BR_IMM),
  d("bl", "bl", 0xfc000000, 0x94000000, "BL", BR_IMM),
  d("cbz", "cbz", 0x7f000000, 0x34000000, "CBZ", CMP_BR),
  d("cbnz", "cbnz", 0x7f000000, 0x35000000, "CBNZ", CMP_BR),
  d("tbz", "tbz", 0x7f000000, 0x36000000, "TBZ", TST_BR),
  d("tbnz", "tbnz", 0x7f000000, 0x37000000, "TBNZ", TST_BR),

  d("stxr", "stxr", 0xbfe0fc00, 0x88007c00, "STXR", LDST_EX),
  d("stlxr", "stlxr", 0xbfe0fc00, 0x8800fc00, "STLXR", LDST_EX),
  d("ldxr", "ldxr", 0xbffffc00, 0x885f7c00, "LDXR", LDST_EX),
  d("ldaxr", "ldaxr", 0xbffffc00, 0x885ffc00, "LDAXR", LDST_EX),
  d("stlr", "stlr", 0xbffffc00, 0x889ffc00, "STLR", LDST_ORD),
  d("ldar", "ldar", 0xbffffc00, 0x88dffc00, "LDAR", LDST_ORD),
  ...atomicEntries(),
  d("ldrLit", "ldr", 0xbf000000, 0x18000000, "LDR (literal)", LD_LIT),
  d("ldrswLit", "ldrsw", 0xff000000, 0x98000000, "LDRSW (literal)", LD_LIT),
  d("stpPost", "stp", 0x7fc00000, 0x28800000, "STP", LDSTP_POST),
  d("ldpPost", "ldp", 0x7fc00000, 0x28c00000, "LDP", LDSTP_POST),
  d("stp", "stp", 0x7fc00000, 0x29000000, "STP", LDSTP_OFF),
  d("ldp", "ldp", 0x7fc00000, 0x29400000, "LDP", LDSTP_OFF),
  d("stpPre", "stp", 0x7fc00000, 0x29800000, "STP", LDSTP_PRE),
  d("ldpPre", "ldp", 0x7fc00000, 0x29c00000, "LDP", LDSTP_PRE),
  ...ldstEntries(),

  d("udiv", "udiv", 0x7fe0fc00, 0x1ac00800, "UDIV", DP2),
  d("sdiv", "sdiv", 0x7fe0fc00, 0x1ac00c00, "SDIV", DP2),
  d("lslv", "lslv", 0x7fe0fc00, 0x1ac02000, "LSLV", DP2),
  d("lsrv", "lsrv", 0x7fe0fc00, 0x1ac02400, "LSRV", DP2),
  d("asrv", "asrv", 0x7fe0fc00, 0x1ac02800, "ASRV", DP2),
  d("rorv", "rorv", 0x7fe0fc00, 0x1ac02c00, "RORV", DP2),
  d("rbit", "rbit", 0x7ffffc00, 0x5ac00000, "RBIT", DP1),
  d("rev16", "rev16", 0x7ffffc00, 0x5ac00400, "REV16", DP1),
  d("revW", "rev", 0xfffffc00, 0x5ac00800, "REV", DP1),
  d("rev32", "rev32", 0xfffffc00, 0xdac00800, "REV32", DP1),
  d("revX", "rev", 0xfffffc00, 0xdac00c00, "REV", DP1),
  d("clz", "clz", 0x7ffffc00, 0x5ac01000, "CLZ", DP1),
  d("andReg", "and", 0x7f200000, 0x0a000000, "AND (shifted register)", LOG_REG),
  d("bicReg", "bic", 0x7f200000, 0x0a200000, "BIC (shifted register)", LOG_REG),
  d("orrReg", "orr", 0x7f200000, 0x2a000000, "ORR (shifted register)", LOG_REG),
  d("ornReg", "orn", 0x7f200000, 0x2a200000, "ORN (shifted register)", LOG_REG),
  d("eorReg", "eor", 0x7f200000, 0x4a000000, "EOR (shifted register)", LOG_REG),
  d("eonReg", "eon", 0x7f200000, 0x4a200000, "EON (shifted register)", LOG_REG),
  d("andsReg", "ands", 0x7f200000, 0x6a000000, "ANDS (shifted register)", LOG_REG),
  d("bicsReg", "bics", 0x7f200000, 0x6a200000, "BICS (shifted register)", LOG_REG),
  d("addReg", "add", 0x7f200000, 0x0b000000, "ADD (shifted register)", ADDSUB_REG),
  d("addsReg", "adds", 0x7f200000, 0x2b000000, "ADDS (shifted register)", ADDSUB_REG),
  d("subReg", "sub", 0x7f200000, 0x4b000000, "SUB (shifted register)", ADDSUB_REG),
  d("subsReg", "subs", 0x7f200000, 0x6b000000, "SUBS (shifted register)", ADDSUB_REG),
  d("madd", "madd", 0x7fe08000, 0x1b000000, "MADD", DP3),
  d("msub", "msub", 0x7fe08000, 0x1b008000, "MSUB", DP3),
  d("csel", "csel", 0x7fe00c00, 0x1a800000, "CSEL", CSEL),
  d("csinc", "csinc", 0x7fe00c00, 0x1a800400, "CSINC", CSEL),
  d("csinv", "csinv", 0x7fe00c00, 0x5a800000, "CSINV", CSEL),
  d("csneg", "csneg", 0x7fe00c00, 0x5a800400, "CSNEG", CSEL),
];

/** Every entry of the table, in declaration order. */
export const A64_INSN_TABLE: readonly A64InsnDesc[] = Object.freeze(ENTRIES.slice());

/** The table by name: `A64_INSN.addImm.value` is the kernel's `aarch64_insn_get_add_imm_value()`. */
export const A64_INSN: Readonly<Record<string, A64InsnDesc>> = Object.freeze(
  Object.fromEntries(ENTRIES.map((e) => [e.name, e])),
);

/** The table entry called `name`; throws for an unknown name (a programming error). */
export function a64InsnDesc(name: string): A64InsnDesc {
  const e = A64_INSN[name];
  if (e === undefined) throw new EncodeError(`unknown A64 table entry: ${name}`);
  return e;
}

/** `aarch64_insn_is_<name>()`: is `insn` an instance of `desc`? */
export function aarch64InsnIs(insn: number, desc: A64InsnDesc): boolean {
  return (insn & desc.mask) >>> 0 === desc.value;
}
