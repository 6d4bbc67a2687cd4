/**
 * The JIT's working state and its one emit path (arch/arm64/net/bpf_jit_comp.c:
 * struct jit_ctx, emit(), bpf2a64_offset(), epilogue_offset()).
 *
 *   pass 1  image = null   every build_* function runs, emit() only counts:
 *                          ctx.offset[] gets each instruction's start
 *   pass 2  image = words  the same functions again; branches read the
 *                          pass-1 offsets (ctx.target) and are encoded
 *   pass 3  validate       no fill word left, both passes the same length
 *                          and the same per-instruction offsets, prologue
 *                          length = PROLOGUE_OFFSET
 *
 * emit() only appends. A region is built by one `build*` function; nothing
 * patches words behind the cursor except the tail call's forward branches,
 * which (as in the kernel) are emitted as nops and rewritten once `out` is
 * known.
 */
import type { Insn } from "../bpf/insn.js";
import { JitError } from "./jit_error.js";
import type { JitFeatures } from "./regs.js";

/** One function of the program (a `func[i]` of jit_subprogs). */
export interface JitFunc {
  /** The whole program (targets and error reports use whole-program indexes). */
  readonly insns: readonly Insn[];
  /** First slot of this function in `insns`. */
  readonly start: number;
  /** One past its last slot. */
  readonly end: number;
  /** Function index: 0 is the main program (func_idx). */
  readonly index: number;
  /** prog->aux->stack_depth: bytes of BPF stack below r10. */
  readonly stackDepth: number;
  /** aux->exception_boundary (only the main program can be one). */
  readonly exceptionBoundary: boolean;
  /** aux->exception_cb: this function is the exception callback. */
  readonly exceptionCb: boolean;
  /** aux->incoming_stack_arg_depth: bytes of stack arguments it takes (stack_args.ts). */
  readonly incomingStackArgDepth: number;
  /** aux->stack_arg_depth: incoming_stack_arg_depth + the outgoing stack arguments of its calls. */
  readonly stackArgDepth: number;
  /** Whole-program slot indexes of loads to emit as BPF_PROBE_MEM (with an extable entry). */
  readonly probeMem: ReadonlySet<number>;
}

/** Addresses the JIT asks for while emitting calls and ld_imm64. */
export interface JitResolve {
  /** Helper id → address. */
  helper(id: number, at: number): bigint;
  /** kfunc (BTF id, BTF fd index) → address. */
  kfunc(btfId: number, off: number, at: number): bigint;
  /** Entry of function `index` (0n before the extra pass knows it). */
  func(index: number): bigint;
  /** Function index starting at whole-program slot `slot`. */
  funcAt(slot: number): number;
  /** Value of a ld_imm64 with a pseudo source other than BPF_PSEUDO_FUNC. */
  pseudoLd(first: Insn, second: Insn, at: number): bigint;
}

/** Everything the JIT emits with, beyond the BTI/PAC switches. */
export interface JitCodegenOptions extends JitFeatures {
  /** Emit LSE atomics (CPU has ARM64_HAS_LSE_ATOMICS) instead of LDXR/STXR loops. */
  readonly lse: boolean;
  /** Address of dummy_tramp, the initial PLT target. */
  readonly dummyTramp: bigint;
  /**
   * TEST ONLY: leave x23/x24 out of the exception frame (boundary push and
   * boundary/callback pop), as if push_callee_regs/pop_callee_regs lacked
   * that pair; the callback still assumes the full 96-byte frame.
   */
  readonly testDropX23X24?: boolean;
}

/** A BPF_PROBE_MEM load seen by the build: image index of the load and the A64 register to clear. */
export interface ExEntrySite {
  readonly idx: number;
  readonly dstReg: number;
}

/** struct jit_ctx. */
export interface JitCtx {
  readonly func: JitFunc;
  readonly opts: JitCodegenOptions;
  readonly resolve: JitResolve;
  /** Output words (pass 2) or null (pass 1: size only). */
  image: Uint32Array | null;
  /** Next instruction index. */
  idx: number;
  /** Index of the epilogue's first instruction (known from pass 1 on). */
  epilogueOffset: number;
  /** offset[i - start]: image index of each instruction of the function; offset[len] = end of body. */
  offset: Int32Array;
  /** The offsets of the previous pass, which forward branches use (null in pass 1). */
  target: Int32Array | null;
  /** round_up(stack_depth, 16). */
  stackSize: number;
  /** Bytes below the BPF stack for stack arguments: saved x5..x7 and outgoing args 9..12 (stack_args.ts). */
  stackArgSize: number;
  /** Bytes of the outgoing args 9..12 at [SP+0..] (the x5..x7 save area starts there). */
  stackArgOut: number;
  /** The program touches r10 (set by findUsedCalleeRegs, or an exception boundary). */
  fpUsed: boolean;
  /** A64 registers saved by pushCalleeRegs, in push order. */
  usedCalleeRegs: number[];
  /** BPF_PROBE_MEM loads emitted so far. */
  exentries: ExEntrySite[];
  /** Image index just after the prologue (for validation). */
  prologueEnd: number;
  /** Image index of the PLT (ldr x10, target). */
  pltOffset: number;
}

/** A fresh context for one pass over `func`. */
export function newJitCtx(func: JitFunc, opts: JitCodegenOptions, resolve: JitResolve): JitCtx {
  return {
    func,
    opts,
    resolve,
    image: null,
    idx: 0,
    epilogueOffset: 0,
    offset: new Int32Array(func.end - func.start + 1),
    target: null,
    stackSize: 0,
    stackArgSize: 0,
    stackArgOut: 0,
    fpUsed: false,
    usedCalleeRegs: [],
    exentries: [],
    prologueEnd: 0,
    pltOffset: 0,
  };
}

/** emit(): append one instruction word (counted in pass 1, written in pass 2). */
export function emit(ctx: JitCtx, insn: number): void {
  if (ctx.image !== null) ctx.image[ctx.idx] = insn;
  ctx.idx++;
}

/** True in the writing pass: encoders of position-dependent words may run. */
export function writing(ctx: JitCtx): boolean {
  return ctx.image !== null;
}

/** Where and why the JIT gives up: whole-program slot, reason, errno (default EINVAL). */
export interface JitFailure {
  readonly slot: number;
  readonly reason: string;
  readonly errno?: number;
}

/** Throw a JitError naming the failing slot. */
export function jitFail(ctx: JitCtx, f: JitFailure): never {
  throw new JitError(f.reason, { errno: f.errno, at: { insns: ctx.func.insns, index: f.slot } });
}

/**
 * Branch distance, in instructions, from the instruction about to be
 * emitted to the start of whole-program slot `targetSlot` (bpf2a64_offset:
 * the branch is the last word of its BPF instruction). 0 in pass 1, where
 * forward targets are not known yet; only the writing pass encodes it.
 */
export function bpf2a64Offset(ctx: JitCtx, targetSlot: number): number {
  const t = ctx.target;
  if (t === null) return 0;
  return t[targetSlot - ctx.func.start] - ctx.idx;
}

/** Distance to the epilogue from the instruction about to be emitted (epilogue_offset()). */
export function epilogueOffset(ctx: JitCtx): number {
  return ctx.epilogueOffset - ctx.idx;
}

/** check_imm(bits, imm): the signed value fits in `bits` bits. */
export function fitsSigned(bits: number, v: number): boolean {
  const lim = 2 ** (bits - 1);
  return v >= -lim && v < lim;
}
