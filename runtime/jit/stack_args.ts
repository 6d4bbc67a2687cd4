/**
 * Stack arguments in the arm64 JIT: r12 loads and stores (runtime/bpf/
 * stack_arg.ts) become AAPCS64 argument passing, as in bpf-next's "bpf,
 * arm64: Add JIT support for stack arguments" (Puranjay Mohan, May 2026):
 * arguments 6–8 in x5–x7 (free since R0 moved to x8), 9–12 on the stack at
 * [SP+0..] of the caller, which the callee reads at [FP+16..], above its
 * frame record. BPF-to-BPF calls and kfunc calls use the same convention,
 * so a kfunc is an ordinary C function of up to 12 arguments.
 *
 *   caller: *(u64 *)(r12 off) = src, outgoing argument k
 *     k = 6..8    mov x(k-1), src             ST: mov x(k-1), #imm
 *     k = 9..12   str src, [sp, #8·(k-9)]     ST: mov x10, #imm; str x10, [sp, ...]
 *   callee prologue, after `sub sp`: save the incoming x5..x7 it has
 *     stp x5, x6, [sp, #out]; str x7, [sp, #out+16]
 *   callee: dst = *(u64 *)(r12 off), incoming argument k
 *     k = 6..8    ldr dst, [sp, #out + 8·(k-6)]
 *     k = 9..12   ldr dst, [x29, #16 + 8·(k-9)]
 *   (a store to an incoming argument goes to the same place)
 *
 * The frame of a function with stack arguments (prologue.ts draws the rest):
 *
 *                         high
 *   caller's SP ──►  +--------------------+  x29 + 16: the caller's outgoing
 *                    | x29 | x30          |  arguments 9..12 = our incoming ones
 *   x29 ──►          +--------------------+
 *                    | tcc pair, callee-saved registers
 *   x25 (BPF FP) ──► +--------------------+
 *                    | BPF stack          |  stack_size = round_up(stack_depth, 16)
 *                    +--------------------+
 *                    | incoming x5..x7    |  8 · min(3, incoming args), round_up 16
 *                    +--------------------+
 *                    | outgoing args 9..12|  8 · max(0, outgoing args − 3), round_up 16
 *   SP ──►           +--------------------+
 *                         low
 *
 *   incoming args = incoming_stack_arg_depth / 8
 *   outgoing args = (stack_arg_depth − incoming_stack_arg_depth) / 8
 *
 * r12 offsets follow v1 of the series (stack_arg.ts): outgoing arguments
 * start past the function's incoming area, so the JIT needs each function's
 * incoming_stack_arg_depth (the merged r11 version uses fixed offsets).
 *
 * Deviation, on purpose: the merged commit reads incoming arguments 6–8
 * straight from x5–x7. Here the prologue saves them, because the verifier
 * (v1) lets a function read its incoming arguments after it has made a call
 * of its own, and x5–x7 do not survive one. Outgoing x5–x7 need no saving:
 * the verifier forgets outgoing slots at every call, so a store always sits
 * between the previous call and the call that uses it.
 */
import { a64Ldr64I, a64Mov, a64Str64I, a64Stp } from "../a64/jit_macros.js";
import { A64_FP, A64_SP } from "../a64/regs.js";
import { opInfo } from "../bpf/opcodes.js";
import {
  MAX_STACK_ARG_DEPTH,
  STACK_ARG_SLOT,
  stackArgAccess,
  stackArgSlot,
  stackArgWriteOffError,
} from "../bpf/stack_arg.js";
import type { Insn } from "../bpf/insn.js";
import { emitA64MovI } from "./alu.js";
import { emit, jitFail, type JitCtx } from "./ctx.js";
import { A64_TMP1, BPF2A64 } from "./regs.js";

/** NR_STACK_ARG_REGS: arguments 6–8 travel in registers. */
export const NR_STACK_ARG_REGS = 3;
/** The A64 register of stack argument 6 (then x6, x7). */
export const A64_STACK_ARG_REG0 = 5;
/** Bytes above the callee's x29 where argument 9 is: the frame record. */
export const STACK_ARG_FP_OFF = 16;

function roundUp16(n: number): number {
  return (n + 15) & ~15;
}

/** The stack-argument part of a function's frame: bytes of the outgoing area and of the x5..x7 save area. */
export interface StackArgFrame {
  /** Outgoing arguments 9..12 at [SP+0..]. */
  readonly out: number;
  /** Incoming x5..x7, saved at [SP+out..]. */
  readonly inSave: number;
  /** Incoming arguments saved from registers (0..3). */
  readonly inRegs: number;
}

/** The stack-argument frame of a function with the given depths (bytes, multiples of 8). */
export function stackArgFrame(depths: { incoming: number; total: number }): StackArgFrame {
  const incomingArgs = depths.incoming / STACK_ARG_SLOT;
  const outgoingArgs = (depths.total - depths.incoming) / STACK_ARG_SLOT;
  const inRegs = Math.min(NR_STACK_ARG_REGS, incomingArgs);
  return {
    out: roundUp16(Math.max(0, outgoingArgs - NR_STACK_ARG_REGS) * STACK_ARG_SLOT),
    inSave: roundUp16(inRegs * STACK_ARG_SLOT),
    inRegs,
  };
}

/** Set ctx.stackArgSize / stackArgOut for the function (before the prologue's `sub sp`). */
export function layoutStackArgs(ctx: JitCtx): void {
  const f = stackArgFrame({ incoming: ctx.func.incomingStackArgDepth, total: ctx.func.stackArgDepth });
  ctx.stackArgOut = f.out;
  ctx.stackArgSize = f.out + f.inSave;
}

/** Prologue: save the incoming arguments 6..8 that came in x5..x7. */
export function emitStackArgSave(ctx: JitCtx): void {
  const { inRegs } = stackArgFrame({ incoming: ctx.func.incomingStackArgDepth, total: ctx.func.stackArgDepth });
  const base = ctx.stackArgOut;
  if (inRegs >= 2) emit(ctx, a64Stp(true, A64_STACK_ARG_REG0, A64_STACK_ARG_REG0 + 1, A64_SP, base));
  if (inRegs === 1) emit(ctx, a64Str64I(A64_STACK_ARG_REG0, A64_SP, base));
  if (inRegs === 3) emit(ctx, a64Str64I(A64_STACK_ARG_REG0 + 2, A64_SP, base + 2 * STACK_ARG_SLOT));
}

/** Where an incoming argument lives: [base, #off]. */
function incomingHome(ctx: JitCtx, index: number): [number, number] {
  if (index < NR_STACK_ARG_REGS) return [A64_SP, ctx.stackArgOut + index * STACK_ARG_SLOT];
  return [A64_FP, STACK_ARG_FP_OFF + (index - NR_STACK_ARG_REGS) * STACK_ARG_SLOT];
}

/**
 * The r12 load or store at whole-program slot `slot`. A JitError names the
 * slot for what the verifier would have refused (size, offset outside the
 * function's area, a read of an outgoing slot).
 */
export function emitStackArg(ctx: JitCtx, slot: number): void {
  const insn = ctx.func.insns[slot];
  const access = stackArgAccess(insn)!;
  const incoming = ctx.func.incomingStackArgDepth;
  if (access.size !== STACK_ARG_SLOT) {
    jitFail(ctx, { slot, reason: `stack arg ${access.write ? "write" : "read"} must be 8 bytes, got ${access.size}` });
  }
  const where = stackArgSlot(access.off, incoming);
  if (!access.write) {
    if (where.kind !== "incoming") {
      jitFail(ctx, { slot, reason: `invalid read from stack arg off ${access.off} depth ${incoming}` });
    }
    const [base, off] = incomingHome(ctx, where.index);
    emit(ctx, a64Ldr64I(BPF2A64[insn.dst], base, off));
    return;
  }
  if (where.kind === "invalid") jitFail(ctx, { slot, reason: stackArgWriteOffError(access.off, where.reason) });
  if (where.kind === "outgoing" && -access.off > ctx.func.stackArgDepth) {
    jitFail(ctx, {
      slot,
      reason: `stack arg write offset ${access.off} beyond stack_arg_depth ${ctx.func.stackArgDepth}`,
    });
  }
  const isImm = opInfo(insn.code).kind === "st";
  if (where.kind === "outgoing" && where.index < NR_STACK_ARG_REGS) {
    const reg = A64_STACK_ARG_REG0 + where.index;
    if (isImm) emitA64MovI(ctx, true, reg, insn.imm);
    else emit(ctx, a64Mov(true, reg, BPF2A64[insn.src]));
    return;
  }
  const [base, off] =
    where.kind === "incoming"
      ? incomingHome(ctx, where.index)
      : [A64_SP, (where.index - NR_STACK_ARG_REGS) * STACK_ARG_SLOT];
  let src = BPF2A64[insn.src];
  if (isImm) {
    emitA64MovI(ctx, true, A64_TMP1, insn.imm);
    src = A64_TMP1;
  }
  emit(ctx, a64Str64I(src, base, off));
}

/** What a function's r12 accesses need: the deepest incoming read and outgoing write (bytes), and where. */
export interface StackArgUse {
  /** Deepest r12 read (-off), 0 for none. */
  readonly readDepth: number;
  readonly readSlot: number;
  /** Deepest r12 write (-off), 0 for none. */
  readonly writeDepth: number;
  readonly writeSlot: number;
}

/** Scan slots [start, end) for r12 accesses. */
export function scanStackArgUse(insns: readonly Insn[], range: { start: number; end: number }): StackArgUse {
  let readDepth = 0;
  let readSlot = -1;
  let writeDepth = 0;
  let writeSlot = -1;
  for (let i = range.start; i < range.end; i++) {
    const a = stackArgAccess(insns[i]);
    if (a?.write && -a.off > writeDepth) [writeDepth, writeSlot] = [-a.off, i];
    if (a && !a.write && -a.off > readDepth) [readDepth, readSlot] = [-a.off, i];
    if (opInfo(insns[i].code).kind === "ldimm64") i++;
  }
  return { readDepth, readSlot, writeDepth, writeSlot };
}

/** Largest stack_arg_depth: 7 incoming and 7 outgoing arguments. */
export const MAX_STACK_ARG_TOTAL = 2 * MAX_STACK_ARG_DEPTH;
