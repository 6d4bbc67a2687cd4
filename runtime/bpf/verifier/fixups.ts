/**
 * The verifier's rewrites after a successful check (kernel/bpf/verifier.c
 * convert_ctx_accesses, do_misc_fixups, bpf_patch_insn_data with
 * adjust_jmp_off / adjust_subprog_starts / adjust_insn_aux_data).
 *
 *   ctx loads of __sk_buff->data / data_end / data_meta (u32 in the uapi)
 *       become 64-bit loads of the emulated skb's pointers (SKB_PTRS_OFF)
 *   tracing programs: helpers inlined from the trampoline's ctx
 *       bpf_get_func_arg_cnt   r0 = *(u64 *)(r1 - 8)
 *       bpf_get_func_ip        r0 = *(u64 *)(r1 - 16)
 *       bpf_get_func_arg       r0 = nr_args; if w2 >= w0 goto -EINVAL;
 *                              r2 <<= 3; r2 += r1; r0 = *(u64 *)(r2 + 0);
 *                              *(u64 *)(r3 + 0) = r0; r0 = 0
 *       bpf_get_func_ret       fexit/fmod_ret: *(u64 *)(r2 + 0) = ctx[nr_args]; r0 = 0
 *                              otherwise       r0 = -EOPNOTSUPP
 *
 * Patching one instruction with n keeps every jump, bpf-to-bpf call and
 * function pointer aimed at the same instruction and moves line info and
 * per-instruction facts along.
 */
import { EINVAL, EOPNOTSUPP } from "../../errno.js";
import {
  BPF_ALU64_IMM,
  BPF_ALU64_REG,
  BPF_JMP32_REG,
  BPF_JMP_A,
  BPF_LDX_MEM,
  BPF_MOV64_IMM,
  BPF_STX_MEM,
} from "../builder.js";
import {
  BPF_FUNC_get_func_arg,
  BPF_FUNC_get_func_arg_cnt,
  BPF_FUNC_get_func_ip,
  BPF_FUNC_get_func_ret,
} from "../func_ids.js";
import type { Insn } from "../insn.js";
import {
  BPF_ADD,
  BPF_DW,
  BPF_HELPER_CALL,
  BPF_JGE,
  BPF_LSH,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_REG_0,
  BPF_REG_1,
  BPF_REG_2,
  BPF_REG_3,
  opInfo,
} from "../opcodes.js";
import { BPF_MODIFY_RETURN, BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT } from "../object/uapi.js";
import type { InsnAux } from "./checker.js";
import type { VerifierLineInfo } from "./env.js";

/**
 * The emulated sk_buff behind a tc program's ctx: the uapi struct __sk_buff
 * (192 bytes) followed by the three pointers the converted loads read.
 */
export const SKB_PTRS_OFF = 192;
/** Offsets of data, data_end and data_meta pointers in the emulated skb. */
export const SKB_DATA_PTR_OFF = SKB_PTRS_OFF;
export const SKB_DATA_END_PTR_OFF = SKB_PTRS_OFF + 8;
export const SKB_DATA_META_PTR_OFF = SKB_PTRS_OFF + 16;

/** The program being rewritten. */
export interface Patchable {
  insns: Insn[];
  aux: InsnAux[];
  lineInfo: VerifierLineInfo[];
  /** Subprogram starts (moved by patches). */
  subprogStarts: number[];
}

function relField(insn: Insn): "off" | "imm" | undefined {
  const info = opInfo(insn.code);
  if (info.kind === "jcond") return "off";
  if (info.kind === "ja") return info.width === 64 ? "off" : "imm";
  if (info.kind === "call" && insn.src === BPF_PSEUDO_CALL) return "imm";
  if (info.kind === "ldimm64" && insn.src === BPF_PSEUDO_FUNC) return "imm";
  return undefined;
}

/** bpf_patch_insn_data(): replace insns[pos] by `patch` (whose own jumps are relative to themselves). */
export function patchInsn(p: Patchable, pos: number, patch: readonly Insn[]): void {
  const delta = patch.length - 1;
  if (delta === 0) {
    p.insns[pos] = patch[0];
    return;
  }
  const moved = (i: number) => (i > pos ? i + delta : i);
  const out: Insn[] = [];
  for (let i = 0; i < p.insns.length; i++) {
    if (i === pos) {
      out.push(...patch);
      continue;
    }
    const insn = p.insns[i];
    const field = relField(insn);
    if (field) {
      const t = i + 1 + insn[field];
      const ni = moved(i);
      out.push({ ...insn, [field]: moved(t) - (ni + 1) });
    } else {
      out.push(insn);
    }
    if (opInfo(insn.code).kind === "ldimm64" && i + 1 < p.insns.length) out.push(p.insns[++i]);
  }
  p.insns = out;
  const aux: InsnAux[] = [];
  p.aux.forEach((a, i) => {
    if (i === pos) for (let k = 0; k <= delta; k++) aux.push(k === 0 ? a : { seen: a.seen });
    else aux.push(a);
  });
  p.aux = aux;
  p.lineInfo = p.lineInfo.map((l) => ({ ...l, insnOff: moved(l.insnOff) }));
  p.subprogStarts = p.subprogStarts.map(moved);
}

function inlineGetFuncArg(): Insn[] {
  return [
    BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -8),
    BPF_JMP32_REG(BPF_JGE, BPF_REG_2, BPF_REG_0, 6),
    BPF_ALU64_IMM(BPF_LSH, BPF_REG_2, 3),
    BPF_ALU64_REG(BPF_ADD, BPF_REG_2, BPF_REG_1),
    BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_2, 0),
    BPF_STX_MEM(BPF_DW, BPF_REG_3, BPF_REG_0, 0),
    BPF_MOV64_IMM(BPF_REG_0, 0),
    BPF_JMP_A(1),
    BPF_MOV64_IMM(BPF_REG_0, -EINVAL),
  ];
}

function inlineGetFuncRet(eat: number): Insn[] {
  if (eat !== BPF_TRACE_FEXIT && eat !== BPF_MODIFY_RETURN) return [BPF_MOV64_IMM(BPF_REG_0, -EOPNOTSUPP)];
  return [
    BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -8),
    BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 3),
    BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1),
    BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_0, 0),
    BPF_STX_MEM(BPF_DW, BPF_REG_2, BPF_REG_3, 0),
    BPF_MOV64_IMM(BPF_REG_0, 0),
  ];
}

/** convert_ctx_accesses() for the marked __sk_buff pointer loads. */
export function convertCtxAccesses(p: Patchable): void {
  p.insns.forEach((insn, i) => {
    const conv = p.aux[i]?.ctxConvert;
    if (!conv) return;
    const off =
      conv === "skb_data" ? SKB_DATA_PTR_OFF : conv === "skb_data_end" ? SKB_DATA_END_PTR_OFF : SKB_DATA_META_PTR_OFF;
    p.insns[i] = BPF_LDX_MEM(BPF_DW, insn.dst, insn.src, off);
  });
}

/** do_misc_fixups(): inline the tracing helpers. */
export function doMiscFixups(p: Patchable, prog: { progType: number; expectedAttachType: number }): void {
  if (prog.progType !== BPF_PROG_TYPE_TRACING) return;
  for (let i = p.insns.length - 1; i >= 0; i--) {
    const insn = p.insns[i];
    if (opInfo(insn.code).kind !== "call" || insn.src !== BPF_HELPER_CALL) continue;
    switch (insn.imm) {
      case BPF_FUNC_get_func_arg:
        patchInsn(p, i, inlineGetFuncArg());
        break;
      case BPF_FUNC_get_func_ret:
        patchInsn(p, i, inlineGetFuncRet(prog.expectedAttachType));
        break;
      case BPF_FUNC_get_func_arg_cnt:
        patchInsn(p, i, [BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -8)]);
        break;
      case BPF_FUNC_get_func_ip:
        patchInsn(p, i, [BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -16)]);
        break;
    }
  }
}
