/**
 * The BPF JIT's instruction macros: the `A64_*` macros of
 * arch/arm64/net/bpf_jit.h as camelCase functions over the class generators
 * (gen_dp.ts, gen_ldst.ts, gen_branch.ts). This module has the branches,
 * hints, barriers and exceptions and re-exports the other two parts
 * (jit_macros_mem.ts: loads, stores, atomics; jit_macros_alu.ts: arithmetic,
 * logic, moves, bitfields), so `import { ... } from "./jit_macros.js"` is
 * the one place to get any macro.
 *
 * Kept from the kernel: the names (A64_ADD_I → a64AddI, A64_LDR64I →
 * a64Ldr64I, A64_PUSH → a64Push), the operand order of every macro the
 * kernel has (including A64_MADD(sf, Rd, Ra, Rn, Rm) and
 * A64_STXR(sf, Rt, Rn, Rs)), `is64` in the place of `sf`, branch offsets in
 * instructions (A64_B(imm26), A64_B_(cond, imm19)) and load/store/adr/literal
 * offsets in bytes. Like the macros they stand for, these take more than two
 * positional arguments; they allocate nothing.
 *
 * Added (no kernel macro of that name): unscaled loads/stores (a64Ldur64 ...),
 * ldp/stp in all three forms, LSE ops with a chosen ordering
 * (`a64Ldadd(is64, rs, rt, rn, order)` in assembler operand order), a64Cas,
 * a64Csel/a64Csinc/a64Cset, a64Ubfx/a64Sbfx, a64Ror, hints and barriers.
 *
 * Register 31: pass A64_SP or A64_ZR (regs.ts).
 */
import { EncodeError } from "../errors.js";
import {
  A64_HINT_AUTIASP,
  A64_HINT_BTI_C,
  A64_HINT_BTI_J,
  A64_HINT_BTI_JC,
  A64_HINT_PACIASP,
  A64_MB_SY,
  aarch64InsnGenBarrier,
  aarch64InsnGenBranchImm,
  aarch64InsnGenBranchReg,
  aarch64InsnGenCompBranchImm,
  aarch64InsnGenCondBranchImm,
  aarch64InsnGenException,
  aarch64InsnGenHint,
  aarch64InsnGenNop,
  aarch64InsnGenTestBranchImm,
} from "./gen_branch.js";
import { A64_INSN } from "./insn_table.js";

const T = {
  b: A64_INSN.b,
  bl: A64_INSN.bl,
  cbz: A64_INSN.cbz,
  cbnz: A64_INSN.cbnz,
  tbz: A64_INSN.tbz,
  tbnz: A64_INSN.tbnz,
  br: A64_INSN.br,
  blr: A64_INSN.blr,
  ret: A64_INSN.ret,
  dmb: A64_INSN.dmb,
  dsb: A64_INSN.dsb,
  isb: A64_INSN.isb,
  brk: A64_INSN.brk,
  svc: A64_INSN.svc,
} as const;

// ─── Branches ────────────────────────────────────────────────────────────────

/** `b` by `imm26` instructions (A64_B). */
export function a64B(imm26: number): number {
  return aarch64InsnGenBranchImm(T.b, imm26 * 4);
}
/** `bl` by `imm26` instructions (A64_BL). */
export function a64Bl(imm26: number): number {
  return aarch64InsnGenBranchImm(T.bl, imm26 * 4);
}
/** `b.<cond>` by `imm19` instructions (the kernel's A64_B_(cond, imm19)). */
export function a64BCond(cond: number, imm19: number): number {
  return aarch64InsnGenCondBranchImm(cond, imm19 * 4);
}
/** `cbz Rt, imm19 instructions` (A64_CBZ). */
export function a64Cbz(is64: boolean, rt: number, imm19: number): number {
  return aarch64InsnGenCompBranchImm(T.cbz, is64, rt, imm19 * 4);
}
/** `cbnz Rt, imm19 instructions` (A64_CBNZ). */
export function a64Cbnz(is64: boolean, rt: number, imm19: number): number {
  return aarch64InsnGenCompBranchImm(T.cbnz, is64, rt, imm19 * 4);
}
/** `tbz Rt, #bit, imm14 instructions`. */
export function a64Tbz(rt: number, bit: number, imm14: number): number {
  return aarch64InsnGenTestBranchImm(T.tbz, rt, bit, imm14 * 4);
}
/** `tbnz Rt, #bit, imm14 instructions`. */
export function a64Tbnz(rt: number, bit: number, imm14: number): number {
  return aarch64InsnGenTestBranchImm(T.tbnz, rt, bit, imm14 * 4);
}
/** `br Xn` (A64_BR). */
export function a64Br(rn: number): number {
  return aarch64InsnGenBranchReg(T.br, rn);
}
/** `blr Xn` (A64_BLR). */
export function a64Blr(rn: number): number {
  return aarch64InsnGenBranchReg(T.blr, rn);
}
/** `ret Xn` (A64_RET); x30 when omitted. */
export function a64Ret(rn = 30): number {
  return aarch64InsnGenBranchReg(T.ret, rn);
}

// ─── Hints, barriers, exceptions ────────────────────────────────────────────

/** `nop` (A64_NOP). */
export function a64Nop(): number {
  return aarch64InsnGenNop();
}

/** `bti c`, `bti j` or `bti jc` (A64_BTI_C / _J / _JC). */
export function a64Bti(targets: "c" | "j" | "jc"): number {
  switch (targets) {
    case "c":
      return aarch64InsnGenHint(A64_HINT_BTI_C);
    case "j":
      return aarch64InsnGenHint(A64_HINT_BTI_J);
    case "jc":
      return aarch64InsnGenHint(A64_HINT_BTI_JC);
    default:
      throw new EncodeError(`invalid bti target: ${String(targets)} (c, j or jc)`);
  }
}
/** `paciasp` (A64_PACIASP, hint #25): sign x30 with key A and sp. */
export function a64Paciasp(): number {
  return aarch64InsnGenHint(A64_HINT_PACIASP);
}
/** `autiasp` (A64_AUTIASP, hint #29): authenticate x30. */
export function a64Autiasp(): number {
  return aarch64InsnGenHint(A64_HINT_AUTIASP);
}
/** `dmb <option>` (A64_MB_* option, e.g. A64_MB_ISH). */
export function a64Dmb(option: number): number {
  return aarch64InsnGenBarrier(T.dmb, option);
}
/** `dsb <option>`. */
export function a64Dsb(option: number): number {
  return aarch64InsnGenBarrier(T.dsb, option);
}
/** `isb`. */
export function a64Isb(): number {
  return aarch64InsnGenBarrier(T.isb, A64_MB_SY);
}
/** `brk #imm16` (AARCH64_BREAK_FAULT is brk #0x100). */
export function a64Brk(imm16: number): number {
  return aarch64InsnGenException(T.brk, imm16);
}
/** `svc #imm16`. */
export function a64Svc(imm16: number): number {
  return aarch64InsnGenException(T.svc, imm16);
}

/** Loads, stores, literals, pairs, exclusives, LSE atomics. */
export * from "./jit_macros_mem.js";
/** Add/sub, logical, moves, bitfields, multiply/divide, conditional select. */
export * from "./jit_macros_alu.js";
