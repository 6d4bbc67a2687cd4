/**
 * What a verifier path holds besides registers: references, locks and
 * regions (include/linux/bpf_verifier.h struct bpf_verifier_state:
 * refs[] with REF_TYPE_PTR / REF_TYPE_IRQ / REF_TYPE_LOCK, active_locks,
 * active_lock_id/_ptr, active_rcu_locks, active_preempt_locks,
 * active_irq_id; kernel/bpf/verifier.c acquire_reference,
 * acquire_lock_state, acquire_irq_state, release_*, check_reference_leak,
 * check_resource_leak; refsafe in the state comparison).
 *
 *   ResourceState (one per path, shared by every frame of it)
 *     refs[]              in acquisition order
 *       ptr   id insn     a referenced pointer (an acquire kfunc's result)
 *       irq   id insn     a bpf_local_irq_save flag (restored innermost first)
 *       lock  id insn on  a bpf_spin_lock: the lock's owner (map fd or BTF
 *                         object) and the register id of the value
 *     activeLocks         lock refs held
 *     activeRcuLocks      bpf_rcu_read_lock() nesting
 *     activePreemptLocks  bpf_preempt_disable() nesting
 *     activeIrqId         id of the innermost irq ref, 0 when IRQs are on
 *
 *   check_resource_leak(exception_exit, check_lock, prefix), in the kernel's order:
 *     check_lock and a lock held   "%s cannot be used inside bpf_spin_lock-ed region"
 *     a ptr ref left (main frame,  "Unreleased reference id=%d alloc_insn=%d" (each),
 *       or any frame on bpf_throw)   then "%s would lead to reference leak"
 *     check_lock and IRQs saved    "%s cannot be used inside bpf_local_irq_save-ed region"
 *     check_lock and RCU           "%s cannot be used inside bpf_rcu_read_lock-ed region"
 *     check_lock and preemption    "%s cannot be used inside bpf_preempt_disable-ed region"
 *
 * The state is immutable: every change returns a new object, so cloning a
 * verifier state (a branch) shares it safely.
 */
import { EINVAL } from "../../errno.js";
import { reject, type Checker } from "./checker.js";

/** enum ref_state_type, folded to the three kinds this verifier tracks. */
export type RefType = "ptr" | "irq" | "lock";

/** struct bpf_reference_state. */
export interface RefState {
  readonly type: RefType;
  /** The reference id (shared with the registers that carry it, ref_obj_id). */
  readonly id: number;
  /** Instruction that acquired it (alloc_insn). */
  readonly insnIdx: number;
  /** lock: what the lock lives in ("map:<fd>" or "btf:<name>"). */
  readonly ptr?: string;
}

/** The resource part of struct bpf_verifier_state. */
export interface ResourceState {
  readonly refs: readonly RefState[];
  readonly activeLocks: number;
  /** active_lock_id / active_lock_ptr: the lock taken last. */
  readonly activeLockId: number;
  readonly activeLockPtr: string | undefined;
  readonly activeRcuLocks: number;
  readonly activePreemptLocks: number;
  readonly activeIrqId: number;
}

/** A path that holds nothing. */
export const NO_RESOURCES: ResourceState = Object.freeze({
  refs: Object.freeze([]) as readonly RefState[],
  activeLocks: 0,
  activeLockId: 0,
  activeLockPtr: undefined,
  activeRcuLocks: 0,
  activePreemptLocks: 0,
  activeIrqId: 0,
});

/** acquire_reference() / acquire_irq_state() / acquire_lock_state(): add `ref`. */
export function acquireRef(res: ResourceState, ref: RefState): ResourceState {
  const refs = [...res.refs, ref];
  switch (ref.type) {
    case "irq":
      return { ...res, refs, activeIrqId: ref.id };
    case "lock":
      return { ...res, refs, activeLocks: res.activeLocks + 1, activeLockId: ref.id, activeLockPtr: ref.ptr };
    default:
      return { ...res, refs };
  }
}

/** The last lock ref still held after `refs` lost one (active_lock_id/_ptr are the previous lock's). */
function lastLock(refs: readonly RefState[]): RefState | undefined {
  for (let i = refs.length - 1; i >= 0; i--) if (refs[i].type === "lock") return refs[i];
  return undefined;
}

/** The last irq ref still held (the new active_irq_id after a restore). */
function lastIrq(refs: readonly RefState[]): RefState | undefined {
  for (let i = refs.length - 1; i >= 0; i--) if (refs[i].type === "irq") return refs[i];
  return undefined;
}

/**
 * release_reference_state() / release_lock_state() / release_irq_state():
 * drop the ref of `type` with `id` (and, for locks, `ptr`). Returns
 * undefined when there is no such ref. An irq ref must be the innermost
 * one (the kernel answers -EACCES: "out of order").
 */
export function releaseRef(
  res: ResourceState,
  want: { type: RefType; id: number; ptr?: string },
): ResourceState | "out-of-order" | undefined {
  if (want.type === "irq" && want.id !== res.activeIrqId) {
    return res.refs.some((r) => r.type === "irq" && r.id === want.id) ? "out-of-order" : undefined;
  }
  const i = res.refs.findIndex((r) => r.type === want.type && r.id === want.id && r.ptr === want.ptr);
  if (i < 0) return undefined;
  const refs = res.refs.filter((_, j) => j !== i);
  switch (want.type) {
    case "irq":
      return { ...res, refs, activeIrqId: lastIrq(refs)?.id ?? 0 };
    case "lock": {
      const last = lastLock(refs);
      return { ...res, refs, activeLocks: res.activeLocks - 1, activeLockId: last?.id ?? 0, activeLockPtr: last?.ptr };
    }
    default:
      return { ...res, refs };
  }
}

/** find_lock_state(): is a lock of `ptr`/`id` held (any lock when both are omitted)? */
export function findLockState(res: ResourceState, want: { id?: number; ptr?: string } = {}): RefState | undefined {
  return res.refs.find(
    (r) =>
      r.type === "lock" &&
      (want.id === undefined || r.id === want.id) &&
      (want.ptr === undefined || r.ptr === want.ptr),
  );
}

/** The ref with `id`, if the path holds it. */
export function findRef(res: ResourceState, id: number): RefState | undefined {
  return res.refs.find((r) => r.id === id);
}

/**
 * check_reference_leak(): the referenced pointers still held when the
 * program leaves (any frame when it throws, else only from the main
 * frame). Logs one "Unreleased reference" line each; true when some are.
 */
function checkReferenceLeak(c: Checker, exceptionExit: boolean): boolean {
  if (!exceptionExit && c.cur.frames.length > 1) return false;
  let lingering = false;
  for (const r of c.cur.res.refs) {
    if (r.type !== "ptr") continue;
    c.log.always(`Unreleased reference id=${r.id} alloc_insn=${r.insnIdx}\n`);
    lingering = true;
  }
  return lingering;
}

/** What check_resource_leak() is asked. */
export interface LeakCheck {
  /** The path ends by bpf_throw (every frame is abandoned). */
  readonly exceptionExit: boolean;
  /** Also refuse held locks and open regions. */
  readonly checkLock: boolean;
  /** Names the instruction in the messages ("bpf_throw", "BPF_EXIT instruction in main prog", "tail_call"). */
  readonly prefix: string;
}

/** check_resource_leak(): reject the program if the path leaves with resources held. */
export function checkResourceLeak(c: Checker, check: LeakCheck): void {
  const res = c.cur.res;
  const { prefix, checkLock } = check;
  if (checkLock && res.activeLocks) reject(c, `${prefix} cannot be used inside bpf_spin_lock-ed region`, EINVAL);
  if (checkReferenceLeak(c, check.exceptionExit)) reject(c, `${prefix} would lead to reference leak`, EINVAL);
  if (checkLock && res.activeIrqId) reject(c, `${prefix} cannot be used inside bpf_local_irq_save-ed region`, EINVAL);
  if (checkLock && res.activeRcuLocks) reject(c, `${prefix} cannot be used inside bpf_rcu_read_lock-ed region`, EINVAL);
  if (checkLock && res.activePreemptLocks) {
    reject(c, `${prefix} cannot be used inside bpf_preempt_disable-ed region`, EINVAL);
  }
}

/**
 * refsafe(): `cur` holds the same resources as `old` — the same counts and
 * refs of the same kinds in the same order (ids compared through the
 * mapping built so far, as check_ids does; here: consistently paired).
 */
export function refSafe(old: ResourceState, cur: ResourceState, idmap: Map<number, number> = new Map()): boolean {
  if (
    old.refs.length !== cur.refs.length ||
    old.activeLocks !== cur.activeLocks ||
    old.activeRcuLocks !== cur.activeRcuLocks ||
    old.activePreemptLocks !== cur.activePreemptLocks
  ) {
    return false;
  }
  if (!checkIds(old.activeIrqId, cur.activeIrqId, idmap)) return false;
  for (let i = 0; i < old.refs.length; i++) {
    const a = old.refs[i];
    const b = cur.refs[i];
    if (a.type !== b.type || a.ptr !== b.ptr || !checkIds(a.id, b.id, idmap)) return false;
  }
  return true;
}

/** check_ids(): `old` and `cur` ids pair up consistently (0 only with 0). */
function checkIds(old: number, cur: number, idmap: Map<number, number>): boolean {
  if (old === 0 || cur === 0) return old === cur;
  const seen = idmap.get(old);
  if (seen === undefined) {
    idmap.set(old, cur);
    return true;
  }
  return seen === cur;
}
