/**
 * Global variables by name, as a bpftool-generated skeleton exposes them
 * (skel->bss->counter, skel->rodata->limit): each global-data map
 * (.bss, .data, .rodata, .data.*, .rodata.*) is a record of its BTF DATASEC's
 * variables.
 *
 *   before load   reads and writes go to the map's initial image (so
 *                 .rodata can be set before load, as with skel->rodata)
 *   after load    reads and writes go to the map value in emulated memory
 *                 (libbpf mmap()s the array map); .rodata and .kconfig are
 *                 frozen: writing them is EPERM (a fault in C)
 *
 * Values: integers of up to 4 bytes and enums as number (signed as BTF
 * says), 8-byte integers and pointers as bigint, anything else (arrays,
 * structs) as a copy of its bytes (Uint8Array). Writes take the same kinds.
 */
import { EINVAL, ENOENT, EPERM } from "../errno.js";
import { BpfError } from "../errors.js";
import type { PhysMemory } from "../machine/memory.js";
import type { Btf } from "../bpf/btf/btf.js";
import { btfDumpValue, type BtfJson } from "../bpf/btf/dump_value.js";
import type { ObjMap } from "../bpf/object/model.js";

/** A global variable's place and type. */
export interface GlobalVar {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly typeId: number;
}

/** A value of a global. */
export type GlobalValue = number | bigint | Uint8Array;

/** Where a section's bytes live right now. */
export interface GlobalsBacking {
  /** Emulated address of the map value once loaded, else undefined. */
  addr(): bigint | undefined;
  readonly memory: () => PhysMemory | undefined;
  /** Writes refused (frozen .rodata after load). */
  readonly frozen: () => boolean;
}

function scalarKind(btf: Btf, typeId: number): { kind: "int" | "ptr" | "other"; signed: boolean } {
  const t = btf.resolved(typeId);
  if (t.kind === "int") return { kind: "int", signed: t.signed };
  if (t.kind === "enum" || t.kind === "enum64") return { kind: "int", signed: t.signed };
  if (t.kind === "ptr") return { kind: "ptr", signed: false };
  return { kind: "other", signed: false };
}

/** The variables of one global-data map. */
export class GlobalsSection {
  readonly map: ObjMap;
  readonly vars: ReadonlyMap<string, GlobalVar>;
  readonly #btf: Btf;
  readonly #backing: GlobalsBacking;

  constructor(map: ObjMap, btf: Btf, backing: GlobalsBacking, offsets: ReadonlyMap<string, number>) {
    this.map = map;
    this.#btf = btf;
    this.#backing = backing;
    const vars = new Map<string, GlobalVar>();
    const ds = map.btfValueTypeId ? btf.type(map.btfValueTypeId) : undefined;
    if (ds?.kind === "datasec") {
      for (const v of ds.vars) {
        const t = btf.type(v.type);
        if (t.kind !== "var") continue;
        vars.set(t.name, {
          name: t.name,
          offset: offsets.get(t.name) ?? v.offset,
          size: v.size || btf.sizeof(t.type),
          typeId: t.type,
        });
      }
    }
    this.vars = vars;
  }

  #bytes(v: GlobalVar): Uint8Array {
    const addr = this.#backing.addr();
    const mem = this.#backing.memory();
    if (addr !== undefined && mem) return mem.readBytes(addr + BigInt(v.offset), v.size);
    return (this.map.initial ?? new Uint8Array(this.map.valueSize)).slice(v.offset, v.offset + v.size);
  }

  #store(v: GlobalVar, bytes: Uint8Array): void {
    const addr = this.#backing.addr();
    const mem = this.#backing.memory();
    if (addr !== undefined && mem) {
      if (this.#backing.frozen()) throw new BpfError(EPERM, `${this.map.name}: '${v.name}' is read-only after load`);
      mem.writeBytes(addr + BigInt(v.offset), bytes);
      return;
    }
    if (!this.map.initial) this.map.initial = new Uint8Array(this.map.valueSize);
    this.map.initial.set(bytes, v.offset);
  }

  #var(name: string): GlobalVar {
    const v = this.vars.get(name);
    if (!v) throw new BpfError(ENOENT, `${this.map.name}: no global variable '${name}'`);
    return v;
  }

  /** Read variable `name`. */
  get(name: string): GlobalValue {
    const v = this.#var(name);
    const bytes = this.#bytes(v);
    const k = scalarKind(this.#btf, v.typeId);
    if (k.kind === "other" || ![1, 2, 4, 8].includes(v.size)) return bytes;
    let x = 0n;
    for (let i = v.size - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]);
    if (k.signed) x = BigInt.asIntN(v.size * 8, x);
    return v.size === 8 || k.kind === "ptr" ? x : Number(x);
  }

  /** Variable `name` as JSON typed by its BTF (bpftool's btf_dumper: arrays, structs, strings, enum names). */
  json(name: string): BtfJson {
    const v = this.#var(name);
    return btfDumpValue(this.#btf, v.typeId, this.#bytes(v));
  }

  /** Write variable `name`. */
  set(name: string, value: GlobalValue | boolean): void {
    const v = this.#var(name);
    let bytes: Uint8Array;
    if (value instanceof Uint8Array) {
      if (value.length !== v.size)
        throw new BpfError(EINVAL, `${this.map.name}: '${name}' is ${v.size} bytes, got ${value.length}`);
      bytes = value;
    } else {
      const k = scalarKind(this.#btf, v.typeId);
      if (k.kind === "other")
        throw new BpfError(EINVAL, `${this.map.name}: '${name}' is not a scalar; write its bytes`);
      let x = BigInt.asUintN(v.size * 8, typeof value === "boolean" ? (value ? 1n : 0n) : BigInt(value));
      bytes = new Uint8Array(v.size);
      for (let i = 0; i < v.size; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
    }
    this.#store(v, bytes);
  }

  /** A plain-object view: `view.counter` reads, `view.counter = 1` writes. */
  proxy(): Record<string, GlobalValue> {
    return new Proxy({} as Record<string, GlobalValue>, {
      get: (_t, p) => (typeof p === "string" && this.vars.has(p) ? this.get(p) : undefined),
      set: (_t, p, value) => {
        if (typeof p !== "string") return false;
        this.set(p, value as GlobalValue);
        return true;
      },
      has: (_t, p) => typeof p === "string" && this.vars.has(p),
      ownKeys: () => [...this.vars.keys()],
      getOwnPropertyDescriptor: (_t, p) =>
        typeof p === "string" && this.vars.has(p)
          ? { enumerable: true, configurable: true, value: this.get(p) }
          : undefined,
    });
  }
}
