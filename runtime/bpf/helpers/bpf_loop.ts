/**
 * bpf_loop(nr_loops, callback_fn, callback_ctx, flags) (kernel/bpf/bpf_iter.c,
 * BPF_CALL_4(bpf_loop)): call `callback_fn(i, callback_ctx)` for i = 0, 1, ...
 * until it returns nonzero or nr_loops calls were made.
 *
 *   flags != 0                  -EINVAL (before any call)
 *   nr_loops > BPF_MAX_LOOPS    -E2BIG  (nr_loops is a u32; BPF_MAX_LOOPS = 1 << 23)
 *   callback returns 0          next iteration
 *   callback returns nonzero    stop: return the number of calls made (i + 1)
 *   all done                    return nr_loops
 *
 * The semantics are one generator (bpfLoop) that yields each callback call
 * and is resumed with its return value; two drivers run it:
 *
 *   JIT (bpfLoopService)     each call is a task call request: the scheduler
 *                            runs the JITed callback on the calling task's
 *                            stack, below the helper's caller, and hands x0 back
 *   interpreter              each call is a nested run of the same program
 *   (interpBpfLoop)          entered at the callback, one frame below the
 *                            caller's (r10 - 512), with the run's memory and
 *                            helpers (interpFuncAddr gives BPF_PSEUDO_FUNC
 *                            ld_imm64 a value naming the callback)
 *
 * Simplification: the kernel's verifier may inline bpf_loop as a plain loop
 * around a direct call (inline_bpf_loop); here the helper is always called.
 */
import { E2BIG, EINVAL } from "../../errno.js";
import { BpfError } from "../../errors.js";
import { BPF_CALL_REL, BPF_EXIT_INSN } from "../builder.js";
import type { Insn } from "../insn.js";
import { bpfInterp, prepareProg, type BpfCall, type InterpOptions, type PreparedProg } from "../interp.js";
import { BPF_PSEUDO_FUNC, opInfo } from "../opcodes.js";
import type { HelperCall, HelperGen } from "./helpers.js";
import { BPF_MAX_LOOPS } from "./protos.js";

/** One call of the callback that bpf_loop makes (bpf_callback_t: five u64 arguments). */
export interface CallbackCall {
  /** callback_fn. */
  readonly fn: bigint;
  readonly args: readonly [bigint, bigint, bigint, bigint, bigint];
}

/** The semantics: yields each callback call, is resumed with its return value, returns bpf_loop's result. */
export function* bpfLoop(args: ArrayLike<bigint>): Generator<CallbackCall, bigint, bigint | undefined> {
  const [nrLoops, fn, ctx, flags] = [args[0], args[1], args[2], args[3]];
  if (flags !== 0n) return -BigInt(EINVAL);
  const nr = Number(BigInt.asUintN(32, nrLoops));
  if (nr > BPF_MAX_LOOPS) return -BigInt(E2BIG);
  for (let i = 0; i < nr; i++) {
    const ret = yield { fn, args: [BigInt(i), ctx, 0n, 0n, 0n] };
    if (ret) return BigInt(i + 1);
  }
  return BigInt(nr);
}

/** The helper as a kernel service: each callback call becomes a task call on the calling task. */
export function* bpfLoopService(call: HelperCall): HelperGen {
  const loop = bpfLoop(call.args());
  for (let r = loop.next(); ;) {
    if (r.done) return r.value;
    const ret = yield { op: "call", fn: r.value.fn, args: r.value.args };
    r = loop.next(BigInt.asUintN(64, ret ?? 0n));
  }
}

/** Values interpFuncAddr gives callbacks: this tag plus the callback's first instruction. */
export const INTERP_FUNC_TAG = 0xbf0f_0000_0000_0000n;
const TAG_MASK = 0xffff_0000_0000_0000n;

/**
 * A pseudoLd for the interpreter that resolves BPF_PSEUDO_FUNC ld_imm64 of
 * `prog` to INTERP_FUNC_TAG + target, and hands every other source to
 * `other` (undefined: refused).
 */
export function interpFuncAddr(
  prog: readonly Insn[],
  other?: (first: Insn, second: Insn) => bigint,
): (first: Insn, second: Insn) => bigint {
  const at = new Map<Insn, number>();
  prog.forEach((insn, i) => {
    if (opInfo(insn.code).kind !== "ldimm64" || insn.src !== BPF_PSEUDO_FUNC) return;
    if (at.has(insn))
      throw new BpfError(EINVAL, `interpFuncAddr: the same ld_imm64 object is at insns ${at.get(insn)} and ${i}`);
    at.set(insn, i);
  });
  return (first, second) => {
    const i = at.get(first);
    if (i !== undefined) return INTERP_FUNC_TAG + BigInt(i + 1 + first.imm);
    if (!other) throw new BpfError(EINVAL, `ld_imm64 source ${first.src} is not resolved by this interpreter run`);
    return other(first, second);
  };
}

/** What the interpreter driver needs of the run: its program and options. */
export interface InterpCallbackEnv {
  readonly prog: readonly Insn[];
  readonly opts: InterpOptions;
}

/** Entry programs per (program, callback start): `call <cb>; exit` in front of the program. */
const entries = new WeakMap<readonly Insn[], Map<number, PreparedProg>>();

function callbackEntry(env: InterpCallbackEnv, target: number): PreparedProg {
  let byTarget = entries.get(env.prog);
  if (!byTarget) entries.set(env.prog, (byTarget = new Map()));
  let p = byTarget.get(target);
  if (!p) {
    // Two instructions in front shift every start by 2; relative jumps and calls are unchanged.
    const depths = new Map<number, number>();
    for (const [start, d] of env.opts.incomingStackArgDepth ?? []) depths.set(start + 2, d);
    p = prepareProg([BPF_CALL_REL(target + 1), BPF_EXIT_INSN(), ...env.prog], { incomingStackArgDepth: depths });
    byTarget.set(target, p);
  }
  return p;
}

/** Run the callback at INTERP_FUNC_TAG + start as a call one frame below the helper's caller. */
function runInterpCallback(env: InterpCallbackEnv, call: BpfCall, cb: CallbackCall): bigint {
  if ((cb.fn & TAG_MASK) !== INTERP_FUNC_TAG) {
    throw new BpfError(EINVAL, `bpf_loop: callback 0x${cb.fn.toString(16)} is not a function of this program`);
  }
  const target = Number(cb.fn - INTERP_FUNC_TAG);
  if (target < 0 || target >= env.prog.length) throw new BpfError(EINVAL, `bpf_loop: no instruction ${target}`);
  // The entry frame uses no stack: its call puts the callback at r10 - 512, the next frame down.
  const r = bpfInterp(callbackEntry(env, target), { ...env.opts, stack: call.fp, args: cb.args });
  return r.r0;
}

/** bpf_loop for the reference interpreter (a HelperFn body for BPF_FUNC_loop). */
export function interpBpfLoop(env: InterpCallbackEnv, call: BpfCall): bigint {
  const loop = bpfLoop(call.args);
  for (let r = loop.next(); ;) {
    if (r.done) return r.value;
    r = loop.next(runInterpCallback(env, call, r.value));
  }
}
