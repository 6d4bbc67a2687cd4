/**
 * Program structure checks before abstract interpretation
 * (kernel/bpf/verifier.c add_subprog_and_kfunc, check_subprogs, check_cfg):
 *
 *   subprograms    every bpf-to-bpf call and BPF_PSEUDO_FUNC target starts one
 *                  ("call to invalid destination" when outside the program)
 *   boundaries     jumps stay inside their subprogram ("jump out of range from
 *                  insn %d to %d"); each subprogram ends in exit or goto
 *                  ("last insn is not an exit or jmp")
 *   ld_imm64       well formed ("invalid BPF_LD_IMM insn"), never a jump target
 *                  ("jump into the middle of ldimm64 insn %d")
 *   reachability   a DFS from insn 0 (and the extra roots: exception
 *                  callbacks) over jumps, fallthroughs and calls must reach
 *                  every instruction ("unreachable insn %d")
 *
 * Back-edges (bounded loops) are allowed, as for a privileged loader.
 */
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, opInfo } from "../opcodes.js";
import type { Insn } from "../insn.js";

/** A structure error: the message and the instruction it names. */
export class CfgError extends Error {
  readonly insnIdx: number | undefined;
  constructor(message: string, insnIdx?: number) {
    super(message);
    this.insnIdx = insnIdx;
  }
}

/** The instructions that are the second half of a ld_imm64. */
export function ldImm64Halves(insns: readonly Insn[]): Uint8Array {
  const second = new Uint8Array(insns.length);
  for (let i = 0; i < insns.length; i++) {
    if (opInfo(insns[i].code).kind === "ldimm64") {
      if (i + 1 >= insns.length) throw new CfgError("invalid BPF_LD_IMM insn", i);
      const next = insns[i + 1];
      if (next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0)
        throw new CfgError("invalid BPF_LD_IMM insn", i);
      second[++i] = 1;
    }
  }
  return second;
}

function jumpTarget(insn: Insn, i: number): number | undefined {
  const info = opInfo(insn.code);
  if (info.kind === "jcond") return i + 1 + insn.off;
  if (info.kind === "ja") return i + 1 + (info.width === 64 ? insn.off : insn.imm);
  return undefined;
}

function callTarget(insn: Insn, i: number): number | undefined {
  const info = opInfo(insn.code);
  if (info.kind === "call" && insn.src === BPF_PSEUDO_CALL) return i + 1 + insn.imm;
  if (info.kind === "ldimm64" && insn.src === BPF_PSEUDO_FUNC) return i + 1 + insn.imm;
  return undefined;
}

/**
 * add_subprog_and_kfunc() + check_subprogs(): subprogram starts, ascending.
 * `extra` are starts known from BTF func_info (the exception callback).
 */
export function checkSubprogs(insns: readonly Insn[], second: Uint8Array, extra: readonly number[] = []): number[] {
  const starts = new Set<number>([0, ...extra]);
  for (let i = 0; i < insns.length; i++) {
    const t = callTarget(insns[i], i);
    if (t !== undefined) {
      if (t < 0 || t >= insns.length) throw new CfgError("call to invalid destination", i);
      if (second[t]) throw new CfgError(`jump into the middle of ldimm64 insn ${t - 1}`, i);
      starts.add(t);
    }
    if (second[i + 1]) i++;
  }
  const subprogs = [...starts].sort((a, b) => a - b);
  for (let s = 0; s < subprogs.length; s++) {
    const start = subprogs[s];
    const end = s + 1 < subprogs.length ? subprogs[s + 1] : insns.length;
    let last = start;
    for (let i = start; i < end; i++) {
      last = i;
      const t = jumpTarget(insns[i], i);
      if (t !== undefined && (t < start || t >= end)) throw new CfgError(`jump out of range from insn ${i} to ${t}`, i);
      if (second[i + 1]) i++;
    }
    const kind = opInfo(insns[last].code).kind;
    if (kind !== "exit" && kind !== "ja") throw new CfgError("last insn is not an exit or jmp", last);
  }
  return subprogs;
}

/** check_cfg(): every instruction reachable from the roots. */
export function checkCfg(insns: readonly Insn[], second: Uint8Array, roots: readonly number[] = [0]): void {
  const seen = new Uint8Array(insns.length);
  const stack: number[] = [...roots];
  for (const r of roots) seen[r] = 1;
  const push = (from: number, to: number): void => {
    if (to < 0 || to >= insns.length) throw new CfgError(`jump out of range from insn ${from} to ${to}`, from);
    if (second[to]) throw new CfgError(`jump into the middle of ldimm64 insn ${to - 1}`, from);
    if (!seen[to]) {
      seen[to] = 1;
      stack.push(to);
    }
  };
  while (stack.length) {
    const i = stack.pop()!;
    const insn = insns[i];
    const info = opInfo(insn.code);
    const size = info.kind === "ldimm64" ? 2 : 1;
    switch (info.kind) {
      case "exit":
        break;
      case "ja":
        push(i, jumpTarget(insn, i)!);
        break;
      case "jcond":
        push(i, i + 1);
        push(i, jumpTarget(insn, i)!);
        break;
      case "call": {
        const t = callTarget(insn, i);
        if (t !== undefined) push(i, t);
        push(i, i + 1);
        break;
      }
      default: {
        const t = callTarget(insn, i);
        if (t !== undefined) push(i, t);
        if (i + size < insns.length) push(i, i + size);
        else if (info.kind !== "invalid") throw new CfgError(`jump out of range from insn ${i} to ${i + size}`, i);
      }
    }
  }
  for (let i = 0; i < insns.length; i++) {
    if (second[i]) continue;
    if (!seen[i]) throw new CfgError(`unreachable insn ${i}`, i);
  }
}
