// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel-resident part of the arm64 BPF JIT (models
 * arch/arm64/net/bpf_jit_comp.c; the JIT itself is TypeScript, runtime/jit).
 *
 * dummy_tramp is the initial target of a JITed program's PLT: the
 * program's prologue is `mov x9, x30; nop`, and when the nop is poked into
 * `bl plt` while no trampoline is attached, the PLT jumps here:
 *
 *   dummy_tramp:  mov x10, x30    x30 = return address inside the program
 *                 mov x30, x9     restore the program's own return address
 *                 ret x10         continue in the program after the bl
 *
 * (No `bti j`: the simulated kernel is built without branch protection.)
 */
#include <linux/kernel.h>

__asm__(".pushsection .text, \"ax\", %progbits\n"
	".globl dummy_tramp\n"
	".type dummy_tramp, %function\n"
	".p2align 2\n"
	"dummy_tramp:\n"
	"\tmov x10, x30\n"
	"\tmov x30, x9\n"
	"\tret x10\n"
	".size dummy_tramp, . - dummy_tramp\n"
	".popsection\n");
