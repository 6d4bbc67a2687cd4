/**
 * Prologue, epilogue and the callee-saved register set of a JITed BPF
 * function (arch/arm64/net/bpf_jit_comp.c: build_prologue, build_epilogue,
 * prepare_bpf_tail_call_cnt, find_used_callee_regs, push_callee_regs,
 * pop_callee_regs).
 *
 * The entry every program has (trampolines patch the nop):
 *
 *      [bti jc]                   if BTI
 *      mov x9, x30                 the caller's LR, for a trampoline's parent frame
 *      nop                         ◄── POKE_OFFSET: bl/b to a trampoline is poked here
 *      [paciasp]                   if PAC
 *      stp x29, x30, [sp, #-16]!
 *      mov x29, sp
 *      stp xzr, x26, [sp, #-16]!   main prog: a zeroed tail-call count, and
 *      mov x26, sp                 x26 = its address (TCCNT_PTR)
 *      (subprog: stp x26, x26, [sp, #-16]! instead: inherit the pointer)
 *      ◄── PROLOGUE_OFFSET: tail calls enter here (br bpf_func + 4·PROLOGUE_OFFSET)
 *      [bti j]                     main prog, if BTI: landing pad of that br
 *      stp x19, x20, [sp, #-16]!   only the registers the function uses,
 *      stp x25, xzr, [sp, #-16]!   in pairs, xzr padding an odd count
 *      mov x25, sp                 if r10 is used
 *      sub sp, sp, #stack_size     round_up(stack_depth, 16) + the stack-argument
 *                                  area (stack_args.ts), if not 0
 *      stp x5, x6, [sp, #out]      incoming stack arguments 6..8, if any
 *
 * The frame it builds:
 *
 *                          high
 *   caller's SP  ──►  +-----------------+
 *                     | x29 | x30 (LR)  |  frame record
 *   x29 (A64 FP) ──►  +-----------------+
 *                     | xzr*| x26       |  tail-call count (main) / x26 copy (subprog)
 *   x26 (main)   ──►  +-----------------+  *the count lives in the first slot
 *                     | callee-saved    |  x19..x22, x25 (x19..x28 for an exception boundary)
 *   x25 (BPF FP) ──►  +-----------------+
 *                     | BPF stack       |  stack_depth bytes, r10-relative
 *                     | padding to 16   |
 *                     +-----------------+
 *                     | stack arguments |  saved x5..x7, outgoing args 9..12
 *   SP           ──►  +-----------------+
 *                     | calls' frames   |
 *                          low
 *
 * The exception callback builds no frame of its own: it takes the
 * boundary program's (FP in x2: `mov x29, x2; sub sp, x29, #96` — 96 bytes
 * are the tcc pair and five callee pairs) and its epilogue pops all of
 * x19..x28 and returns to the boundary's caller.
 *
 * Simplifications: no kCFI hash word, no private stack, no arena base, no
 * BHB mitigation (that is for classic BPF only).
 */
import {
  a64Autiasp,
  a64Bti,
  a64Mov,
  a64Nop,
  a64Paciasp,
  a64Pop,
  a64Push,
  a64Ret,
  a64AddI,
  a64SubI,
} from "../a64/jit_macros.js";
import { A64_FP, A64_LR, A64_SP, A64_ZR } from "../a64/regs.js";
import { JitError } from "./jit_error.js";
import { emit, type JitCtx } from "./ctx.js";
import { A64_BPF_FP, A64_BPF_R0, A64_TCCNT_PTR, BPF2A64, prologueOffset } from "./regs.js";
import { emitStackArgSave, layoutStackArgs } from "./stack_args.js";

/** Bytes the exception callback's SP sits below the boundary's FP: the tcc pair and 5 callee pairs. */
export const EXCEPTION_CB_FRAME_BYTES = 96;

/**
 * prepare_bpf_tail_call_cnt(): the main program pushes a zeroed count and
 * points x26 at it; a subprogram saves x26 twice and keeps the pointer.
 */
export function prepareBpfTailCallCnt(ctx: JitCtx): void {
  if (ctx.func.index === 0) {
    emit(ctx, a64Push(A64_ZR, A64_TCCNT_PTR, A64_SP));
    emit(ctx, a64Mov(true, A64_TCCNT_PTR, A64_SP));
  } else {
    emit(ctx, a64Push(A64_TCCNT_PTR, A64_TCCNT_PTR, A64_SP));
  }
}

/**
 * find_used_callee_regs(): which of r6–r9 and r10 any slot of the function
 * names as dst or src (every slot, as the kernel scans them, including
 * ld_imm64 second halves and call/ld_imm64 source fields).
 */
export function findUsedCalleeRegs(ctx: JitCtx): void {
  const { insns, start, end } = ctx.func;
  let used = 0;
  for (let i = start; i < end; i++) {
    const { dst, src } = insns[i];
    if (dst === 6 || src === 6) used |= 1;
    if (dst === 7 || src === 7) used |= 2;
    if (dst === 8 || src === 8) used |= 4;
    if (dst === 9 || src === 9) used |= 8;
    if (dst === 10 || src === 10) used |= 16;
  }
  const regs: number[] = [];
  if (used & 1) regs.push(BPF2A64[6]);
  if (used & 2) regs.push(BPF2A64[7]);
  if (used & 4) regs.push(BPF2A64[8]);
  if (used & 8) regs.push(BPF2A64[9]);
  if (used & 16) {
    ctx.fpUsed = true;
    regs.push(BPF2A64[10]);
  }
  ctx.usedCalleeRegs = regs;
}

/**
 * The pairs an exception boundary saves and the callback restores: all of
 * x19..x28, low pair first (the callback's `sub sp, x29, #96` assumes all
 * five). The test-only switch drops x23/x24.
 */
function exceptionFramePairs(ctx: JitCtx): number[] {
  const pairs = [19, 21, 23, 25, 27];
  return ctx.opts.testDropX23X24 ? pairs.filter((r) => r !== 23) : pairs;
}

/** push_callee_regs(): all of x19..x28 for an exception boundary, else the used ones in pairs. */
export function pushCalleeRegs(ctx: JitCtx): void {
  if (ctx.func.exceptionBoundary) {
    for (const r of exceptionFramePairs(ctx)) emit(ctx, a64Push(r, r + 1, A64_SP));
    ctx.fpUsed = true;
    return;
  }
  findUsedCalleeRegs(ctx);
  const regs = ctx.usedCalleeRegs;
  let i = 0;
  for (; i + 1 < regs.length; i += 2) emit(ctx, a64Push(regs[i], regs[i + 1], A64_SP));
  // Keep SP 16-byte aligned.
  if (i < regs.length) emit(ctx, a64Push(regs[i], A64_ZR, A64_SP));
}

/** pop_callee_regs(): the reverse of pushCalleeRegs (all of x19..x28 for boundary and callback). */
export function popCalleeRegs(ctx: JitCtx): void {
  const f = ctx.func;
  if (f.exceptionBoundary || f.exceptionCb) {
    for (const r of exceptionFramePairs(ctx).reverse()) emit(ctx, a64Pop(r, r + 1, A64_SP));
    return;
  }
  const regs = ctx.usedCalleeRegs;
  let i = regs.length - 1;
  if (regs.length % 2 !== 0) {
    emit(ctx, a64Pop(regs[i], A64_ZR, A64_SP));
    i--;
  }
  for (; i > 0; i -= 2) emit(ctx, a64Pop(regs[i - 1], regs[i], A64_SP));
}

/**
 * build_prologue(): see the file header. Throws a JitError when the
 * tail-call entry is not at PROLOGUE_OFFSET (a JIT bug, never bad input).
 */
export function buildPrologue(ctx: JitCtx): void {
  const f = ctx.func;
  const isMain = f.index === 0;
  const o = ctx.opts;
  const idx0 = ctx.idx;
  // A bpf function is entered by bl (freplace, short), br (freplace, long)
  // and blr (a function pointer): bti jc covers all three.
  if (o.bti) emit(ctx, a64Bti("jc"));
  emit(ctx, a64Mov(true, 9, A64_LR));
  emit(ctx, a64Nop());
  if (!f.exceptionCb) {
    if (o.pac) emit(ctx, a64Paciasp());
    emit(ctx, a64Push(A64_FP, A64_LR, A64_SP));
    emit(ctx, a64Mov(true, A64_FP, A64_SP));
    prepareBpfTailCallCnt(ctx);
    if (isMain) {
      const cur = ctx.idx - idx0;
      const want = prologueOffset(o);
      if (cur !== want) throw new JitError(`PROLOGUE_OFFSET = ${cur}, expected ${want}`);
      // Landing pad of the tail call's br.
      if (o.bti) emit(ctx, a64Bti("j"));
    }
    pushCalleeRegs(ctx);
  } else {
    // The exception callback gets the boundary program's FP as its third
    // argument and reuses that frame: 12 registers are on the stack below it.
    emit(ctx, a64Mov(true, A64_FP, 2));
    emit(ctx, a64SubI(true, A64_SP, A64_FP, EXCEPTION_CB_FRAME_BYTES));
  }
  ctx.stackSize = roundUp16(f.stackDepth);
  layoutStackArgs(ctx);
  if (ctx.fpUsed) emit(ctx, a64Mov(true, A64_BPF_FP, A64_SP));
  const frame = ctx.stackSize + ctx.stackArgSize;
  if (frame) emit(ctx, a64SubI(true, A64_SP, A64_SP, frame));
  emitStackArgSave(ctx);
  ctx.prologueEnd = ctx.idx;
}

/** build_epilogue(): free the stack, pop callee regs and the tcc pair, pop FP/LR, x0 = r0, return. */
export function buildEpilogue(ctx: JitCtx): void {
  const frame = ctx.stackSize + ctx.stackArgSize;
  if (frame) emit(ctx, a64AddI(true, A64_SP, A64_SP, frame));
  popCalleeRegs(ctx);
  emit(ctx, a64Pop(A64_ZR, A64_TCCNT_PTR, A64_SP));
  emit(ctx, a64Pop(A64_FP, A64_LR, A64_SP));
  emit(ctx, a64Mov(true, 0, A64_BPF_R0));
  if (ctx.opts.pac) emit(ctx, a64Autiasp());
  emit(ctx, a64Ret(A64_LR));
}

/** round_up(n, 16). */
export function roundUp16(n: number): number {
  return (n + 15) & ~15;
}
