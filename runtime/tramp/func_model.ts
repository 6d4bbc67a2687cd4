/**
 * The function model a trampoline is built for (struct btf_func_model),
 * distilled from BTF as kernel/bpf/btf.c btf_distill_func_proto() does,
 * plus what the exact AAPCS64 placement needs: each argument's kind and
 * alignment for argument passing.
 *
 * Kernel rules kept (with the kernel's messages, -EINVAL): at most
 * MAX_BPF_FUNC_ARGS (12) arguments, no variadic functions, argument sizes
 * of 1..16 bytes (struct/union included), no struct return values.
 *
 * Alignment: scalars are naturally aligned (__int128: 16); a struct or
 * union takes the largest alignment of its members (see arg_layout.ts for
 * why the struct's own aligned attribute does not count). BTF keeps no
 * alignment attributes, so the caller passes the DWARF-derived table of
 * dwarf_align.ts: a member's _Alignas raises the composite's alignment.
 * Without that table, a composite whose BTF size is larger than its members
 * explain (only an attribute can account for it, and BTF cannot say which
 * kind) is refused with -ENOTSUPP rather than guessed.
 */
import type { Btf } from "../bpf/btf/btf.js";
import type { BtfType } from "../bpf/btf/types.js";
import { EINVAL } from "../errno.js";
import { BpfError, NotSupportedError } from "../errors.js";
import { MAX_BPF_FUNC_ARGS, type ArgKind, type ArgType } from "./arg_layout.js";
import type { AlignTable } from "./dwarf_align.js";

/** A function's model: its arguments and return value. */
export interface FuncModel {
  name: string;
  args: ArgType[];
  /** Bytes of the return value (0 for void). */
  retSize: number;
  retSigned: boolean;
}

function typeName(btf: Btf, id: number): string {
  const t = btf.type(id);
  switch (t.kind) {
    case "void":
      return "void";
    case "ptr":
      return `${typeName(btf, t.type)} *`;
    case "struct":
    case "union":
    case "enum":
    case "enum64":
      return t.name ? `${t.kind === "enum64" ? "enum" : t.kind} ${t.name}` : `${t.kind} (anon)`;
    case "const":
    case "volatile":
    case "restrict":
      return `${t.kind} ${typeName(btf, t.type)}`;
    default:
      return t.name || t.kind;
  }
}

/** The name dwarf_align.ts files a composite under: "struct x", or the typedef of an anonymous one. */
function compositeKey(btf: Btf, id: number): string {
  let t = btf.type(id);
  for (let depth = 0; depth < 32; depth++) {
    if (t.kind === "typedef") {
      const target = btf.resolved(t.type);
      if ((target.kind === "struct" || target.kind === "union") && !target.name) return t.name;
      t = btf.type(t.type);
    } else if (t.kind === "const" || t.kind === "volatile" || t.kind === "restrict" || t.kind === "type_tag") {
      t = btf.type(t.type);
    } else break;
  }
  return t.kind === "struct" || t.kind === "union" ? `${t.kind} ${t.name}` : "";
}

/** Natural size of a composite from its members (what its size would be with no alignment attribute). */
function naturalSize(btf: Btf, t: Extract<BtfType, { kind: "struct" | "union" }>, align: number): number {
  let end = 0;
  for (const m of t.members) {
    const bits = m.bitfieldSize > 0 ? m.bitOffset + m.bitfieldSize : m.bitOffset + 8 * btf.sizeof(m.type);
    end = t.kind === "union" ? Math.max(end, Math.ceil(bits / 8)) : Math.max(end, Math.ceil(bits / 8));
  }
  return Math.ceil(end / align) * align;
}

/**
 * btf_distill_func_proto(): the model of function `name` in `btf`.
 * Throws BpfError(EINVAL) with the kernel's verifier message, or
 * NotSupportedError for an argument whose placement BTF cannot determine.
 */
export function btfDistillFuncProto(btf: Btf, name: string, opts: { aligns?: AlignTable } = {}): FuncModel {
  const sig = btf.funcSignature(name);
  if (!sig) throw new BpfError(EINVAL, `BTF has no FUNC ${name}`);
  const { proto } = sig;
  if (proto.params.length > MAX_BPF_FUNC_ARGS) {
    throw new BpfError(EINVAL, `The function ${name} has ${proto.params.length} arguments. Too many.`);
  }
  const ret = btf.resolved(proto.returnType);
  if (ret.kind === "struct" || ret.kind === "union") {
    throw new BpfError(EINVAL, `The function ${name} return type ${ret.kind.toUpperCase()} is unsupported.`);
  }
  const retSize = ret.kind === "void" ? 0 : btf.sizeof(proto.returnType);
  if (proto.variadic) throw new BpfError(EINVAL, `The function ${name} with variable args is unsupported.`);
  const args = proto.params.map((p, i): ArgType => {
    const t = btf.resolved(p.type);
    let kind: ArgKind;
    switch (t.kind) {
      case "int":
        kind = "int";
        break;
      case "ptr":
        kind = "ptr";
        break;
      case "enum":
      case "enum64":
        kind = "enum";
        break;
      case "struct":
      case "union":
        kind = t.kind;
        break;
      case "float":
        kind = "float";
        break;
      default:
        throw new BpfError(EINVAL, `The function ${name} arg${i} type ${t.kind.toUpperCase()} is unsupported.`);
    }
    const size = btf.sizeof(p.type);
    if (size === 0) throw new BpfError(EINVAL, `The function ${name} has malformed void argument.`);
    if (size > 16) {
      throw new BpfError(EINVAL, `The function ${name} arg${i} type ${t.kind.toUpperCase()} is unsupported.`);
    }
    const attrs = kind === "struct" || kind === "union" ? opts.aligns?.get(compositeKey(btf, p.type)) : undefined;
    const align = kind === "ptr" ? 8 : Math.max(btf.alignof(p.type), attrs?.member ?? 0);
    const arg: ArgType = {
      name: p.name,
      typeName: typeName(btf, p.type),
      kind,
      size,
      align,
      signed: t.kind === "int" ? t.signed : t.kind === "enum" || t.kind === "enum64" ? t.signed : false,
    };
    if (
      (t.kind === "struct" || t.kind === "union") &&
      !opts.aligns &&
      !btf.isPacked(p.type) &&
      naturalSize(btf, t, align) !== size
    ) {
      throw new NotSupportedError(
        `argument ${i + 1} (${arg.typeName}${p.name ? ` ${p.name}` : ""}) of ${name}: its size (${size}) is explained only by an alignment attribute, which BTF does not record; its AAPCS64 placement cannot be derived`,
      );
    }
    return arg;
  });
  return { name, args, retSize, retSigned: ret.kind === "int" ? ret.signed : false };
}
