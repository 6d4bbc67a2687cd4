/**
 * RCU read-side, non-preemptible and IRQ-disabled regions of a BPF program
 * (kernel/bpf/verifier.c check_kfunc_call: is_kfunc_bpf_rcu_read_lock /
 * _unlock, is_kfunc_bpf_preempt_disable / _enable, in_sleepable_context,
 * non_sleepable_context_description; process_irq_flag,
 * mark_stack_slot_irq_flag, unmark_stack_slot_irq_flag,
 * is_irq_flag_reg_valid_uninit / _init, stack_slot_obj_get_spi). The kfuncs
 * themselves are kernel/bpf/helpers.c's, run by the simulated kernel
 * (runtime/kernel/services/core.ts).
 *
 *   bpf_rcu_read_lock()           activeRcuLocks++            (nesting allowed)
 *   bpf_rcu_read_unlock()         activeRcuLocks-- ; at 0: "unmatched rcu read unlock (kernel function %s)"
 *   bpf_preempt_disable()         activePreemptLocks++
 *   bpf_preempt_enable()          activePreemptLocks-- ; at 0:
 *                                 "unmatched attempt to enable preemption (kernel function %s)"
 *   bpf_local_irq_save(&flag)     flag: an 8-byte stack slot, not already a flag
 *                                 ("expected uninitialized irq flag as arg#%d");
 *                                 an irq ref is acquired, the slot becomes STACK_IRQ_FLAG
 *                                 and activeIrqId is its id
 *   bpf_local_irq_restore(&flag)  the slot must hold a flag ("expected an initialized
 *                                 irq flag as arg#%d") and the innermost one
 *                                 ("cannot restore irq state out of order, expected
 *                                 id=%d acquired at insn_idx=%d"); the slot is freed
 *
 *   a sleepable kfunc inside any region: "kernel func %s is sleepable within %s"
 *   leaving with a region open (exit of the main program, bpf_throw, tail
 *   call, LD_ABS): resources.ts checkResourceLeak
 *
 * An irq flag argument is recognised as the kernel does, by its BTF
 * parameter name ending in `__irq_flag`.
 */
import { EACCES, EINVAL } from "../../errno.js";
import type { VerifierKfunc } from "./env.js";
import { regs, reject, type Checker } from "./checker.js";
import { checkStackBounds, noteStackDepth, stackFrame } from "./mem.js";
import { acquireRef, releaseRef } from "./resources.js";

/** The kfuncs that open and close regions (special_kfunc_list entries). */
export const KF_bpf_rcu_read_lock = "bpf_rcu_read_lock";
export const KF_bpf_rcu_read_unlock = "bpf_rcu_read_unlock";
export const KF_bpf_preempt_disable = "bpf_preempt_disable";
export const KF_bpf_preempt_enable = "bpf_preempt_enable";
export const KF_bpf_local_irq_save = "bpf_local_irq_save";
export const KF_bpf_local_irq_restore = "bpf_local_irq_restore";

/** is_kfunc_arg_irq_flag(): the parameter's name carries the `__irq_flag` suffix. */
export function isKfuncArgIrqFlag(paramName: string): boolean {
  return paramName.length > "__irq_flag".length && paramName.endsWith("__irq_flag");
}

/**
 * non_sleepable_context_description(): why the current point may not sleep
 * (undefined in a sleepable program outside every region).
 */
export function nonSleepableContext(c: Checker): string | undefined {
  const res = c.cur.res;
  if (res.activeRcuLocks) return "rcu_read_lock region";
  if (res.activePreemptLocks) return "non-preemptible region";
  if (res.activeIrqId) return "IRQ-disabled region";
  if (res.activeLocks) return "lock region";
  return c.input.sleepable ? undefined : "non-sleepable prog";
}

/** stack_slot_obj_get_spi() for an irq flag: the slot index the pointer in `regno` names. */
function irqFlagSlot(c: Checker, regno: number): number {
  const r = regs(c)[regno];
  if (r.varOff) reject(c, "irq_flag has to be at a constant offset", EINVAL);
  if (r.off % 8 !== 0) reject(c, `cannot pass in irq_flag at an offset=${r.off}`, EINVAL);
  checkStackBounds(c, regno, r.off, 8, " write to");
  return -r.off / 8 - 1;
}

/**
 * process_irq_flag() for argument `argno` (0-based) of `k`: the save or
 * restore of an irq flag slot on the stack.
 */
export function processIrqFlag(c: Checker, k: VerifierKfunc, argno: number): void {
  const regno = argno + 1;
  const r = regs(c)[regno];
  if (r.type !== "fp" || r.maybeNull) reject(c, `arg#${argno} doesn't point to an irq flag on stack`, EINVAL);
  const save = k.name === KF_bpf_local_irq_save;
  if (!save && k.name !== KF_bpf_local_irq_restore) {
    reject(c, `verifier internal error: unknown irq flags kfunc ${k.name}`, EINVAL);
  }
  const frame = stackFrame(c, r);
  const spi = irqFlagSlot(c, regno);
  const slot = frame.stack.get(spi);
  if (save) {
    if (slot?.kind === "irq_flag") reject(c, `expected uninitialized irq flag as arg#${argno}`, EINVAL);
    noteStackDepth(c, frame, r.off);
    const id = ++c.nextId;
    c.cur.res = acquireRef(c.cur.res, { type: "irq", id, insnIdx: c.insnIdx });
    frame.stack.set(spi, { kind: "irq_flag", id });
    return;
  }
  if (slot?.kind !== "irq_flag") reject(c, `expected an initialized irq flag as arg#${argno}`, EINVAL);
  const next = releaseRef(c.cur.res, { type: "irq", id: slot.id });
  if (next === undefined || next === "out-of-order") {
    const active = c.cur.res.activeIrqId;
    const at = c.cur.res.refs.find((x) => x.id === active)?.insnIdx ?? 0;
    reject(c, `cannot restore irq state out of order, expected id=${active} acquired at insn_idx=${at}`, EACCES);
  }
  c.cur.res = next;
  frame.stack.delete(spi);
}

/**
 * The region bookkeeping of check_kfunc_call() after the arguments are
 * checked: RCU and preemption nesting, and no sleepable kfunc in a region.
 */
export function processRegionKfunc(c: Checker, k: VerifierKfunc): void {
  const res = c.cur.res;
  switch (k.name) {
    case KF_bpf_rcu_read_lock:
      c.cur.res = { ...res, activeRcuLocks: res.activeRcuLocks + 1 };
      break;
    case KF_bpf_rcu_read_unlock:
      if (res.activeRcuLocks === 0) reject(c, `unmatched rcu read unlock (kernel function ${k.name})`, EINVAL);
      c.cur.res = { ...res, activeRcuLocks: res.activeRcuLocks - 1 };
      break;
    case KF_bpf_preempt_disable:
      c.cur.res = { ...res, activePreemptLocks: res.activePreemptLocks + 1 };
      break;
    case KF_bpf_preempt_enable:
      if (res.activePreemptLocks === 0) {
        reject(c, `unmatched attempt to enable preemption (kernel function ${k.name})`, EINVAL);
      }
      c.cur.res = { ...res, activePreemptLocks: res.activePreemptLocks - 1 };
      break;
  }
  if (k.flags?.sleepable) {
    const where = nonSleepableContext(c);
    if (where) reject(c, `kernel func ${k.name} is sleepable within ${where}`, EACCES);
  }
}

/** The text of an irq flag slot in a state print (slot_type_char 'f'). */
export const IRQ_FLAG_SLOT_TEXT = "ffffffff";
