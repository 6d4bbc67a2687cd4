/**
 * .BTF section parser (include/uapi/linux/btf.h; the kernel's checks are in
 * kernel/bpf/btf.c btf_parse_hdr(), btf_parse_str_sec(), btf_check_all_metas()).
 *
 *   struct btf_header (24 bytes)           the type and string sections
 *     u16 magic 0xeB9F  u8 version 1       follow the header at
 *     u8 flags          u32 hdr_len        hdr_len + type_off / str_off
 *     u32 type_off      u32 type_len
 *     u32 str_off       u32 str_len
 *
 * Little-endian only (a big-endian magic is refused). Every record is
 * bounds-checked, every name offset must point at a NUL-terminated string,
 * every referenced type ID must exist, FUNC must point at a FUNC_PROTO, and
 * typedef/modifier/array chains must not loop. Bad input is a LoaderError
 * naming the type ID ("BTF type 12 (STRUCT): member 3 references unknown
 * type 99"). The number of types is bounded by the section size.
 */
import { LoaderError, readCString } from "../elf.js";
import {
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_SIGNED,
  BTF_KIND_ARRAY,
  BTF_KIND_CONST,
  BTF_KIND_DATASEC,
  BTF_KIND_DECL_TAG,
  BTF_KIND_ENUM,
  BTF_KIND_ENUM64,
  BTF_KIND_FLOAT,
  BTF_KIND_FUNC,
  BTF_KIND_FUNC_PROTO,
  BTF_KIND_FWD,
  BTF_KIND_INT,
  BTF_KIND_MAX,
  BTF_KIND_NAMES,
  BTF_KIND_PTR,
  BTF_KIND_RESTRICT,
  BTF_KIND_STRUCT,
  BTF_KIND_TYPE_TAG,
  BTF_KIND_TYPEDEF,
  BTF_KIND_UNION,
  BTF_KIND_VAR,
  BTF_KIND_VOLATILE,
  BTF_MAGIC,
  BTF_VERSION,
  LINKAGE_NAMES,
  type BtfMember,
  type BtfParam,
  type BtfType,
} from "./types.js";

const HDR_SIZE = 24;
const TYPE_SIZE = 12;
/** The kernel's limits (BTF_MAX_NAME_OFFSET, MAX_RESOLVE_DEPTH). */
const MAX_NAME_OFFSET = 0xffffff;
const MAX_CHAIN = 32;

/** The parsed header and sections of a .BTF blob. */
export interface BtfData {
  /** Types indexed by ID; types[0] is void. */
  types: BtfType[];
  /** The string section. */
  strings: Uint8Array;
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

/** The string at `off` of the BTF string section. */
export function btfString(strings: Uint8Array, ref: { off: number; what: string }): string {
  if (ref.off > MAX_NAME_OFFSET) throw new LoaderError(`${ref.what}: name offset ${hex(ref.off)} too large`);
  return readCString(strings, ref);
}

function parseStrings(bytes: Uint8Array, off: number, len: number): Uint8Array {
  const strings = bytes.subarray(off, off + len);
  if (len === 0) throw new LoaderError("BTF: empty string section");
  if (strings[0] !== 0) throw new LoaderError("BTF: string section does not start with an empty string");
  if (strings[len - 1] !== 0) throw new LoaderError("BTF: string section is not NUL-terminated");
  if (len > MAX_NAME_OFFSET + 1) throw new LoaderError(`BTF: string section too large: ${len} bytes`);
  return strings;
}

function label(id: number, kind: number): string {
  return `BTF type ${id} (${BTF_KIND_NAMES[kind] ?? kind})`;
}

/** Parse the records of one type at `off`; returns the type and the offset after it. */
function parseType(
  view: DataView,
  off: number,
  end: number,
  id: number,
  strings: Uint8Array,
): { type: BtfType; next: number } {
  if (off + TYPE_SIZE > end) throw new LoaderError(`BTF type ${id}: truncated at ${hex(off)}`);
  const nameOff = view.getUint32(off, true);
  const info = view.getUint32(off + 4, true);
  const sizeOrType = view.getUint32(off + 8, true);
  const vlen = info & 0xffff;
  const kind = (info >>> 24) & 0x1f;
  const kflag = info >>> 31 === 1;
  const what = label(id, kind);
  if (kind === 0 || kind > BTF_KIND_MAX) throw new LoaderError(`BTF type ${id}: invalid kind ${kind}`);
  if ((info >>> 16) & 0xff || (info >>> 29) & 0x3) throw new LoaderError(`${what}: reserved info bits set`);
  const name = btfString(strings, { off: nameOff, what: `${what}: name` });
  let p = off + TYPE_SIZE;
  const need = (bytes: number): void => {
    if (p + bytes > end) throw new LoaderError(`${what}: records truncated (need ${bytes} bytes at ${hex(p)})`);
  };
  const noVlen = (): void => {
    if (vlen !== 0) throw new LoaderError(`${what}: vlen ${vlen} must be 0`);
  };
  const needName = (): void => {
    if (!name) throw new LoaderError(`${what}: missing name`);
  };

  switch (kind) {
    case BTF_KIND_INT: {
      noVlen();
      need(4);
      const v = view.getUint32(p, true);
      p += 4;
      const encoding = (v >>> 24) & 0xf;
      const bitsOffset = (v >>> 16) & 0xff;
      const bits = v & 0xff;
      if (![1, 2, 4, 8, 16].includes(sizeOrType)) throw new LoaderError(`${what}: invalid size ${sizeOrType}`);
      if (bits === 0 || bits > 128 || bitsOffset + bits > sizeOrType * 8) {
        throw new LoaderError(`${what}: invalid bits ${bits} at offset ${bitsOffset} for size ${sizeOrType}`);
      }
      if (encoding & ~(BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL) || [3, 5, 6, 7].includes(encoding)) {
        throw new LoaderError(`${what}: invalid encoding ${encoding}`);
      }
      return {
        type: {
          id,
          name,
          kind: "int",
          size: sizeOrType,
          signed: (encoding & BTF_INT_SIGNED) !== 0,
          char: (encoding & BTF_INT_CHAR) !== 0,
          bool: (encoding & BTF_INT_BOOL) !== 0,
          bitsOffset,
          bits,
        },
        next: p,
      };
    }
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG: {
      noVlen();
      if (kind === BTF_KIND_TYPEDEF || kind === BTF_KIND_TYPE_TAG) needName();
      const k = ({ 2: "ptr", 8: "typedef", 9: "volatile", 10: "const", 11: "restrict", 18: "type_tag" } as const)[kind];
      return { type: { id, name, kind: k, type: sizeOrType }, next: p };
    }
    case BTF_KIND_ARRAY: {
      noVlen();
      need(12);
      const type = view.getUint32(p, true);
      const indexType = view.getUint32(p + 4, true);
      const nelems = view.getUint32(p + 8, true);
      return { type: { id, name, kind: "array", type, indexType, nelems }, next: p + 12 };
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      need(vlen * 12);
      const members: BtfMember[] = [];
      for (let i = 0; i < vlen; i++, p += 12) {
        const mOff = view.getUint32(p + 8, true);
        const bitOffset = kflag ? mOff & 0xffffff : mOff;
        const bitfieldSize = kflag ? mOff >>> 24 : 0;
        if (bitOffset + bitfieldSize > sizeOrType * 8) {
          throw new LoaderError(`${what}: member ${i} at bit ${bitOffset} beyond size ${sizeOrType}`);
        }
        members.push({
          name: btfString(strings, { off: view.getUint32(p, true), what: `${what}: member ${i} name` }),
          type: view.getUint32(p + 4, true),
          bitOffset,
          bitfieldSize,
        });
      }
      return {
        type: { id, name, kind: kind === BTF_KIND_STRUCT ? "struct" : "union", size: sizeOrType, members },
        next: p,
      };
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      const is64 = kind === BTF_KIND_ENUM64;
      const rec = is64 ? 12 : 8;
      need(vlen * rec);
      if (![1, 2, 4, 8].includes(sizeOrType)) throw new LoaderError(`${what}: invalid size ${sizeOrType}`);
      const values = [];
      for (let i = 0; i < vlen; i++, p += rec) {
        const vname = btfString(strings, { off: view.getUint32(p, true), what: `${what}: value ${i} name` });
        let value: bigint;
        if (is64) {
          const lo = BigInt(view.getUint32(p + 4, true));
          const hi = BigInt(view.getUint32(p + 8, true));
          value = (hi << 32n) | lo;
          if (kflag) value = BigInt.asIntN(64, value);
        } else {
          value = kflag ? BigInt(view.getInt32(p + 4, true)) : BigInt(view.getUint32(p + 4, true));
        }
        values.push({ name: vname, value });
      }
      return { type: { id, name, kind: is64 ? "enum64" : "enum", size: sizeOrType, signed: kflag, values }, next: p };
    }
    case BTF_KIND_FWD:
      noVlen();
      needName();
      return { type: { id, name, kind: "fwd", fwdKind: kflag ? "union" : "struct" }, next: p };
    case BTF_KIND_FUNC: {
      needName();
      const linkage = LINKAGE_NAMES[vlen];
      if (!linkage) throw new LoaderError(`${what}: invalid linkage ${vlen}`);
      return { type: { id, name, kind: "func", type: sizeOrType, linkage }, next: p };
    }
    case BTF_KIND_FUNC_PROTO: {
      need(vlen * 8);
      const params: BtfParam[] = [];
      let variadic = false;
      for (let i = 0; i < vlen; i++, p += 8) {
        const pname = btfString(strings, { off: view.getUint32(p, true), what: `${what}: param ${i} name` });
        const ptype = view.getUint32(p + 4, true);
        if (ptype === 0) {
          if (i !== vlen - 1 || pname) throw new LoaderError(`${what}: param ${i} has type void`);
          variadic = true;
          continue;
        }
        params.push({ name: pname, type: ptype });
      }
      return { type: { id, name, kind: "func_proto", returnType: sizeOrType, params, variadic }, next: p };
    }
    case BTF_KIND_VAR: {
      noVlen();
      needName();
      need(4);
      const linkage = LINKAGE_NAMES[view.getUint32(p, true)];
      if (!linkage) throw new LoaderError(`${what}: invalid linkage ${view.getUint32(p, true)}`);
      return { type: { id, name, kind: "var", type: sizeOrType, linkage }, next: p + 4 };
    }
    case BTF_KIND_DATASEC: {
      needName();
      need(vlen * 12);
      const vars = [];
      for (let i = 0; i < vlen; i++, p += 12) {
        const v = {
          type: view.getUint32(p, true),
          offset: view.getUint32(p + 4, true),
          size: view.getUint32(p + 8, true),
        };
        if (v.offset + v.size > sizeOrType && sizeOrType !== 0) {
          throw new LoaderError(
            `${what}: variable ${i} at ${hex(v.offset)}+${v.size} beyond section size ${sizeOrType}`,
          );
        }
        vars.push(v);
      }
      return { type: { id, name, kind: "datasec", size: sizeOrType, vars }, next: p };
    }
    case BTF_KIND_FLOAT:
      noVlen();
      if (![2, 4, 8, 12, 16].includes(sizeOrType)) throw new LoaderError(`${what}: invalid size ${sizeOrType}`);
      return { type: { id, name, kind: "float", size: sizeOrType }, next: p };
    case BTF_KIND_DECL_TAG: {
      noVlen();
      needName();
      need(4);
      const componentIdx = view.getInt32(p, true);
      if (componentIdx < -1) throw new LoaderError(`${what}: invalid component_idx ${componentIdx}`);
      return { type: { id, name, kind: "decl_tag", type: sizeOrType, componentIdx }, next: p + 4 };
    }
  }
  throw new LoaderError(`BTF type ${id}: invalid kind ${kind}`);
}

/** Type IDs a type refers to, with what refers to them. */
function references(t: BtfType): [number, string][] {
  switch (t.kind) {
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
    case "func":
    case "var":
    case "decl_tag":
      return [[t.type, "references"]];
    case "array":
      return [
        [t.type, "element type"],
        [t.indexType, "index type"],
      ];
    case "struct":
    case "union":
      return t.members.map((m, i) => [m.type, `member ${i} references`]);
    case "func_proto":
      return [
        [t.returnType, "return type"],
        ...t.params.map((p, i): [number, string] => [p.type, `param ${i} references`]),
      ];
    case "datasec":
      return t.vars.map((v, i) => [v.type, `variable ${i} references`]);
    default:
      return [];
  }
}

const CHAIN_KINDS = new Set(["typedef", "volatile", "const", "restrict", "type_tag", "array"]);

function kindLabel(t: BtfType): string {
  return t.kind === "void" ? "void" : t.kind.toUpperCase();
}

/** Cross-type checks: references in range, FUNC → FUNC_PROTO, no typedef/modifier/array loops. */
function validate(types: BtfType[]): void {
  for (const t of types) {
    for (const [ref, what] of references(t)) {
      if (ref >= types.length) {
        throw new LoaderError(`BTF type ${t.id} (${kindLabel(t)}): ${what} unknown type ${ref}`);
      }
    }
  }
  for (const t of types) {
    if (t.kind === "func" && types[t.type].kind !== "func_proto") {
      throw new LoaderError(`BTF type ${t.id} (FUNC ${t.name}): type ${t.type} is not a FUNC_PROTO`);
    }
    if (t.kind === "decl_tag") {
      const target = types[t.type];
      const n =
        target.kind === "struct" || target.kind === "union"
          ? target.members.length
          : target.kind === "func"
            ? ((types[target.type] as { params?: unknown[] }).params?.length ?? 0)
            : -1;
      if (t.componentIdx >= 0 && t.componentIdx >= n) {
        throw new LoaderError(`BTF type ${t.id} (DECL_TAG ${t.name}): component_idx ${t.componentIdx} out of range`);
      }
    }
    if (CHAIN_KINDS.has(t.kind)) {
      let cur: BtfType = t;
      for (let depth = 0; CHAIN_KINDS.has(cur.kind); depth++) {
        if (depth > MAX_CHAIN)
          throw new LoaderError(`BTF type ${t.id} (${kindLabel(t)}): type chain loops or is too deep`);
        cur = types[(cur as { type: number }).type];
      }
    }
  }
}

/** Parse a .BTF section. Bad input is a {@link LoaderError}. */
export function parseBtf(bytes: Uint8Array): BtfData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HDR_SIZE) throw new LoaderError(`BTF: truncated header: ${bytes.length} bytes (need ${HDR_SIZE})`);
  const magic = view.getUint16(0, true);
  if (magic === 0x9feb) throw new LoaderError("BTF: big-endian data is not supported");
  if (magic !== BTF_MAGIC) throw new LoaderError(`BTF: bad magic 0x${magic.toString(16)}`);
  if (view.getUint8(2) !== BTF_VERSION) throw new LoaderError(`BTF: unsupported version ${view.getUint8(2)}`);
  if (view.getUint8(3) !== 0) throw new LoaderError(`BTF: unsupported flags 0x${view.getUint8(3).toString(16)}`);
  const hdrLen = view.getUint32(4, true);
  if (hdrLen < HDR_SIZE || hdrLen > bytes.length) throw new LoaderError(`BTF: invalid header length ${hdrLen}`);
  for (let i = HDR_SIZE; i < hdrLen; i++) {
    if (bytes[i] !== 0) throw new LoaderError(`BTF: unknown non-zero header byte at ${i}`);
  }
  const typeOff = view.getUint32(8, true);
  const typeLen = view.getUint32(12, true);
  const strOff = view.getUint32(16, true);
  const strLen = view.getUint32(20, true);
  const dataLen = bytes.length - hdrLen;
  if (typeOff % 4 !== 0) throw new LoaderError(`BTF: type section offset ${hex(typeOff)} not 4-byte aligned`);
  if (typeOff + typeLen > dataLen)
    throw new LoaderError(`BTF: type section ${hex(typeOff)}+${hex(typeLen)} beyond end of data`);
  if (strOff + strLen > dataLen)
    throw new LoaderError(`BTF: string section ${hex(strOff)}+${hex(strLen)} beyond end of data`);
  if (typeOff < strOff + strLen && strOff < typeOff + typeLen)
    throw new LoaderError("BTF: type and string sections overlap");
  const strings = parseStrings(bytes, hdrLen + strOff, strLen);

  const types: BtfType[] = [{ id: 0, name: "", kind: "void" }];
  let off = hdrLen + typeOff;
  const end = off + typeLen;
  while (off < end) {
    const { type, next } = parseType(view, off, end, types.length, strings);
    types.push(type);
    off = next;
  }
  validate(types);
  return { types, strings };
}
