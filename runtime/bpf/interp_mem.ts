/**
 * The memory a BPF program sees in the reference interpreter: one small
 * interface, two implementations.
 *
 *   BpfMemory.load(addr, size) → value      u8/u16/u32/u64, zero-extended, little-endian
 *   BpfMemory.store(addr, size, value)      value already truncated to `size`
 *
 *   FlatMemory       named regions over Uint8Arrays (tests, conformance, fuzzing)
 *   physMemoryBpf()  the emulator's PhysMemory (runtime/machine/memory.ts), so the
 *                    interpreter and JITed code can share one address space
 *
 * An access outside every region throws a BpfError(EFAULT) naming the
 * address and width; the interpreter adds the instruction. Models the
 * kernel interpreter's plain loads and stores (kernel/bpf/core.c), without
 * BPF_PROBE_MEM fault fixups.
 */
import { EFAULT, EINVAL, EEXIST } from "../errno.js";
import { BpfError } from "../errors.js";
import type { PhysMemory } from "../machine/memory.js";
import type { AccessSize } from "./opcodes.js";

/** Memory as the interpreter uses it. */
export interface BpfMemory {
  /** The `size`-byte little-endian value at `addr`, zero-extended. Throws on an unmapped address. */
  load(addr: bigint, size: AccessSize): bigint;
  /** Store the low `size` bytes of `value` at `addr`. Throws on an unmapped address. */
  store(addr: bigint, size: AccessSize, value: bigint): void;
}

interface FlatRegion {
  readonly name: string;
  readonly base: bigint;
  readonly end: bigint;
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/**
 * Byte arrays placed at addresses. Regions must not overlap; the arrays are
 * used in place (no copy), so a test can inspect them after a run.
 */
export class FlatMemory implements BpfMemory {
  #regions: FlatRegion[] = [];
  #last: FlatRegion | undefined;

  /** Map `bytes` at [base, base + bytes.length), named in errors by `opts.name`. Returns `bytes`. */
  map(base: bigint, bytes: Uint8Array, opts: { name?: string } = {}): Uint8Array {
    const name = opts.name ?? "region";
    const end = base + BigInt(bytes.length);
    if (base < 0n || end > 1n << 64n) throw new BpfError(EINVAL, `region outside the address space: ${name}`);
    for (const r of this.#regions) {
      if (base < r.end && r.base < end) {
        throw new BpfError(EEXIST, `overlapping region: ${name} ${hex(base)}..${hex(end)} overlaps ${r.name}`);
      }
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#regions.push({ name, base, end, bytes, view });
    return bytes;
  }

  #find(addr: bigint, size: number, what: string): { view: DataView; offset: number } {
    const last = this.#last;
    if (last && addr >= last.base && addr + BigInt(size) <= last.end) {
      return { view: last.view, offset: Number(addr - last.base) };
    }
    for (const r of this.#regions) {
      if (addr >= r.base && addr + BigInt(size) <= r.end) {
        this.#last = r;
        return { view: r.view, offset: Number(addr - r.base) };
      }
    }
    throw new BpfError(EFAULT, `invalid ${what} of ${size} bytes at ${hex(addr)}`);
  }

  load(addr: bigint, size: AccessSize): bigint {
    const { view, offset } = this.#find(addr, size, "read");
    switch (size) {
      case 1:
        return BigInt(view.getUint8(offset));
      case 2:
        return BigInt(view.getUint16(offset, true));
      case 4:
        return BigInt(view.getUint32(offset, true));
      case 8:
        return view.getBigUint64(offset, true);
    }
  }

  store(addr: bigint, size: AccessSize, value: bigint): void {
    const { view, offset } = this.#find(addr, size, "write");
    switch (size) {
      case 1:
        view.setUint8(offset, Number(value & 0xffn));
        return;
      case 2:
        view.setUint16(offset, Number(value & 0xffffn), true);
        return;
      case 4:
        view.setUint32(offset, Number(value & 0xffffffffn), true);
        return;
      case 8:
        view.setBigUint64(offset, BigInt.asUintN(64, value), true);
        return;
    }
  }
}

/**
 * The emulator's physical memory as BpfMemory (host-side access: page
 * permissions are not applied, as for the kernel's own accesses). An
 * unmapped address gives the PhysMemory MachineError(EFAULT).
 */
export function physMemoryBpf(phys: PhysMemory): BpfMemory {
  return {
    load(addr: bigint, size: AccessSize): bigint {
      switch (size) {
        case 1:
          return BigInt(phys.read8(addr));
        case 2:
          return BigInt(phys.read16(addr));
        case 4:
          return BigInt(phys.read32(addr));
        case 8:
          return phys.read64(addr);
      }
    },
    store(addr: bigint, size: AccessSize, value: bigint): void {
      switch (size) {
        case 1:
          return phys.write8(addr, Number(value & 0xffn));
        case 2:
          return phys.write16(addr, Number(value & 0xffffn));
        case 4:
          return phys.write32(addr, Number(value & 0xffffffffn));
        case 8:
          return phys.write64(addr, value);
      }
    },
  };
}
