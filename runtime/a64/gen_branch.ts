/**
 * A64 branch, exception-generating and system generators: one function per
 * encoding class.
 *
 * Models arch/arm64/lib/insn.c (`aarch64_insn_gen_branch_imm`,
 * `_comp_branch_imm`, `_cond_branch_imm`, `_branch_reg`, `_hint`, `_nop`,
 * `_dmb`) and the BRK/SVC words of asm/debug-monitors.h, in camelCase.
 * Encodings: Arm ARM C4.1 "Branches, Exception Generating and System
 * instructions"; instruction pages in C6.2.
 *
 * Difference from the kernel: PC-relative generators take the signed byte
 * offset from the instruction (`addr - pc`) instead of the pair (pc, addr),
 * so the JIT needs no bigint per branch; {@link aarch64BranchOffsetBetween}
 * computes and checks it from two 64-bit addresses for text poking.
 *
 *   class                 field     range (bytes, from the instruction)
 *   b, bl                 imm26     -128 MiB .. +128 MiB - 4
 *   b.cond, cbz, cbnz     imm19     -1 MiB .. +1 MiB - 4
 *   ldr (literal)         imm19     -1 MiB .. +1 MiB - 4
 *   tbz, tbnz             imm14     -32 KiB .. +32 KiB - 4
 */
import { EncodeError } from "../errors.js";
import { branchOffset, condField, hex, RN, regZr, SF_BIT, shiftAmount, sizeText, uimm } from "./fields.js";
import { A64_INSN, type A64InsnDesc } from "./insn_table.js";

const B = A64_INSN.b;
const BL = A64_INSN.bl;
const BCOND = A64_INSN.bcond.value;
const CBZ = A64_INSN.cbz;
const CBNZ = A64_INSN.cbnz;
const TBZ = A64_INSN.tbz;
const TBNZ = A64_INSN.tbnz;
const BR = A64_INSN.br;
const BLR = A64_INSN.blr;
const RET = A64_INSN.ret;
const HINT = A64_INSN.hint.value;
const DMB = A64_INSN.dmb;
const DSB = A64_INSN.dsb;
const ISB = A64_INSN.isb;
const BRK = A64_INSN.brk;
const SVC = A64_INSN.svc;

// Hint numbers: CRm:op2, the `#imm` of `hint #imm`.
/** `nop`. */
export const A64_HINT_NOP = 0;
/** `yield`. */
export const A64_HINT_YIELD = 1;
/** `paciasp`: sign x30 with key A and sp. */
export const A64_HINT_PACIASP = 25;
/** `autiasp`: authenticate x30 with key A and sp. */
export const A64_HINT_AUTIASP = 29;
/** `bti` with no target: accepts no indirect branch. */
export const A64_HINT_BTI = 32;
/** `bti c`: target of an indirect call (blr) or of br through x16/x17. */
export const A64_HINT_BTI_C = 34;
/** `bti j`: target of an indirect jump (br). */
export const A64_HINT_BTI_J = 36;
/** `bti jc`: target of both. */
export const A64_HINT_BTI_JC = 38;

// Barrier options: CRm of DMB/DSB, as the kernel's enum aarch64_insn_mb_type.
/** Outer shareable, loads. */
export const A64_MB_OSHLD = 0x1;
/** Outer shareable, stores. */
export const A64_MB_OSHST = 0x2;
/** Outer shareable. */
export const A64_MB_OSH = 0x3;
/** Non-shareable, loads. */
export const A64_MB_NSHLD = 0x5;
/** Non-shareable, stores. */
export const A64_MB_NSHST = 0x6;
/** Non-shareable. */
export const A64_MB_NSH = 0x7;
/** Inner shareable, loads. */
export const A64_MB_ISHLD = 0x9;
/** Inner shareable, stores. */
export const A64_MB_ISHST = 0xa;
/** Inner shareable (A64_DMB_ISH). */
export const A64_MB_ISH = 0xb;
/** Full system, loads. */
export const A64_MB_LD = 0xd;
/** Full system, stores. */
export const A64_MB_ST = 0xe;
/** Full system. */
export const A64_MB_SY = 0xf;

/** B/BL — Arm ARM "Unconditional branch (immediate)"; `offset` in bytes. */
export function aarch64InsnGenBranchImm(type: A64InsnDesc, offset: number): number {
  if (type !== B && type !== BL) throw new EncodeError(`wrong instruction for b/bl: ${type.name}`);
  return (type.value | branchOffset(offset, 26)) >>> 0;
}

/** B.cond — Arm ARM "Conditional branch (immediate)"; `offset` in bytes. */
export function aarch64InsnGenCondBranchImm(cond: number, offset: number): number {
  return (BCOND | (branchOffset(offset, 19) << 5) | condField(cond)) >>> 0;
}

/** CBZ/CBNZ — Arm ARM "Compare and branch (immediate)"; `offset` in bytes. */
export function aarch64InsnGenCompBranchImm(type: A64InsnDesc, is64: boolean, rt: number, offset: number): number {
  if (type !== CBZ && type !== CBNZ) throw new EncodeError(`wrong instruction for cbz/cbnz: ${type.name}`);
  return (type.value | (is64 ? SF_BIT : 0) | (branchOffset(offset, 19) << 5) | regZr(rt, "Rt")) >>> 0;
}

/**
 * TBZ/TBNZ — Arm ARM "Test and branch (immediate)": branch if bit `bit`
 * (0..63) of Xt is zero/nonzero; `offset` in bytes. Bits 0..31 assemble as
 * `tbz Wt, ...`, bits 32..63 set b5 and use Xt.
 */
export function aarch64InsnGenTestBranchImm(type: A64InsnDesc, rt: number, bit: number, offset: number): number {
  if (type !== TBZ && type !== TBNZ) throw new EncodeError(`wrong instruction for tbz/tbnz: ${type.name}`);
  const b = shiftAmount(bit, true, "bit number");
  return (type.value | ((b & 32) << 26) | ((b & 31) << 19) | (branchOffset(offset, 14) << 5) | regZr(rt, "Rt")) >>> 0;
}

/** BR/BLR/RET — Arm ARM "Unconditional branch (register)"; `ret` takes any register (x30 by convention). */
export function aarch64InsnGenBranchReg(type: A64InsnDesc, rn: number): number {
  if (type !== BR && type !== BLR && type !== RET)
    throw new EncodeError(`wrong instruction for br/blr/ret: ${type.name}`);
  return (type.value | (regZr(rn, "Rn") << RN)) >>> 0;
}

/** HINT #op — Arm ARM "Hints": nop, yield, bti, paciasp, autiasp, ... (`op` = CRm:op2, 0..127). */
export function aarch64InsnGenHint(op: number): number {
  return (HINT | (uimm(op, 7, "hint") << 5)) >>> 0;
}

/** NOP (hint #0). */
export function aarch64InsnGenNop(): number {
  return HINT;
}

/**
 * DMB/DSB/ISB — Arm ARM "Barriers". `option` is the CRm field (A64_MB_*);
 * ISB takes only A64_MB_SY (its default).
 */
export function aarch64InsnGenBarrier(type: A64InsnDesc, option: number = A64_MB_SY): number {
  if (type === ISB) {
    if (option !== A64_MB_SY) throw new EncodeError(`invalid isb option: ${option} (only sy, 15)`);
  } else if (type !== DMB && type !== DSB) {
    throw new EncodeError(`wrong instruction for dmb/dsb/isb: ${type.name}`);
  } else if (option !== (option & 15) || (option & 3) === 0) {
    throw new EncodeError(`invalid barrier option: ${option} (CRm with a nonzero domain: 1..3, 5..7, 9..11, 13..15)`);
  }
  return (type.value | (option << 8)) >>> 0;
}

/** BRK/SVC #imm16 — Arm ARM "Exception generation". */
export function aarch64InsnGenException(type: A64InsnDesc, imm16: number): number {
  if (type !== BRK && type !== SVC) throw new EncodeError(`wrong instruction for brk/svc: ${type.name}`);
  return (type.value | (uimm(imm16, 16, "imm16") << 5)) >>> 0;
}

/**
 * The byte offset `addr - pc` for a b/bl between two 64-bit addresses,
 * checked like the kernel's label_imm_common: both 4-byte aligned, within
 * -128 MiB..+128 MiB - 4 (or ±`range` bytes when given, e.g. 1 MiB for b.cond).
 */
export function aarch64BranchOffsetBetween(pc: bigint, addr: bigint, range = 0x800_0000): number {
  if ((pc & 3n) !== 0n || (addr & 3n) !== 0n) {
    throw new EncodeError(`branch address not 4-byte aligned: pc ${hex(pc)}, target ${hex(addr)}`);
  }
  const diff = BigInt.asIntN(64, addr - pc);
  if (diff < -BigInt(range) || diff >= BigInt(range)) {
    throw new EncodeError(`branch offset out of range: ${hex(diff)} bytes (±${sizeText(range)})`);
  }
  return Number(diff);
}
