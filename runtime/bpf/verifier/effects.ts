/**
 * Per-subprogram effects found before the abstract interpretation
 * (kernel/bpf/cfg.c visit_insn: mark_subprog_might_sleep,
 * mark_subprog_might_throw, merge_callee_effects), used at calls of
 * global functions, which are verified on their own and only "assumed
 * valid" at their call sites:
 *
 *   might_throw   the function calls bpf_throw, or calls (bpf-to-bpf) a
 *                 function that might throw: a call of it is also an
 *                 exceptional exit of the caller (check_func_call)
 *   might_sleep   the function calls a sleepable kfunc, or calls one that
 *                 might sleep: it may not be called from a non-sleepable
 *                 context
 *
 * Effects flow from callee to caller along bpf-to-bpf calls only (not
 * through callbacks, whose address is taken by ld_imm64).
 */
import type { Insn } from "../insn.js";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL, opInfo } from "../opcodes.js";
import type { SubprogInfo, VerifierKfunc } from "./env.js";

/** What the effects of one subprogram are. */
export interface SubprogEffects {
  readonly mightThrow: boolean;
  readonly mightSleep: boolean;
}

/**
 * The effects of every subprogram (same order as `subprogs`), closed over
 * bpf-to-bpf calls. `kfunc` resolves a kfunc call instruction.
 */
export function subprogEffects(
  insns: readonly Insn[],
  subprogs: readonly SubprogInfo[],
  kfunc: (insn: Insn) => VerifierKfunc | undefined,
): SubprogEffects[] {
  const index = (start: number) => subprogs.findIndex((s) => s.start === start);
  const own = subprogs.map(() => ({ mightThrow: false, mightSleep: false }));
  const callees = subprogs.map((): number[] => []);
  subprogs.forEach((sp, s) => {
    const end = s + 1 < subprogs.length ? subprogs[s + 1].start : insns.length;
    for (let i = sp.start; i < end; i++) {
      const insn = insns[i];
      const kind = opInfo(insn.code).kind;
      if (kind === "ldimm64") i++;
      if (kind !== "call") continue;
      if (insn.src === BPF_PSEUDO_CALL) {
        const callee = index(i + 1 + insn.imm);
        if (callee >= 0) callees[s].push(callee);
      } else if (insn.src === BPF_PSEUDO_KFUNC_CALL) {
        const k = kfunc(insn);
        if (k?.name === "bpf_throw" && insn.off === 0) own[s].mightThrow = true;
        if (k?.flags?.sleepable) own[s].mightSleep = true;
      }
    }
  });
  // A fixpoint over the call graph (recursion is refused later by the verifier).
  for (let changed = true; changed;) {
    changed = false;
    own.forEach((e, s) => {
      for (const callee of callees[s]) {
        const c = own[callee];
        if ((c.mightThrow && !e.mightThrow) || (c.mightSleep && !e.mightSleep)) {
          e.mightThrow ||= c.mightThrow;
          e.mightSleep ||= c.mightSleep;
          changed = true;
        }
      }
    });
  }
  return own;
}
