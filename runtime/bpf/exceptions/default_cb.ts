/**
 * The default exception callback (kernel/bpf/verifier.c do_misc_fixups:
 * "Set up the default callback"): when a program may throw and names no
 * callback with `exception_callback:`, the verifier appends a hidden
 * subprogram (add_hidden_subprog, not in func_info) that returns the
 * cookie, so the cookie passed to bpf_throw becomes the program's return
 * value:
 *
 *   r0 = r1        the cookie, first argument of the callback
 *   exit
 *
 * The JIT builds it with the exception-callback prologue (it runs on the
 * boundary program's frame; runtime/jit/prologue.ts).
 */
import { BPF_EXIT_INSN, BPF_MOV64_REG } from "../builder.js";
import type { Insn } from "../insn.js";
import { BPF_REG_0, BPF_REG_1 } from "../opcodes.js";

/** The instructions of the default callback. */
export const DEFAULT_EXCEPTION_CB: readonly Insn[] = Object.freeze([
  BPF_MOV64_REG(BPF_REG_0, BPF_REG_1),
  BPF_EXIT_INSN(),
]);
