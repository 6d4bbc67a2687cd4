/**
 * Verifier states (struct bpf_func_state, struct bpf_verifier_state) and
 * the state-equivalence test used for pruning (states_equal, regsafe,
 * stacksafe in kernel/bpf/verifier.c).
 *
 *   VerifierState
 *   ├─ res                        references, locks, RCU/preempt/IRQ regions of
 *   │                             the path (resources.ts; refsafe when pruning)
 *   └─ frames[0..curframe]        one per active bpf-to-bpf call
 *        ├─ regs[0..10]           R10 = fp of this frame
 *        ├─ stack: slot k = bytes [fp-8(k+1), fp-8k)
 *        │     spill(reg)  an 8-byte register store (pointers survive spills)
 *        │     misc        written, unknown bytes (STACK_MISC)
 *        │     zero        known zero bytes (STACK_ZERO)
 *        │     irq_flag    a bpf_local_irq_save flag (STACK_IRQ_FLAG, regions.ts)
 *        │     (absent)    never written (STACK_INVALID)
 *        ├─ stackArgs: slot k = r12-8(k+1), a register state (stack_args.ts):
 *        │     incoming arguments first, then the outgoing ones; absent = not written
 *        └─ callsite          the call instruction (for the return)
 *
 * Pruning bookkeeping follows the kernel's branch counting: a saved state
 * is "done" once every path that went through it has ended (exit or
 * pruned); a state still in progress on the current path that is exactly
 * the current state means the program loops without progress.
 */
import { MAX_BPF_REG } from "../opcodes.js";
import { NOT_INIT, regEqual, regSafe, type RegState } from "./reg_state.js";
import { NO_RESOURCES, refSafe, type ResourceState } from "./resources.js";

/** One 8-byte stack slot. */
export type StackSlot =
  | { readonly kind: "spill"; readonly reg: RegState }
  | { readonly kind: "misc" }
  | { readonly kind: "zero" }
  /** STACK_IRQ_FLAG: saved by bpf_local_irq_save, `id` is its irq ref (resources.ts). */
  | { readonly kind: "irq_flag"; readonly id: number };

/** struct bpf_func_state. */
export interface FuncState {
  regs: RegState[];
  /** Slot index → slot. */
  stack: Map<number, StackSlot>;
  /** Stack-argument slot index (r12-8(k+1)) → the value stored there. */
  stackArgs: Map<number, RegState>;
  /** The call instruction in the caller (-1 for the main frame). */
  readonly callsite: number;
  /** First instruction of the function. */
  readonly subprogStart: number;
  readonly frameno: number;
  /** Iterations of a bpf_loop callback pushed from this frame's current call (callback_depth). */
  callbackDepth: number;
  /** The frame is a sync callback (bpf_loop): its exit returns to the calling instruction. */
  inCallbackFn?: boolean;
  /** The frame is an async callback (timer), verified as a path of its own. */
  inAsyncCallbackFn?: boolean;
  /** The values the callback may return (callback_ret_range). */
  callbackRetRange?: readonly [bigint, bigint];
}

/** struct bpf_verifier_state. */
export interface VerifierState {
  frames: FuncState[];
  /** The saved state this path continues (for branch counting). */
  parent: SavedState | undefined;
  /** References, locks and regions held (immutable, shared by clones). */
  res: ResourceState;
  /**
   * callback_unroll_depth: bpf_loop iterations entered on this path; two
   * states that differ in it are different iterations, not a loop without
   * progress.
   */
  callbackUnrollDepth: number;
}

/** A state with `frames` and nothing held. */
export function newVerifierState(frames: FuncState[]): VerifierState {
  return { frames, parent: undefined, res: NO_RESOURCES, callbackUnrollDepth: 0 };
}

/** An explored state kept at a prune point (struct bpf_verifier_state_list). */
export interface SavedState {
  readonly state: VerifierState;
  /** Paths still being explored through this state. */
  branches: number;
  readonly parent: SavedState | undefined;
  readonly insnIdx: number;
}

/** A fresh frame: every register NOT_INIT, empty stack. */
export function newFuncState(frameno: number, callsite: number, subprogStart: number): FuncState {
  return {
    regs: Array.from({ length: MAX_BPF_REG }, () => NOT_INIT),
    stack: new Map(),
    stackArgs: new Map(),
    callsite,
    subprogStart,
    frameno,
    callbackDepth: 0,
  };
}

function cloneFunc(f: FuncState): FuncState {
  return { ...f, regs: f.regs.slice(), stack: new Map(f.stack), stackArgs: new Map(f.stackArgs) };
}

/** copy_verifier_state(). */
export function cloneState(s: VerifierState): VerifierState {
  return { frames: s.frames.map(cloneFunc), parent: s.parent, res: s.res, callbackUnrollDepth: s.callbackUnrollDepth };
}

/** The current frame. */
export function curFrame(s: VerifierState): FuncState {
  return s.frames[s.frames.length - 1];
}

function slotSafe(old: StackSlot | undefined, cur: StackSlot | undefined): boolean {
  // With uninitialised stack reads allowed (privileged), an unwritten or misc slot
  // reads as an unknown scalar on the old path: anything is covered.
  if (old === undefined || old.kind === "misc") return true;
  if (old.kind === "irq_flag") return cur?.kind === "irq_flag";
  if (old.kind === "zero")
    return cur?.kind === "zero" || (cur?.kind === "spill" && cur.reg.type === "scalar" && cur.reg.value === 0n);
  if (cur?.kind !== "spill") return false;
  return regSafe(old.reg, cur.reg);
}

function slotEqual(a: StackSlot | undefined, b: StackSlot | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === "irq_flag") return a.id === (b as { id: number }).id;
  return a.kind !== "spill" || regEqual(a.reg, (b as { reg: RegState }).reg);
}

/** states_equal(): does `old` cover `cur`? With `exact`, are they identical? */
export function statesEqual(old: VerifierState, cur: VerifierState, exact = false): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  if (!refSafe(old.res, cur.res)) return false;
  for (let f = 0; f < old.frames.length; f++) {
    const a = old.frames[f];
    const b = cur.frames[f];
    if (a.callsite !== b.callsite || a.subprogStart !== b.subprogStart) return false;
    for (let r = 0; r < MAX_BPF_REG; r++) {
      if (exact ? !regEqual(a.regs[r], b.regs[r]) : !regSafe(a.regs[r], b.regs[r])) return false;
    }
    const slots = new Set([...a.stack.keys(), ...b.stack.keys()]);
    for (const k of slots) {
      if (exact ? !slotEqual(a.stack.get(k), b.stack.get(k)) : !slotSafe(a.stack.get(k), b.stack.get(k))) return false;
    }
    if (!stackArgsSafe(a.stackArgs, b.stackArgs, exact)) return false;
  }
  return true;
}

/**
 * Stack-argument slots: a slot the old state never had covers anything (its
 * path read nothing there unwritten); one it had must be in the current
 * state and cover it (regsafe).
 */
function stackArgsSafe(old: Map<number, RegState>, cur: Map<number, RegState>, exact: boolean): boolean {
  if (exact && old.size !== cur.size) return false;
  for (const [k, o] of old) {
    const c = cur.get(k);
    if (c === undefined || (exact ? !regEqual(o, c) : !regSafe(o, c))) return false;
  }
  return true;
}

/** update_branch_counts(): a path ended; walk up the saved states it went through. */
export function updateBranchCounts(s: SavedState | undefined): void {
  for (let st = s; st; st = st.parent) {
    st.branches--;
    if (st.branches > 0) break;
  }
}
