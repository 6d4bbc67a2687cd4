/**
 * perf's argument-fetching BPF prologue (tools/perf/util/bpf-prologue.c,
 * bpf__gen_prologue() and its helpers, as of its removal in 2023; the last
 * behavioural changes were bpf_probe_read_kernel/_user (2020) and loads
 * sized by the argument type).
 *
 * A kprobe program gets up to BPF_PROLOGUE_MAX_ARGS (3) arguments fetched
 * from `struct pt_regs` (r1) into r3..r5, with r2 (the "fetch result") 0 on
 * success and 1 when a dereference failed, r3..r5 then being 0:
 *
 *   fast path (every argument a bare register)
 *     r3 = *(u64 *)(r1 + off(reg0))        gen_ldx_reg_from_ctx
 *     r4 = ...; r5 = ...
 *     r2 = 0                               SUCCESS_CODE
 *     <user code>                          r1 is still ctx
 *
 *   slow path (some argument is offn(...off1(reg))), arg i in fp-8*(i+1)
 *     r6 = r1                              BPF_REG_CTX keeps ctx
 *     per argument i:
 *       r3 = *(u64 *)(r6 + off(reg))
 *       r7 = r10; r7 += -8*(i+1)           the verifier wants a stack pointer
 *       *(u64 *)(r10 -8*(i+1)) = r3        derived from fp for each argument
 *       per level k:                       gen_read_mem
 *         [r3 += offk]                     (omitted when offk is 0)
 *         r2 = 8; r1 = r7
 *         call bpf_probe_read_kernel       (bpf_probe_read_user for +u levels
 *         if r0 != 0 goto ERROR_CODE        and every level after one)
 *         [r3 = *(u64 *)(r10 -8*(i+1))]    before the next level
 *     r3+i = *(size *)(r10 -8*(i+1))       size from the type when dereferenced
 *     goto SUCCESS_CODE
 *   ERROR_CODE:   r2 = 1; r3 = 0; ...; goto USER_CODE
 *   SUCCESS_CODE: r2 = 0
 *   USER_CODE:    r1 = r6                  restore ctx
 *                 <user code>
 *
 *   stack after the fetch:   fp-24 ARG3 | fp-16 ARG2 | fp-8 ARG1 | fp
 *
 * Jumps are emitted with placeholder offsets JMP_TO_ERROR_CODE (-1),
 * JMP_TO_SUCCESS_CODE (-2) and JMP_TO_USER_CODE (-3) and relocated at the
 * end (prologue_relocate). The user program is appended unchanged: no jump
 * of the prologue goes past USER_CODE, so nothing in it needs relocating.
 *
 * Budget: perf writes into a buffer of cnt_space slots (at most
 * BPF_MAXINSNS) and refuses an append once pos + 1 reaches the end, so a
 * prologue uses at most cnt_space - 1 slots; beyond that the result is
 * BPF_LOADER_ERRNO__PROLOGUE2BIG. preproc_gen_prologue() passes
 * BPF_MAXINSNS - (user program length): prologue + program ≤ 4095 slots.
 *
 * Refusals, in perf's order: more than 3 arguments drops the rest with a
 * warning ("%d arguments are dropped"); a global (`@sym`) is -ENOTSUP; an
 * offset outside s32 is BPF_LOADER_ERRNO__PROLOGUEOOB; an unknown register
 * is -EINVAL; a relocation that meets an unknown placeholder is
 * BPF_LOADER_ERRNO__PROLOGUE.
 *
 * One quirk is kept: with no arguments perf emits only `r2 = 0`, and when
 * even that does not fit it returns 0 with an empty prologue (its error
 * path returns `err`, still 0). pr_debug/pr_warning/pr_err texts go to the
 * optional `log` callback.
 */
import { EINVAL, EOPNOTSUPP } from "../../errno.js";
import { BpfError } from "../../errors.js";
import { BPF_ALU64_IMM, BPF_EMIT_CALL, BPF_JMP_IMM, BPF_LDX_MEM, BPF_MOV64_REG, BPF_STX_MEM } from "../builder.js";
import { BPF_FUNC_probe_read_kernel } from "../func_ids.js";
import type { Insn } from "../insn.js";
import {
  BPF_ADD,
  BPF_B,
  BPF_CALL,
  BPF_CLASS,
  BPF_DW,
  BPF_H,
  BPF_JA,
  BPF_JMP,
  BPF_JNE,
  BPF_MOV,
  BPF_OP,
  BPF_REG_0,
  BPF_REG_1,
  BPF_REG_2,
  BPF_REG_3,
  BPF_REG_6,
  BPF_REG_7,
  BPF_REG_FP,
  BPF_W,
} from "../opcodes.js";
import { regsQueryRegisterOffset } from "./dwarf_regs.js";
import {
  BPF_LOADER_ERRNO__PROLOGUE,
  BPF_LOADER_ERRNO__PROLOGUE2BIG,
  BPF_LOADER_ERRNO__PROLOGUEOOB,
  BpfLoaderError,
} from "./loader_errno.js";
import type { ProbeTraceArg } from "./probe_trace_arg.js";

/** BPF_MAXINSNS (include/uapi/linux/bpf_common.h). */
export const BPF_MAXINSNS = 4096;
/** Arguments the prologue fetches at most (bpf-prologue.h). */
export const BPF_PROLOGUE_MAX_ARGS = 3;
/** First register receiving an argument: r3 (bpf-prologue.h). */
export const BPF_PROLOGUE_START_ARG_REG = BPF_REG_3;
/** Register receiving the fetch result, 0 or 1: r2 (bpf-prologue.h). */
export const BPF_PROLOGUE_FETCH_RESULT_REG = BPF_REG_2;
/** Placeholder jump offset: to the error code. */
export const JMP_TO_ERROR_CODE = -1;
/** Placeholder jump offset: to the success code. */
export const JMP_TO_SUCCESS_CODE = -2;
/** Placeholder jump offset: to the user code. */
export const JMP_TO_USER_CODE = -3;
/** BPF_FUNC_probe_read_user (uapi enum bpf_func_id). */
export const BPF_FUNC_probe_read_user = 112;

// tools/include/linux/filter.h register aliases.
const BPF_REG_ARG1 = BPF_REG_1;
const BPF_REG_ARG2 = BPF_REG_2;
const BPF_REG_ARG3 = BPF_REG_3;
const BPF_REG_CTX = BPF_REG_6;
/** BPF_REG_SIZE of bpf-prologue.c: bytes read per level. */
const BPF_REG_SIZE = 8;
const OFFSET_MAX = (1n << 31n) - 1n;
const OFFSET_MIN = -(1n << 31n);

/** Log levels of perf's pr_debug / pr_warning / pr_err. */
export type PrologueLogLevel = "debug" | "warning" | "error";

/** Options of {@link bpfGenPrologue}. */
export interface GenPrologueOptions {
  /** cnt_space: slots available (capped at BPF_MAXINSNS; default BPF_MAXINSNS). */
  cntSpace?: number;
  /** Receives perf's pr_debug / pr_warning / pr_err lines (without the newline). */
  log?: (level: PrologueLogLevel, message: string) => void;
}

/** What bpf__gen_prologue produced. */
export interface GenPrologueResult {
  /** The prologue, relocated (new_prog[0 .. new_cnt)). */
  readonly insns: Insn[];
  /** Every argument was a bare register. */
  readonly fastpath: boolean;
  /** Arguments fetched (at most BPF_PROLOGUE_MAX_ARGS). */
  readonly nargs: number;
  /** Arguments dropped beyond BPF_PROLOGUE_MAX_ARGS. */
  readonly dropped: number;
  /** Warnings perf printed (pr_warning). */
  readonly warnings: readonly string[];
}

/** struct bpf_insn_pos: the output buffer; `pos` null after an overflow. */
interface InsnPos {
  readonly insns: Insn[];
  readonly end: number;
  overflow: boolean;
  readonly log: (level: PrologueLogLevel, message: string) => void;
}

function tooBig(pos: InsnPos): BpfLoaderError {
  return new BpfLoaderError(BPF_LOADER_ERRNO__PROLOGUE2BIG, `more than ${pos.end - 1} instructions`);
}

/** append_insn(): refuses once pos + 1 reaches the end (so at most end - 1 slots). */
function ins(insn: Insn, pos: InsnPos): void {
  if (pos.overflow) throw tooBig(pos);
  if (pos.insns.length + 1 >= pos.end) {
    pos.log("error", "bpf prologue: prologue too long");
    pos.overflow = true;
    throw tooBig(pos);
  }
  pos.insns.push(insn);
}

/** check_pos(). */
function checkPos(pos: InsnPos): void {
  if (pos.overflow || pos.insns.length >= pos.end) throw tooBig(pos);
}

/**
 * argtype_to_ldx_size(): "u8"/"s8"/"x8" → BPF_B, 16 → BPF_H, 32 → BPF_W,
 * anything else (64, no type, "string", a bitfield of another width) →
 * BPF_DW. Like perf it reads the number after the first character with
 * atoi(), so "b8@0/32" (an 8-bit bitfield) is BPF_B.
 */
export function argtypeToLdxSize(type: string | undefined): number {
  const argSize = type === undefined ? 64 : atoi(type.slice(1));
  switch (argSize) {
    case 8:
      return BPF_B;
    case 16:
      return BPF_H;
    case 32:
      return BPF_W;
    default:
      return BPF_DW;
  }
}

/** C atoi(): optional blanks and sign, then decimal digits; 0 when none. */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) : 0;
}

/** insn_sz_to_str(). */
function insnSzToStr(size: number): string {
  switch (size) {
    case BPF_B:
      return "BPF_B";
    case BPF_H:
      return "BPF_H";
    case BPF_W:
      return "BPF_W";
    case BPF_DW:
      return "BPF_DW";
    default:
      return "UNKNOWN";
  }
}

/** gen_ldx_reg_from_ctx(): `target = *(u64 *)(ctx + offsetof(pt_regs, reg))`; -EINVAL for an unknown register. */
function genLdxRegFromCtx(pos: InsnPos, ctxReg: number, reg: string, targetReg: number): void {
  const offset = regsQueryRegisterOffset(reg);
  if (offset === undefined) {
    pos.log("error", `bpf: prologue: failed to get register ${reg}`);
    throw new BpfError(EINVAL, `bpf prologue: failed to get register: ${reg}`);
  }
  ins(BPF_LDX_MEM(BPF_DW, targetReg, ctxReg, offset), pos);
  checkPos(pos);
}

/** gen_read_mem(): `*dst = *(u64 *)(src + offset)` through helper `probeid`, error jump on r0 != 0. */
function genReadMem(
  pos: InsnPos,
  srcBaseAddrReg: number,
  dstAddrReg: number,
  read: { offset: number; probeid: number },
): void {
  if (srcBaseAddrReg !== BPF_REG_ARG3) ins(BPF_MOV64_REG(BPF_REG_ARG3, srcBaseAddrReg), pos);
  if (read.offset !== 0) ins(BPF_ALU64_IMM(BPF_ADD, BPF_REG_ARG3, read.offset), pos);
  ins(BPF_ALU64_IMM(BPF_MOV, BPF_REG_ARG2, BPF_REG_SIZE), pos);
  if (dstAddrReg !== BPF_REG_ARG1) ins(BPF_MOV64_REG(BPF_REG_ARG1, dstAddrReg), pos);
  ins(BPF_EMIT_CALL(read.probeid), pos);
  ins(BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, JMP_TO_ERROR_CODE), pos);
  checkPos(pos);
}

/** gen_prologue_fastpath(): each bare register straight into r3.. from r1. */
function genPrologueFastpath(pos: InsnPos, args: readonly ProbeTraceArg[]): void {
  args.forEach((arg, i) => genLdxRegFromCtx(pos, BPF_REG_1, arg.value, BPF_PROLOGUE_START_ARG_REG + i));
  checkPos(pos);
}

/** gen_prologue_slowpath(): fetch every argument through its stack slot, then load r3... */
function genPrologueSlowpath(pos: InsnPos, args: readonly ProbeTraceArg[]): void {
  args.forEach((arg, i) => {
    const stackOffset = (i + 1) * -8;
    pos.log("debug", `prologue: fetch arg ${i}, base reg is ${arg.value}`);
    try {
      genLdxRegFromCtx(pos, BPF_REG_CTX, arg.value, BPF_REG_ARG3);
    } catch (err) {
      pos.log("error", `prologue: failed to get offset of register ${arg.value}`);
      throw err;
    }
    ins(BPF_MOV64_REG(BPF_REG_7, BPF_REG_FP), pos);
    ins(BPF_ALU64_IMM(BPF_ADD, BPF_REG_7, stackOffset), pos);
    ins(BPF_STX_MEM(BPF_DW, BPF_REG_FP, BPF_REG_ARG3, stackOffset), pos);
    let probeid = BPF_FUNC_probe_read_kernel;
    arg.refs.forEach((ref, k) => {
      pos.log("debug", `prologue: arg ${i}: offset ${ref.offset}`);
      // Once a level reads user memory, the following levels do too (perf keeps probeid).
      if (ref.userAccess) probeid = BPF_FUNC_probe_read_user;
      try {
        genReadMem(pos, BPF_REG_3, BPF_REG_7, { offset: Number(ref.offset), probeid });
      } catch (err) {
        pos.log("error", "prologue: failed to generate probe_read function call");
        throw err;
      }
      if (k + 1 < arg.refs.length) ins(BPF_LDX_MEM(BPF_DW, BPF_REG_ARG3, BPF_REG_FP, stackOffset), pos);
    });
  });
  args.forEach((arg, i) => {
    const insnSz = arg.refs.length > 0 ? argtypeToLdxSize(arg.type) : BPF_DW;
    pos.log("debug", `prologue: load arg ${i}, insn_sz is ${insnSzToStr(insnSz)}`);
    ins(BPF_LDX_MEM(insnSz, BPF_PROLOGUE_START_ARG_REG + i, BPF_REG_FP, -BPF_REG_SIZE * (i + 1)), pos);
  });
  ins(BPF_JMP_IMM(BPF_JA, BPF_REG_0, 0, JMP_TO_SUCCESS_CODE), pos);
  checkPos(pos);
}

/** Slot indexes of the three labels prologue_relocate resolves. */
export interface PrologueLabels {
  readonly errorCode: number;
  readonly successCode: number;
  readonly userCode: number;
}

/**
 * prologue_relocate(): every BPF_JMP-class instruction but calls must carry
 * a placeholder offset; it is replaced by the distance to its label.
 * Returns new instructions; an unknown offset is BPF_LOADER_ERRNO__PROLOGUE.
 */
export function prologueRelocate(insns: readonly Insn[], labels: PrologueLabels): Insn[] {
  return insns.map((insn, i) => {
    if (BPF_CLASS(insn.code) !== BPF_JMP || BPF_OP(insn.code) === BPF_CALL) return insn;
    let target: number;
    switch (insn.off) {
      case JMP_TO_ERROR_CODE:
        target = labels.errorCode;
        break;
      case JMP_TO_SUCCESS_CODE:
        target = labels.successCode;
        break;
      case JMP_TO_USER_CODE:
        target = labels.userCode;
        break;
      default:
        throw new BpfLoaderError(
          BPF_LOADER_ERRNO__PROLOGUE,
          `internal error: relocation failed: insn ${i} has jump offset ${insn.off}`,
        );
    }
    return { ...insn, off: target - (i + 1) };
  });
}

/** The first pass of bpf__gen_prologue: globals and offsets; returns whether every argument is a bare register. */
function validateArgs(args: readonly ProbeTraceArg[], log: InsnPos["log"]): boolean {
  let fastpath = true;
  for (const arg of args) {
    if (arg.value.startsWith("@")) {
      const off = arg.refs.length > 0 ? arg.refs[0].offset : 0n;
      const text = `${arg.value}${off < 0n ? "" : "+"}${off}`;
      log("error", `bpf: prologue: global ${text} not support`);
      throw new BpfError(EOPNOTSUPP, `bpf prologue: global variables are not supported: ${text}`);
    }
    for (const ref of arg.refs) {
      fastpath = false;
      if (ref.offset > OFFSET_MAX || ref.offset < OFFSET_MIN) {
        log("error", `bpf: prologue: offset out of bound: ${ref.offset}`);
        throw new BpfLoaderError(BPF_LOADER_ERRNO__PROLOGUEOOB, `${ref.offset}`);
      }
    }
  }
  return fastpath;
}

/**
 * bpf__gen_prologue(args, nargs, new_prog, &new_cnt, cnt_space): the
 * prologue for `args`, relocated. Throws BpfLoaderError (PROLOGUE2BIG,
 * PROLOGUEOOB, PROLOGUE) or BpfError (-ENOTSUP for a global, -EINVAL for an
 * unknown register).
 */
export function bpfGenPrologue(args: readonly ProbeTraceArg[], opts: GenPrologueOptions = {}): GenPrologueResult {
  let cntSpace = opts.cntSpace ?? BPF_MAXINSNS;
  if (!Number.isInteger(cntSpace) || cntSpace < 0)
    throw new BpfError(EINVAL, `bpf prologue: invalid cnt_space: ${cntSpace}`);
  if (cntSpace > BPF_MAXINSNS) cntSpace = BPF_MAXINSNS;
  const warnings: string[] = [];
  const log = (level: PrologueLogLevel, message: string): void => {
    if (level === "warning") warnings.push(message);
    opts.log?.(level, message);
  };
  const pos: InsnPos = { insns: [], end: cntSpace, overflow: false, log };

  if (args.length === 0) {
    try {
      ins(BPF_ALU64_IMM(BPF_MOV, BPF_PROLOGUE_FETCH_RESULT_REG, 0), pos);
    } catch {
      // perf: check_pos fails, "goto errout" returns err, which is still 0.
      return { insns: [], fastpath: true, nargs: 0, dropped: 0, warnings };
    }
    return { insns: pos.insns, fastpath: true, nargs: 0, dropped: 0, warnings };
  }

  let nargs = args.length;
  let dropped = 0;
  if (nargs > BPF_PROLOGUE_MAX_ARGS) {
    dropped = nargs - BPF_PROLOGUE_MAX_ARGS;
    log("warning", `bpf: prologue: ${dropped} arguments are dropped`);
    nargs = BPF_PROLOGUE_MAX_ARGS;
  }
  const used = args.slice(0, nargs);
  const fastpath = validateArgs(used, log);
  log("debug", "prologue: pass validation");

  let errorCode = -1;
  if (fastpath) {
    log("debug", "prologue: fast path");
    genPrologueFastpath(pos, used);
  } else {
    log("debug", "prologue: slow path");
    ins(BPF_MOV64_REG(BPF_REG_CTX, BPF_REG_ARG1), pos);
    genPrologueSlowpath(pos, used);
    errorCode = pos.insns.length;
    ins(BPF_ALU64_IMM(BPF_MOV, BPF_PROLOGUE_FETCH_RESULT_REG, 1), pos);
    for (let i = 0; i < nargs; i++) ins(BPF_ALU64_IMM(BPF_MOV, BPF_PROLOGUE_START_ARG_REG + i, 0), pos);
    ins(BPF_JMP_IMM(BPF_JA, BPF_REG_0, 0, JMP_TO_USER_CODE), pos);
  }
  const successCode = pos.insns.length;
  ins(BPF_ALU64_IMM(BPF_MOV, BPF_PROLOGUE_FETCH_RESULT_REG, 0), pos);
  const userCode = pos.insns.length;
  let insns = pos.insns;
  if (!fastpath) {
    ins(BPF_MOV64_REG(BPF_REG_ARG1, BPF_REG_CTX), pos);
    checkPos(pos);
    insns = prologueRelocate(pos.insns, { errorCode, successCode, userCode });
  }
  checkPos(pos);
  return { insns, fastpath, nargs, dropped, warnings };
}

/** Options of {@link bpfProloguePrepend}. */
export interface ProloguePrependOptions {
  /** As {@link GenPrologueOptions.log}. */
  log?: GenPrologueOptions["log"];
}

/** A program with its prologue in front. */
export interface ProloguePrependResult extends GenPrologueResult {
  /** Prologue followed by the user program (new_insn_ptr, new_insn_cnt). */
  readonly prog: Insn[];
  /** Slots of the prologue: the user program starts here. */
  readonly prologueCnt: number;
}

/**
 * preproc_gen_prologue(): the prologue for `args` generated with
 * cnt_space = BPF_MAXINSNS - prog.length (perf passes the difference as a
 * size_t, so a program longer than BPF_MAXINSNS wraps to a huge space that
 * is then capped at BPF_MAXINSNS), followed by `prog` unchanged.
 */
export function bpfProloguePrepend(
  args: readonly ProbeTraceArg[],
  prog: readonly Insn[],
  opts: ProloguePrependOptions = {},
): ProloguePrependResult {
  const cntSpace = prog.length > BPF_MAXINSNS ? BPF_MAXINSNS : BPF_MAXINSNS - prog.length;
  const res = bpfGenPrologue(args, { cntSpace, log: opts.log });
  return { ...res, prog: [...res.insns, ...prog], prologueCnt: res.insns.length };
}
