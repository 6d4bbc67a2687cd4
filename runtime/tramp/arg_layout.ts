/**
 * Where AAPCS64 puts each argument of a traced function, as clang-19
 * implements it (Procedure Call Standard for the Arm 64-bit Architecture,
 * §6.8.2 "Parameter passing rules", stage C; no SIMD/FP arguments), and the
 * BPF context layout built from it.
 *
 *   for each argument (NGRN = next general register, NSAA = next stacked
 *   argument address, both start at 0):
 *     C.7  integral/pointer ≤ 8 bytes, NGRN < 8   → x[NGRN], NGRN += 1
 *     C.8  alignment 16                          → NGRN rounded up to even
 *     C.9  integral of 16 bytes, NGRN < 7        → x[NGRN], x[NGRN+1]
 *     C.10 composite of n ≤ 8 − NGRN doublewords → x[NGRN..], NGRN += n
 *     C.11 otherwise NGRN = 8 (no later argument goes to a register)
 *     C.12 NSAA rounded up to max(8, alignment)
 *     C.13 composite → memory at NSAA, NSAA += size
 *     C.14/15 scalar → memory at NSAA, NSAA += max(8, size)
 *
 * "Alignment" is what clang uses for argument passing: for a scalar its
 * natural alignment (16 for __int128); for a composite the largest
 * alignment of its members, *including* member-level _Alignas but
 * *ignoring* an `__attribute__((aligned))` on the struct itself (verified
 * against clang-19 output: `struct { long a, b; } __attribute__((aligned(16)))`
 * goes to x1:x2 after an int, `struct { _Alignas(16) long a; long b; }` to
 * x2:x3). The kernel's calc_arg_aux() knows neither C.8 nor the C.12
 * padding; this layout does.
 *
 * The BPF program sees the arguments packed, without padding: argument i
 * occupies ⌈size/8⌉ consecutive u64 slots of ctx, slot numbers summing the
 * slots of the arguments before it (btf_ctx_access, get_ctx_arg_idx).
 *
 *   ctx:  [ a0 ][ a1 lo ][ a1 hi ][ a2 ] ... [ ret ]      (u64 slots)
 *   regs: x0 ← a0   x2:x3 ← a1 (x1 skipped by C.8)  ...
 *   stack (caller's sp at entry = trampoline FP + 32): a7 at +0, a8 at +16 ...
 */
import { EINVAL } from "../errno.js";
import { BpfError, NotSupportedError } from "../errors.js";

/** MAX_BPF_FUNC_ARGS (include/linux/bpf.h). */
export const MAX_BPF_FUNC_ARGS = 12;
/** Number of general-purpose argument registers (x0..x7). */
export const A64_ARG_REGS = 8;

export type ArgKind = "int" | "ptr" | "enum" | "struct" | "union" | "float";

/** One argument of a function model. */
export interface ArgType {
  /** Parameter name from BTF ("" when anonymous). */
  name: string;
  /** C type, for messages ("struct bpf_testmod_struct_arg_5"). */
  typeName: string;
  kind: ArgKind;
  /** Size in bytes (1..16). */
  size: number;
  /** Alignment for argument passing (see header). */
  align: number;
  /** Signed integer (BTF_FMODEL_SIGNED_ARG). */
  signed?: boolean;
}

export type ArgLocation = { kind: "reg"; reg: number } | { kind: "stack"; offset: number };

/** Where one argument lives, at entry and in the BPF context. */
export interface ArgPlacement {
  index: number;
  arg: ArgType;
  /** u64 slots the argument takes: ⌈size/8⌉. */
  slots: number;
  /** First ctx slot of the argument. */
  ctxSlot: number;
  /** First register, or offset from the caller's sp at entry. */
  loc: ArgLocation;
}

export interface ArgLayout {
  args: ArgPlacement[];
  /** Σ slots: the number of u64 argument slots of the BPF context (nr_args in ctx[-1]). */
  ctxSlots: number;
  /** Registers x0..x(regsUsed-1) may hold arguments (including skipped padding registers). */
  regsUsed: number;
  /** Bytes of stacked arguments (NSAA at the end), rounded up to 8. */
  stackBytes: number;
}

function isComposite(a: ArgType): boolean {
  return a.kind === "struct" || a.kind === "union";
}

/**
 * The AAPCS64 placement of `args` of function `func`. Refuses, with
 * -ENOTSUPP and the argument named, what the trampoline cannot honour.
 */
export function aapcs64ArgLayout(func: string, args: readonly ArgType[]): ArgLayout {
  if (args.length > MAX_BPF_FUNC_ARGS) {
    throw new NotSupportedError(
      `${func} has ${args.length} arguments: more than MAX_BPF_FUNC_ARGS (${MAX_BPF_FUNC_ARGS})`,
    );
  }
  let ngrn = 0;
  let nsaa = 0;
  let ctxSlot = 0;
  let regsUsed = 0;
  const out: ArgPlacement[] = [];
  args.forEach((arg, index) => {
    const what = `argument ${index + 1} (${arg.typeName}${arg.name ? ` ${arg.name}` : ""}) of ${func}`;
    if (arg.kind === "float") {
      throw new NotSupportedError(
        `${what}: floating-point arguments are passed in SIMD registers, not saved by the trampoline`,
      );
    }
    if (!Number.isInteger(arg.size) || arg.size < 1 || arg.size > 16) {
      throw new NotSupportedError(`${what}: ${arg.size}-byte arguments are not supported (at most 16 bytes)`);
    }
    if (![1, 2, 4, 8, 16].includes(arg.align)) {
      throw new BpfError(EINVAL, `${what}: invalid alignment ${arg.align}`);
    }
    const slots = Math.ceil(arg.size / 8);
    const composite = isComposite(arg);
    let loc: ArgLocation | undefined;
    if (!composite && arg.size <= 8 && ngrn < A64_ARG_REGS) {
      loc = { kind: "reg", reg: ngrn }; // C.7
      ngrn += 1;
    } else {
      if (arg.align === 16) ngrn += ngrn & 1; // C.8
      if (!composite && arg.size === 16 && ngrn < A64_ARG_REGS - 1) {
        loc = { kind: "reg", reg: ngrn }; // C.9
        ngrn += 2;
      } else if (composite && slots <= A64_ARG_REGS - ngrn) {
        loc = { kind: "reg", reg: ngrn }; // C.10
        ngrn += slots;
      } else {
        ngrn = A64_ARG_REGS; // C.11
        const align = Math.max(8, arg.align);
        nsaa = Math.ceil(nsaa / align) * align; // C.12
        loc = { kind: "stack", offset: nsaa };
        nsaa += composite ? arg.size : Math.max(8, arg.size); // C.13 .. C.15
      }
    }
    if (loc.kind === "reg") regsUsed = Math.max(regsUsed, loc.reg + slots);
    out.push({ index, arg, slots, ctxSlot, loc });
    ctxSlot += slots;
  });
  return { args: out, ctxSlots: ctxSlot, regsUsed, stackBytes: Math.ceil(nsaa / 8) * 8 };
}

/** One line per argument: "a1 int x2 ctx[1]" — for dumps and messages. */
export function formatArgLayout(layout: ArgLayout): string {
  return layout.args
    .map((p) => {
      const where =
        p.loc.kind === "reg"
          ? p.slots === 2
            ? `x${p.loc.reg}:x${p.loc.reg + 1}`
            : `x${p.loc.reg}`
          : `[sp+${p.loc.offset}]`;
      const ctx = p.slots === 2 ? `ctx[${p.ctxSlot}..${p.ctxSlot + 1}]` : `ctx[${p.ctxSlot}]`;
      return `${p.arg.typeName}${p.arg.name ? ` ${p.arg.name}` : ""}: ${where} -> ${ctx}`;
    })
    .join("\n");
}
