/**
 * Callbacks: BPF subprograms the kernel calls on a program's behalf
 * (kernel/bpf/verifier.c push_callback_call, setup_func_entry,
 * set_loop_callback_state, set_timer_callback_state, push_async_cb, the
 * callback part of prepare_func_exit and check_return_code, and the
 * calls_callback rule of is_state_visited).
 *
 *   sync: bpf_loop(nr, cb, ctx, 0)        the callback runs 0..nr times before the
 *                                         call returns
 *     at the call       the path goes on after the call (zero iterations) and a
 *                       copy enters cb in a new frame: R1 = index (scalar),
 *                       R2 = ctx (the caller's R3), R3-R5 not init
 *     at cb's exit      R0 a scalar ("R0 not a scalar value"), a known one in
 *                       [0, 1]; back to the bpf_loop call itself, which pushes
 *                       the next iteration; a state at that call covered by one
 *                       seen before ends the path (even one still being
 *                       explored: the iterations converged)
 *     with nr a known constant, at most nr iterations are pushed (callback_depth)
 *
 *   async: bpf_timer_set_callback(t, cb)  cb runs later, on its own
 *     at the call       cb is verified as a separate path: one frame (frameno 0)
 *                       with R1 = the timer's map, R2 = its key, R3 = its value;
 *                       the caller's path goes on
 *     at cb's exit      its resources as a program exit; R0 a scalar, a known
 *                       one 0 ("At async callback return the register R0 ...")
 *
 * Either way the subprogram is marked is_cb (is_async_cb), which
 * check_max_stack_depth uses: no bpf_throw under a callback.
 *
 * Simplification: scalar ranges are not tracked, so an unknown R0 at a
 * callback's exit is accepted (the kernel requires its range to be proven).
 */
import { E2BIG, EACCES, EINVAL } from "../../errno.js";
import type { Insn } from "../insn.js";
import { MAX_CALL_FRAMES } from "../opcodes.js";
import { checkSrc, regs, reject, type Checker } from "./checker.js";
import type { SubprogInfo } from "./env.js";
import { NOT_INIT, pointer, regTypeStr, UNKNOWN_SCALAR, type RegState, type VerifierMap } from "./reg_state.js";
import { cloneState, curFrame, newFuncState, newVerifierState, type FuncState } from "./state.js";

/** The static subprogram an ARG_PTR_TO_FUNC register names (meta->subprogno). */
export function callbackSubprog(c: Checker, r: RegState): SubprogInfo {
  const sp = c.subprogs.find((s) => s.start === r.subprog);
  if (!sp) reject(c, `callback at insn ${r.subprog ?? -1} is not a subprogram`, EINVAL);
  return sp;
}

/**
 * push_callback_call() for bpf_loop: explore the callback's next iteration
 * (unless a known nr_loops is reached) as a pending path; the current one
 * continues after the call.
 */
export function pushLoopCallback(c: Checker, sp: SubprogInfo): void {
  const caller = curFrame(c.cur);
  const nr = regs(c)[1];
  const depth = caller.callbackDepth;
  if (nr.type === "scalar" && nr.value !== undefined && BigInt(depth) >= nr.value) {
    caller.callbackDepth = 0;
    if (c.log.level2) c.log.line(`frame${c.cur.frames.length - 1} bpf_loop iteration limit reached`);
    return;
  }
  if (c.cur.frames.length >= MAX_CALL_FRAMES) {
    reject(c, `the call stack of ${c.cur.frames.length + 1} frames is too deep !`, E2BIG);
  }
  sp.isCb = true;
  const st = cloneState(c.cur);
  st.callbackUnrollDepth++;
  const stCaller = curFrame(st);
  stCaller.callbackDepth = depth + 1;
  const callee = newFuncState(st.frames.length, c.insnIdx, sp.start);
  callee.regs[1] = UNKNOWN_SCALAR;
  callee.regs[2] = stCaller.regs[3];
  callee.regs[10] = pointer("fp", { frameno: callee.frameno });
  callee.inCallbackFn = true;
  callee.callbackRetRange = [0n, 1n];
  st.frames.push(callee);
  c.pushBranch(st, sp.start);
  caller.callbackDepth = 0;
}

/**
 * push_async_cb() for bpf_timer_set_callback: the callback, verified as a
 * path of its own with the timer's map, key and value as arguments.
 */
export function pushTimerCallback(c: Checker, sp: SubprogInfo, map: VerifierMap): void {
  sp.isCb = true;
  sp.isAsyncCb = true;
  const frame = newFuncState(0, -1, sp.start);
  frame.regs[1] = pointer("map_ptr", { map });
  frame.regs[2] = pointer("map_key", { map });
  frame.regs[3] = pointer("map_value", { map });
  frame.regs[4] = NOT_INIT;
  frame.regs[5] = NOT_INIT;
  frame.regs[10] = pointer("fp", { frameno: 0 });
  frame.inAsyncCallbackFn = true;
  frame.callbackRetRange = [0n, 0n];
  c.pushBranch(newVerifierState([frame]), sp.start);
}

/** verbose_invalid_scalar(): a known R0 outside `range`, or undefined when it is inside (or unknown). */
function outOfRange(r0: RegState, range: readonly [bigint, bigint]): string | undefined {
  if (r0.value === undefined) return undefined;
  const v = BigInt.asIntN(64, r0.value);
  if (v >= range[0] && v <= range[1]) return undefined;
  return `has smin=${v} smax=${v} should have been in [${range[0]}, ${range[1]}]`;
}

/**
 * prepare_func_exit() of a sync callback's frame: R0 checked, the frame
 * popped; returns the callback-calling instruction (the next iteration).
 */
export function callbackExit(c: Checker, callee: FuncState): number {
  const r0 = checkSrc(c, 0);
  if (r0.type !== "scalar") reject(c, "R0 not a scalar value", EACCES);
  const bad = outOfRange(r0, callee.callbackRetRange ?? [0n, 1n]);
  if (bad) reject(c, `At callback return the register R0 ${bad}`, EINVAL);
  c.cur.frames.pop();
  return callee.callsite;
}

/** check_return_code() at the exit of an async callback (its frame is the outermost). */
export function asyncCallbackReturn(c: Checker, frame: FuncState): void {
  const r0 = checkSrc(c, 0);
  if (r0.type !== "scalar") {
    if (r0.type !== "not_init") reject(c, "R0 leaks addr as return value", EACCES);
    reject(c, `At async callback return the register R0 is not a known value (${regTypeStr(r0)})`, EINVAL);
  }
  const bad = outOfRange(r0, frame.callbackRetRange ?? [0n, 0n]);
  if (bad) reject(c, `At async callback return the register R0 ${bad}`, EINVAL);
}

/** The callback-calling helper calls of a program (calls_callback marks; prune points). */
export function isCallbackCallingHelper(insn: Insn, ids: readonly number[]): boolean {
  return insn.src === 0 && ids.includes(insn.imm);
}
