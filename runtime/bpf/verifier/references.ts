/**
 * Referenced pointers: program-allocated objects (kernel/bpf/verifier.c
 * check_kfunc_call / check_kfunc_args for KF_bpf_obj_new_impl and
 * KF_bpf_obj_drop_impl, acquire_reference, release_reference,
 * mark_ptr_or_null_regs; fixup_kfunc_call's rewrite of their arguments;
 * the kfuncs are kernel/bpf/helpers.c's, run by
 * runtime/kernel/services/core.ts).
 *
 *   r0 = bpf_obj_new_impl(type_id, NULL)   type_id (R1) a known constant naming a
 *                                          struct of the program's BTF;
 *       r0: PTR_TO_BTF_ID | MEM_ALLOC | PTR_MAYBE_NULL of that struct, a new
 *       reference (id = ref_obj_id); the NULL branch of its check drops it
 *   bpf_obj_drop_impl(p, NULL)             p: an allocated object holding a
 *       reference; the reference is released and every copy of p dies
 *   the path ends (main exit, bpf_throw) with a reference held:
 *       "Unreleased reference id=%d alloc_insn=%d" (resources.ts)
 *
 *   messages   "R%d must be a known constant"
 *              "bpf_obj_new/bpf_percpu_obj_new requires prog BTF"
 *              "bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct"
 *              "arg#%d expected pointer to allocated object"
 *              "allocated object must be referenced"
 *
 * After verification the calls get their hidden arguments as the kernel
 * does: R1 = the object's size for bpf_obj_new_impl, R2 = the struct meta
 * (NULL here: no special fields are supported in allocated objects).
 *
 * Simplification: graph, kptr and refcount fields of allocated objects are
 * not modelled; objects are writable within their size, as MEM_ALLOC ones
 * are.
 */
import { EINVAL } from "../../errno.js";
import { BPF_LD_IMM64, BPF_MOV64_IMM } from "../builder.js";
import type { Insn } from "../insn.js";
import { BPF_REG_1, BPF_REG_2 } from "../opcodes.js";
import { regs, reject, setReg, type Checker } from "./checker.js";
import { btfIdPointer } from "./ctx_access.js";
import type { VerifierKfunc } from "./env.js";
import { patchInsn, type Patchable } from "./fixups.js";
import { UNKNOWN_SCALAR, type RegState } from "./reg_state.js";
import { acquireRef, releaseRef } from "./resources.js";
import type { VerifierState } from "./state.js";

/** special_kfunc_list entries for allocated objects. */
export const KF_bpf_obj_new_impl = "bpf_obj_new_impl";
export const KF_bpf_obj_drop_impl = "bpf_obj_drop_impl";

/** Is `k` one of the allocated-object kfuncs (their arguments are checked here)? */
export function isObjKfunc(k: VerifierKfunc): boolean {
  return k.name === KF_bpf_obj_new_impl || k.name === KF_bpf_obj_drop_impl;
}

/** bpf_obj_new_impl's argument check; returns the struct's BTF id in the program's BTF. */
export function checkObjNewArgs(c: Checker): number {
  const r1 = regs(c)[1];
  if (r1.type !== "scalar" || r1.value === undefined) reject(c, "R1 must be a known constant", EINVAL);
  if (r1.value > 0xffffffffn) reject(c, "local type ID argument must be in range [0, U32_MAX]", EINVAL);
  const btf = c.input.btf;
  if (!btf) reject(c, "bpf_obj_new/bpf_percpu_obj_new requires prog BTF", EINVAL);
  const id = Number(r1.value);
  const t = id > 0 && id < btf.types.length ? btf.type(id) : undefined;
  if (t?.kind !== "struct") reject(c, "bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct", EINVAL);
  return id;
}

/** The result of bpf_obj_new_impl (after the call clobbered R0-R5): an allocated object, a new reference. */
export function markObjNewResult(c: Checker, typeId: number): void {
  const btf = c.input.btf!;
  const id = ++c.nextId;
  c.cur.res = acquireRef(c.cur.res, { type: "ptr", id, insnIdx: c.insnIdx });
  setReg(c, 0, { ...btfIdPointer(btf, typeId), alloc: true, maybeNull: true, id, refObjId: id });
  c.aux[c.insnIdx].objNewSize = btf.sizeof(typeId);
}

/** bpf_obj_drop_impl's argument check (KF_ARG_PTR_TO_ALLOC_BTF_ID, KF_RELEASE); returns the reference. */
export function checkObjDropArgs(c: Checker): number {
  const r1 = regs(c)[1];
  if (r1.type !== "btf_id" || !r1.alloc || r1.maybeNull)
    reject(c, "arg#0 expected pointer to allocated object", EINVAL);
  if (!r1.refObjId) reject(c, "allocated object must be referenced", EINVAL);
  return r1.refObjId;
}

/** release_reference(): drop reference `refObjId` and invalidate every register and spill that carries it. */
export function releaseReference(c: Checker, k: VerifierKfunc, refObjId: number): void {
  const next = releaseRef(c.cur.res, { type: "ptr", id: refObjId });
  if (next === undefined || next === "out-of-order") {
    reject(c, `kfunc ${k.name}#${k.btfId} reference has not been acquired before`, EINVAL);
  }
  c.cur.res = next;
  invalidateRef(c.cur, refObjId);
  c.aux[c.insnIdx].objDrop = true;
}

/** mark_reg_invalid() on every copy of the pointer (privileged: an unknown scalar). */
function invalidateRef(state: VerifierState, refObjId: number): void {
  const fix = (r: RegState): RegState => (r.refObjId === refObjId ? UNKNOWN_SCALAR : r);
  for (const f of state.frames) {
    f.regs = f.regs.map(fix);
    for (const [k, s] of f.stack) if (s.kind === "spill") f.stack.set(k, { kind: "spill", reg: fix(s.reg) });
    for (const [k, r] of f.stackArgs) f.stackArgs.set(k, fix(r));
  }
}

/**
 * mark_ptr_or_null_regs() for a reference: on the branch where the pointer
 * with null-check `id` is NULL, the reference it carried is gone.
 */
export function releaseOnNull(state: VerifierState, id: number): void {
  const carrier = state.frames.flatMap((f) => f.regs).find((r) => r.maybeNull && r.id === id && r.refObjId);
  if (!carrier?.refObjId) return;
  const next = releaseRef(state.res, { type: "ptr", id: carrier.refObjId });
  if (next !== undefined && next !== "out-of-order") state.res = next;
}

/**
 * fixup_kfunc_call() for the allocated-object kfuncs: their hidden
 * arguments in front of the call (R1 = size and R2 = struct meta for
 * bpf_obj_new_impl, R2 = struct meta for bpf_obj_drop_impl).
 */
export function fixupObjKfuncCalls(p: Patchable): void {
  for (let i = p.insns.length - 1; i >= 0; i--) {
    const a = p.aux[i];
    const patch: Insn[] = [];
    if (a?.objNewSize !== undefined) patch.push(BPF_MOV64_IMM(BPF_REG_1, a.objNewSize), ...BPF_LD_IMM64(BPF_REG_2, 0));
    else if (a?.objDrop) patch.push(...BPF_LD_IMM64(BPF_REG_2, 0));
    else continue;
    const call = p.insns[i];
    patchInsn(p, i, [...patch, call]);
    // The facts of the call stay with the call.
    p.aux[i + patch.length] = a;
    p.aux[i] = { seen: true };
  }
}
