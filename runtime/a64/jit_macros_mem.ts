/**
 * BPF JIT macros, part 2: loads, stores, literals, adr/adrp, pairs,
 * exclusives and LSE atomics — the A64_LS_REG, A64_LS_IMM, A64_LS_PAIR,
 * A64_LSX and LSE macros of arch/arm64/net/bpf_jit.h in camelCase. See
 * jit_macros.ts for the conventions; import through it.
 *
 * Register offset `[Xn, Xm]`, unsigned scaled offset in bytes `[Xn, #imm]`,
 * unscaled `[Xn, #simm]` (-256..255, ldur/stur). Xn may be A64_SP.
 */
import { aarch64InsnGenAdr } from "./gen_dp.js";
import {
  A64_LDST_LDR_W,
  A64_LDST_LDR_X,
  A64_LDST_LDRB,
  A64_LDST_LDRH,
  A64_LDST_LDRSB_X,
  A64_LDST_LDRSH_X,
  A64_LDST_LDRSW,
  A64_LDST_STR_W,
  A64_LDST_STR_X,
  A64_LDST_STRB,
  A64_LDST_STRH,
  A64_MO_NONE,
  aarch64InsnGenAtomicLdOp,
  aarch64InsnGenCas,
  aarch64InsnGenLoadLiteral,
  aarch64InsnGenLoadStoreEx,
  aarch64InsnGenLoadStoreImm,
  aarch64InsnGenLoadStorePair,
  aarch64InsnGenLoadStoreReg,
  aarch64InsnGenLoadStoreUnscaled,
  type A64MemOrder,
} from "./gen_ldst.js";
import { A64_INSN } from "./insn_table.js";

const T = {
  stp: A64_INSN.stp,
  ldp: A64_INSN.ldp,
  stpPre: A64_INSN.stpPre,
  ldpPre: A64_INSN.ldpPre,
  stpPost: A64_INSN.stpPost,
  ldpPost: A64_INSN.ldpPost,
  ldxr: A64_INSN.ldxr,
  ldaxr: A64_INSN.ldaxr,
  stxr: A64_INSN.stxr,
  stlxr: A64_INSN.stlxr,
  ldar: A64_INSN.ldar,
  stlr: A64_INSN.stlr,
  adr: A64_INSN.adr,
  adrp: A64_INSN.adrp,
} as const;

// ─── Loads and stores ───────────────────────────────────────────────────────
// Register offset `[Xn, Xm]` (A64_LS_REG), unsigned scaled offset in bytes
// `[Xn, #imm]` (A64_LS_IMM), unscaled -256..255 `[Xn, #simm]` (ldur/stur).

/** `strb Wt, [Xn, Xm]`. */
export function a64Strb(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_STRB, rt, rn, rm);
}
/** `ldrb Wt, [Xn, Xm]`. */
export function a64Ldrb(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_LDRB, rt, rn, rm);
}
/** `ldrsb Xt, [Xn, Xm]`. */
export function a64Ldrsb(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_LDRSB_X, rt, rn, rm);
}
/** `strh Wt, [Xn, Xm]`. */
export function a64Strh(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_STRH, rt, rn, rm);
}
/** `ldrh Wt, [Xn, Xm]`. */
export function a64Ldrh(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_LDRH, rt, rn, rm);
}
/** `ldrsh Xt, [Xn, Xm]`. */
export function a64Ldrsh(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_LDRSH_X, rt, rn, rm);
}
/** `str Wt, [Xn, Xm]`. */
export function a64Str32(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_STR_W, rt, rn, rm);
}
/** `ldr Wt, [Xn, Xm]`. */
export function a64Ldr32(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_LDR_W, rt, rn, rm);
}
/** `ldrsw Xt, [Xn, Xm]`. */
export function a64Ldrsw(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_LDRSW, rt, rn, rm);
}
/** `str Xt, [Xn, Xm]`. */
export function a64Str64(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_STR_X, rt, rn, rm);
}
/** `ldr Xt, [Xn, Xm]`. */
export function a64Ldr64(rt: number, rn: number, rm: number): number {
  return aarch64InsnGenLoadStoreReg(A64_LDST_LDR_X, rt, rn, rm);
}

/** `strb Wt, [Xn, #imm]`, imm 0..4095. */
export function a64StrbI(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_STRB, rt, rn, imm);
}
/** `ldrb Wt, [Xn, #imm]`, imm 0..4095. */
export function a64LdrbI(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_LDRB, rt, rn, imm);
}
/** `ldrsb Xt, [Xn, #imm]`, imm 0..4095. */
export function a64LdrsbI(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_LDRSB_X, rt, rn, imm);
}
/** `strh Wt, [Xn, #imm]`, imm 0..8190 even. */
export function a64StrhI(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_STRH, rt, rn, imm);
}
/** `ldrh Wt, [Xn, #imm]`, imm 0..8190 even. */
export function a64LdrhI(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_LDRH, rt, rn, imm);
}
/** `ldrsh Xt, [Xn, #imm]`, imm 0..8190 even. */
export function a64LdrshI(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_LDRSH_X, rt, rn, imm);
}
/** `str Wt, [Xn, #imm]`, imm 0..16380, multiple of 4. */
export function a64Str32I(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_STR_W, rt, rn, imm);
}
/** `ldr Wt, [Xn, #imm]`, imm 0..16380, multiple of 4. */
export function a64Ldr32I(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_LDR_W, rt, rn, imm);
}
/** `ldrsw Xt, [Xn, #imm]`, imm 0..16380, multiple of 4. */
export function a64LdrswI(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_LDRSW, rt, rn, imm);
}
/** `str Xt, [Xn, #imm]`, imm 0..32760, multiple of 8. */
export function a64Str64I(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_STR_X, rt, rn, imm);
}
/** `ldr Xt, [Xn, #imm]`, imm 0..32760, multiple of 8. */
export function a64Ldr64I(rt: number, rn: number, imm: number): number {
  return aarch64InsnGenLoadStoreImm(A64_LDST_LDR_X, rt, rn, imm);
}

/** `sturb Wt, [Xn, #simm]`, simm -256..255. */
export function a64Sturb(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_STRB, rt, rn, simm);
}
/** `ldurb Wt, [Xn, #simm]`. */
export function a64Ldurb(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_LDRB, rt, rn, simm);
}
/** `ldursb Xt, [Xn, #simm]`. */
export function a64Ldursb(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_LDRSB_X, rt, rn, simm);
}
/** `sturh Wt, [Xn, #simm]`. */
export function a64Sturh(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_STRH, rt, rn, simm);
}
/** `ldurh Wt, [Xn, #simm]`. */
export function a64Ldurh(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_LDRH, rt, rn, simm);
}
/** `ldursh Xt, [Xn, #simm]`. */
export function a64Ldursh(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_LDRSH_X, rt, rn, simm);
}
/** `stur Wt, [Xn, #simm]`. */
export function a64Stur32(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_STR_W, rt, rn, simm);
}
/** `ldur Wt, [Xn, #simm]`. */
export function a64Ldur32(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_LDR_W, rt, rn, simm);
}
/** `ldursw Xt, [Xn, #simm]`. */
export function a64Ldursw(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_LDRSW, rt, rn, simm);
}
/** `stur Xt, [Xn, #simm]`. */
export function a64Stur64(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_STR_X, rt, rn, simm);
}
/** `ldur Xt, [Xn, #simm]`. */
export function a64Ldur64(rt: number, rn: number, simm: number): number {
  return aarch64InsnGenLoadStoreUnscaled(A64_LDST_LDR_X, rt, rn, simm);
}

/** `ldr Wt|Xt, <pc + offset>` (A64_LDR64LIT for 64-bit); offset in bytes, ±1 MiB. */
export function a64LdrLiteral(is64: boolean, rt: number, offset: number): number {
  return aarch64InsnGenLoadLiteral(is64 ? A64_LDST_LDR_X : A64_LDST_LDR_W, rt, offset);
}
/** `adr Xd, <pc + offset>` (A64_ADR); offset in bytes, ±1 MiB. */
export function a64Adr(rd: number, offset: number): number {
  return aarch64InsnGenAdr(T.adr, rd, offset);
}
/** `adrp Xd, <page(pc) + pageOffset>`; pageOffset in bytes, a multiple of 4096. */
export function a64Adrp(rd: number, pageOffset: number): number {
  return aarch64InsnGenAdr(T.adrp, rd, pageOffset);
}

/** `stp Rt, Rt2, [Rn, #-16]!` (A64_PUSH): push a pair of 64-bit registers. */
export function a64Push(rt: number, rt2: number, rn: number): number {
  return aarch64InsnGenLoadStorePair(T.stpPre, true, rt, rt2, rn, -16);
}
/** `ldp Rt, Rt2, [Rn], #16` (A64_POP): pop a pair of 64-bit registers. */
export function a64Pop(rt: number, rt2: number, rn: number): number {
  return aarch64InsnGenLoadStorePair(T.ldpPost, true, rt, rt2, rn, 16);
}
/** `stp Rt, Rt2, [Rn, #offset]` (signed offset, no writeback). */
export function a64Stp(is64: boolean, rt: number, rt2: number, rn: number, offset: number): number {
  return aarch64InsnGenLoadStorePair(T.stp, is64, rt, rt2, rn, offset);
}
/** `stp Rt, Rt2, [Rn, #offset]!` (pre-index). */
export function a64StpPre(is64: boolean, rt: number, rt2: number, rn: number, offset: number): number {
  return aarch64InsnGenLoadStorePair(T.stpPre, is64, rt, rt2, rn, offset);
}
/** `stp Rt, Rt2, [Rn], #offset` (post-index). */
export function a64StpPost(is64: boolean, rt: number, rt2: number, rn: number, offset: number): number {
  return aarch64InsnGenLoadStorePair(T.stpPost, is64, rt, rt2, rn, offset);
}
/** `ldp Rt, Rt2, [Rn, #offset]` (signed offset, no writeback). */
export function a64Ldp(is64: boolean, rt: number, rt2: number, rn: number, offset: number): number {
  return aarch64InsnGenLoadStorePair(T.ldp, is64, rt, rt2, rn, offset);
}
/** `ldp Rt, Rt2, [Rn, #offset]!` (pre-index). */
export function a64LdpPre(is64: boolean, rt: number, rt2: number, rn: number, offset: number): number {
  return aarch64InsnGenLoadStorePair(T.ldpPre, is64, rt, rt2, rn, offset);
}
/** `ldp Rt, Rt2, [Rn], #offset` (post-index). */
export function a64LdpPost(is64: boolean, rt: number, rt2: number, rn: number, offset: number): number {
  return aarch64InsnGenLoadStorePair(T.ldpPost, is64, rt, rt2, rn, offset);
}

/** `ldxr Rt, [Xn]` (A64_LDXR). */
export function a64Ldxr(is64: boolean, rt: number, rn: number): number {
  return aarch64InsnGenLoadStoreEx(T.ldxr, is64, rt, rn);
}
/** `ldaxr Rt, [Xn]`. */
export function a64Ldaxr(is64: boolean, rt: number, rn: number): number {
  return aarch64InsnGenLoadStoreEx(T.ldaxr, is64, rt, rn);
}
/** `stxr Ws, Rt, [Xn]` (A64_STXR(sf, Rt, Rn, Rs)): Ws = 0 on success. */
export function a64Stxr(is64: boolean, rt: number, rn: number, rs: number): number {
  return aarch64InsnGenLoadStoreEx(T.stxr, is64, rt, rn, rs);
}
/** `stlxr Ws, Rt, [Xn]` (A64_STLXR(sf, Rt, Rn, Rs)). */
export function a64Stlxr(is64: boolean, rt: number, rn: number, rs: number): number {
  return aarch64InsnGenLoadStoreEx(T.stlxr, is64, rt, rn, rs);
}
/** `ldar Rt, [Xn]` (load-acquire). */
export function a64Ldar(is64: boolean, rt: number, rn: number): number {
  return aarch64InsnGenLoadStoreEx(T.ldar, is64, rt, rn);
}
/** `stlr Rt, [Xn]` (store-release). */
export function a64Stlr(is64: boolean, rt: number, rn: number): number {
  return aarch64InsnGenLoadStoreEx(T.stlr, is64, rt, rn);
}

/** `ldadd{a,l,al} Rs, Rt, [Xn]`: Rt = [Xn]; [Xn] += Rs (Rt = zr: stadd). */
export function a64Ldadd(is64: boolean, rs: number, rt: number, rn: number, order: A64MemOrder = A64_MO_NONE): number {
  return aarch64InsnGenAtomicLdOp("ldadd", is64, rs, rt, rn, order);
}
/** `ldclr{a,l,al} Rs, Rt, [Xn]`: Rt = [Xn]; [Xn] &= ~Rs. */
export function a64Ldclr(is64: boolean, rs: number, rt: number, rn: number, order: A64MemOrder = A64_MO_NONE): number {
  return aarch64InsnGenAtomicLdOp("ldclr", is64, rs, rt, rn, order);
}
/** `ldeor{a,l,al} Rs, Rt, [Xn]`: Rt = [Xn]; [Xn] ^= Rs. */
export function a64Ldeor(is64: boolean, rs: number, rt: number, rn: number, order: A64MemOrder = A64_MO_NONE): number {
  return aarch64InsnGenAtomicLdOp("ldeor", is64, rs, rt, rn, order);
}
/** `ldset{a,l,al} Rs, Rt, [Xn]`: Rt = [Xn]; [Xn] |= Rs. */
export function a64Ldset(is64: boolean, rs: number, rt: number, rn: number, order: A64MemOrder = A64_MO_NONE): number {
  return aarch64InsnGenAtomicLdOp("ldset", is64, rs, rt, rn, order);
}
/** `swp{a,l,al} Rs, Rt, [Xn]`: Rt = [Xn]; [Xn] = Rs. */
export function a64Swp(is64: boolean, rs: number, rt: number, rn: number, order: A64MemOrder = A64_MO_NONE): number {
  return aarch64InsnGenAtomicLdOp("swp", is64, rs, rt, rn, order);
}
/** `cas{a,l,al} Rs, Rt, [Xn]`: if [Xn] == Rs then [Xn] = Rt; Rs = old [Xn]. */
export function a64Cas(is64: boolean, rs: number, rt: number, rn: number, order: A64MemOrder = A64_MO_NONE): number {
  return aarch64InsnGenCas(is64, rs, rt, rn, order);
}
