/**
 * BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c):
 * array_map_alloc_check, array_map_lookup_elem, array_map_update_elem,
 * array_map_delete_elem (-EINVAL), array_map_get_next_key.
 *
 *   struct bpf_array (kernel_structs.ts offsets)
 *   ┌─ struct bpf_map (256) ─┬─ elem_size ─┬─ index_mask ─┬─ aux ─┬─ value[] / pptrs[] ──────────┐
 *   │                        │ round_up(   │ roundup_pow2 │       │ ARRAY:  max_entries ×         │
 *   │                        │ value, 8)   │ (max) - 1    │       │         elem_size bytes       │
 *   │                        │             │              │       │ PERCPU: max_entries pointers  │
 *   └────────────────────────┴─────────────┴──────────────┴───────┴───────────────────────────────┘
 *   percpu values: one kzalloc'd block of max_entries × elem_size per CPU;
 *   pptrs[i] holds CPU 0's copy, this_cpu_ptr() adds the CPU's block offset.
 *
 * All elements always exist: BPF_NOEXIST gives -EEXIST, an index past
 * max_entries -E2BIG, delete -EINVAL; flags above BPF_EXIST are -EINVAL
 * (BPF_F_LOCK needs a spin lock in the value, which is not modelled).
 */
import { E2BIG, EEXIST, EINVAL } from "../../errno.js";
import { BPF_ARRAY_ELEM_SIZE_OFF, BPF_ARRAY_INDEX_MASK_OFF, BPF_ARRAY_PTRS_OFF } from "../kernel_structs.js";
import { BPF_EXIST, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_NOEXIST } from "../object/uapi.js";
import { BpfMap, MapError, roundUp8, throwIfErr, type MapCreateAttr, type MapEnv } from "./map.js";

/** KMALLOC_MAX_SIZE-style bound on a single array allocation (the kernel's is larger; this keeps the heap sane). */
const MAX_ARRAY_BYTES = 16 << 20;

/** array_map_alloc_check(). */
export function arrayMapAllocCheck(attr: MapCreateAttr): void {
  if (attr.maxEntries === 0 || attr.keySize !== 4 || attr.valueSize === 0) {
    throw new MapError(EINVAL, "array map: max_entries must be > 0, key_size 4 and value_size > 0");
  }
  if (roundUp8(attr.valueSize) * attr.maxEntries > MAX_ARRAY_BYTES) {
    throw new MapError(E2BIG, `array map: ${attr.maxEntries} × ${attr.valueSize} bytes is too large`);
  }
}

function indexMask(maxEntries: number): number {
  let p = 1;
  while (p < maxEntries) p *= 2;
  return (p - 1) >>> 0;
}

function keyIndex(key: Uint8Array): number {
  return new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
}

/** An array or percpu array. */
export class ArrayMap extends BpfMap {
  readonly elemSize: number;
  readonly percpu: boolean;
  /** PERCPU: the per-CPU value blocks. */
  readonly #percpuBlocks: bigint[] = [];

  constructor(env: MapEnv, attr: MapCreateAttr) {
    arrayMapAllocCheck(attr);
    const percpu = attr.mapType === BPF_MAP_TYPE_PERCPU_ARRAY;
    const elemSize = roundUp8(attr.valueSize);
    super(env, attr, BPF_ARRAY_PTRS_OFF + (percpu ? 8 : elemSize) * attr.maxEntries);
    this.elemSize = elemSize;
    this.percpu = percpu;
    const m = env.memory;
    m.write32(this.addr + BigInt(BPF_ARRAY_ELEM_SIZE_OFF), elemSize);
    m.write32(this.addr + BigInt(BPF_ARRAY_INDEX_MASK_OFF), indexMask(attr.maxEntries));
    if (percpu) {
      try {
        for (let c = 0; c < env.ncpus; c++) this.#percpuBlocks.push(env.slab.kzalloc(elemSize * attr.maxEntries));
      } catch (err) {
        for (const b of this.#percpuBlocks) env.slab.kfree(b);
        env.slab.kfree(this.addr);
        throw err;
      }
      for (let i = 0; i < attr.maxEntries; i++) {
        m.write64(this.addr + BigInt(BPF_ARRAY_PTRS_OFF + 8 * i), this.#percpuBlocks[0] + BigInt(i * elemSize));
      }
    }
  }

  /** Address of element `index` (this CPU's copy for percpu maps). */
  elemAddr(index: number, cpu = 0): bigint {
    if (this.percpu) return this.#percpuBlocks[cpu] + BigInt(index * this.elemSize);
    return this.addr + BigInt(BPF_ARRAY_PTRS_OFF + index * this.elemSize);
  }

  override get userValueSize(): number {
    return this.percpu ? this.elemSize * this.env.ncpus : this.valueSize;
  }

  lookupElemAddr(key: Uint8Array, cpu: number): bigint {
    const index = keyIndex(key);
    if (index >= this.maxEntries) return 0n;
    return this.elemAddr(index, cpu);
  }

  updateElemBpf(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number {
    if (flags > BigInt(BPF_EXIST)) return -EINVAL;
    const index = keyIndex(key);
    if (index >= this.maxEntries) return -E2BIG;
    if (flags === BigInt(BPF_NOEXIST)) return -EEXIST;
    this.env.memory.writeBytes(this.elemAddr(index, cpu), value.subarray(0, this.valueSize));
    return 0;
  }

  deleteElemBpf(): number {
    return -EINVAL;
  }

  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const index = keyIndex(key);
    if (index >= this.maxEntries) return undefined;
    if (!this.percpu) return this.env.memory.readBytes(this.elemAddr(index), this.valueSize);
    const out = new Uint8Array(this.userValueSize);
    for (let c = 0; c < this.env.ncpus; c++) {
      out.set(this.env.memory.readBytes(this.elemAddr(index, c), this.valueSize), c * this.elemSize);
    }
    return out;
  }

  update(key: Uint8Array, value: Uint8Array, flags = 0n): void {
    this.checkKey(key);
    this.checkUserValue(value);
    if (flags > BigInt(BPF_EXIST)) throw new MapError(EINVAL, `map '${this.name}': invalid update flags ${flags}`);
    const index = keyIndex(key);
    if (index >= this.maxEntries)
      throw new MapError(E2BIG, `map '${this.name}': index ${index} >= max_entries ${this.maxEntries}`);
    if (flags === BigInt(BPF_NOEXIST)) throw new MapError(EEXIST, `map '${this.name}': array elements always exist`);
    if (!this.percpu) {
      this.env.memory.writeBytes(this.elemAddr(index), value);
      return;
    }
    for (let c = 0; c < this.env.ncpus; c++) {
      const part = value.subarray(c * this.elemSize, c * this.elemSize + this.valueSize);
      throwIfErr(this.updateElemBpf(key, part, 0n, c), `map '${this.name}': update`);
    }
  }

  delete(key: Uint8Array): void {
    this.checkKey(key);
    throw new MapError(EINVAL, `map '${this.name}': array elements cannot be deleted`);
  }

  getNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const index = key === undefined ? -1 : keyIndex(key);
    const next = index >= this.maxEntries || index < 0 ? 0 : index + 1;
    if (next >= this.maxEntries) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, next, true);
    return out;
  }

  protected freeStorage(): void {
    for (const b of this.#percpuBlocks) this.env.slab.kfree(b);
  }
}
