/**
 * BPF_MAP_TYPE_HASH (kernel/bpf/hashtab.c), preallocated (the default:
 * no BPF_F_NO_PREALLOC): htab_map_alloc_check, htab_map_lookup_elem,
 * htab_map_update_elem, htab_map_delete_elem, htab_map_get_next_key.
 *
 *   struct bpf_htab: struct bpf_map (256) + (host-side buckets)
 *   elements: one kzalloc'd pool of max_entries htab_elem, each
 *   ┌─ hash (u32) ─┬─ pad ─┬─ key[round_up(key_size, 8)] ─┬─ value[round_up(value_size, 8)] ─┐
 *   0              4       8                                8 + round_up(key_size, 8)
 *
 * As in the kernel, an update of an existing key fills the CPU's spare
 * element (htab->extra_elems), swaps it in and keeps the old element as the
 * new spare, so a replacement never fails and a value pointer obtained
 * earlier sees the old value until the element is reused. A new key takes
 * an element from the free list; a full map gives -E2BIG; BPF_NOEXIST on an
 * existing key -EEXIST; BPF_EXIST on a missing key -ENOENT; delete of a
 * missing key -ENOENT.
 *
 * BPF_F_NO_PREALLOC is accepted and served from the same pool.
 *
 * Simplification: the buckets (hash → element) live host-side in a Map
 * keyed by the key bytes; BPF code reaches elements only through the
 * helpers, so no emulated code walks them. The hash is jhash-like only in
 * name (FNV-1a), stored for dumps.
 */
import { E2BIG, EEXIST, EINVAL, ENOENT, ENOMEM } from "../../errno.js";
import { MAX_BPF_STACK } from "../opcodes.js";
import { BPF_MAP_SIZE } from "../kernel_structs.js";
import { BPF_EXIST, BPF_NOEXIST } from "../object/uapi.js";
import { BpfMap, MapError, roundUp8, type MapCreateAttr, type MapEnv } from "./map.js";

const ELEM_HDR = 8;
const MAX_POOL_BYTES = 16 << 20;

/** htab_map_alloc_check(). */
export function htabMapAllocCheck(attr: MapCreateAttr): void {
  if (attr.maxEntries === 0 || attr.keySize === 0 || attr.valueSize === 0) {
    throw new MapError(EINVAL, "hash map: max_entries, key_size and value_size must be > 0");
  }
  if (attr.keySize > MAX_BPF_STACK) throw new MapError(E2BIG, `hash map: key_size ${attr.keySize} > ${MAX_BPF_STACK}`);
  const elem = ELEM_HDR + roundUp8(attr.keySize) + roundUp8(attr.valueSize);
  if (elem * attr.maxEntries > MAX_POOL_BYTES) {
    throw new MapError(ENOMEM, `hash map: ${attr.maxEntries} elements of ${elem} bytes is too large`);
  }
}

function keyHex(key: Uint8Array): string {
  return Buffer.from(key).toString("hex");
}

function fnv1a(key: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of key) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/** A preallocated hash map. */
export class HashMap extends BpfMap {
  readonly elemSize: number;
  readonly #pool: bigint;
  readonly #free: number[] = [];
  /** Per-CPU spare element (extra_elems). */
  readonly #extra: number[] = [];
  /** key hex → element index, in insertion order (get_next_key order). */
  readonly #buckets = new Map<string, number>();

  constructor(env: MapEnv, attr: MapCreateAttr) {
    htabMapAllocCheck(attr);
    super(env, attr, BPF_MAP_SIZE);
    this.elemSize = ELEM_HDR + roundUp8(attr.keySize) + roundUp8(attr.valueSize);
    try {
      this.#pool = env.slab.kzalloc(this.elemSize * (attr.maxEntries + env.ncpus));
    } catch (err) {
      env.slab.kfree(this.addr);
      throw err;
    }
    for (let i = 0; i < attr.maxEntries; i++) this.#free.push(i);
    for (let c = 0; c < env.ncpus; c++) this.#extra.push(attr.maxEntries + c);
  }

  /** Number of elements. */
  get count(): number {
    return this.#buckets.size;
  }

  #elem(i: number): bigint {
    return this.#pool + BigInt(i * this.elemSize);
  }

  /** htab_elem_value(). */
  #valueAddr(i: number): bigint {
    return this.#elem(i) + BigInt(ELEM_HDR + roundUp8(this.keySize));
  }

  lookupElemAddr(key: Uint8Array): bigint {
    const i = this.#buckets.get(keyHex(key.subarray(0, this.keySize)));
    return i === undefined ? 0n : this.#valueAddr(i);
  }

  updateElemBpf(key: Uint8Array, value: Uint8Array, flags: bigint, cpu = 0): number {
    if (flags > BigInt(BPF_EXIST)) return -EINVAL;
    const k = key.subarray(0, this.keySize);
    const hex = keyHex(k);
    const old = this.#buckets.get(hex);
    if (old !== undefined && flags === BigInt(BPF_NOEXIST)) return -EEXIST;
    if (old === undefined && flags === BigInt(BPF_EXIST)) return -ENOENT;
    const spare = cpu % this.#extra.length;
    const fresh = old !== undefined ? this.#extra[spare] : this.#free.shift();
    if (fresh === undefined) return -E2BIG;
    const m = this.env.memory;
    const e = this.#elem(fresh);
    m.write32(e, fnv1a(k));
    m.writeBytes(e + BigInt(ELEM_HDR), k);
    m.writeBytes(this.#valueAddr(fresh), value.subarray(0, this.valueSize));
    if (old !== undefined) {
      this.#buckets.delete(hex);
      this.#extra[spare] = old;
    }
    this.#buckets.set(hex, fresh);
    return 0;
  }

  deleteElemBpf(key: Uint8Array): number {
    const hex = keyHex(key.subarray(0, this.keySize));
    const i = this.#buckets.get(hex);
    if (i === undefined) return -ENOENT;
    this.#buckets.delete(hex);
    this.#free.push(i);
    return 0;
  }

  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const addr = this.lookupElemAddr(key);
    return addr === 0n ? undefined : this.env.memory.readBytes(addr, this.valueSize);
  }

  update(key: Uint8Array, value: Uint8Array, flags = 0n): void {
    this.checkKey(key);
    this.checkUserValue(value);
    const ret = this.updateElemBpf(key, value, flags);
    if (ret === -EINVAL) throw new MapError(EINVAL, `map '${this.name}': invalid update flags ${flags}`);
    if (ret === -EEXIST) throw new MapError(EEXIST, `map '${this.name}': key exists (BPF_NOEXIST)`);
    if (ret === -ENOENT) throw new MapError(ENOENT, `map '${this.name}': no such key (BPF_EXIST)`);
    if (ret === -E2BIG) throw new MapError(E2BIG, `map '${this.name}': full (${this.maxEntries} elements)`);
  }

  delete(key: Uint8Array): void {
    this.checkKey(key);
    if (this.deleteElemBpf(key) < 0) throw new MapError(ENOENT, `map '${this.name}': no such key`);
  }

  getNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const keys = [...this.#buckets.keys()];
    let next = 0;
    if (key !== undefined) {
      const at = keys.indexOf(keyHex(key));
      next = at < 0 ? 0 : at + 1;
    }
    const hex = keys[next];
    return hex === undefined ? undefined : new Uint8Array(Buffer.from(hex, "hex"));
  }

  protected freeStorage(): void {
    this.env.slab.kfree(this.#pool);
  }
}
