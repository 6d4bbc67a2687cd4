/**
 * The shared context of one verification (the parts of struct
 * bpf_verifier_env the checks use) and the register-argument checks every
 * instruction goes through (check_reg_arg).
 *
 *   check_reg_arg(regno, SRC_OP)   "R%d is invalid", "R%d !read_ok"
 *   check_reg_arg(regno, DST_OP)   "frame pointer is read only"
 */
import { EACCES, EINVAL } from "../../errno.js";
import type { Insn } from "../insn.js";
import { BPF_REG_FP, MAX_BPF_REG } from "../opcodes.js";
import type { SubprogEffects } from "./effects.js";
import type { SubprogInfo, VerifierInput, VerifierKfunc } from "./env.js";
import type { VerifierLog } from "./log.js";
import { NOT_INIT, written, type RegState } from "./reg_state.js";
import { cloneState, curFrame, type VerifierState } from "./state.js";

/** A rejection: the message the log gets, the errno, the instruction. */
export class Reject extends Error {
  readonly errno: number;
  readonly insnIdx: number | undefined;
  constructor(message: string, errno: number, insnIdx?: number) {
    super(message);
    this.errno = errno;
    this.insnIdx = insnIdx;
  }
}

/** Per-instruction facts the rewrites need (struct bpf_insn_aux_data). */
export interface InsnAux {
  seen: boolean;
  /** A ctx load the kernel converts (__sk_buff data pointers). */
  ctxConvert?: "skb_data" | "skb_data_end" | "skb_data_meta";
  /** A load through a kernel pointer (BPF_PROBE_MEM). */
  probeMem?: boolean;
  /** A kfunc call: what it resolved to. */
  kfunc?: VerifierKfunc;
  /** bpf_obj_new_impl: the object's size (insn_aux->obj_new_size, passed in R1 after the rewrite). */
  objNewSize?: number;
  /** bpf_obj_drop_impl: gets the struct meta in R2 after the rewrite. */
  objDrop?: boolean;
}

/** One verification. */
export interface Checker {
  readonly input: VerifierInput;
  readonly insns: readonly Insn[];
  readonly log: VerifierLog;
  readonly subprogs: SubprogInfo[];
  readonly aux: InsnAux[];
  /** The effective program type (EXT programs take their target's). */
  readonly progType: number;
  cur: VerifierState;
  insnIdx: number;
  nextId: number;
  callGetFuncIp: boolean;
  /** env->seen_exception: some function calls bpf_throw (the main program is an exception boundary). */
  exceptionBoundary: boolean;
  /** What the outermost frame being verified is: its exit rules differ (check_return_code). */
  root: "main" | "global" | "exception_cb";
  readonly usedMaps: Set<number>;
  /** Registers written by the current instruction (log level 2). */
  scratched: Set<number>;
  /** might_throw / might_sleep of each subprogram (effects.ts). */
  readonly effects: readonly SubprogEffects[];
  /** push_stack(): explore `state` from instruction `insn` later (set by do_check). */
  pushBranch: (state: VerifierState, insn: number) => void;
}

/** push_stack() of a copy of the current state, to be explored from `insn`. */
export function pushCurrent(c: Checker, insn: number): VerifierState {
  const other = cloneState(c.cur);
  c.pushBranch(other, insn);
  return other;
}

/** Reject the program at the current instruction. */
export function reject(c: Checker, message: string, errno = EACCES): never {
  throw new Reject(message, errno, c.insnIdx);
}

/** The register file of the current frame. */
export function regs(c: Checker): RegState[] {
  return curFrame(c.cur).regs;
}

/** check_reg_arg(env, regno, SRC_OP). */
export function checkSrc(c: Checker, regno: number): RegState {
  if (regno >= MAX_BPF_REG) reject(c, `R${regno} is invalid`, EINVAL);
  const r = regs(c)[regno];
  if (r.type === "not_init") reject(c, `R${regno} !read_ok`);
  return r;
}

/** check_reg_arg(env, regno, DST_OP_NO_MARK): may `regno` be written? */
export function checkDst(c: Checker, regno: number): void {
  if (regno >= MAX_BPF_REG) reject(c, `R${regno} is invalid`, EINVAL);
  if (regno === BPF_REG_FP) reject(c, "frame pointer is read only");
}

/** Write a register of the current frame. */
export function setReg(c: Checker, regno: number, r: RegState): void {
  regs(c)[regno] = written(r);
  c.scratched.add(regno);
}

/** mark_reg_not_init() for the caller-saved registers R0..R5. */
export function clobberCallerSaved(c: Checker): void {
  for (let r = 0; r <= 5; r++) setReg(c, r, NOT_INIT);
}

/** A fresh id for a maybe-null pointer. */
export function newId(c: Checker): number {
  return ++c.nextId;
}
