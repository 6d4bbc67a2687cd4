/**
 * Where a function's parameters are at its entry, from its BTF prototype
 * and the AAPCS64 argument rules (Procedure Call Standard for the Arm
 * 64-bit Architecture, §6.8.2 "Parameter passing rules", stages C.1–C.16):
 * what perf reads from the DWARF location list of each parameter
 * (probe-finder.c convert_variable_location()), expressed as perf's base
 * value and dereference chain.
 *
 *   integer, pointer, enum ≤ 8 bytes     next Xn                   "%xN"
 *   16-byte integer / 16-aligned ≤ 16    even pair Xn, Xn+1 (C.9)  "%xN"
 *   composite ≤ 16 bytes                 ceil(size/8) X registers  "%xN"
 *   composite > 16 bytes                 a pointer to a copy (B.4) "%xN" + deref 0
 *   no X register left (NGRN = 8)        stack at entry SP + NSAA  "%sp" + deref NSAA
 *   float, double, HFA                   V registers               not in pt_regs
 *
 * A stacked argument at entry is at [sp + NSAA], NSAA rounded up to the
 * argument's alignment (at least 8); perf's location for it is a
 * dereference of %sp. Parameters in V registers cannot be fetched from
 * pt_regs and are reported as such (the caller refuses them).
 *
 * Simplification: runtime/tramp/arg_layout.ts models the same rules for
 * trampolines; this copy lives here because runtime/bpf may not import
 * runtime/tramp. Variadic parameters have no location.
 */
import { EINVAL } from "../../errno.js";
import { BpfError } from "../../errors.js";
import type { Btf } from "../btf/btf.js";
import type { BtfFuncProto, BtfType } from "../btf/types.js";

/** Location of one parameter at the function's entry. */
export type ParamLocation =
  /** In X registers starting at `reg` (1 or 2 of them). */
  | { readonly kind: "reg"; readonly reg: number; readonly regs: number }
  /** A composite > 16 bytes passed by reference: its address is in X`reg`. */
  | { readonly kind: "reg-indirect"; readonly reg: number }
  /** On the stack at [entry sp + offset]. */
  | { readonly kind: "stack"; readonly offset: number }
  /** A composite > 16 bytes whose address is on the stack at [entry sp + offset]. */
  | { readonly kind: "stack-indirect"; readonly offset: number }
  /** In SIMD/FP registers (V0–V7) or on the stack as an FP value: not in pt_regs. */
  | { readonly kind: "fp"; readonly why: string };

/** A parameter with its BTF type and location. */
export interface ParamInfo {
  readonly name: string;
  /** BTF type id of the parameter (unresolved). */
  readonly type: number;
  readonly location: ParamLocation;
}

const NUM_GPR_ARGS = 8;

function roundUp(v: number, to: number): number {
  return Math.ceil(v / to) * to;
}

/** Member types of a composite, flattened through nested composites and arrays. */
function flatMembers(btf: Btf, t: BtfType, depth = 0): BtfType[] {
  if (depth > 16) throw new BpfError(EINVAL, `BTF type ${t.id}: nesting too deep`);
  const r = btf.resolved(t.id);
  if (r.kind === "struct" || r.kind === "union") {
    return r.members.flatMap((m) => flatMembers(btf, btf.type(m.type), depth + 1));
  }
  if (r.kind === "array") {
    const elems = flatMembers(btf, btf.type(r.type), depth + 1);
    return Array.from({ length: r.nelems }, () => elems).flat();
  }
  return [r];
}

/** A homogeneous floating-point aggregate (AAPCS64 §5.9.5.1): 1–4 floats of one size. */
function isHfa(btf: Btf, t: BtfType): boolean {
  const members = flatMembers(btf, t);
  if (members.length < 1 || members.length > 4) return false;
  return members.every((m) => m.kind === "float" && m.size === (members[0] as { size: number }).size);
}

/**
 * The entry locations of the parameters of `proto` (AAPCS64). Throws
 * BpfError(EINVAL) for a parameter type without a size (void, a function).
 */
export function paramLocations(btf: Btf, proto: BtfFuncProto): ParamInfo[] {
  let ngrn = 0;
  let nsaa = 0;
  const out: ParamInfo[] = [];
  const stack = (size: number, align: number): number => {
    ngrn = NUM_GPR_ARGS;
    nsaa = roundUp(nsaa, Math.max(8, align));
    const off = nsaa;
    nsaa += roundUp(size, 8);
    return off;
  };
  for (const p of proto.params) {
    const t = btf.resolved(p.type);
    let location: ParamLocation;
    if (t.kind === "float") {
      location = { kind: "fp", why: `${t.size}-byte floating-point value` };
    } else if ((t.kind === "struct" || t.kind === "union") && isHfa(btf, t)) {
      location = { kind: "fp", why: "homogeneous floating-point aggregate" };
    } else {
      const size = btf.sizeof(t.id);
      const composite = t.kind === "struct" || t.kind === "union" || t.kind === "array";
      if (size === 0 && !composite) throw new BpfError(EINVAL, `parameter ${p.name}: type has no size`);
      if (composite && size > 16) {
        if (ngrn < NUM_GPR_ARGS) location = { kind: "reg-indirect", reg: ngrn++ };
        else location = { kind: "stack-indirect", offset: stack(8, 8) };
      } else {
        const align = btf.alignof(t.id);
        if (align === 16) ngrn = roundUp(ngrn, 2);
        const regs = Math.max(1, Math.ceil(size / 8));
        if (ngrn + regs <= NUM_GPR_ARGS) {
          location = { kind: "reg", reg: ngrn, regs };
          ngrn += regs;
        } else {
          location = { kind: "stack", offset: stack(size, align) };
        }
      }
    }
    out.push({ name: p.name, type: p.type, location });
  }
  return out;
}
