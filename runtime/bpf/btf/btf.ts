/**
 * BTF lookups and layout queries (the questions libbpf's btf.c and the
 * kernel's kernel/bpf/btf.c answer: btf__type_by_id, btf__find_by_name_kind,
 * btf__resolve_type, btf__resolve_size, btf__align_of, btf_member offsets).
 *
 * A Btf wraps the parsed types of one .BTF blob (the kernel's, a module's
 * standalone BTF, or a BPF object's). Layout follows the AArch64 LP64 C
 * ABI: pointers are 8 bytes, scalars are naturally aligned (__int128 at 16),
 * a struct is aligned to its most aligned member unless its layout shows it
 * is packed.
 *
 * Simplification: explicit `__attribute__((aligned(N)))` leaves no trace in
 * BTF; alignofType() infers alignment from members only, as libbpf does.
 */
import { LoaderError } from "../elf.js";
import { parseBtf } from "./parse.js";
import {
  BTF_KIND_NAMES,
  kindNumber,
  type BtfComposite,
  type BtfFunc,
  type BtfFuncProto,
  type BtfKindName,
  type BtfMember,
  type BtfType,
  type BtfTypeOfKind,
} from "./types.js";

const MAX_RESOLVE_DEPTH = 32;
const PTR_SIZE = 8;

const MODIFIERS = new Set<BtfKindName>(["typedef", "volatile", "const", "restrict", "type_tag"]);

/** A member found by name, possibly inside anonymous struct/union members. */
export interface MemberLocation {
  member: BtfMember;
  /** Bit offset from the start of the outermost struct. */
  bitOffset: number;
}

/** A function's prototype with named parameters, for trampolines and the verifier. */
export interface FuncSignature {
  name: string;
  func: BtfFunc;
  proto: BtfFuncProto;
}

/** Parsed BTF with name indexes and layout queries. */
export class Btf {
  readonly types: readonly BtfType[];
  readonly strings: Uint8Array;
  #byName: Map<string, number[]> | undefined;

  constructor(types: readonly BtfType[], strings: Uint8Array) {
    this.types = types;
    this.strings = strings;
  }

  /** Parse a .BTF section's bytes. */
  static parse(bytes: Uint8Array): Btf {
    const { types, strings } = parseBtf(bytes);
    return new Btf(types, strings);
  }

  /** Number of types including void (the next free ID). */
  get length(): number {
    return this.types.length;
  }

  /** Type `id`, or a LoaderError. */
  type(id: number): BtfType {
    const t = this.types[id];
    if (!Number.isInteger(id) || !t) throw new LoaderError(`BTF: unknown type id ${id} (${this.types.length} types)`);
    return t;
  }

  /** IDs of every type called `name` (any kind), in ID order. */
  idsByName(name: string): readonly number[] {
    if (!this.#byName) {
      const m = new Map<string, number[]>();
      for (const t of this.types) {
        if (!t.name) continue;
        const list = m.get(t.name);
        if (list) list.push(t.id);
        else m.set(t.name, [t.id]);
      }
      this.#byName = m;
    }
    return this.#byName.get(name) ?? [];
  }

  /** The first type called `name` of kind `kind` (btf__find_by_name_kind), or undefined. */
  find<K extends BtfKindName>(name: string, kind: K): BtfTypeOfKind<K> | undefined {
    for (const id of this.idsByName(name)) {
      const t = this.types[id];
      if (t.kind === kind) return t as BtfTypeOfKind<K>;
    }
    return undefined;
  }

  /** Like {@link find}, but a LoaderError(ENOENT-like EINVAL) when missing. */
  get<K extends BtfKindName>(name: string, kind: K): BtfTypeOfKind<K> {
    const t = this.find(name, kind);
    if (!t) throw new LoaderError(`BTF: no ${kind.toUpperCase()} named ${name}`);
    return t;
  }

  /** Skip typedefs and modifiers (const, volatile, restrict, type tags): the ID of the underlying type. */
  resolve(id: number): number {
    let t = this.type(id);
    for (let depth = 0; MODIFIERS.has(t.kind); depth++) {
      if (depth >= MAX_RESOLVE_DEPTH) throw new LoaderError(`BTF type ${id}: typedef/modifier chain too deep`);
      t = this.type((t as { type: number }).type);
    }
    return t.id;
  }

  /** The type behind typedefs and modifiers. */
  resolved(id: number): BtfType {
    return this.type(this.resolve(id));
  }

  /** Size in bytes of an object of type `id` (btf__resolve_size). */
  sizeof(id: number): number {
    let t = this.type(id);
    let mult = 1;
    for (let depth = 0; ; depth++) {
      if (depth >= MAX_RESOLVE_DEPTH) throw new LoaderError(`BTF type ${id}: type chain too deep`);
      switch (t.kind) {
        case "int":
        case "enum":
        case "enum64":
        case "float":
        case "struct":
        case "union":
        case "datasec":
          return checkedSize(id, mult * t.size);
        case "ptr":
          return checkedSize(id, mult * PTR_SIZE);
        case "typedef":
        case "volatile":
        case "const":
        case "restrict":
        case "type_tag":
        case "var":
          t = this.type(t.type);
          continue;
        case "array":
          mult *= t.nelems;
          t = this.type(t.type);
          continue;
        default:
          throw new LoaderError(`BTF type ${id}: ${describeKind(t)} has no size`);
      }
    }
  }

  /** Alignment in bytes of type `id` under the AArch64 LP64 ABI (see the header). */
  alignof(id: number): number {
    return this.#alignof(id, 0);
  }

  #alignof(id: number, depth: number): number {
    if (depth > MAX_RESOLVE_DEPTH) throw new LoaderError(`BTF type ${id}: type nesting too deep`);
    const t = this.resolved(id);
    switch (t.kind) {
      case "int":
      case "enum":
      case "enum64":
      case "float":
        return Math.min(t.size, 16);
      case "ptr":
        return PTR_SIZE;
      case "array":
        return this.#alignof(t.type, depth + 1);
      case "struct":
      case "union": {
        if (this.#isPacked(t.id, depth + 1)) return 1;
        let align = 1;
        for (const m of t.members) align = Math.max(align, this.#alignof(m.type, depth + 1));
        return align;
      }
      default:
        throw new LoaderError(`BTF type ${id}: ${describeKind(t)} has no alignment`);
    }
  }

  /**
   * True when a struct/union's layout cannot come from natural alignment:
   * a member sits at an offset its alignment does not allow, or the size
   * is not a multiple of the alignment (libbpf btf_is_struct_packed()).
   */
  isPacked(id: number): boolean {
    return this.#isPacked(id, 0);
  }

  #isPacked(id: number, depth: number): boolean {
    const t = this.resolved(id);
    if (t.kind !== "struct" && t.kind !== "union") return false;
    let maxAlign = 1;
    for (const m of t.members) {
      const align = this.#alignof(m.type, depth + 1);
      maxAlign = Math.max(maxAlign, align);
      if (m.bitfieldSize === 0 && m.bitOffset % (align * 8) !== 0) return true;
    }
    return t.size % maxAlign !== 0;
  }

  /** The struct or union behind `id`, or a LoaderError. */
  composite(id: number): BtfComposite {
    const t = this.resolved(id);
    if (t.kind !== "struct" && t.kind !== "union") {
      throw new LoaderError(`BTF type ${id}: ${describeKind(t)} is not a struct or union`);
    }
    return t;
  }

  /**
   * Find member `name` of struct/union `id`, looking through anonymous
   * struct/union members as C does; bit offset from the start of `id`.
   */
  member(id: number, name: string): MemberLocation | undefined {
    return this.#member(id, name, 0);
  }

  #member(id: number, name: string, depth: number): MemberLocation | undefined {
    if (depth > MAX_RESOLVE_DEPTH) throw new LoaderError(`BTF type ${id}: anonymous member nesting too deep`);
    const t = this.composite(id);
    for (const m of t.members) {
      if (m.name === name) return { member: m, bitOffset: m.bitOffset };
      if (m.name === "") {
        const inner = this.resolved(m.type);
        if (inner.kind !== "struct" && inner.kind !== "union") continue;
        const found = this.#member(inner.id, name, depth + 1);
        if (found) return { member: found.member, bitOffset: m.bitOffset + found.bitOffset };
      }
    }
    return undefined;
  }

  /** offsetof(struct, member) in bytes; a LoaderError for a missing member or a bitfield. */
  offsetof(id: number, name: string): number {
    const loc = this.member(id, name);
    if (!loc) throw new LoaderError(`BTF type ${id}: no member named ${name}`);
    if (loc.member.bitfieldSize !== 0 || loc.bitOffset % 8 !== 0) {
      throw new LoaderError(`BTF type ${id}: member ${name} is a bitfield`);
    }
    return loc.bitOffset / 8;
  }

  /** The FUNC called `name` with its FUNC_PROTO (the signature a trampoline models). */
  funcSignature(name: string): FuncSignature | undefined {
    const func = this.find(name, "func");
    if (!func) return undefined;
    const proto = this.type(func.type);
    if (proto.kind !== "func_proto") throw new LoaderError(`BTF FUNC ${name}: type ${func.type} is not a FUNC_PROTO`);
    return { name, func, proto };
  }

  /** The string at `off` of the string section ("" when out of range is a LoaderError). */
  string(off: number): string {
    let end = off;
    if (off < 0 || off >= this.strings.length) throw new LoaderError(`BTF: string offset ${off} out of range`);
    while (end < this.strings.length && this.strings[end] !== 0) end++;
    let s = "";
    for (let i = off; i < end; i++) s += String.fromCharCode(this.strings[i]);
    return s;
  }
}

function checkedSize(id: number, size: number): number {
  if (!Number.isSafeInteger(size) || size > 0xffffffff) throw new LoaderError(`BTF type ${id}: size overflows`);
  return size;
}

/** btf_type_str(): the kind as the kernel's verifier messages name it ("STRUCT", "PTR", "UNKNOWN" for void). */
export function btfTypeStr(t: BtfType): string {
  return t.kind === "void" ? "UNKNOWN" : t.kind.toUpperCase();
}

/** "STRUCT 'foo'" style description used in messages. */
export function describeKind(t: BtfType): string {
  const kind = t.kind === "void" ? "void" : BTF_KIND_NAMES[kindNumber(t)];
  return t.name ? `${kind} '${t.name}'` : kind;
}
