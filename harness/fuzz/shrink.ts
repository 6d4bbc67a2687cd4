/**
 * Shrink a failing BPF program: drop instructions one at a time (whole
 * ld_imm64s at once), keeping every relative jump and call pointing where
 * it did (runtime/jit/insn_patch.ts), as long as the program stays valid
 * and still fails the same way. Repeats until no single removal keeps the
 * failure (a 1-minimal program), or the step budget runs out.
 */
import { validateInsns } from "../../runtime/bpf/codec.js";
import type { Insn } from "../../runtime/bpf/insn.js";
import { opInfo } from "../../runtime/bpf/opcodes.js";
import { removeInsns } from "../../runtime/jit/insn_patch.js";

/** Options of {@link shrinkInsns}. */
export interface ShrinkOptions {
  /** Candidate programs to try at most (default 20,000). */
  maxSteps?: number;
}

function isValid(insns: readonly Insn[]): boolean {
  try {
    validateInsns(insns);
    return true;
  } catch {
    return false;
  }
}

/** Slot starts of `insns` (ld_imm64 second halves skipped). */
function starts(insns: readonly Insn[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < insns.length; i++) {
    out.push(i);
    if (opInfo(insns[i].code).kind === "ldimm64") i++;
  }
  return out;
}

/**
 * The smallest program found by removing instructions from `insns` while
 * `stillFails(candidate)` holds. `insns` itself must fail.
 */
export function shrinkInsns(
  insns: readonly Insn[],
  stillFails: (candidate: readonly Insn[]) => boolean,
  opts: ShrinkOptions = {},
): Insn[] {
  let best = [...insns];
  let steps = 0;
  const max = opts.maxSteps ?? 20_000;
  for (let changed = true; changed && steps < max;) {
    changed = false;
    // Back to front: removing late instructions first keeps earlier indexes stable.
    const list = starts(best).reverse();
    for (const i of list) {
      if (i >= best.length || steps >= max) continue;
      const n = opInfo(best[i].code).kind === "ldimm64" ? 2 : 1;
      const cand = removeInsns(best, { at: i, count: n });
      if (cand.length === 0 || !isValid(cand)) continue;
      steps++;
      if (stillFails(cand)) {
        best = cand;
        changed = true;
      }
    }
  }
  return best;
}
