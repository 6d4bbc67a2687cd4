/**
 * BTF → text in the format of `bpftool btf dump file X format raw`
 * (tools/bpf/bpftool/btf.c dump_btf_type()), one type per line with its
 * members, parameters, values or variables indented by a tab:
 *
 *   [3] STRUCT 's' size=32 vlen=2
 *   	'a' type_id=1 bits_offset=0
 *   	'x' type_id=8 bits_offset=192 bitfield_size=3
 *
 * Used by `a64bpf btf dump --format raw` and as the comparison format
 * against bpftool in tests.
 */
import type { Btf } from "./btf.js";
import { BTF_KIND_NAMES, kindNumber, type BtfType } from "./types.js";

function q(name: string): string {
  return `'${name || "(anon)"}'`;
}

function intEncoding(t: Extract<BtfType, { kind: "int" }>): string {
  if (t.signed) return "SIGNED";
  if (t.char) return "CHAR";
  if (t.bool) return "BOOL";
  return "(none)";
}

function enumValue(v: bigint, signed: boolean, is64: boolean): string {
  if (!is64) return v.toString();
  return signed ? `${v}LL` : `${v}ULL`;
}

/** The raw lines of one type. */
export function formatRawType(btf: Btf, t: BtfType): string {
  const head = `[${t.id}] ${BTF_KIND_NAMES[kindNumber(t)]} ${q(t.name)}`;
  switch (t.kind) {
    case "void":
      return `[0] VOID`;
    case "int":
      return `${head} size=${t.size} bits_offset=${t.bitsOffset} nr_bits=${t.bits} encoding=${intEncoding(t)}`;
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return `${head} type_id=${t.type}`;
    case "array":
      return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case "struct":
    case "union":
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) =>
            `\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ""}`,
        ),
      ].join("\n");
    case "enum":
    case "enum64":
      return [
        `${head} encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t${q(v.name)} val=${enumValue(v.value, t.signed, t.kind === "enum64")}`),
      ].join("\n");
    case "fwd":
      return `${head} fwd_kind=${t.fwdKind}`;
    case "func":
      return `${head} type_id=${t.type} linkage=${t.linkage}`;
    case "func_proto": {
      const params = t.params.map((p) => `\t${q(p.name)} type_id=${p.type}`);
      if (t.variadic) params.push(`\t'(anon)' type_id=0`);
      return [`${head} ret_type_id=${t.returnType} vlen=${params.length}`, ...params].join("\n");
    }
    case "var":
      return `${head} type_id=${t.type}, linkage=${t.linkage}`;
    case "datasec":
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (VAR ${q(btf.type(v.type).name)})`),
      ].join("\n");
    case "float":
      return `${head} size=${t.size}`;
    case "decl_tag":
      return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
  }
}

/** Every type except void, as bpftool prints them. */
export function btfDumpRaw(btf: Btf): string {
  return btf.types
    .slice(1)
    .map((t) => `${formatRawType(btf, t)}\n`)
    .join("");
}
