/**
 * struct bpf_map and the operations every map type provides
 * (include/linux/bpf.h struct bpf_map_ops: map_lookup_elem,
 * map_update_elem, map_delete_elem, map_get_next_key, map_free), with the
 * map living in emulated kernel memory (kmalloc'd from the slab).
 *
 *   struct bpf_map (BPF_MAP_SIZE = 256 bytes, layout in kernel_structs.ts)
 *   ┌──────────────┬────────────────┬──────────┬──────────┬────────────┬─────┐
 *   │ ops, ... (0) │ map_type (24)  │ key (28) │ val (32) │ max (36)   │ ... │
 *   └──────────────┴────────────────┴──────────┴──────────┴────────────┴─────┘
 *   followed by the type's own fields (struct bpf_array, ...).
 *
 * Two kinds of callers:
 *   - BPF programs through the helpers (keys and values are addresses in
 *     emulated memory; errors are negative errnos, as the helpers return);
 *   - user space through the syscall model (keys and values are byte
 *     arrays; errors are thrown as MapError with the kernel's errno).
 */
import type { Btf } from "../btf/btf.js";
import { EINVAL } from "../../errno.js";
import { BpfError, type BpfErrorOptions } from "../../errors.js";
import type { PhysMemory } from "../../machine/memory.js";
import {
  BPF_ARRAY_MAX_ENTRIES_OFF,
  BPF_MAP_KEY_SIZE_OFF,
  BPF_MAP_MAP_TYPE_OFF,
  BPF_MAP_VALUE_SIZE_OFF,
} from "../kernel_structs.js";
import { MAP_TYPE_NAMES } from "../object/uapi.js";

/** A map operation refused with a kernel errno (-E2BIG, -ENOENT, -EEXIST, ...). */
export class MapError extends BpfError {
  constructor(errno: number, message: string, options: BpfErrorOptions = {}) {
    super(errno, message, options);
  }
}

/** The kernel's allocator (runtime/kernel Slab satisfies it). */
export interface MapAllocator {
  kmalloc(size: number): bigint;
  kzalloc(size: number): bigint;
  kfree(addr: bigint): void;
}

/** What maps need of the kernel. */
export interface MapEnv {
  readonly memory: PhysMemory;
  readonly slab: MapAllocator;
  /** num_possible_cpus(). */
  readonly ncpus: number;
}

/** union bpf_attr for BPF_MAP_CREATE (the fields this runtime uses). */
export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  /** map_name (up to 15 of [A-Za-z0-9_.]). */
  name?: string;
  /** BTF ids of key and value in the map's BTF (btf_fd): the value's special fields come from it. */
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** The BTF the type ids refer to (BPF_MAP_CREATE's btf_fd). */
  btf?: Btf;
}

/** round_up(v, 8). */
export function roundUp8(v: number): number {
  return Math.ceil(v / 8) * 8;
}

/** A map of any type. */
export abstract class BpfMap {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  /** map->btf: the BTF the map was created with, or undefined. */
  readonly btf: Btf | undefined;
  /** struct bpf_map * in emulated memory. */
  readonly addr: bigint;
  /** map->frozen: user space can no longer write (BPF_MAP_FREEZE). */
  frozen = false;
  /** Set by the syscall layer: the map's id (idr). */
  id = 0;
  protected readonly env: MapEnv;
  #freed = false;

  protected constructor(env: MapEnv, attr: MapCreateAttr, structSize: number) {
    this.env = env;
    this.type = attr.mapType;
    this.keySize = attr.keySize;
    this.valueSize = attr.valueSize;
    this.maxEntries = attr.maxEntries;
    this.flags = attr.mapFlags ?? 0;
    this.name = attr.name ?? "";
    this.btfKeyTypeId = attr.btfKeyTypeId ?? 0;
    this.btfValueTypeId = attr.btfValueTypeId ?? 0;
    this.btf = attr.btf;
    this.addr = env.slab.kzalloc(structSize);
    const m = env.memory;
    m.write32(this.addr + BigInt(BPF_MAP_MAP_TYPE_OFF), this.type);
    m.write32(this.addr + BigInt(BPF_MAP_KEY_SIZE_OFF), this.keySize);
    m.write32(this.addr + BigInt(BPF_MAP_VALUE_SIZE_OFF), this.valueSize);
    m.write32(this.addr + BigInt(BPF_ARRAY_MAX_ENTRIES_OFF), this.maxEntries);
  }

  /** "array", "hash", ... */
  get typeName(): string {
    return MAP_TYPE_NAMES[this.type] ?? `type ${this.type}`;
  }

  /** True once map_free ran. */
  get freed(): boolean {
    return this.#freed;
  }

  /** Size of a value as user space sees it (percpu maps: one round_up(value_size, 8) per CPU). */
  get userValueSize(): number {
    return this.valueSize;
  }

  /** map_lookup_elem from BPF: address of the value (this CPU's copy), or 0n. */
  abstract lookupElemAddr(key: Uint8Array, cpu: number): bigint;

  /** map_update_elem from BPF: 0 or a negative errno. `value` is value_size bytes. */
  abstract updateElemBpf(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number;

  /** map_delete_elem from BPF: 0 or a negative errno. */
  abstract deleteElemBpf(key: Uint8Array): number;

  /** BPF_MAP_LOOKUP_ELEM: the value (userValueSize bytes), or undefined (ENOENT). */
  abstract lookup(key: Uint8Array): Uint8Array | undefined;

  /** BPF_MAP_UPDATE_ELEM; throws MapError. */
  abstract update(key: Uint8Array, value: Uint8Array, flags?: bigint): void;

  /** BPF_MAP_DELETE_ELEM; throws MapError. */
  abstract delete(key: Uint8Array): void;

  /** BPF_MAP_GET_NEXT_KEY: the key after `key` (the first for undefined), or undefined at the end. */
  abstract getNextKey(key: Uint8Array | undefined): Uint8Array | undefined;

  /** Free the type's storage (called once by {@link free}). */
  protected abstract freeStorage(): void;

  /** map_free: release everything in emulated memory. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.freeStorage();
    this.env.slab.kfree(this.addr);
  }

  protected checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) {
      throw new MapError(EINVAL, `map '${this.name}': key of ${key.length} bytes (key_size ${this.keySize})`);
    }
  }

  protected checkUserValue(value: Uint8Array): void {
    if (value.length !== this.userValueSize) {
      throw new MapError(EINVAL, `map '${this.name}': value of ${value.length} bytes (expected ${this.userValueSize})`);
    }
  }
}

/** Throw a negative helper return as a MapError (for the syscall paths). */
export function throwIfErr(ret: number, what: string): void {
  if (ret < 0) throw new MapError(-ret, what);
}
