/**
 * Calls and exits (kernel/bpf/verifier.c check_helper_call, check_func_arg,
 * check_map_func_compatibility, check_kfunc_call, check_func_call,
 * prepare_func_exit, check_return_code).
 *
 *   helper     the prototype (helpers/protos.ts) for the program type;
 *              each argument checked against its kind; R1-R5 clobbered;
 *              R0 from the return type (map_value_or_null gets a fresh id)
 *   kfunc      BTF prototype of the kernel function: R1-R5 and, past the
 *              fifth, stack arguments (stack_args.ts), scalars where the
 *              BTF says scalar; bpf_throw ends the path (exceptions.ts)
 *   bpf2bpf    static: a new frame (at most MAX_CALL_FRAMES), R1-R5 passed,
 *              the outgoing stack arguments become the callee's incoming ones;
 *              global: arguments checked against the callee's BTF, assumed valid
 *   any call   forgets the caller's outgoing stack arguments
 *   exit       R0 readable; in a callee: back to the caller with R0;
 *              in the main program and the exception callback: the return
 *              value range of the program type; in a global function
 *              verified on its own: a scalar
 */
import { E2BIG, EINVAL, EACCES } from "../../errno.js";
import type { Btf } from "../btf/btf.js";
import { funcIdName, __BPF_FUNC_MAX_ID, BPF_FUNC_get_func_ip, BPF_FUNC_loop, BPF_FUNC_tail_call } from "../func_ids.js";
import { BPF_FUNC_spin_lock, BPF_FUNC_timer_set_callback, helperProto, type HelperArg } from "../helpers/protos.js";
import type { Insn } from "../insn.js";
import { MAX_BPF_FUNC_REG_ARGS, MAX_CALL_FRAMES } from "../opcodes.js";
import { BPF_MAP_TYPE_PROG_ARRAY, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, BPF_TRACE_FEXIT } from "../object/uapi.js";
import { checkSrc, clobberCallerSaved, newId, pushCurrent, regs, reject, setReg, type Checker } from "./checker.js";
import { btfIdPointer } from "./ctx_access.js";
import {
  asyncCallbackReturn,
  callbackExit,
  callbackSubprog,
  pushLoopCallback,
  pushTimerCallback,
} from "./callbacks.js";
import type { SubprogInfo, VerifierKfunc } from "./env.js";
import { checkBpfThrow } from "./exceptions.js";
import {
  checkObjDropArgs,
  checkObjNewArgs,
  KF_bpf_obj_drop_impl,
  KF_bpf_obj_new_impl,
  markObjNewResult,
  releaseReference,
} from "./references.js";
import { isKfuncArgIrqFlag, processIrqFlag, processRegionKfunc } from "./regions.js";
import { checkResourceLeak } from "./resources.js";
import { processTimerFunc } from "./map_fields.js";
import { processSpinLock } from "./spin_lock.js";
import { checkStackBounds, stackFrame, stackRead, stackWrite } from "./mem.js";
import { checkKfuncStackArgs, forgetOutgoingStackArgs, transferStackArgs } from "./stack_args.js";
import { NOT_INIT, pointer, regTypeStr, UNKNOWN_SCALAR, type RegState, type VerifierMap } from "./reg_state.js";
import { curFrame, newFuncState } from "./state.js";

/** What check_helper_call learned from the arguments (struct bpf_call_arg_meta). */
interface CallMeta {
  map?: VerifierMap;
  /** ARG_PTR_TO_FUNC: the callback (meta->subprogno). */
  callback?: SubprogInfo;
}

const MEM_TYPES = "fp, pkt, pkt_meta, map_key, map_value, mem";

function typeMismatch(c: Checker, regno: number, r: RegState, expected: string): never {
  reject(c, `R${regno} type=${regTypeStr(r)} expected=${expected}`);
}

/** check_helper_mem_access(): `size` bytes at the pointer in `regno`. */
function checkHelperMem(c: Checker, regno: number, size: number, write: boolean): void {
  const r = regs(c)[regno];
  switch (r.type) {
    case "fp": {
      if (r.varOff) return;
      const off = r.off;
      checkStackBounds(c, regno, off, size, " indirect access to");
      const frame = stackFrame(c, r);
      if (write) stackWrite(c, frame, off, size, undefined);
      else if (size > 0) stackRead(c, frame, off, size);
      return;
    }
    case "map_value":
      if (!r.varOff && (r.off < 0 || r.off + size > r.map!.valueSize)) {
        reject(c, `invalid access to map value, value_size=${r.map!.valueSize} off=${r.off} size=${size}`);
      }
      return;
    case "map_key":
    case "mem":
      if (!r.varOff && r.memSize !== undefined && r.off + size > r.memSize) {
        reject(c, `invalid access to memory, mem_size=${r.memSize} off=${r.off} size=${size}`);
      }
      return;
    case "pkt":
    case "pkt_meta":
      return;
    default:
      if (r.type === "scalar" && r.value === 0n && size === 0) return;
      typeMismatch(c, regno, r, MEM_TYPES);
  }
}

function constSize(c: Checker, regno: number, orZero: boolean): number {
  const r = checkSrc(c, regno);
  if (r.type !== "scalar") typeMismatch(c, regno, r, "scalar");
  if (r.value === undefined) {
    reject(c, `R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
  }
  const v = BigInt.asIntN(64, r.value);
  if (v < 0n) reject(c, `R${regno} min value is negative, either use unsigned or 'var &= const'`);
  if (v === 0n && !orZero) reject(c, `R${regno} invalid zero-sized read`);
  if (v > 0x7fffffffn) reject(c, `R${regno} unbounded memory access`);
  return Number(v);
}

/** check_func_arg() for argument `i` (register i+1). */
function checkHelperArg(c: Checker, i: number, kinds: readonly HelperArg[], meta: CallMeta): void {
  const regno = i + 1;
  const kind = kinds[i];
  const r = checkSrc(c, regno);
  switch (kind) {
    case "anything":
      return;
    case "const_map_ptr":
      if (r.type !== "map_ptr") typeMismatch(c, regno, r, "map_ptr");
      meta.map = r.map;
      return;
    case "ptr_to_map_key":
    case "ptr_to_map_value": {
      if (!meta.map) reject(c, `invalid map_ptr to access map->${kind === "ptr_to_map_key" ? "key" : "value"}`);
      if (r.maybeNull || !["fp", "pkt", "pkt_meta", "map_key", "map_value", "mem"].includes(r.type)) {
        typeMismatch(c, regno, r, MEM_TYPES);
      }
      checkHelperMem(c, regno, kind === "ptr_to_map_key" ? meta.map.keySize : meta.map.valueSize, false);
      return;
    }
    case "ptr_to_mem":
    case "ptr_to_uninit_mem": {
      const next = kinds[i + 1];
      const size = constSize(c, regno + 1, next === "const_size_or_zero");
      checkHelperMem(c, regno, size, kind === "ptr_to_uninit_mem");
      return;
    }
    case "const_size":
    case "const_size_or_zero":
      if (r.type !== "scalar") typeMismatch(c, regno, r, "scalar");
      return;
    case "ptr_to_ctx":
      if (r.type !== "ctx") typeMismatch(c, regno, r, "ctx");
      if (r.off !== 0 || r.varOff) reject(c, `dereference of modified ctx ptr R${regno} off=${r.off} disallowed`);
      return;
    case "ptr_to_long":
      if (r.maybeNull || !["fp", "map_value", "mem"].includes(r.type)) typeMismatch(c, regno, r, "fp, map_value, mem");
      checkHelperMem(c, regno, 8, true);
      return;
    case "ptr_to_func":
      if (r.type !== "func") typeMismatch(c, regno, r, "func");
      meta.callback = callbackSubprog(c, r);
      return;
    case "ptr_to_spin_lock":
      if (r.type !== "map_value" || r.maybeNull) typeMismatch(c, regno, r, "map_value, alloc_ptr_");
      processSpinLock(c, regno, c.insns[c.insnIdx].imm === BPF_FUNC_spin_lock);
      return;
    case "ptr_to_timer":
      if (r.type !== "map_value" || r.maybeNull) typeMismatch(c, regno, r, "map_value");
      processTimerFunc(c, regno);
      meta.map = r.map;
      return;
    case "ptr_to_stack_or_null":
      if (r.type === "scalar" && r.value === 0n) return;
      if (r.type !== "fp") typeMismatch(c, regno, r, "fp");
      return;
  }
}

/** check_map_func_compatibility(). */
function checkMapFunc(c: Checker, map: VerifierMap | undefined, funcId: number): void {
  if (!map) {
    if (funcId === BPF_FUNC_tail_call)
      reject(c, `cannot pass map_type 0 into func ${funcIdName(funcId)}#${funcId}`, EINVAL);
    return;
  }
  const isProgArray = map.type === BPF_MAP_TYPE_PROG_ARRAY;
  if (isProgArray !== (funcId === BPF_FUNC_tail_call)) {
    reject(c, `cannot pass map_type ${map.type} into func ${funcIdName(funcId)}#${funcId}`, EINVAL);
  }
}

/** check_helper_call(). */
export function checkHelperCall(c: Checker, insn: Insn): void {
  const id = insn.imm;
  if (id < 0 || id >= __BPF_FUNC_MAX_ID) reject(c, `invalid func ${funcIdName(id)}#${id}`, EINVAL);
  const proto = helperProto(id, { progType: c.progType, expectedAttachType: c.input.expectedAttachType });
  if (!proto) reject(c, `program of this type cannot use helper ${funcIdName(id)}#${id}`, EINVAL);
  if (proto.gplOnly && !c.input.gplCompatible) {
    reject(c, "cannot call GPL-restricted function from non-GPL compatible program", EINVAL);
  }
  const meta: CallMeta = {};
  for (let i = 0; i < proto.args.length; i++) checkHelperArg(c, i, proto.args, meta);
  if (id !== BPF_FUNC_timer_set_callback) checkMapFunc(c, meta.map, id);
  if (meta.map) c.usedMaps.add(meta.map.fd);
  if (id === BPF_FUNC_tail_call) checkResourceLeak(c, { exceptionExit: false, checkLock: true, prefix: "tail_call" });
  if (id === BPF_FUNC_loop && meta.callback) pushLoopCallback(c, meta.callback);
  if (id === BPF_FUNC_timer_set_callback && meta.callback && meta.map) pushTimerCallback(c, meta.callback, meta.map);
  if (id === BPF_FUNC_get_func_ip) c.callGetFuncIp = true;
  clobberCallerSaved(c);
  forgetOutgoingStackArgs(c);
  switch (proto.ret) {
    case "integer":
      setReg(c, 0, UNKNOWN_SCALAR);
      break;
    case "void":
      setReg(c, 0, NOT_INIT);
      break;
    case "map_value_or_null":
      setReg(c, 0, pointer("map_value", { map: meta.map, maybeNull: true, id: newId(c) }));
      break;
  }
}

function isScalarBtf(btf: Btf, id: number): boolean {
  const t = btf.resolved(id);
  return t.kind === "int" || t.kind === "enum" || t.kind === "enum64" || t.kind === "float";
}

/** check_kfunc_args(): R1-R5 against the kfunc's BTF (scalars; irq flags, regions.ts). */
function checkKfuncArgs(c: Checker, k: VerifierKfunc): void {
  k.proto.params.slice(0, MAX_BPF_FUNC_REG_ARGS).forEach((p, i) => {
    const regno = i + 1;
    const r = checkSrc(c, regno);
    if (isScalarBtf(k.btf, p.type)) {
      if (r.type !== "scalar") reject(c, `R${regno} is not a scalar`, EINVAL);
    } else if (isKfuncArgIrqFlag(p.name)) {
      processIrqFlag(c, k, i);
    }
  });
}

/** check_kfunc_call(). Returns true when the call does not return (bpf_throw). */
export function checkKfuncCall(c: Checker, insn: Insn): boolean {
  const k = c.input.kfunc?.(insn.imm, insn.off);
  if (!k) reject(c, `kernel btf_id ${insn.imm} is not a function`, EINVAL);
  if (!k.allowed) reject(c, `calling kernel function ${k.name} is not allowed`, EACCES);
  c.aux[c.insnIdx].kfunc = k;
  if (k.flags?.sleepable && !c.input.sleepable) {
    reject(c, `program must be sleepable to call sleepable kfunc ${k.name}`, EACCES);
  }
  // Arguments 6..12 come from the outgoing stack-argument slots (stack_args.ts).
  checkKfuncStackArgs(c, { name: k.name, btf: k.btf, params: k.proto.params });
  checkKfuncArgs(c, k);
  const objType = k.name === KF_bpf_obj_new_impl ? checkObjNewArgs(c) : undefined;
  if (k.name === KF_bpf_obj_drop_impl) releaseReference(c, k, checkObjDropArgs(c));
  processRegionKfunc(c, k);
  // The cookie is checked before the call clobbers R1 (check_kfunc_call, KF_bpf_throw).
  const isThrow = k.name === "bpf_throw";
  if (isThrow) checkBpfThrow(c, programRetRange(c));
  clobberCallerSaved(c);
  forgetOutgoingStackArgs(c);
  const ret = k.btf.resolved(k.proto.returnType);
  if (objType !== undefined) markObjNewResult(c, objType);
  else if (ret.kind === "void") setReg(c, 0, NOT_INIT);
  else if (ret.kind === "ptr") {
    const pointee = k.btf.resolved(ret.type);
    if (pointee.kind === "struct" || pointee.kind === "union") {
      setReg(c, 0, btfIdPointer(k.btf, pointee.id));
    } else setReg(c, 0, UNKNOWN_SCALAR);
  } else setReg(c, 0, UNKNOWN_SCALAR);
  // bpf_throw: process_bpf_exit_full(exception_exit) — every frame is abandoned.
  if (isThrow) checkResourceLeak(c, EXCEPTION_EXIT);
  return isThrow;
}

/** check_resource_leak() arguments of an exceptional exit (bpf_throw, or a call of a global that may throw). */
const EXCEPTION_EXIT = { exceptionExit: true, checkLock: true, prefix: "bpf_throw" } as const;

/** The BTF FUNC of the subprogram starting at `start` (from func_info). */
function subprogFunc(c: Checker, start: number) {
  return c.input.funcs?.find((f) => f.start === start);
}

/** btf_check_subprog_call(): R1..Rn against a global function's BTF arguments. */
function checkGlobalCallArgs(c: Checker, start: number): void {
  const f = subprogFunc(c, start);
  const btf = c.input.btf;
  if (!f || !btf || !f.btfId) return;
  const func = btf.type(f.btfId);
  if (func.kind !== "func") return;
  const proto = btf.type(func.type);
  if (proto.kind !== "func_proto") return;
  if (proto.params.length > MAX_BPF_FUNC_REG_ARGS) {
    reject(c, `Function ${f.name} has ${proto.params.length} > ${MAX_BPF_FUNC_REG_ARGS} args`, EINVAL);
  }
  proto.params.forEach((p, i) => {
    const regno = i + 1;
    const r = checkSrc(c, regno);
    if (isScalarBtf(btf, p.type) && r.type !== "scalar") reject(c, `R${regno} is not a scalar`, EINVAL);
  });
}

/**
 * check_func_call() of a global function: not with a lock held, not one
 * that may sleep from a non-sleepable context; its arguments against its
 * BTF; then assumed valid. A callee that might throw also ends this path
 * as an exceptional exit (the continuation is explored separately).
 * Returns the next instruction, or undefined when the path ends.
 */
function checkGlobalCall(c: Checker, sp: SubprogInfo): number | undefined {
  const idx = c.subprogs.indexOf(sp);
  const res = c.cur.res;
  if (res.activeLocks) {
    reject(c, "global function calls are not allowed while holding a lock,\nuse static function instead", EINVAL);
  }
  const effects = c.effects[idx];
  if (effects?.mightSleep && (res.activeRcuLocks || res.activePreemptLocks || res.activeIrqId || !c.input.sleepable)) {
    reject(
      c,
      "global functions that may sleep are not allowed in non-sleepable context,\n" +
        "i.e., in a RCU/IRQ/preempt-disabled section, or in\na non-sleepable BPF program context",
      EINVAL,
    );
  }
  checkGlobalCallArgs(c, sp.start);
  c.log.line(`Func#${idx} ('${sp.name}') is global and assumed valid.`);
  clobberCallerSaved(c);
  forgetOutgoingStackArgs(c);
  setReg(c, 0, UNKNOWN_SCALAR);
  if (effects?.mightThrow) {
    pushCurrent(c, c.insnIdx + 1);
    checkResourceLeak(c, EXCEPTION_EXIT);
    return undefined;
  }
  return c.insnIdx + 1;
}

/** check_func_call(): a bpf-to-bpf call. Returns the next instruction, or undefined when the path ends. */
export function checkFuncCall(c: Checker, insn: Insn): number | undefined {
  const target = c.insnIdx + insn.imm + 1;
  const sp = c.subprogs.find((s) => s.start === target);
  if (!sp) reject(c, `call to invalid destination`, EINVAL);
  if (sp.isExceptionCb) reject(c, "cannot call exception cb directly", EINVAL);
  if (sp.global) return checkGlobalCall(c, sp);
  if (c.cur.frames.length >= MAX_CALL_FRAMES) {
    reject(c, `the call stack of ${c.cur.frames.length + 1} frames is too deep !`, E2BIG);
  }
  const caller = curFrame(c.cur);
  const callee = newFuncState(c.cur.frames.length, c.insnIdx, target);
  for (let r = 1; r <= 5; r++) callee.regs[r] = caller.regs[r];
  callee.regs[10] = pointer("fp", { frameno: callee.frameno });
  callee.stackArgs = transferStackArgs(c, sp);
  clobberCallerSaved(c);
  forgetOutgoingStackArgs(c);
  c.cur.frames.push(callee);
  return target;
}

/**
 * The return values check_return_code() allows the program type, as an
 * inclusive signed range, or undefined when any scalar is fine: fentry and
 * fexit programs must return 0.
 */
export function programRetRange(c: Checker): readonly [bigint, bigint] | undefined {
  if (c.progType !== BPF_PROG_TYPE_TRACING) return undefined;
  const eat = c.input.expectedAttachType;
  return eat === BPF_TRACE_FENTRY || eat === BPF_TRACE_FEXIT ? [0n, 0n] : undefined;
}

/**
 * check_return_code() at the exit of the outermost frame: the main program
 * and the exception callback return the program's value (range checked); a
 * global function verified on its own only has to return a scalar.
 */
function checkReturnCode(c: Checker): void {
  const r0 = regs(c)[0];
  if (c.root === "global") {
    if (r0.type !== "scalar")
      reject(c, `At subprogram exit the register R0 is not a scalar value (${regTypeStr(r0)})`, EINVAL);
    return;
  }
  const range = programRetRange(c);
  if (!range) return;
  if (r0.type !== "scalar")
    reject(c, `At program exit the register R0 is not a known value (${regTypeStr(r0)})`, EINVAL);
  const [lo, hi] = range;
  const v = r0.value === undefined ? undefined : BigInt.asIntN(64, r0.value);
  if (v !== undefined && v >= lo && v <= hi) return;
  const has = v === undefined ? " unknown scalar value" : ` smin=${v} smax=${v}`;
  reject(c, `At program exit the register R0 has${has} should have been in [${lo}, ${hi}]`, EINVAL);
}

/**
 * An exit: returns the next instruction (the caller's, after the call), or
 * undefined when the path ends (main program exit).
 */
export function checkExit(c: Checker): number | undefined {
  // process_bpf_exit_full(): resources first; locks and regions only when the program ends here.
  checkResourceLeak(c, {
    exceptionExit: false,
    checkLock: c.cur.frames.length === 1,
    prefix: "BPF_EXIT instruction in main prog",
  });
  if (c.cur.frames.length > 1 && curFrame(c.cur).inCallbackFn) return callbackExit(c, curFrame(c.cur));
  const r0 = checkSrc(c, 0);
  if (c.cur.frames.length > 1) {
    const callee = c.cur.frames.pop()!;
    if (r0.type === "fp" && r0.frameno === callee.frameno)
      reject(c, "cannot return stack pointer to the caller frame", EINVAL);
    setReg(c, 0, r0);
    return callee.callsite + 1;
  }
  if (curFrame(c.cur).inAsyncCallbackFn) asyncCallbackReturn(c, curFrame(c.cur));
  else checkReturnCode(c);
  return undefined;
}
