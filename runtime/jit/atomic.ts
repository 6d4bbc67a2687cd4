/**
 * BPF_STX | BPF_ATOMIC (arch/arm64/net/bpf_jit_comp.c: emit_lse_atomic,
 * emit_ll_sc_atomic). The address is dst + off (through x10 when off != 0).
 *
 *   BPF (imm)              LSE (FEAT_LSE)                 LL/SC loop
 *   add/or/xor             stadd/stset/steor src          ldxr; op; stxr; cbnz
 *   and                    mvn x11, src; stclr x11        ldxr; and; stxr; cbnz
 *   fetch add/or/xor       ldaddal/ldsetal/ldeoral        mov x9, src; ldxr src;
 *                            src, src, [addr]               op; stlxr; cbnz; dmb ish
 *   fetch and              mvn x11, src; ldclral x11, src
 *   xchg                   swpal src, src, [addr]         mov; ldxr; stlxr; cbnz; dmb ish
 *   cmpxchg                casal x8, src, [addr]          mov x11, x8; ldxr x8; eor;
 *                                                           cbnz out; stlxr; cbnz; dmb ish
 *
 * W (32-bit) forms write w registers, so fetched values are zero-extended
 * as RFC 9669 requires.
 */
import {
  a64Add,
  a64And,
  a64Cas,
  a64Cbnz,
  a64Dmb,
  a64Eor,
  a64Ldadd,
  a64Ldclr,
  a64Ldeor,
  a64Ldset,
  a64Ldxr,
  a64Mov,
  a64Mvn,
  a64Orr,
  a64Stlxr,
  a64Stxr,
  a64Swp,
} from "../a64/jit_macros.js";
import { A64_MB_ISH } from "../a64/gen_branch.js";
import { A64_MO_ACQ_REL } from "../a64/gen_ldst.js";
import { A64_ZR } from "../a64/regs.js";
import { BPF_ADD, BPF_AND, BPF_CMPXCHG, BPF_FETCH, BPF_OR, BPF_XCHG, BPF_XOR } from "../bpf/opcodes.js";
import { emitA64AddI } from "./alu.js";
import { emit, jitFail, type JitCtx } from "./ctx.js";
import { A64_AX, A64_BPF_R0, A64_TMP1, A64_TMP2, A64_TMP3, BPF2A64 } from "./regs.js";

/** The address register: dst, or x10 = dst + off. */
function atomicAddr(ctx: JitCtx, dst: number, off: number): number {
  if (off === 0) return dst;
  emitA64AddI(ctx, true, A64_TMP1, dst, A64_TMP1, off);
  return A64_TMP1;
}

/** emit_lse_atomic(). */
export function emitLseAtomic(ctx: JitCtx, slot: number, isdw: boolean): void {
  const insn = ctx.func.insns[slot];
  const dst = BPF2A64[insn.dst];
  const src = BPF2A64[insn.src];
  const tmp2 = A64_TMP2;
  const reg = atomicAddr(ctx, dst, insn.off);
  const al = A64_MO_ACQ_REL;
  switch (insn.imm) {
    case BPF_ADD:
      return emit(ctx, a64Ldadd(isdw, src, A64_ZR, reg));
    case BPF_AND:
      emit(ctx, a64Mvn(isdw, tmp2, src));
      return emit(ctx, a64Ldclr(isdw, tmp2, A64_ZR, reg));
    case BPF_OR:
      return emit(ctx, a64Ldset(isdw, src, A64_ZR, reg));
    case BPF_XOR:
      return emit(ctx, a64Ldeor(isdw, src, A64_ZR, reg));
    case BPF_ADD | BPF_FETCH:
      return emit(ctx, a64Ldadd(isdw, src, src, reg, al));
    case BPF_AND | BPF_FETCH:
      emit(ctx, a64Mvn(isdw, tmp2, src));
      return emit(ctx, a64Ldclr(isdw, tmp2, src, reg, al));
    case BPF_OR | BPF_FETCH:
      return emit(ctx, a64Ldset(isdw, src, src, reg, al));
    case BPF_XOR | BPF_FETCH:
      return emit(ctx, a64Ldeor(isdw, src, src, reg, al));
    case BPF_XCHG:
      return emit(ctx, a64Swp(isdw, src, src, reg, al));
    case BPF_CMPXCHG:
      return emit(ctx, a64Cas(isdw, A64_BPF_R0, src, reg, al));
    default:
      return jitFail(ctx, { slot: slot, reason: `unknown atomic op code 0x${(insn.imm >>> 0).toString(16)}` });
  }
}

/** dst = a <op> b for the four atomic ALU operations. */
function atomicAluOp(op: number, isdw: boolean, d: number, a: number, b: number): number {
  switch (op) {
    case BPF_ADD:
      return a64Add(isdw, d, a, b);
    case BPF_AND:
      return a64And(isdw, d, a, b);
    case BPF_OR:
      return a64Orr(isdw, d, a, b);
    default:
      return a64Eor(isdw, d, a, b);
  }
}

/** emit_ll_sc_atomic(): load-exclusive/store-exclusive loops (CPUs without LSE). */
export function emitLlScAtomic(ctx: JitCtx, slot: number, isdw: boolean): void {
  const insn = ctx.func.insns[slot];
  const dst = BPF2A64[insn.dst];
  const src = BPF2A64[insn.src];
  const tmp2 = A64_TMP2;
  const tmp3 = A64_TMP3;
  const imm = insn.imm;
  const reg = atomicAddr(ctx, dst, insn.off);
  const ish = A64_MB_ISH;
  if (imm === BPF_ADD || imm === BPF_AND || imm === BPF_OR || imm === BPF_XOR) {
    // lock *(u32/u64 *)(dst + off) <op>= src
    emit(ctx, a64Ldxr(isdw, tmp2, reg));
    emit(ctx, atomicAluOp(imm, isdw, tmp2, tmp2, src));
    emit(ctx, a64Stxr(isdw, tmp2, reg, tmp3));
    emit(ctx, a64Cbnz(false, tmp3, -3));
  } else if (
    imm === (BPF_ADD | BPF_FETCH) ||
    imm === (BPF_AND | BPF_FETCH) ||
    imm === (BPF_OR | BPF_FETCH) ||
    imm === (BPF_XOR | BPF_FETCH)
  ) {
    // src = atomic_fetch_<op>(dst + off, src)
    emit(ctx, a64Mov(isdw, A64_AX, src));
    emit(ctx, a64Ldxr(isdw, src, reg));
    emit(ctx, atomicAluOp(imm & ~BPF_FETCH, isdw, tmp2, src, A64_AX));
    emit(ctx, a64Stlxr(isdw, tmp2, reg, tmp3));
    emit(ctx, a64Cbnz(false, tmp3, -3));
    emit(ctx, a64Dmb(ish));
  } else if (imm === BPF_XCHG) {
    // src = atomic_xchg(dst + off, src)
    emit(ctx, a64Mov(isdw, tmp2, src));
    emit(ctx, a64Ldxr(isdw, src, reg));
    emit(ctx, a64Stlxr(isdw, tmp2, reg, tmp3));
    emit(ctx, a64Cbnz(false, tmp3, -2));
    emit(ctx, a64Dmb(ish));
  } else if (imm === BPF_CMPXCHG) {
    // r0 = atomic_cmpxchg(dst + off, r0, src)
    const r0 = A64_BPF_R0;
    emit(ctx, a64Mov(isdw, tmp2, r0));
    emit(ctx, a64Ldxr(isdw, r0, reg));
    emit(ctx, a64Eor(isdw, tmp3, r0, tmp2));
    emit(ctx, a64Cbnz(isdw, tmp3, 4));
    emit(ctx, a64Stlxr(isdw, src, reg, tmp3));
    emit(ctx, a64Cbnz(false, tmp3, -4));
    emit(ctx, a64Dmb(ish));
  } else {
    jitFail(ctx, { slot: slot, reason: `unknown atomic op code 0x${(imm >>> 0).toString(16)}` });
  }
}

/** BPF_STX | BPF_ATOMIC: LSE when the CPU has it (opts.lse), else LL/SC. */
export function emitAtomic(ctx: JitCtx, slot: number, size: 4 | 8): void {
  if (ctx.opts.lse) emitLseAtomic(ctx, slot, size === 8);
  else emitLlScAtomic(ctx, slot, size === 8);
}
