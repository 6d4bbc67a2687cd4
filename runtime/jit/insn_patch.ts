/**
 * Inserting and removing instructions with every relative reference kept
 * pointing at the same instruction (kernel/bpf/core.c: bpf_patch_insn_single,
 * bpf_remove_insns, bpf_adj_branches). The differential harness inserts a
 * stack dump before the main program's exit; the fuzzer's shrinker removes
 * instructions one at a time.
 *
 *   relative references: conditional jumps and goto (off), gotol (imm),
 *   bpf-to-bpf calls (imm), ld_imm64 BPF_PSEUDO_FUNC (imm)
 *
 *   insert k slots at pos      a reference crossing pos grows by k; a
 *                              reference *to* pos from before it now lands
 *                              on the inserted code
 *   remove k slots at pos      a reference crossing the hole shrinks by k; a
 *                              reference into the hole lands on what follows
 *
 * Results are not validated here (a removal can make a program invalid);
 * callers run validateInsns().
 */
import type { Insn } from "../bpf/insn.js";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, opInfo } from "../bpf/opcodes.js";

/** Which field holds the relative offset of slot `insn`, if any. */
function relField(insn: Insn): "off" | "imm" | undefined {
  const info = opInfo(insn.code);
  switch (info.kind) {
    case "jcond":
      return "off";
    case "ja":
      return info.width === 64 ? "off" : "imm";
    case "call":
      return insn.src === BPF_PSEUDO_CALL ? "imm" : undefined;
    case "ldimm64":
      return insn.src === BPF_PSEUDO_FUNC ? "imm" : undefined;
    default:
      return undefined;
  }
}

/** Rewrite every relative reference: `map(from, target)` gives the new target for the new position. */
function remap(insns: readonly Insn[], newIndex: (i: number) => number, newTarget: (t: number) => number): Insn[] {
  const out: Insn[] = [];
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    const field = relField(insn);
    const ni = newIndex(i);
    if (field !== undefined && ni >= 0) {
      const t = i + 1 + insn[field];
      const nt = newTarget(t);
      out[ni] = { ...insn, [field]: nt - (ni + 1) };
    } else if (ni >= 0) {
      out[ni] = insn;
    }
    if (opInfo(insn.code).kind === "ldimm64" && i + 1 < insns.length) {
      const n2 = newIndex(i + 1);
      if (n2 >= 0) out[n2] = insns[i + 1];
      i++;
    }
  }
  return out;
}

/** `insns` with `patch.insns` inserted before slot `patch.at` (0..length). */
export function insertInsns(insns: readonly Insn[], patch: { at: number; insns: readonly Insn[] }): Insn[] {
  const pos = patch.at;
  const add = patch.insns;
  const k = add.length;
  const moved = remap(
    insns,
    (i) => (i < pos ? i : i + k),
    (t) => (t < pos ? t : t + k),
  );
  // A reference from before pos to pos itself lands on the inserted code.
  for (let i = 0; i < pos; i++) {
    const insn = moved[i];
    const field = insn === undefined ? undefined : relField(insn);
    if (field !== undefined && i + 1 + insn[field] === pos + k) moved[i] = { ...insn, [field]: pos - (i + 1) };
    if (insn !== undefined && opInfo(insn.code).kind === "ldimm64") i++;
  }
  for (let j = 0; j < k; j++) moved[pos + j] = add[j];
  return moved;
}

/** `insns` without slots [hole.at, hole.at + hole.count). */
export function removeInsns(insns: readonly Insn[], hole: { at: number; count: number }): Insn[] {
  const pos = hole.at;
  const count = hole.count;
  return remap(
    insns,
    (i) => (i < pos ? i : i < pos + count ? -1 : i - count),
    (t) => (t < pos ? t : t < pos + count ? pos : t - count),
  );
}
