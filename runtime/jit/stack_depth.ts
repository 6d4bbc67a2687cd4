/**
 * A function's BPF stack depth when no verifier has computed it
 * (prog->aux->stack_depth, which the kernel's verifier derives from the
 * r10-relative accesses it proves; update_stack_depth in verifier.c).
 *
 *   every access through r10 itself     depth ≥ -off
 *   r10 copied or computed with         the frame may be addressed through
 *   (r2 = r10, r10 stored to memory)    another register: MAX_BPF_STACK
 *
 * Simplification: without the verifier's register tracking the second case
 * is conservative (512 bytes), never too small.
 */
import type { Insn } from "../bpf/insn.js";
import { BPF_REG_FP, MAX_BPF_STACK, opInfo } from "../bpf/opcodes.js";

/** The estimated depth and the slot of the deepest direct access (-1: none, or r10 escapes). */
export interface StackDepthEstimate {
  readonly depth: number;
  readonly slot: number;
}

/** True when slot `i` lets r10's value escape into another register or memory. */
function escapes(insn: Insn): boolean {
  const info = opInfo(insn.code);
  switch (info.kind) {
    case "alu":
      return insn.dst === BPF_REG_FP || (info.x && insn.src === BPF_REG_FP);
    case "end":
    case "ldx":
    case "ldimm64":
      return insn.dst === BPF_REG_FP;
    case "stx":
    case "atomic":
      return insn.src === BPF_REG_FP;
    default:
      return false;
  }
}

/** Stack depth (bytes below r10) of slots [start, end) of `insns`. */
export function estimateStackDepth(
  insns: readonly Insn[],
  range: { start: number; end: number } = { start: 0, end: insns.length },
): StackDepthEstimate {
  const { start, end } = range;
  let depth = 0;
  let slot = -1;
  for (let i = start; i < end; i++) {
    const insn = insns[i];
    if (escapes(insn)) return { depth: MAX_BPF_STACK, slot: -1 };
    const kind = opInfo(insn.code).kind;
    if (kind === "ldimm64") {
      i++;
      continue;
    }
    const base = kind === "ldx" ? insn.src : kind === "st" || kind === "stx" || kind === "atomic" ? insn.dst : -1;
    if (base === BPF_REG_FP && -insn.off > depth) {
      depth = -insn.off;
      slot = i;
    }
  }
  return { depth, slot };
}
