/**
 * bpf_spin_lock / bpf_spin_unlock in the verifier (kernel/bpf/verifier.c
 * process_spin_lock, the lock check of do_check_insn for calls,
 * kfunc_spin_allowed, check_map_prog_compatibility, and the special-field
 * check of check_map_access).
 *
 *   bpf_spin_lock(&v->lock)     R1: a map value at a constant offset, the map
 *                               created with BTF whose value has one
 *                               `struct bpf_spin_lock` exactly there
 *       not constant offset     "R%d doesn't have constant offset. bpf_spin_lock has to be at the constant offset"
 *       map without BTF         "map '%s' has to have BTF in order to use bpf_spin_lock"
 *       no lock in the value    "map '%s' has no valid bpf_spin_lock"
 *       elsewhere               "off %lld doesn't point to 'struct bpf_spin_lock' that is at %d"
 *       a lock already held     "Locking two bpf_spin_locks are not allowed" (a second
 *                               bpf_spin_lock helper call is refused first, as a call
 *                               under the lock)
 *     → a lock ref on (map, value id)              (resources.ts)
 *   bpf_spin_unlock(&v->lock)   same checks, then
 *       nothing held            "bpf_spin_unlock without taking a lock"
 *       another lock            "bpf_spin_unlock of different lock"
 *
 *   while a lock is held        any call but bpf_spin_unlock, bpf_kptr_xchg and the
 *                               graph/iterator kfuncs: "function calls are not
 *                               allowed while holding a lock"; exit of the program,
 *                               bpf_throw, tail call: checkResourceLeak
 *   load/store on the lock, and which program types may use such maps: map_fields.ts
 *
 * A value pointer from ld_imm64 (global data) has id 0; one from
 * bpf_map_lookup_elem has the id of its null check, so two lookups are two
 * different locks to the verifier, as in the kernel.
 */
import { EINVAL } from "../../errno.js";
import { BPF_FUNC_NAMES } from "../func_ids.js";
import type { Insn } from "../insn.js";
import { BPF_PSEUDO_KFUNC_CALL } from "../opcodes.js";
import { mapBtfRecord } from "./btf_record.js";
import { regs, reject, type Checker } from "./checker.js";
import { acquireRef, findLockState, releaseRef } from "./resources.js";
import type { RegState } from "./reg_state.js";

/** Helper ids by their uapi name (func_ids.ts table). */
const BPF_FUNC_spin_unlock = BPF_FUNC_NAMES.indexOf("spin_unlock");
const BPF_FUNC_kptr_xchg = BPF_FUNC_NAMES.indexOf("kptr_xchg");

/**
 * kfunc_spin_allowed(): the kfuncs a program may call with a lock held
 * (is_bpf_graph_api_kfunc, is_bpf_iter_num_api_kfunc, the res_spin_lock
 * and arena kfuncs).
 */
const KFUNC_SPIN_ALLOWED: ReadonlySet<string> = new Set([
  "bpf_list_push_front_impl",
  "bpf_list_push_back_impl",
  "bpf_list_pop_front",
  "bpf_list_pop_back",
  "bpf_list_front",
  "bpf_list_back",
  "bpf_rbtree_add_impl",
  "bpf_rbtree_remove",
  "bpf_rbtree_first",
  "bpf_rbtree_root",
  "bpf_rbtree_left",
  "bpf_rbtree_right",
  "bpf_refcount_acquire_impl",
  "bpf_iter_num_new",
  "bpf_iter_num_next",
  "bpf_iter_num_destroy",
  "bpf_res_spin_lock",
  "bpf_res_spin_unlock",
  "bpf_res_spin_lock_irqsave",
  "bpf_res_spin_unlock_irqrestore",
  "bpf_arena_alloc_pages",
  "bpf_arena_free_pages",
]);

/** The do_check_insn() rule for a call instruction while a lock is held. */
export function checkCallUnderLock(c: Checker, insn: Insn): void {
  if (!c.cur.res.activeLocks) return;
  let allowed: boolean;
  if (insn.src === 0) allowed = insn.imm === BPF_FUNC_spin_unlock || insn.imm === BPF_FUNC_kptr_xchg;
  else if (insn.src === BPF_PSEUDO_KFUNC_CALL) {
    const name = insn.off === 0 ? c.input.kfunc?.(insn.imm, insn.off)?.name : undefined;
    allowed = name !== undefined && KFUNC_SPIN_ALLOWED.has(name);
  } else allowed = true; // bpf-to-bpf calls: check_func_call refuses global ones
  if (!allowed) reject(c, "function calls are not allowed while holding a lock", EINVAL);
}

/** What a lock is known by: the map it lives in (reg->map_ptr) and the value's id. */
function lockOwner(r: RegState): string {
  return `map:${r.map?.fd ?? -1}`;
}

/** process_spin_lock(): argument R`regno` of bpf_spin_lock (`lock`) or bpf_spin_unlock. */
export function processSpinLock(c: Checker, regno: number, lock: boolean): void {
  const r = regs(c)[regno];
  if (r.varOff) {
    reject(c, `R${regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset`, EINVAL);
  }
  const map = r.map!;
  if (!map.btf) reject(c, `map '${map.name}' has to have BTF in order to use bpf_spin_lock`, EINVAL);
  const rec = mapBtfRecord(map);
  if (rec?.spinLockOff === undefined || rec.invalid) reject(c, `map '${map.name}' has no valid bpf_spin_lock`, EINVAL);
  if (rec.spinLockOff !== r.off) {
    reject(c, `off ${r.off} doesn't point to 'struct bpf_spin_lock' that is at ${rec.spinLockOff}`, EINVAL);
  }
  const ptr = lockOwner(r);
  const res = c.cur.res;
  if (lock) {
    if (res.activeLocks && findLockState(res)) reject(c, "Locking two bpf_spin_locks are not allowed", EINVAL);
    c.cur.res = acquireRef(res, { type: "lock", id: r.id, insnIdx: c.insnIdx, ptr });
    return;
  }
  if (!res.activeLocks) reject(c, "bpf_spin_unlock without taking a lock", EINVAL);
  const next = releaseRef(res, { type: "lock", id: r.id, ptr });
  if (next === undefined || next === "out-of-order") reject(c, "bpf_spin_unlock of different lock", EINVAL);
  c.cur.res = next;
}
