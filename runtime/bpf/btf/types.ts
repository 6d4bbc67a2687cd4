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
export const BTF_VERSION = 1;

export const BTF_KIND_UNKN = 0;
export const BTF_KIND_INT = 1;
export const BTF_KIND_PTR = 2;
export const BTF_KIND_ARRAY = 3;
export const BTF_KIND_STRUCT = 4;
export const BTF_KIND_UNION = 5;
export const BTF_KIND_ENUM = 6;
export const BTF_KIND_FWD = 7;
export const BTF_KIND_TYPEDEF = 8;
export const BTF_KIND_VOLATILE = 9;
export const BTF_KIND_CONST = 10;
export const BTF_KIND_RESTRICT = 11;
export const BTF_KIND_FUNC = 12;
export const BTF_KIND_FUNC_PROTO = 13;
export const BTF_KIND_VAR = 14;
export const BTF_KIND_DATASEC = 15;
export const BTF_KIND_FLOAT = 16;
export const BTF_KIND_DECL_TAG = 17;
export const BTF_KIND_TYPE_TAG = 18;
export const BTF_KIND_ENUM64 = 19;
export const BTF_KIND_MAX = 19;

/** BTF_INT_ENCODING bits. */
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
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
export const LINKAGE_NAMES: readonly BtfLinkage[] = ["static", "global", "extern"];

interface Named {
  id: number;
  /** "" for anonymous types. */
  name: string;
}

export interface BtfVoid extends Named {
  kind: "void";
}

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

export interface BtfRef extends Named {
  kind: "ptr" | "typedef" | "volatile" | "const" | "restrict" | "type_tag";
  type: number;
}

export interface BtfArray extends Named {
  kind: "array";
  type: number;
  indexType: number;
  nelems: number;
}

export interface BtfMember {
  name: string;
  type: number;
  /** Offset of the member from the start of the struct, in bits. */
  bitOffset: number;
  /** Bitfield width in bits, 0 for a normal member. */
  bitfieldSize: number;
}

export interface BtfComposite extends Named {
  kind: "struct" | "union";
  size: number;
  members: BtfMember[];
}

export interface BtfEnumValue {
  name: string;
  value: bigint;
}

export interface BtfEnum extends Named {
  kind: "enum" | "enum64";
  size: number;
  /** kind_flag: values are signed. */
  signed: boolean;
  values: BtfEnumValue[];
}

export interface BtfFwd extends Named {
  kind: "fwd";
  fwdKind: "struct" | "union";
}

export interface BtfFunc extends Named {
  kind: "func";
  /** The FUNC_PROTO. */
  type: number;
  linkage: BtfLinkage;
}

export interface BtfParam {
  /** "" when unnamed (always for a variadic marker). */
  name: string;
  /** 0 for the variadic marker `...`. */
  type: number;
}

export interface BtfFuncProto extends Named {
  kind: "func_proto";
  returnType: number;
  /** The declared parameters, without the variadic marker. */
  params: BtfParam[];
  variadic: boolean;
}

export interface BtfVar extends Named {
  kind: "var";
  type: number;
  linkage: BtfLinkage;
}

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

export interface BtfDatasec extends Named {
  kind: "datasec";
  size: number;
  vars: BtfVarSecinfo[];
}

export interface BtfFloat extends Named {
  kind: "float";
  size: number;
}

export interface BtfDeclTag extends Named {
  kind: "decl_tag";
  type: number;
  /** -1: the tag applies to the type itself; otherwise a member or parameter index. */
  componentIdx: number;
}

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
