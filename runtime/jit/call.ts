/**
 * Calls and tail calls (arch/arm64/net/bpf_jit_comp.c: emit_call,
 * emit_bpf_tail_call, the BPF_JMP | BPF_CALL case of build_insn).
 *
 *   call helper#id / kfunc / pc+k     movz x10, #a0; movk x10, #a1, lsl #16
 *                                     movk x10, #a2, lsl #32; movk x10, #a3, lsl #48
 *                                     blr x10
 *                                     mov x8, x0         r0 = the return value
 *
 * Arguments 6..12 (stack arguments) are already in place when the call is
 * emitted: the r12 stores put them in x5–x7 and at [SP+0..]
 * (stack_args.ts); nothing between those stores and the blr touches them.
 *
 * Every call goes through an absolute address of fixed length, so the
 * extra pass of a multi-function program can fill in callee addresses
 * without changing any offset. (The kernel emits `bl` when the target is
 * within ±128 MiB once the final image address is known; the indirect
 * form is what it emits for everything else.)
 *
 * bpf_tail_call(ctx, array, index) — helper 12, which the kernel's
 * verifier rewrites to BPF_TAIL_CALL — becomes:
 *
 *   if (index >= array->map.max_entries) goto out;     w2 is the index (u32)
 *   if (*tcc_ptr >= MAX_TAIL_CALL_CNT) goto out;       x26 → the main frame's count
 *   prog = array->ptrs[index]; if (!prog) goto out;
 *   *tcc_ptr = count + 1;                              only when a program is there
 *   unwind this function's stack and callee-saved registers;
 *   br prog->bpf_func + 4 * PROLOGUE_OFFSET            the target reuses our frame
 *                                                      record and tcc pair
 * out:
 *
 * Simplification: the kernel's inline versions of
 * bpf_get_smp_processor_id and bpf_get_current_task (which read the task
 * from sp_el0) are plain helper calls here.
 */
import {
  a64AddI,
  a64Add,
  a64BCond,
  a64Blr,
  a64Br,
  a64Cbz,
  a64Cmp,
  a64Ldr32,
  a64Ldr64,
  a64Ldr64I,
  a64Lsl,
  a64Mov,
  a64Nop,
  a64Str64I,
} from "../a64/jit_macros.js";
import { A64_COND_HS } from "../a64/cond.js";
import { A64_SP } from "../a64/regs.js";
import { BPF_FUNC_tail_call } from "../bpf/func_ids.js";
import { BPF_ARRAY_MAX_ENTRIES_OFF, BPF_ARRAY_PTRS_OFF, BPF_PROG_BPF_FUNC_OFF } from "../bpf/kernel_structs.js";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL, MAX_TAIL_CALL_CNT } from "../bpf/opcodes.js";
import { emitA64MovI64, emitAddrMovI64 } from "./alu.js";
import { emit, jitFail, type JitCtx } from "./ctx.js";
import { popCalleeRegs } from "./prologue.js";
import { A64_BPF_R0, A64_TCCNT_PTR, A64_TMP1, A64_TMP2, A64_TMP3, BPF2A64, prologueOffset } from "./regs.js";

/** emit_call(): an absolute call through x10 (see the file header). */
export function emitCall(ctx: JitCtx, target: bigint): void {
  emitAddrMovI64(ctx, A64_TMP1, target);
  emit(ctx, a64Blr(A64_TMP1));
}

/** The BPF_JMP | BPF_CALL instruction at whole-program slot `slot`. */
export function emitBpfCall(ctx: JitCtx, slot: number): void {
  const insn = ctx.func.insns[slot];
  const r = ctx.resolve;
  let target: bigint;
  if (insn.src === BPF_PSEUDO_CALL) {
    target = r.func(r.funcAt(slot + 1 + insn.imm));
  } else if (insn.src === BPF_PSEUDO_KFUNC_CALL) {
    target = r.kfunc(insn.imm, insn.off, slot);
  } else if (insn.imm === BPF_FUNC_tail_call) {
    return emitBpfTailCall(ctx);
  } else {
    target = r.helper(insn.imm, slot);
  }
  if (target < 0n || target >= 1n << 64n)
    jitFail(ctx, { slot: slot, reason: `call target out of range: 0x${target.toString(16)}` });
  emitCall(ctx, target);
  emit(ctx, a64Mov(true, A64_BPF_R0, 0));
}

/** emit_bpf_tail_call(): see the file header. */
export function emitBpfTailCall(ctx: JitCtx): void {
  const r2 = BPF2A64[2];
  const r3 = BPF2A64[3];
  const tmp = A64_TMP1;
  const prg = A64_TMP2;
  const tcc = A64_TMP3;
  const ptr = A64_TCCNT_PTR;

  // if (index >= array->map.max_entries) goto out;
  emitA64MovI64(ctx, tmp, BigInt(BPF_ARRAY_MAX_ENTRIES_OFF));
  emit(ctx, a64Ldr32(tmp, r2, tmp));
  emit(ctx, a64Mov(false, r3, r3));
  emit(ctx, a64Cmp(false, r3, tmp));
  const branch1 = ctx.idx;
  emit(ctx, a64Nop());

  // if ((*tail_call_cnt_ptr) >= MAX_TAIL_CALL_CNT) goto out;
  emitA64MovI64(ctx, tmp, BigInt(MAX_TAIL_CALL_CNT));
  emit(ctx, a64Ldr64I(tcc, ptr, 0));
  emit(ctx, a64Cmp(true, tcc, tmp));
  const branch2 = ctx.idx;
  emit(ctx, a64Nop());

  // (*tail_call_cnt_ptr)++;
  emit(ctx, a64AddI(true, tcc, tcc, 1));

  // prog = array->ptrs[index]; if (prog == NULL) goto out;
  emitA64MovI64(ctx, tmp, BigInt(BPF_ARRAY_PTRS_OFF));
  emit(ctx, a64Add(true, tmp, r2, tmp));
  emit(ctx, a64Lsl(true, prg, r3, 3));
  emit(ctx, a64Ldr64(prg, tmp, prg));
  const branch3 = ctx.idx;
  emit(ctx, a64Nop());

  // Update tail_call_cnt if the slot is populated.
  emit(ctx, a64Str64I(tcc, ptr, 0));

  // Restore SP and the callee-saved registers: the target builds its own.
  const frame = ctx.stackSize + ctx.stackArgSize;
  if (frame) emit(ctx, a64AddI(true, A64_SP, A64_SP, frame));
  popCalleeRegs(ctx);

  // goto *(prog->bpf_func + prologue_offset);
  emitA64MovI64(ctx, tmp, BigInt(BPF_PROG_BPF_FUNC_OFF));
  emit(ctx, a64Ldr64(tmp, prg, tmp));
  emit(ctx, a64AddI(true, tmp, tmp, 4 * prologueOffset(ctx.opts)));
  emit(ctx, a64Br(tmp));

  // out:
  const image = ctx.image;
  if (image !== null) {
    image[branch1] = a64BCond(A64_COND_HS, ctx.idx - branch1);
    image[branch2] = a64BCond(A64_COND_HS, ctx.idx - branch2);
    image[branch3] = a64Cbz(true, prg, ctx.idx - branch3);
  }
}
