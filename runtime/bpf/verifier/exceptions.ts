/**
 * The verifier's rules for BPF exceptions (kernel/bpf/verifier.c:
 * bpf_find_exception_callback_insn_off, mark_subprog_exc_cb, the
 * exception-callback part of do_check_common, btf_prepare_func_args'
 * return-type check, the bpf_throw part of check_kfunc_call and of
 * check_max_stack_depth_subprog, add_hidden_subprog for the default
 * callback in do_misc_fixups).
 *
 *   main's decl tags ─ exception_callback:<name> ─► the callback (global, from func_info)
 *       two tags                    "multiple exception callback tags for main subprog"
 *       no such function            "exception callback '%s' could not be found in BTF"
 *       not global                  "exception callback '%s' must have global linkage"
 *   validating the callback        return type scalar, one scalar argument
 *   bpf_throw(cookie)              seen_exception; without a callback the cookie is the
 *                                  program's return value: R1 checked like R0 at exit
 *   bpf_throw under a callback     "bpf_throw kfunc (insn %d) cannot be called from
 *                                  callback subprog %d" (the exception callback, bpf_loop
 *                                  and timer callbacks)
 *   after the checks               no callback: append the hidden default one,
 *                                  `r0 = r1; exit` (runtime/bpf/exceptions/default_cb.ts)
 *
 * bpf_throw with a lock held or inside an RCU, non-preemptible or
 * IRQ-disabled region is refused by the resource checks of the exceptional
 * exit (resources.ts, spin_lock.ts); under a bpf_loop or timer callback
 * (callbacks.ts marks them is_cb) by checkThrowInCallback.
 */
import { EACCES, EINVAL } from "../../errno.js";
import type { Btf } from "../btf/btf.js";
import { DEFAULT_EXCEPTION_CB } from "../exceptions/default_cb.js";
import type { Insn } from "../insn.js";
import { BPF_PSEUDO_KFUNC_CALL, opInfo } from "../opcodes.js";
import { Reject, regs, reject, type Checker, type InsnAux } from "./checker.js";
import type { SubprogInfo, VerifierFunc, VerifierInput } from "./env.js";

/** The decl tag prefix libbpf's __exception_cb() leaves on the main function. */
export const EXCEPTION_CB_TAG = "exception_callback:";

/**
 * bpf_find_exception_callback_insn_off(): the first instruction of the
 * function named by the main function's `exception_callback:` decl tag.
 */
export function findExceptionCb(input: VerifierInput): number | undefined {
  const main = input.funcs?.find((f) => f.start === 0);
  const tags = (main?.declTags ?? []).filter((t) => t.startsWith(EXCEPTION_CB_TAG));
  if (tags.length === 0) return undefined;
  if (tags.length > 1) throw new Reject("multiple exception callback tags for main subprog", EINVAL);
  const name = tags[0].slice(EXCEPTION_CB_TAG.length);
  const f = input.funcs?.find((x) => x.name === name && x.start > 0);
  if (!f) throw new Reject(`exception callback '${name}' could not be found in BTF`, EINVAL);
  if (!f.global) throw new Reject(`exception callback '${name}' must have global linkage`, EINVAL);
  return f.start;
}

/** The kinds btf_prepare_func_args gives a global function's return value and arguments. */
export interface FuncArgsInfo {
  readonly returnsVoid: boolean;
  /** ARG_ANYTHING (scalar), a pointer, or something else. */
  readonly args: readonly ("scalar" | "ptr" | "other")[];
}

function isScalarType(btf: Btf, id: number): boolean {
  const t = btf.resolved(id);
  return t.kind === "int" || t.kind === "enum" || t.kind === "enum64";
}

/**
 * btf_prepare_func_args() for a global function: its return type must be
 * void or a scalar ("Global function %s() return value not void or
 * scalar."). Undefined without BTF for the function.
 */
export function btfPrepareFuncArgs(btf: Btf | undefined, f: VerifierFunc | undefined): FuncArgsInfo | undefined {
  if (!btf || !f || !f.btfId) return undefined;
  const func = btf.type(f.btfId);
  if (func.kind !== "func") return undefined;
  const proto = btf.type(func.type);
  if (proto.kind !== "func_proto") return undefined;
  const ret = proto.returnType === 0 ? undefined : btf.resolved(proto.returnType);
  if (ret && !isScalarType(btf, proto.returnType)) {
    throw new Reject(`Global function ${f.name}() return value not void or scalar. Only those are supported.`, EINVAL);
  }
  const args = proto.params.map((p) => {
    if (isScalarType(btf, p.type)) return "scalar" as const;
    return btf.resolved(p.type).kind === "ptr" ? ("ptr" as const) : ("other" as const);
  });
  return { returnsVoid: ret === undefined, args };
}

/**
 * do_check_common() for the exception callback: it returns a scalar and
 * takes exactly one scalar argument.
 */
export function checkExceptionCbProto(info: FuncArgsInfo | undefined): void {
  if (!info) return;
  if (info.returnsVoid) throw new Reject("exception cb cannot return void", EINVAL);
  if (info.args.length !== 1 || info.args[0] !== "scalar") {
    throw new Reject("exception cb only supports single integer argument", EINVAL);
  }
}

/** The program has a callback named by a decl tag (env->exception_callback_subprog). */
export function hasUserExceptionCb(c: Checker): boolean {
  return c.subprogs.some((s) => s.isExceptionCb);
}

/**
 * check_kfunc_call() for bpf_throw: mark seen_exception; without a user
 * callback the cookie becomes the program's return value, so R1 must pass
 * the return-code check of the program type (`retRange`, undefined when
 * the type has none).
 */
export function checkBpfThrow(c: Checker, retRange: readonly [bigint, bigint] | undefined): void {
  c.exceptionBoundary = true;
  if (hasUserExceptionCb(c)) return;
  const r1 = regs(c)[1];
  if (r1.type !== "scalar") reject(c, `R1 leaks addr as return value`, EACCES);
  if (!retRange) return;
  const [lo, hi] = retRange;
  const v = r1.value === undefined ? undefined : BigInt.asIntN(64, r1.value);
  if (v !== undefined && v >= lo && v <= hi) return;
  const has = v === undefined ? " unknown scalar value" : ` smin=${v} smax=${v}`;
  reject(c, `At program exit the register R1 has${has} should have been in [${lo}, ${hi}]`, EINVAL);
}

/**
 * The bpf_throw part of check_max_stack_depth_subprog(): walking the call
 * chain from `root`, a bpf_throw in a callback subprogram (or in a function
 * called from one) is refused. `chain` holds the subprogram indexes of the
 * frames from the root to `idx`.
 */
export function checkThrowInCallback(
  insns: readonly Insn[],
  subprogs: readonly SubprogInfo[],
  walk: { idx: number; chain: readonly number[]; isThrow: (insn: Insn) => boolean },
): void {
  const { idx, chain } = walk;
  const inCb = [...chain, idx].some((s) => subprogs[s].isExceptionCb || subprogs[s].isCb);
  if (!inCb) return;
  const start = subprogs[idx].start;
  const end = idx + 1 < subprogs.length ? subprogs[idx + 1].start : insns.length;
  for (let i = start; i < end; i++) {
    const insn = insns[i];
    const kind = opInfo(insn.code).kind;
    if (kind === "call" && insn.src === BPF_PSEUDO_KFUNC_CALL && insn.off === 0 && walk.isThrow(insn)) {
      throw new Reject(`bpf_throw kfunc (insn ${i}) cannot be called from callback subprog ${idx}`, EINVAL, i);
    }
    if (kind === "ldimm64") i++;
  }
}

/** What add_hidden_subprog() changes. */
export interface HiddenSubprogTarget {
  insns: Insn[];
  aux: InsnAux[];
  subprogStarts: number[];
}

/**
 * add_hidden_subprog() with the default exception callback: append
 * `r0 = r1; exit` as a new last subprogram (not in func_info) and return
 * its SubprogInfo, marked as the exception callback.
 */
export function addDefaultExceptionCb(p: HiddenSubprogTarget): SubprogInfo {
  const start = p.insns.length;
  for (const insn of DEFAULT_EXCEPTION_CB) {
    p.insns.push(insn);
    p.aux.push({ seen: true });
  }
  p.subprogStarts.push(start);
  return {
    start,
    stackDepth: 0,
    name: "",
    global: false,
    isExceptionCb: true,
    incomingStackArgDepth: 0,
    stackArgDepth: 0,
  };
}
