/**
 * BTF type model (include/uapi/linux/btf.h, Documentation/bpf/btf.rst).
 *
 * Plain data, one interface per kind. Type IDs index `Btf.types`; ID 0 is
 * `void`. On disk every type is a 12-byte `struct btf_type` followed by
 * kind-specific records:
 *
 *   u32 name_off
 *   u32 info    bits 0..15 vlen, 24..28 kind, 31 kind_flag
 *   u32 size|type
 *   ... INT: u32 encoding|offset|bits     ARRAY: btf_array (12)
 *       STRUCT/UNION: vlen × btf_member (12)  ENUM: vlen × btf_enum (8)
 *       ENUM64: vlen × btf_enum64 (12)   FUNC_PROTO: vlen × btf_param (8)
 *       VAR: u32 linkage                 DATASEC: vlen × btf_var_secinfo (12)
 *       DECL_TAG: s32 component_idx
 */

export const BTF_MAGIC = 0xeb9f;
/** The only BTF version. */
export const BTF_VERSION = 1;

/** Kind 0: invalid in the type section (void is type ID 0). */
export const BTF_KIND_UNKN = 0;
/** Integer. */
export const BTF_KIND_INT = 1;
/** Pointer. */
export const BTF_KIND_PTR = 2;
/** Array. */
export const BTF_KIND_ARRAY = 3;
/** Struct. */
export const BTF_KIND_STRUCT = 4;
/** Union. */
export const BTF_KIND_UNION = 5;
/** Enum with 32-bit values. */
export const BTF_KIND_ENUM = 6;
/** Forward declaration of a struct or union. */
export const BTF_KIND_FWD = 7;
/** Typedef. */
export const BTF_KIND_TYPEDEF = 8;
/** volatile qualifier. */
export const BTF_KIND_VOLATILE = 9;
/** const qualifier. */
export const BTF_KIND_CONST = 10;
/** restrict qualifier. */
export const BTF_KIND_RESTRICT = 11;
/** Function (name, linkage, FUNC_PROTO). */
export const BTF_KIND_FUNC = 12;
/** Function prototype. */
export const BTF_KIND_FUNC_PROTO = 13;
/** Variable. */
export const BTF_KIND_VAR = 14;
/** Data section with its variables. */
export const BTF_KIND_DATASEC = 15;
/** Floating point type. */
export const BTF_KIND_FLOAT = 16;
/** btf_decl_tag attribute. */
export const BTF_KIND_DECL_TAG = 17;
/** btf_type_tag attribute. */
export const BTF_KIND_TYPE_TAG = 18;
/** Enum with 64-bit values. */
export const BTF_KIND_ENUM64 = 19;
/** Highest kind this parser knows. */
export const BTF_KIND_MAX = 19;

/** BTF_INT_ENCODING bits. */
export const BTF_INT_SIGNED = 1;
/** BTF_INT_ENCODING: char. */
export const BTF_INT_CHAR = 2;
/** BTF_INT_ENCODING: bool. */
export const BTF_INT_BOOL = 4;

/** The kernel's kind names, as bpftool prints them. */
export const BTF_KIND_NAMES: readonly string[] = [
  "UNKNOWN",
  "INT",
  "PTR",
  "ARRAY",
  "STRUCT",
  "UNION",
  "ENUM",
  "FWD",
  "TYPEDEF",
  "VOLATILE",
  "CONST",
  "RESTRICT",
  "FUNC",
  "FUNC_PROTO",
  "VAR",
  "DATASEC",
  "FLOAT",
  "DECL_TAG",
  "TYPE_TAG",
  "ENUM64",
];

/** Linkage of a FUNC (enum btf_func_linkage) or a VAR (BTF_VAR_*). */
export type BtfLinkage = "static" | "global" | "extern";
/** Linkage names by their numeric value. */
export const LINKAGE_NAMES: readonly BtfLinkage[] = ["static", "global", "extern"];

interface Named {
  id: number;
  /** "" for anonymous types. */
  name: string;
}

/** Type ID 0. */
export interface BtfVoid extends Named {
  kind: "void";
}

/** BTF_KIND_INT. */
export interface BtfInt extends Named {
  kind: "int";
  size: number;
  signed: boolean;
  char: boolean;
  bool: boolean;
  /** BTF_INT_OFFSET: bit offset of the value inside the storage (0 in practice). */
  bitsOffset: number;
  /** BTF_INT_BITS. */
  bits: number;
}

/** Kinds that only refer to another type: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG. */
export interface BtfRef extends Named {
  kind: "ptr" | "typedef" | "volatile" | "const" | "restrict" | "type_tag";
  type: number;
}

/** BTF_KIND_ARRAY. */
export interface BtfArray extends Named {
  kind: "array";
  type: number;
  indexType: number;
  nelems: number;
}

/** A member of a struct or union. */
export interface BtfMember {
  name: string;
  type: number;
  /** Offset of the member from the start of the struct, in bits. */
  bitOffset: number;
  /** Bitfield width in bits, 0 for a normal member. */
  bitfieldSize: number;
}

/** BTF_KIND_STRUCT and BTF_KIND_UNION. */
export interface BtfComposite extends Named {
  kind: "struct" | "union";
  size: number;
  members: BtfMember[];
}

/** One enumerator. */
export interface BtfEnumValue {
  name: string;
  value: bigint;
}

/** BTF_KIND_ENUM and BTF_KIND_ENUM64. */
export interface BtfEnum extends Named {
  kind: "enum" | "enum64";
  size: number;
  /** kind_flag: values are signed. */
  signed: boolean;
  values: BtfEnumValue[];
}

/** BTF_KIND_FWD. */
export interface BtfFwd extends Named {
  kind: "fwd";
  fwdKind: "struct" | "union";
}

/** BTF_KIND_FUNC. */
export interface BtfFunc extends Named {
  kind: "func";
  /** The FUNC_PROTO. */
  type: number;
  linkage: BtfLinkage;
}

/** A parameter of a FUNC_PROTO. */
export interface BtfParam {
  /** "" when unnamed (always for a variadic marker). */
  name: string;
  /** 0 for the variadic marker `...`. */
  type: number;
}

/** BTF_KIND_FUNC_PROTO. */
export interface BtfFuncProto extends Named {
  kind: "func_proto";
  returnType: number;
  /** The declared parameters, without the variadic marker. */
  params: BtfParam[];
  variadic: boolean;
}

/** BTF_KIND_VAR. */
export interface BtfVar extends Named {
  kind: "var";
  type: number;
  linkage: BtfLinkage;
}

/** A variable of a DATASEC. */
export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

/** BTF_KIND_DATASEC. */
export interface BtfDatasec extends Named {
  kind: "datasec";
  size: number;
  vars: BtfVarSecinfo[];
}

/** BTF_KIND_FLOAT. */
export interface BtfFloat extends Named {
  kind: "float";
  size: number;
}

/** BTF_KIND_DECL_TAG. */
export interface BtfDeclTag extends Named {
  kind: "decl_tag";
  type: number;
  /** -1: the tag applies to the type itself; otherwise a member or parameter index. */
  componentIdx: number;
}

/** Any BTF type. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfRef
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

/** The `kind` of a BtfType. */
export type BtfKindName = BtfType["kind"];

/** The interface of kind `K` (BtfRef for "typedef", BtfComposite for "struct", ...). */
export type BtfTypeOfKind<K extends BtfKindName> = BtfType extends infer T
  ? T extends { kind: infer U }
    ? K extends U
      ? T
      : never
    : never
  : never;

/** The numeric BTF_KIND_* of a type (0 for void). */
export function kindNumber(t: BtfType): number {
  switch (t.kind) {
    case "void":
      return BTF_KIND_UNKN;
    case "int":
      return BTF_KIND_INT;
    case "ptr":
      return BTF_KIND_PTR;
    case "array":
      return BTF_KIND_ARRAY;
    case "struct":
      return BTF_KIND_STRUCT;
    case "union":
      return BTF_KIND_UNION;
    case "enum":
      return BTF_KIND_ENUM;
    case "fwd":
      return BTF_KIND_FWD;
    case "typedef":
      return BTF_KIND_TYPEDEF;
    case "volatile":
      return BTF_KIND_VOLATILE;
    case "const":
      return BTF_KIND_CONST;
    case "restrict":
      return BTF_KIND_RESTRICT;
    case "func":
      return BTF_KIND_FUNC;
    case "func_proto":
      return BTF_KIND_FUNC_PROTO;
    case "var":
      return BTF_KIND_VAR;
    case "datasec":
      return BTF_KIND_DATASEC;
    case "float":
      return BTF_KIND_FLOAT;
    case "decl_tag":
      return BTF_KIND_DECL_TAG;
    case "type_tag":
      return BTF_KIND_TYPE_TAG;
    case "enum64":
      return BTF_KIND_ENUM64;
  }
}
