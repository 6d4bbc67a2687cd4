/**
 * The per-program PLT (arch/arm64/net/bpf_jit_comp.c: struct bpf_plt,
 * build_plt), appended after the epilogue:
 *
 *   [nop]              so that `target` is 8-byte aligned
 *   plt:    ldr x10, target
 *           br x10
 *   target: .quad dummy_tramp
 *
 * bpf_arch_text_poke() reaches a trampoline beyond ±128 MiB of the
 * program's entry by pointing `target` at it and poking `bl plt` into the
 * entry nop; removing the trampoline restores dummy_tramp
 * (`mov x10, x30; mov x30, x9; ret x10`). The PLT is entered by `bl`, so it
 * needs no BTI landing pad. The target quad is not part of jited_len.
 */
import { a64Br, a64LdrLiteral, a64Nop } from "../a64/jit_macros.js";
import { emit, type JitCtx } from "./ctx.js";
import { A64_TMP1 } from "./regs.js";

/** offsetof(struct bpf_plt, target) in bytes. */
export const PLT_TARGET_OFFSET = 8;
/** sizeof_field(struct bpf_plt, target). */
export const PLT_TARGET_SIZE = 8;

/** build_plt(): the two PLT instructions (the target is written by {@link writePltTarget}). */
export function buildPlt(ctx: JitCtx): void {
  // Make sure the target is 64-bit aligned.
  if ((ctx.idx + PLT_TARGET_OFFSET / 4) % 2) emit(ctx, a64Nop());
  ctx.pltOffset = ctx.idx;
  emit(ctx, a64LdrLiteral(true, A64_TMP1, 2 * 4));
  emit(ctx, a64Br(A64_TMP1));
}

/** Store `plt.target` (little-endian u64) in the two words after the PLT instructions at `plt.offset` of `image`. */
export function writePltTarget(image: Uint32Array, plt: { offset: number; target: bigint }): void {
  const pltOffset = plt.offset;
  const target = plt.target;
  const t = BigInt.asUintN(64, target);
  image[pltOffset + 2] = Number(t & 0xffff_ffffn);
  image[pltOffset + 3] = Number(t >> 32n);
}
