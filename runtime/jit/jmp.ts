/**
 * Jumps and exit (arch/arm64/net/bpf_jit_comp.c: the BPF_JMP/BPF_JMP32 cases
 * of build_insn, bpf2a64_offset, epilogue_offset).
 *
 *   if dst <op> src goto +off    cmp  Xd|Wd, Xs|Ws        JMP: 64-bit compare
 *                                b.<cond> target          JMP32: 32-bit compare
 *   if dst <op> imm goto +off    cmp #imm | cmn #-imm | mov tmp, imm; cmp
 *   if dst & src goto +off       tst ...; b.ne target
 *   goto +off / gotol +imm       b target
 *   exit                         b epilogue (nothing when it is the last insn)
 *
 *   BPF op   JEQ JNE JGT JGE JLT JLE JSET JSGT JSGE JSLT JSLE
 *   cond     eq  ne  hi  hs  lo  ls  ne   gt   ge   lt   le
 *
 * Branch range: b.cond reaches ±2^18 instructions (±1 MiB), b ±2^25
 * (±128 MiB). A BPF jump whose A64 distance is larger cannot be JITed:
 * like check_imm19/check_imm26 in the kernel, the JIT refuses the program
 * (EINVAL, naming the jump) rather than emit a long-range sequence.
 */
import { a64B, a64BCond, a64Cmp, a64CmnI, a64CmpI, a64Tst, a64TstI } from "../a64/jit_macros.js";
import {
  A64_COND_EQ,
  A64_COND_GE,
  A64_COND_GT,
  A64_COND_HI,
  A64_COND_HS,
  A64_COND_LE,
  A64_COND_LO,
  A64_COND_LS,
  A64_COND_LT,
  A64_COND_NE,
} from "../a64/cond.js";
import {
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JNE,
  BPF_JSET,
  BPF_JSGE,
  BPF_JSGT,
  BPF_JSLE,
  BPF_JSLT,
} from "../bpf/opcodes.js";
import { emitA64MovI, isAddsubImm, logicalImmOperand } from "./alu.js";
import { bpf2a64Offset, emit, epilogueOffset, fitsSigned, jitFail, writing, type JitCtx } from "./ctx.js";
import { A64_TMP1, BPF2A64 } from "./regs.js";

const COND: Record<number, number> = {
  [BPF_JEQ]: A64_COND_EQ,
  [BPF_JGT]: A64_COND_HI,
  [BPF_JLT]: A64_COND_LO,
  [BPF_JGE]: A64_COND_HS,
  [BPF_JLE]: A64_COND_LS,
  [BPF_JSET]: A64_COND_NE,
  [BPF_JNE]: A64_COND_NE,
  [BPF_JSGT]: A64_COND_GT,
  [BPF_JSLT]: A64_COND_LT,
  [BPF_JSGE]: A64_COND_GE,
  [BPF_JSLE]: A64_COND_LE,
};

/** The A64 condition of a BPF conditional jump operation. */
export function jmpCond(op: number): number {
  return COND[op];
}

function rangeFail(ctx: JitCtx, slot: number, off: number, what: string, bits: number): never {
  const lim = 2 ** (bits - 1);
  return jitFail(ctx, {
    slot: slot,
    reason: `branch out of range: ${off} instructions (${what} reaches -${lim}..${lim - 1})`,
  });
}

/** b.<cond> to the start of slot `target` (the last word of the BPF instruction at `slot`). */
function emitCondBranch(ctx: JitCtx, slot: number, cond: number, target: number): void {
  if (!writing(ctx)) return emit(ctx, 0);
  const off = bpf2a64Offset(ctx, target);
  if (!fitsSigned(19, off)) rangeFail(ctx, slot, off, "b.cond", 19);
  emit(ctx, a64BCond(cond, off));
}

/** A conditional jump (JMP or JMP32 class) at whole-program slot `slot`. */
export function emitJcond(ctx: JitCtx, slot: number, info: { width: 32 | 64; op: number; x: boolean }): void {
  const insn = ctx.func.insns[slot];
  const is64 = info.width === 64;
  const dst = BPF2A64[insn.dst];
  const imm = insn.imm;
  if (info.x) {
    const src = BPF2A64[insn.src];
    emit(ctx, info.op === BPF_JSET ? a64Tst(is64, dst, src) : a64Cmp(is64, dst, src));
  } else if (info.op === BPF_JSET) {
    const v = logicalImmOperand(is64, imm);
    if (v !== undefined) {
      emit(ctx, a64TstI(is64, dst, v));
    } else {
      emitA64MovI(ctx, is64, A64_TMP1, imm);
      emit(ctx, a64Tst(is64, dst, A64_TMP1));
    }
  } else if (isAddsubImm(imm)) {
    emit(ctx, a64CmpI(is64, dst, imm >>> 0));
  } else if (isAddsubImm(-imm)) {
    emit(ctx, a64CmnI(is64, dst, -imm >>> 0));
  } else {
    emitA64MovI(ctx, is64, A64_TMP1, imm);
    emit(ctx, a64Cmp(is64, dst, A64_TMP1));
  }
  emitCondBranch(ctx, slot, COND[info.op], slot + 1 + insn.off);
}

/** `goto +off` (JMP) or `gotol +imm` (JMP32). */
export function emitJa(ctx: JitCtx, slot: number, width: 32 | 64): void {
  const insn = ctx.func.insns[slot];
  if (!writing(ctx)) return emit(ctx, 0);
  const off = bpf2a64Offset(ctx, slot + 1 + (width === 64 ? insn.off : insn.imm));
  if (!fitsSigned(26, off)) rangeFail(ctx, slot, off, "b", 26);
  emit(ctx, a64B(off));
}

/** BPF_EXIT: branch to the epilogue, or fall into it from the function's last instruction. */
export function emitExit(ctx: JitCtx, slot: number): void {
  if (slot === ctx.func.end - 1) return;
  if (!writing(ctx)) return emit(ctx, 0);
  const off = epilogueOffset(ctx);
  if (!fitsSigned(26, off)) rangeFail(ctx, slot, off, "b", 26);
  emit(ctx, a64B(off));
}
