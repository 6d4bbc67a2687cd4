/**
 * BPF_MAP_TYPE_PROG_ARRAY (kernel/bpf/arraymap.c prog_array_map_ops,
 * fd_array_map_update_elem / fd_array_map_delete_elem, prog_fd_array_get_ptr
 * with bpf_prog_map_compatible()): the table bpf_tail_call() indexes.
 *
 *   struct bpf_array with ptrs[max_entries]: struct bpf_prog * or NULL
 *   (the JIT's tail call reads max_entries at +36 and ptrs[] at +272,
 *   see kernel_structs.ts; a NULL slot makes the tail call fall through)
 *
 * User space stores program fds (value_size 4); the syscall layer turns
 * each fd into its struct bpf_prog * before calling {@link ProgArrayMap.setProg}.
 * BPF programs cannot look up, update or delete elements (the verifier
 * refuses those helpers on a prog array); the helper paths here return
 * NULL / -EINVAL for completeness. All programs of one array must have the
 * same type (the first one stored fixes it), else -EINVAL.
 */
import { E2BIG, EINVAL, ENOENT } from "../../errno.js";
import {
  bpfArrayPtrAddr,
  bpfProgArraySize,
  BPF_ARRAY_ELEM_SIZE_OFF,
  BPF_ARRAY_INDEX_MASK_OFF,
} from "../kernel_structs.js";
import { BpfMap, MapError, type MapCreateAttr, type MapEnv } from "./map.js";

/** A program as a prog array holds it. */
export interface ProgArrayEntry {
  /** struct bpf_prog *. */
  readonly addr: bigint;
  readonly name: string;
  readonly progType: number;
  readonly fd: number;
}

function keyIndex(key: Uint8Array): number {
  return new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
}

/** A prog array. */
export class ProgArrayMap extends BpfMap {
  readonly #slots: (ProgArrayEntry | undefined)[];
  /** The program type all entries must have (set by the first entry). */
  ownerProgType: number | undefined;

  constructor(env: MapEnv, attr: MapCreateAttr) {
    if (attr.maxEntries === 0 || attr.keySize !== 4 || attr.valueSize !== 4) {
      throw new MapError(EINVAL, "prog array: max_entries must be > 0, key_size and value_size 4");
    }
    super(env, attr, bpfProgArraySize(attr.maxEntries));
    env.memory.write32(this.addr + BigInt(BPF_ARRAY_ELEM_SIZE_OFF), 8);
    let p = 1;
    while (p < attr.maxEntries) p *= 2;
    env.memory.write32(this.addr + BigInt(BPF_ARRAY_INDEX_MASK_OFF), (p - 1) >>> 0);
    this.#slots = new Array(attr.maxEntries).fill(undefined);
  }

  /** The program in slot `index`. */
  prog(index: number): ProgArrayEntry | undefined {
    return this.#slots[index];
  }

  /** fd_array_map_update_elem(): store `entry` in slot `index`. */
  setProg(index: number, entry: ProgArrayEntry): void {
    if (index >= this.maxEntries)
      throw new MapError(E2BIG, `prog array '${this.name}': index ${index} >= ${this.maxEntries}`);
    if (this.ownerProgType !== undefined && this.ownerProgType !== entry.progType) {
      throw new MapError(
        EINVAL,
        `prog array '${this.name}': program '${entry.name}' has another type than the array's programs`,
      );
    }
    this.ownerProgType ??= entry.progType;
    this.#slots[index] = entry;
    this.env.memory.write64(bpfArrayPtrAddr(this.addr, index), entry.addr);
  }

  /** fd_array_map_delete_elem(). */
  clearProg(index: number): void {
    if (index >= this.maxEntries)
      throw new MapError(E2BIG, `prog array '${this.name}': index ${index} >= ${this.maxEntries}`);
    if (!this.#slots[index]) throw new MapError(ENOENT, `prog array '${this.name}': slot ${index} is empty`);
    this.#slots[index] = undefined;
    this.env.memory.write64(bpfArrayPtrAddr(this.addr, index), 0n);
  }

  /** Remove every slot holding the program at `addr` (bpf_fd_array_map_clear on prog release). */
  dropProg(addr: bigint): void {
    this.#slots.forEach((s, i) => {
      if (s?.addr === addr) {
        this.#slots[i] = undefined;
        this.env.memory.write64(bpfArrayPtrAddr(this.addr, i), 0n);
      }
    });
  }

  lookupElemAddr(): bigint {
    return 0n;
  }

  updateElemBpf(): number {
    return -EINVAL;
  }

  deleteElemBpf(): number {
    return -EINVAL;
  }

  /** User-space lookup gives the program's id (as the kernel's map_fd_sys_lookup_elem). */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const s = this.#slots[keyIndex(key)];
    if (!s) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, s.fd, true);
    return out;
  }

  update(): void {
    throw new MapError(EINVAL, `prog array '${this.name}': update through the syscall layer (program fds)`);
  }

  delete(key: Uint8Array): void {
    this.checkKey(key);
    this.clearProg(keyIndex(key));
  }

  getNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const index = key === undefined ? -1 : keyIndex(key);
    const next = index < 0 || index >= this.maxEntries ? 0 : index + 1;
    if (next >= this.maxEntries) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, next, true);
    return out;
  }

  protected freeStorage(): void {
    this.#slots.fill(undefined);
  }
}
