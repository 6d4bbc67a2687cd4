/**
 * BPF stack arguments: arguments 6..12 of BPF functions and kfuncs, passed
 * through the r12-based stack-argument area (the 2026 bpf-next series
 * "bpf: Support stack arguments for BPF functions and kfuncs", Yonghong
 * Song, v1 of 2026-04-01, with LLVM's "[BPF] Support Stack Arguments",
 * llvm/llvm-project#189060). The facts every layer shares live here: which
 * instructions touch the area, and which argument an r12 offset names.
 *
 * Version followed: v1 of the series (the one issue 10 describes). r12 is
 * BPF_REG_STACK_ARG_BASE; each function's area starts at r12 and grows
 * down; its own incoming arguments come first, the outgoing arguments of
 * the calls it makes follow *past its incoming area*:
 *
 *   int foo(a1..a7) { ... bar(a1..a8) ... }            (the series' drawing)
 *
 *   Caller (foo)                          Callee (bar)
 *   r12-8:  [incoming arg 6]        +---> r12-8:  [incoming arg 6]
 *   r12-16: [incoming arg 7]        |+--> r12-16: [incoming arg 7]
 *   ---- incoming/outgoing boundary ||+-> r12-24: [incoming arg 8]
 *   r12-24: [outgoing arg 6 to bar]-+||   ---- incoming/outgoing boundary
 *   r12-32: [outgoing arg 7 to bar]--+|   (bar's outgoing args start at r12-32)
 *   r12-40: [outgoing arg 8 to bar]---+
 *
 *   incoming_stack_arg_depth = 8 * (nargs - 5)         (0 for <= 5 arguments)
 *   outgoing arg k (6..12) at r12 - (incoming_stack_arg_depth + 8 * (k - 5))
 *   stack_arg_depth = incoming_stack_arg_depth + max outgoing depth of its calls
 *
 * Two calls from one function with different outgoing depths share the
 * slots: the deeper call sets the outgoing depth.
 *
 *   main (no incoming)   call f6(.., a6)        call f8(.., a6, a7, a8)
 *   r12-8                [outgoing arg 6]       [outgoing arg 6]
 *   r12-16                                      [outgoing arg 7]
 *   r12-24                                      [outgoing arg 8]
 *                        stack_arg_depth = 0 + max(8, 24) = 24
 *
 * Only 8-byte loads (`r1 = *(u64 *)(r12 -8)`) and stores
 * (`*(u64 *)(r12 -16) = r1`, `*(u64 *)(r12 -16) = 7`) name r12; a load
 * reads an incoming slot, a store writes either kind. The later versions
 * (v7 on, and the merged commits of May 2026) renamed the register
 * BPF_REG_PARAMS and moved it to r11, with fixed offsets that no longer
 * depend on the incoming depth: incoming args at r11+8 (arg 6), r11+16, ...,
 * outgoing at r11-8 (arg 6), r11-16, ...; the arm64 JIT commit ("bpf,
 * arm64: Add JIT support for stack arguments", lore
 * 20260513045158.2402494-1-yonghong.song@linux.dev) speaks of that
 * convention. The machine convention is the same in both: arguments 6-8
 * in x5-x7, 9-12 on the stack (runtime/jit/stack_args.ts).
 */
import type { Insn } from "./insn.js";
import { BPF_REG_STACK_ARG_BASE, MAX_BPF_FUNC_ARGS, MAX_BPF_FUNC_REG_ARGS, opInfo } from "./opcodes.js";

/** Bytes of one stack-argument slot. */
export const STACK_ARG_SLOT = 8;
/** Stack arguments a call can pass (arguments 6..12). */
export const MAX_STACK_ARGS = MAX_BPF_FUNC_ARGS - MAX_BPF_FUNC_REG_ARGS;
/** Largest incoming or outgoing part of a stack-argument area, in bytes. */
export const MAX_STACK_ARG_DEPTH = MAX_STACK_ARGS * STACK_ARG_SLOT;

/** incoming_stack_arg_depth of a function taking `nargs` arguments: 8 bytes per argument past the fifth. */
export function incomingStackArgDepth(nargs: number): number {
  return Math.max(0, nargs - MAX_BPF_FUNC_REG_ARGS) * STACK_ARG_SLOT;
}

/** The r12 offset of incoming argument `arg` (6..12): -8 for argument 6. */
export function incomingArgOff(arg: number): number {
  return -(arg - MAX_BPF_FUNC_REG_ARGS) * STACK_ARG_SLOT;
}

/** The r12 offset of outgoing argument `arg` (6..12) of a function whose incoming depth is `incoming`. */
export function outgoingArgOff(arg: number, incoming: number): number {
  return -(incoming + (arg - MAX_BPF_FUNC_REG_ARGS) * STACK_ARG_SLOT);
}

/** What an r12 offset names in a function with `incoming` bytes of incoming arguments. */
export type StackArgSlot =
  /** An incoming argument: `arg` is 6..12, `index` 0-based (arg - 6). */
  | { readonly kind: "incoming"; readonly arg: number; readonly index: number }
  /** An argument of the next call: `arg` is 6..12, `index` 0-based. */
  | { readonly kind: "outgoing"; readonly arg: number; readonly index: number }
  /** Not a slot: at or above r12, not a multiple of 8, or past the 7 outgoing arguments. */
  | { readonly kind: "invalid"; readonly reason: StackArgOffError };

/** Why an r12 offset names no slot. */
export type StackArgOffError = "above" | "misaligned" | "beyond";

/** Classify r12 offset `off` of a function with `incoming` bytes of incoming stack arguments. */
export function stackArgSlot(off: number, incoming: number): StackArgSlot {
  if (off >= 0) return { kind: "invalid", reason: "above" };
  if (off % STACK_ARG_SLOT !== 0) return { kind: "invalid", reason: "misaligned" };
  const depth = -off;
  if (depth <= incoming) {
    const index = depth / STACK_ARG_SLOT - 1;
    return { kind: "incoming", arg: index + MAX_BPF_FUNC_REG_ARGS + 1, index };
  }
  const index = (depth - incoming) / STACK_ARG_SLOT - 1;
  if (index >= MAX_STACK_ARGS) return { kind: "invalid", reason: "beyond" };
  return { kind: "outgoing", arg: index + MAX_BPF_FUNC_REG_ARGS + 1, index };
}

/** How an instruction uses the stack-argument area, if it does. */
export type StackArgAccess = { readonly write: boolean; readonly size: number; readonly off: number } | undefined;

/**
 * The stack-argument access of `insn`: a load (BPF_MEM, not the
 * sign-extending BPF_MEMSX) with src r12 or a store (ST/STX, BPF_MEM) with
 * dst r12; undefined for every other instruction. Other uses of r12 are
 * invalid instructions (codec.ts checkReg).
 */
export function stackArgAccess(insn: Insn): StackArgAccess {
  const info = opInfo(insn.code);
  if (info.kind === "ldx" && !info.signed && insn.src === BPF_REG_STACK_ARG_BASE) {
    return { write: false, size: info.size, off: insn.off };
  }
  if ((info.kind === "st" || info.kind === "stx") && insn.dst === BPF_REG_STACK_ARG_BASE) {
    return { write: true, size: info.size, off: insn.off };
  }
  return undefined;
}

/**
 * The message for a store to an r12 offset that names no slot:
 * "stack arg write offset %d exceeds max 7 stack args" (the series' words for
 * a slot past argument 12), "... is misaligned", "... is not below r12".
 */
export function stackArgWriteOffError(off: number, reason: StackArgOffError): string {
  const why =
    reason === "beyond"
      ? `exceeds max ${MAX_STACK_ARGS} stack args`
      : reason === "misaligned"
        ? "is misaligned"
        : "is not below r12";
  return `stack arg write offset ${off} ${why}`;
}
