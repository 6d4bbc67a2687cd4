/**
 * What the verifier is given (the BPF_PROG_LOAD attributes plus what the
 * kernel looks up for them: maps by fd, kfuncs by BTF id, the attach
 * target's BTF) and what it gives back (struct bpf_verifier_env's results:
 * the rewritten instructions, per-subprogram stack depths, the log).
 */
import type { Btf } from "../btf/btf.js";
import type { BtfFuncProto } from "../btf/types.js";
import type { Insn } from "../insn.js";
import type { VerifierMap } from "./reg_state.js";

/** A kfunc the program calls (resolved from its BTF id, see runtime/bpf/kfuncs). */
export interface VerifierKfunc {
  readonly name: string;
  readonly btf: Btf;
  readonly btfId: number;
  readonly proto: BtfFuncProto;
  /** In a registered kfunc set (else "calling kernel function %s is not allowed"). */
  readonly allowed: boolean;
  /** KF_* flags the verifier looks at. */
  readonly flags?: { readonly sleepable?: boolean; readonly destructive?: boolean };
}

/** The function a tracing program attaches to (prog->aux->attach_func_proto and name). */
export interface AttachTarget {
  readonly funcName: string;
  readonly btf: Btf;
  readonly proto: BtfFuncProto;
  /** The target is a BPF program (fentry/freplace on a program). */
  readonly isProg?: boolean;
}

/** A function of the program from BTF func_info. */
export interface VerifierFunc {
  readonly start: number;
  readonly name: string;
  /** BTF FUNC id in the program's BTF. */
  readonly btfId: number;
  readonly global: boolean;
  readonly declTags?: readonly string[];
}

/** Source line of an instruction (BTF.ext line_info). */
export interface VerifierLineInfo {
  readonly insnOff: number;
  readonly fileName: string;
  readonly line: string;
  readonly lineNum: number;
}

/** Input of {@link bpfCheck}. */
export interface VerifierInput {
  readonly insns: readonly Insn[];
  readonly progType: number;
  readonly expectedAttachType: number;
  readonly progName: string;
  readonly sleepable?: boolean;
  /** license_is_gpl_compatible(). */
  readonly gplCompatible: boolean;
  /** The program's BTF and func_info (names, linkage and argument types of functions). */
  readonly btf?: Btf;
  readonly funcs?: readonly VerifierFunc[];
  readonly lineInfo?: readonly VerifierLineInfo[];
  /** BPF_PROG_TYPE_EXT: the target program's type (its ctx rules apply). */
  readonly extTargetProgType?: number;
  /** Tracing and extension programs: the attach target. */
  readonly attach?: AttachTarget;
  /** BPF_PSEUDO_MAP_FD / _VALUE lookups. */
  map(fd: number): VerifierMap | undefined;
  /** BPF_PSEUDO_KFUNC_CALL lookups (imm = BTF id, off = BTF fd index). */
  kfunc?(btfId: number, off: number): VerifierKfunc | undefined;
  /** log_level (0, 1, 2, 4). */
  readonly logLevel?: number;
}

/** One subprogram after verification (env->subprog_info). */
export interface SubprogInfo {
  readonly start: number;
  /** Bytes of stack used (round_up to 8). */
  stackDepth: number;
  readonly name: string;
  readonly global: boolean;
  /** Is an exception callback (exception_callback:<name> decl tag). */
  isExceptionCb: boolean;
  /** is_cb: called back by the kernel (bpf_loop, timer or exception callback). */
  isCb?: boolean;
  /** is_async_cb: runs later, on its own (timer callback). */
  isAsyncCb?: boolean;
  /** incoming_stack_arg_depth: bytes of stack arguments it takes (8 per argument past the fifth). */
  incomingStackArgDepth: number;
  /** stack_arg_depth: incoming_stack_arg_depth + the deepest outgoing stack arguments it writes. */
  stackArgDepth: number;
}

/** Output of {@link bpfCheck}. */
export interface VerifierResult {
  /** The instructions after the verifier's rewrites (what `prog dump xlated` shows). */
  readonly insns: Insn[];
  readonly subprogs: readonly SubprogInfo[];
  readonly log: string;
  /** Instructions processed (the statistics line). */
  readonly insnProcessed: number;
  /** The program reads its function's IP (needs BPF_TRAMP_F_IP_ARG). */
  readonly callGetFuncIp: boolean;
  /** Slots of loads through kernel pointers (BPF_PROBE_MEM for the JIT). */
  readonly probeMem: readonly number[];
  /** fds of the maps the program uses. */
  readonly usedMaps: readonly number[];
  /** Line info moved along the rewrites. */
  readonly lineInfo: readonly VerifierLineInfo[];
  /** The main program may throw (calls bpf_throw somewhere): exception boundary. */
  readonly exceptionBoundary: boolean;
}
