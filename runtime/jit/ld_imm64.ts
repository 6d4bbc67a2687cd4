/**
 * `dst = imm64` (BPF_LD | BPF_IMM | BPF_DW, two slots): the BPF_LD case of
 * arch/arm64/net/bpf_jit_comp.c build_insn.
 *
 *   src 0                    the constant, shortest movz/movn + movk
 *   BPF_PSEUDO_FUNC (4)      address of the subprogram at pc+imm: a fixed
 *                            four-instruction address load (the extra pass
 *                            fills it in)
 *   other pseudo sources     map fd / map value / BTF id ...: the loader's
 *                            resolver gives the 64-bit value, loaded like a
 *                            constant
 */
import { BPF_PSEUDO_FUNC } from "../bpf/opcodes.js";
import { emitA64MovI64, emitAddrMovI64 } from "./alu.js";
import { jitFail, type JitCtx } from "./ctx.js";
import { BPF2A64 } from "./regs.js";

/** Emit the ld_imm64 at whole-program slot `slot` (both slots). */
export function emitLdImm64(ctx: JitCtx, slot: number): void {
  const insns = ctx.func.insns;
  const insn = insns[slot];
  const next = insns[slot + 1];
  const dst = BPF2A64[insn.dst];
  if (insn.src === 0) {
    emitA64MovI64(ctx, dst, (BigInt(next.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0));
    return;
  }
  const r = ctx.resolve;
  if (insn.src === BPF_PSEUDO_FUNC) {
    emitAddrMovI64(ctx, dst, r.func(r.funcAt(slot + 1 + insn.imm)));
    return;
  }
  const value = r.pseudoLd(insn, next, slot);
  if (value < 0n || value >= 1n << 64n)
    jitFail(ctx, { slot: slot, reason: `ld_imm64 value out of range: 0x${value.toString(16)}` });
  emitA64MovI64(ctx, dst, value);
}
