/**
 * One function's passes (arch/arm64/net/bpf_jit_comp.c: build_insn,
 * build_body, validate_code, validate_ctx and the pass structure of
 * bpf_int_jit_compile):
 *
 *   pass 1  size      prologue, body, epilogue, PLT with image = null;
 *                     ctx.offset[i] = start of each instruction
 *   pass 2  write     the same build functions into a words buffer; branch
 *                     targets come from the pass-1 offsets
 *   pass 3  validate  no AARCH64_BREAK_FAULT word, the same length and the
 *                     same instruction offsets as pass 1, the prologue
 *                     ending where pass 1 said, one extable entry per
 *                     BPF_PROBE_MEM load
 *
 * A multi-function program runs pass 2 and 3 once more per function after
 * every function has an address (jit_subprogs' extra pass).
 */
import { ENOTSUPP } from "../errno.js";
import { BpfError } from "../errors.js";
import { AARCH64_BREAK_FAULT } from "./regs.js";
import { opInfo } from "../bpf/opcodes.js";
import { emitAlu, emitEndian } from "./alu.js";
import { emitAtomic } from "./atomic.js";
import { emitBpfCall } from "./call.js";
import { newJitCtx, jitFail, type JitCodegenOptions, type JitCtx, type JitFunc, type JitResolve } from "./ctx.js";
import { JitError } from "./jit_error.js";
import { emitExit, emitJa, emitJcond } from "./jmp.js";
import { emitLdImm64 } from "./ld_imm64.js";
import { emitLdx, emitSt, emitStx } from "./mem.js";
import { buildPlt } from "./plt.js";
import { buildEpilogue, buildPrologue } from "./prologue.js";
import { emitStackArg } from "./stack_args.js";
import { stackArgAccess } from "../bpf/stack_arg.js";

/**
 * build_insn(): emit the instruction at whole-program slot `slot`; returns
 * the number of slots it took (2 for ld_imm64).
 */
export function buildInsn(ctx: JitCtx, slot: number): 1 | 2 {
  const info = opInfo(ctx.func.insns[slot].code);
  switch (info.kind) {
    case "alu":
      emitAlu(ctx, slot, info);
      return 1;
    case "end":
      emitEndian(ctx, slot, info.order);
      return 1;
    case "jcond":
      emitJcond(ctx, slot, info);
      return 1;
    case "ja":
      emitJa(ctx, slot, info.width);
      return 1;
    case "call":
      emitBpfCall(ctx, slot);
      return 1;
    case "exit":
      emitExit(ctx, slot);
      return 1;
    case "ldimm64":
      emitLdImm64(ctx, slot);
      return 2;
    case "ldx":
      if (stackArgAccess(ctx.func.insns[slot])) emitStackArg(ctx, slot);
      else emitLdx(ctx, slot, info);
      return 1;
    case "st":
      if (stackArgAccess(ctx.func.insns[slot])) emitStackArg(ctx, slot);
      else emitSt(ctx, slot, info.size);
      return 1;
    case "stx":
      if (stackArgAccess(ctx.func.insns[slot])) emitStackArg(ctx, slot);
      else emitStx(ctx, slot, info.size);
      return 1;
    case "atomic":
      emitAtomic(ctx, slot, info.size);
      return 1;
    case "ldpkt":
      return jitFail(ctx, { slot: slot, reason: "legacy packet access is not supported", errno: ENOTSUPP });
    case "invalid":
      return jitFail(ctx, { slot: slot, reason: `unknown opcode 0x${info.code.toString(16).padStart(2, "0")}` });
  }
}

/**
 * build_body(): every instruction of the function, recording
 * ctx.offset[i] (the second slot of a ld_imm64 gets the offset of the
 * instruction after it, as in the kernel); offset[len] = end of body.
 */
export function buildBody(ctx: JitCtx): void {
  const { start, end } = ctx.func;
  const offset = ctx.offset;
  let i = start;
  while (i < end) {
    offset[i - start] = ctx.idx;
    let n: 1 | 2;
    try {
      n = buildInsn(ctx, i);
    } catch (err) {
      // An encoder's range error (EncodeError) gets the instruction's location.
      if (err instanceof BpfError && !(err instanceof JitError))
        jitFail(ctx, { slot: i, reason: err.message, errno: err.errno });
      throw err;
    }
    if (n === 2) offset[i + 1 - start] = ctx.idx;
    i += n;
  }
  offset[end - start] = ctx.idx;
}

/** Prologue, body, epilogue, PLT: one pass. */
function buildAll(ctx: JitCtx): void {
  buildPrologue(ctx);
  buildBody(ctx);
  ctx.epilogueOffset = ctx.idx;
  buildEpilogue(ctx);
  buildPlt(ctx);
}

/** The result of JITing one function into a host buffer. */
export interface FuncCode {
  /** Instruction words, then the 2-word PLT target (filled by the caller). */
  readonly words: Uint32Array;
  /** Instructions (jited_len / 4); words.length = insnCount + 2. */
  readonly insnCount: number;
  /** Pass-3-checked context of the writing pass. */
  readonly ctx: JitCtx;
}

/** Pass 1: the size of `func` (and its instruction offsets). */
export function sizePass(func: JitFunc, opts: JitCodegenOptions, resolve: JitResolve): JitCtx {
  const ctx = newJitCtx(func, opts, resolve);
  buildAll(ctx);
  return ctx;
}

/**
 * Pass 2 and pass 3: write `func` using the offsets of `sized` (pass 1 or
 * a previous write), then validate against them.
 */
export function writePass(sized: JitCtx, resolve: JitResolve): FuncCode {
  const func = sized.func;
  const ctx = newJitCtx(func, sized.opts, resolve);
  const insnCount = sized.idx;
  const words = new Uint32Array(insnCount + 2);
  words.fill(AARCH64_BREAK_FAULT);
  ctx.image = words;
  ctx.target = sized.offset;
  ctx.epilogueOffset = sized.epilogueOffset;
  buildAll(ctx);
  validateCtx(ctx, sized);
  return { words, insnCount, ctx };
}

/**
 * validate_code() and validate_ctx(), plus the checks the kernel makes with
 * WARN_ON between its passes.
 */
export function validateCtx(ctx: JitCtx, sized: JitCtx): void {
  const image = ctx.image!;
  if (ctx.idx !== sized.idx)
    throw new JitError(`JIT bug: pass lengths differ: ${sized.idx} vs ${ctx.idx} instructions`);
  if (ctx.prologueEnd !== sized.prologueEnd) {
    throw new JitError(`JIT bug: prologue length differs: ${sized.prologueEnd} vs ${ctx.prologueEnd}`);
  }
  if (ctx.epilogueOffset !== sized.epilogueOffset) {
    throw new JitError(`JIT bug: epilogue moved: ${sized.epilogueOffset} vs ${ctx.epilogueOffset}`);
  }
  const a = ctx.offset;
  const b = sized.offset;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      throw new JitError(`JIT bug: instruction offset differs between passes: ${b[i]} vs ${a[i]}`, {
        at: { insns: ctx.func.insns, index: ctx.func.start + i },
      });
    }
  }
  for (let i = 0; i < ctx.idx; i++) {
    if (image[i] === AARCH64_BREAK_FAULT) throw new JitError(`JIT bug: fill word left at instruction ${i}`);
  }
  if (ctx.exentries.length !== ctx.func.probeMem.size) {
    throw new JitError(`JIT bug: ${ctx.exentries.length} extable entries for ${ctx.func.probeMem.size} probe loads`);
  }
}
