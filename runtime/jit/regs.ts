/**
 * The BPF → A64 register map and the prologue geometry of the arm64 JIT
 * (arch/arm64/net/bpf_jit_comp.c: bpf2a64[], POKE_OFFSET, PROLOGUE_OFFSET).
 *
 *   BPF            A64   role
 *   r0             x8    return value (bpf-next 2026, "bpf, arm64: Map BPF_REG_0
 *                        to x8 instead of x7": x5–x7 carry stack arguments 6–8)
 *   r1 – r5        x0–x4 arguments (AAPCS64 argument registers)
 *   r6 – r9        x19–x22 callee-saved
 *   r10 (FP)       x25   read-only frame pointer of the BPF stack
 *   TMP_REG_1..3   x10, x11, x12   JIT scratch
 *   AX             x9    constant blinding / atomics scratch; also holds LR
 *                        on entry (`mov x9, x30`) for trampolines
 *   TCCNT_PTR      x26   pointer to the tail-call counter of the main frame
 *   PRIVATE_SP     x27   private stack pointer (not used here)
 *   ARENA_VM_START x28   kern_vm_start of the arena (not used here)
 *
 * x5–x7 belong to no BPF register: they hold outgoing stack arguments 6–8
 * between the r12 stores and the call (runtime/jit/stack_args.ts).
 * Simplification: no private stack and no arena, so x27/x28 are
 * only ever touched by exception-boundary programs (which save x19–x28).
 */

/** BPF_REG_AX: the hidden register of constant blinding (include/linux/filter.h). */
export const BPF_REG_AX = 11;
/** MAX_BPF_JIT_REG: AX is the last register a program can name internally. */
export const MAX_BPF_JIT_REG = 12;
export const TMP_REG_1 = MAX_BPF_JIT_REG + 0;
export const TMP_REG_2 = MAX_BPF_JIT_REG + 1;
export const TCCNT_PTR = MAX_BPF_JIT_REG + 2;
export const TMP_REG_3 = MAX_BPF_JIT_REG + 3;
export const PRIVATE_SP = MAX_BPF_JIT_REG + 4;
export const ARENA_VM_START = MAX_BPF_JIT_REG + 5;

/** bpf2a64[]: BPF register (and JIT-internal register) → A64 register number. */
export const BPF2A64: readonly number[] = Object.freeze([
  /* r0  */ 8, /* r1  */ 0, /* r2  */ 1, /* r3  */ 2, /* r4  */ 3, /* r5  */ 4, /* r6  */ 19, /* r7  */ 20,
  /* r8  */ 21, /* r9  */ 22, /* r10 */ 25, /* AX  */ 9, /* TMP_REG_1 */ 10, /* TMP_REG_2 */ 11, /* TCCNT_PTR */ 26,
  /* TMP_REG_3 */ 12, /* PRIVATE_SP */ 27, /* ARENA_VM_START */ 28,
]);

/** A64 register of BPF r0 (the exit value lives here until the epilogue's `mov x0, x8`). */
export const A64_BPF_R0 = BPF2A64[0];
/** A64 register of the BPF frame pointer r10. */
export const A64_BPF_FP = BPF2A64[10];
/** x10: TMP_REG_1, also the register of every absolute call (`blr x10`) and the PLT. */
export const A64_TMP1 = BPF2A64[TMP_REG_1];
/** x11: TMP_REG_2. */
export const A64_TMP2 = BPF2A64[TMP_REG_2];
/** x12: TMP_REG_3. */
export const A64_TMP3 = BPF2A64[TMP_REG_3];
/** x9: BPF_REG_AX. */
export const A64_AX = BPF2A64[BPF_REG_AX];
/** x26: TCCNT_PTR. */
export const A64_TCCNT_PTR = BPF2A64[TCCNT_PTR];

/** Which optional hardening instructions the JIT emits (CONFIG_ARM64_BTI_KERNEL, CONFIG_ARM64_PTR_AUTH_KERNEL). */
export interface JitFeatures {
  readonly bti: boolean;
  readonly pac: boolean;
}

/** BTI_INSNS: 1 when the kernel is built with BTI, else 0. */
export function btiInsns(f: JitFeatures): number {
  return f.bti ? 1 : 0;
}

/** PAC_INSNS: 1 when the kernel is built with pointer authentication, else 0. */
export function pacInsns(f: JitFeatures): number {
  return f.pac ? 1 : 0;
}

/** POKE_OFFSET: index of the patchable nop in a program's entry (`[bti jc] mov x9, x30; nop`). */
export function pokeOffset(f: JitFeatures): number {
  return btiInsns(f) + 1;
}

/**
 * PROLOGUE_OFFSET: index of the first instruction after the frame and
 * tail-call-counter set-up, where tail calls enter (BTI + 2 + PAC + 4).
 */
export function prologueOffset(f: JitFeatures): number {
  return btiInsns(f) + 2 + pacInsns(f) + 4;
}

/** AARCH64_BREAK_FAULT: `brk #0x100`, the fill word of JIT images and free text (Arm ARM C6.2.38 BRK). */
export const AARCH64_BREAK_FAULT = 0xd4202000;
