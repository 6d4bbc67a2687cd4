/**
 * BTF → C header writer (the semantics of `bpftool btf dump file X format c`,
 * i.e. libbpf's btf_dump: the vmlinux.h that BPF programs include).
 *
 * Output:
 *
 *   #ifndef __VMLINUX_H__ / #define __VMLINUX_H__
 *   #ifndef BPF_NO_PRESERVE_ACCESS_INDEX
 *   #pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
 *   #endif
 *   ...types in dependency order...
 *   #ifndef BPF_NO_PRESERVE_ACCESS_INDEX / #pragma clang attribute pop / #endif
 *   #endif
 *
 * Ordering. A definition is emitted after every type it needs complete:
 * members by value, array elements, typedefs it names. A struct or union
 * reached only through a pointer (or a function prototype) needs just a
 * forward declaration `struct foo;`, emitted before first use; that is what
 * breaks cycles (struct list_head { struct list_head *next; }). A typedef
 * of a struct only needs the struct declared (`typedef struct foo foo_t;`
 * is valid for an incomplete foo). Enums cannot be forward-declared in C,
 * so they are always defined first. Anonymous structs, unions and enums
 * used by a member or a typedef are written inline; anonymous enums used
 * by nothing are written at top level (their enumerators are the point).
 *
 * Layout. Members are written in order; where natural alignment would not
 * put a member at its BTF offset, anonymous bit-fields (`long: 24;`) fill
 * the gap, as bpftool does, without crossing a 64-bit boundary (so they
 * never add padding of their own). Structs whose layout shows packing get
 * `__attribute__((packed))`. A struct with no named members (uapi opaque
 * types such as struct bpf_timer) gets `__attribute__((aligned(N)))` with
 * N the largest power of two ≤ 8 dividing its size: BTF does not record
 * alignment, and an unnamed bit-field does not give a struct alignment
 * for -target bpf. Names used twice for different types get the suffix
 * ___2, ___3 (libbpf's convention).
 */
import { LoaderError } from "../elf.js";
import type { Btf } from "./btf.js";
import type { BtfComposite, BtfEnum, BtfType } from "./types.js";

/** Options of {@link btfDumpC}. */
export interface DumpCOptions {
  /** Include guard name (default __VMLINUX_H__). */
  guard?: string;
  /** Wrap records in the preserve_access_index pragma (default true). */
  preserveAccessIndex?: boolean;
}

const BASE_WORDS = new Set([
  "signed",
  "unsigned",
  "char",
  "short",
  "int",
  "long",
  "_Bool",
  "__int128",
  "float",
  "double",
]);

function isIdentifier(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** A valid C spelling for an INT/FLOAT type (pahole may emit artificial names like DW_ATE_unsigned_64). */
function baseTypeName(t: Extract<BtfType, { kind: "int" | "float" }>): string {
  if (t.name && t.name.split(/\s+/).every((w) => BASE_WORDS.has(w))) return t.name;
  if (t.kind === "float") return t.size === 4 ? "float" : t.size === 8 ? "double" : "long double";
  if (t.bool) return "_Bool";
  const u = t.signed ? "" : "unsigned ";
  switch (t.size) {
    case 1:
      return t.signed ? "signed char" : "unsigned char";
    case 2:
      return `${u}short`;
    case 4:
      return `${u}int`;
    case 8:
      return `${u}long long`;
    default:
      return `${u}__int128`;
  }
}

type State = "none" | "declared" | "visiting" | "done";

interface Dep {
  id: number;
  /** true: needs the complete type; false: a declaration is enough. */
  strong: boolean;
}

const TAB = "\t";
/** Largest gap written as padding bit-fields (128 KiB); a larger one is malformed input. */
const MAX_PADDING_BITS = 1 << 20;
/** Upper bound on the generated text (anonymous types are inlined, so hostile BTF could blow up). */
const MAX_OUTPUT_CHARS = 64 << 20;

class CWriter {
  readonly #btf: Btf;
  readonly #out: string[] = [];
  readonly #state = new Map<number, State>();
  readonly #names = new Map<number, string>();
  readonly #enumerators = new Map<number, string[]>();
  /** Anonymous enums/structs that some member or typedef writes inline. */
  readonly #inlined = new Set<number>();
  /** Characters generated so far (see MAX_OUTPUT_CHARS). */
  #generated = 0;
  /** FWD id → the struct/union of the same name defined elsewhere in the BTF. */
  readonly #fwdTarget = new Map<number, number>();

  constructor(btf: Btf) {
    this.#btf = btf;
    this.#assignNames();
    this.#findInlined();
  }

  /** Every top-level unit, in dependency order. */
  writeAll(): string {
    for (const t of this.#btf.types) {
      if (this.#isUnit(t)) this.#ensure(t.id);
    }
    return this.#out.join("");
  }

  /** A C declaration of `name` with type `id` (empty name: an abstract declarator). */
  declare(id: number, name: string, lvl = 0): string {
    return this.#declare(id, name, lvl, 0);
  }

  // --- naming --------------------------------------------------------------

  #assignNames(): void {
    const tags = new Map<string, number>();
    const idents = new Map<string, number>();
    const used = new Set<string>();
    const bump = (m: Map<string, number>, name: string): string => {
      const n = (m.get(name) ?? 0) + 1;
      m.set(name, n);
      return n === 1 ? name : `${name}___${n}`;
    };
    for (const t of this.#btf.types) {
      if (!t.name) {
        if (t.kind === "enum" || t.kind === "enum64") this.#nameEnumerators(t, used);
        continue;
      }
      switch (t.kind) {
        case "struct":
        case "union":
        case "enum":
        case "enum64":
          this.#names.set(t.id, bump(tags, t.name));
          if (t.kind === "enum" || t.kind === "enum64") this.#nameEnumerators(t, used);
          break;
        case "typedef":
          this.#names.set(t.id, bump(idents, t.name));
          break;
        case "fwd":
          this.#names.set(t.id, t.name);
          break;
        default:
          break;
      }
    }
    // A FWD whose struct is defined elsewhere stands for that struct.
    const defined = new Map<string, number>();
    for (const t of this.#btf.types) {
      if ((t.kind === "struct" || t.kind === "union") && t.name && !defined.has(t.name)) defined.set(t.name, t.id);
    }
    for (const t of this.#btf.types) {
      const target = t.kind === "fwd" ? defined.get(t.name) : undefined;
      if (target !== undefined) this.#fwdTarget.set(t.id, target);
    }
  }

  #nameEnumerators(t: BtfEnum, used: Set<string>): void {
    const names = t.values.map((v) => {
      let name = v.name;
      for (let n = 2; used.has(name); n++) name = `${v.name}___${n}`;
      used.add(name);
      return name;
    });
    this.#enumerators.set(t.id, names);
  }

  #name(t: BtfType): string {
    const n = this.#names.get(t.id) ?? t.name;
    if (!isIdentifier(n)) throw new LoaderError(`BTF type ${t.id}: name ${JSON.stringify(n)} is not a C identifier`);
    return n;
  }

  /** Anonymous enums and composites reached by value from members or typedefs are written inline there. */
  #findInlined(): void {
    const mark = (id: number): void => {
      let t = this.#btf.type(id);
      for (let i = 0; i < 64 && ["const", "volatile", "restrict", "type_tag", "array", "ptr"].includes(t.kind); i++) {
        t = this.#btf.type((t as { type: number }).type);
      }
      if (t.name === "" && ["enum", "enum64", "struct", "union"].includes(t.kind)) this.#inlined.add(t.id);
    };
    for (const t of this.#btf.types) {
      if (t.kind === "struct" || t.kind === "union") for (const m of t.members) mark(m.type);
      else if (t.kind === "typedef") mark(t.type);
      else if (t.kind === "func_proto") [t.returnType, ...t.params.map((p) => p.type)].forEach(mark);
    }
  }

  #isUnit(t: BtfType): boolean {
    switch (t.kind) {
      case "struct":
      case "union":
      case "typedef":
        return t.name !== "";
      case "fwd":
        return !this.#fwdTarget.has(t.id);
      case "enum":
      case "enum64":
        return t.name !== "" || !this.#inlined.has(t.id);
      default:
        return false;
    }
  }

  // --- ordering ------------------------------------------------------------

  /** Types `id` depends on when written in a context that is `strong` (by value) or not. */
  #deps(id: number, strong: boolean, out: Dep[], depth = 0): void {
    if (depth > 64) throw new LoaderError(`BTF type ${id}: type nesting too deep to write as C`);
    const t = this.#btf.type(id);
    switch (t.kind) {
      case "struct":
      case "union":
        if (t.name) out.push({ id, strong });
        else for (const m of t.members) this.#deps(m.type, strong, out, depth + 1);
        return;
      case "enum":
      case "enum64":
        if (t.name) out.push({ id, strong: true });
        return;
      case "fwd":
        out.push({ id: this.#fwdTarget.get(id) ?? id, strong: false });
        return;
      case "typedef":
        out.push({ id, strong: true });
        // A typedef used by value needs what it names complete too.
        if (strong) this.#deps(t.type, true, out, depth + 1);
        return;
      case "ptr":
        this.#deps(t.type, false, out, depth + 1);
        return;
      case "array":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        this.#deps(t.type, strong, out, depth + 1);
        return;
      case "func_proto":
        this.#deps(t.returnType, false, out, depth + 1);
        for (const p of t.params) this.#deps(p.type, false, out, depth + 1);
        return;
      default:
        return;
    }
  }

  /** What a unit needs before it is written. */
  #unitDeps(t: BtfType): Dep[] {
    const out: Dep[] = [];
    if (t.kind === "struct" || t.kind === "union") {
      for (const m of t.members) this.#deps(m.type, true, out);
    } else if (t.kind === "typedef") {
      const target = this.#btf.type(t.type);
      // typedef struct foo foo_t; needs only a declaration of foo.
      const direct = (target.kind === "struct" || target.kind === "union") && target.name !== "";
      this.#deps(t.type, !direct, out);
    }
    return out;
  }

  #ensure(id: number): void {
    const state = this.#state.get(id) ?? "none";
    if (state === "done" || state === "visiting") return;
    const t = this.#btf.type(id);
    this.#state.set(id, "visiting");
    const deps = this.#unitDeps(t);
    for (const d of deps) {
      const dt = this.#btf.type(d.id);
      const needsDefinition = d.strong || dt.kind === "typedef" || dt.kind === "enum" || dt.kind === "enum64";
      if (needsDefinition && dt.kind !== "fwd") this.#ensure(d.id);
    }
    for (const d of deps) {
      const dt = this.#btf.type(d.id);
      const self = d.id === id;
      if ((dt.kind === "struct" || dt.kind === "union" || dt.kind === "fwd") && !self && !this.#isComplete(d.id)) {
        this.#forwardDeclare(dt);
      }
    }
    this.#emitUnit(t);
    this.#state.set(id, "done");
  }

  #isComplete(id: number): boolean {
    const s = this.#state.get(id);
    return s === "done" || s === "declared";
  }

  #forwardDeclare(t: BtfType): void {
    if (this.#isComplete(t.id)) return;
    const kw = t.kind === "union" || (t.kind === "fwd" && t.fwdKind === "union") ? "union" : "struct";
    this.#out.push(`${kw} ${this.#name(t)};\n\n`);
    this.#state.set(t.id, t.kind === "fwd" ? "done" : "declared");
  }

  // --- writing -------------------------------------------------------------

  #emitUnit(t: BtfType): void {
    switch (t.kind) {
      case "struct":
      case "union":
        this.#out.push(`${this.#compositeBody(t, 0)};\n\n`);
        return;
      case "enum":
      case "enum64":
        this.#out.push(`${this.#enumBody(t, 0)};\n\n`);
        return;
      case "typedef":
        this.#out.push(`typedef ${this.#declare(t.type, this.#name(t), 0, 0)};\n\n`);
        return;
      case "fwd":
        this.#out.push(`${t.fwdKind} ${this.#name(t)};\n\n`);
        return;
      default:
        return;
    }
  }

  #declare(id: number, inner: string, lvl: number, depth: number): string {
    if (depth > 64) throw new LoaderError(`BTF type ${id}: type nesting too deep to write as C`);
    const t = this.#btf.type(id);
    const join = (base: string, decl: string): string => (decl ? `${base} ${decl}` : base);
    const wrapped = (): string => (inner.startsWith("*") ? `(${inner})` : inner);
    switch (t.kind) {
      case "void":
        return join("void", inner);
      case "int":
      case "float":
        return join(baseTypeName(t), inner);
      case "struct":
      case "union":
        return join(t.name ? `${t.kind} ${this.#name(t)}` : this.#compositeBody(t, lvl), inner);
      case "enum":
      case "enum64":
        return join(t.name ? `enum ${this.#name(t)}` : this.#enumBody(t, lvl), inner);
      case "fwd":
        return join(`${t.fwdKind} ${this.#name(t)}`, inner);
      case "typedef":
        return join(this.#name(t), inner);
      case "ptr":
        return this.#declare(t.type, `*${inner}`, lvl, depth + 1);
      case "const":
      case "volatile":
      case "restrict": {
        const q = t.kind;
        const target = this.#btf.type(t.type);
        if (target.kind === "ptr") return this.#declare(t.type, inner ? `${q} ${inner}` : q, lvl, depth + 1);
        // const int a[3]: the qualifier belongs to the elements; dropped when they are pointers.
        if (target.kind === "array" && this.#btf.resolved(target.type).kind === "ptr") {
          return this.#declare(t.type, inner, lvl, depth + 1);
        }
        return `${q} ${this.#declare(t.type, inner, lvl, depth + 1)}`;
      }
      case "type_tag":
        return this.#declare(
          t.type,
          `__attribute__((btf_type_tag("${t.name}")))${inner ? ` ${inner}` : ""}`,
          lvl,
          depth + 1,
        );
      case "array":
        return this.#declare(t.type, `${wrapped()}[${t.nelems}]`, lvl, depth + 1);
      case "func_proto": {
        const params = t.params.map((p) => this.#declare(p.type, p.name, lvl, depth + 1));
        if (t.variadic) params.push("...");
        const list = params.length ? params.join(", ") : "void";
        return this.#declare(t.returnType, `${wrapped()}(${list})`, lvl, depth + 1);
      }
      default:
        throw new LoaderError(`BTF type ${id}: ${t.kind.toUpperCase()} cannot appear in a C declaration`);
    }
  }

  #compositeBody(t: BtfComposite, lvl: number): string {
    if (lvl > 32) throw new LoaderError(`BTF type ${t.id}: anonymous types nested too deep to write as C`);
    const head = t.name ? `${t.kind} ${this.#name(t)}` : t.kind;
    const ind = TAB.repeat(lvl + 1);
    const lines: string[] = [];
    const packed = this.#btf.isPacked(t.id);
    let cur = 0;
    for (const m of t.members) {
      if (t.kind === "struct") {
        const natural = this.#naturalOffset(cur, m, packed);
        if (m.bitOffset > natural) lines.push(...padding(cur, m.bitOffset).map((p) => `${ind}${p}`));
      }
      const decl = this.#declare(m.type, m.name, lvl + 1, 0);
      lines.push(`${ind}${decl}${m.bitfieldSize ? `: ${m.bitfieldSize}` : ""};`);
      const end = m.bitOffset + (m.bitfieldSize || this.#btf.sizeof(m.type) * 8);
      cur = t.kind === "struct" ? end : Math.max(cur, end);
    }
    if (t.kind === "struct" || t.members.length === 0) {
      const align = t.members.length && !packed ? this.#btf.alignof(t.id) : 1;
      const naturalEnd = Math.ceil(cur / (align * 8)) * align * 8;
      if (t.size * 8 > naturalEnd) lines.push(...padding(cur, t.size * 8).map((p) => `${ind}${p}`));
    }
    const attrs: string[] = [];
    if (packed) attrs.push("__attribute__((packed))");
    else if (t.members.length === 0 && t.size > 0) attrs.push(`__attribute__((aligned(${opaqueAlign(t.size)})))`);
    const tail = attrs.length ? ` ${attrs.join(" ")}` : "";
    return this.#count(`${head} {\n${lines.map((l) => `${l}\n`).join("")}${TAB.repeat(lvl)}}${tail}`);
  }

  #count(text: string): string {
    this.#generated += text.length;
    if (this.#generated > MAX_OUTPUT_CHARS) throw new LoaderError("BTF: C output too large (more than 64 MiB)");
    return text;
  }

  /** Where a compiler would put member `m` after bit `cur`, without explicit padding. */
  #naturalOffset(cur: number, m: BtfComposite["members"][number], packed: boolean): number {
    if (packed) return cur;
    const align = this.#btf.alignof(m.type) * 8;
    if (m.bitfieldSize === 0) return Math.ceil(cur / align) * align;
    const unit = this.#btf.sizeof(m.type) * 8;
    const unitStart = Math.floor(cur / unit) * unit;
    return cur + m.bitfieldSize <= unitStart + unit ? cur : unitStart + unit;
  }

  #enumBody(t: BtfEnum, lvl: number): string {
    const head = t.name ? `enum ${this.#name(t)}` : "enum";
    const names = this.#enumerators.get(t.id) ?? t.values.map((v) => v.name);
    const ind = TAB.repeat(lvl + 1);
    const lines = t.values.map((v, i) => `${ind}${names[i]} = ${enumValue(v.value, t.signed)},\n`);
    const attr = t.size < 4 ? " __attribute__((packed))" : "";
    return this.#count(`${head} {\n${lines.join("")}${TAB.repeat(lvl)}}${attr}`);
  }
}

function enumValue(v: bigint, signed: boolean): string {
  if (v >= -0x80000000n && v <= 0x7fffffffn) return v.toString();
  if (!signed && v >= 0n) return `${v}ULL`;
  return v === -0x8000000000000000n ? "(-9223372036854775807LL - 1)" : `${v}LL`;
}

function opaqueAlign(size: number): number {
  for (const a of [8, 4, 2]) if (size % a === 0) return a;
  return 1;
}

/**
 * Anonymous bit-fields covering bits [from, to): `long: N;` chunks that
 * never cross a 64-bit boundary, so they add no padding of their own.
 */
function padding(from: number, to: number): string[] {
  if (to - from > MAX_PADDING_BITS) {
    throw new LoaderError(`BTF: a gap of ${to - from} bits between members is too large to write as C padding`);
  }
  const out: string[] = [];
  let cur = from;
  while (cur < to) {
    const n = Math.min(to - cur, 64 - (cur % 64));
    out.push(`long: ${n};`);
    cur += n;
  }
  return out;
}

/** Write every type of `btf` as a C header (see the file header). */
export function btfDumpC(btf: Btf, opts: DumpCOptions = {}): string {
  const guard = opts.guard ?? "__VMLINUX_H__";
  const pai = opts.preserveAccessIndex ?? true;
  const body = new CWriter(btf).writeAll();
  const push = pai
    ? "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n"
    : "";
  const pop = pai ? "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n" : "";
  return `#ifndef ${guard}\n#define ${guard}\n\n${push}${body}${pop}#endif /* ${guard} */\n`;
}

/** The C declaration of `name` as type `id` ("const char *fmt", "int (*cb)(long)"). */
export function btfDeclaration(btf: Btf, id: number, opts: { name?: string } = {}): string {
  return new CWriter(btf).declare(id, opts.name ?? "");
}
