/**
 * Shared physical memory: the region map and host-side access.
 *
 * Every region is one block of host memory (mmap) mapped with
 * uc_mem_map_ptr into every CPU's Unicorn instance at the same address, so
 * a store by one CPU is visible to all (DESIGN.md §3). The MMU is off:
 * emulated addresses are physical addresses.
 *
 *   region  = { name, base, size, perms, block }     page aligned, disjoint
 *
 * Host-side reads and writes (TypeScript kernel services, loaders, tests)
 * go straight to the host block and ignore page permissions, as the kernel's
 * own writes through its linear map would. Every access is bounds-checked:
 * an address outside all regions is a MachineError(EFAULT), never a silent 0.
 * Little-endian throughout.
 */
import { EFAULT, EINVAL, EEXIST } from "../errno.js";
import { MachineError } from "../errors.js";
import { hostAlloc, hostFree, type HostBlock } from "./unicorn.js";

export const PAGE_SIZE = 4096;
/** One past the last byte of the 64-bit address space. */
const ADDRESS_SPACE_END = 1n << 64n;
const PAGE_MASK = BigInt(PAGE_SIZE - 1);

/** Unicorn permission bits (UC_PROT_*). */
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const PROT_RW = PROT_READ | PROT_WRITE;
export const PROT_RX = PROT_READ | PROT_EXEC;
export const PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC;

/** Description of a region to map. */
export interface RegionSpec {
  /** Human-readable name shown in faults ("kernel text", "bpf text pool", ...). */
  name: string;
  base: bigint;
  size: number;
  perms: number;
}

/** A mapped region. */
export interface Region extends RegionSpec {
  readonly end: bigint;
  readonly block: HostBlock;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** The region map plus bounds-checked host-side accessors. */
export class PhysMemory {
  #regions: Region[] = [];
  #last: Region | undefined;

  /** Regions sorted by base. */
  get regions(): readonly Region[] {
    return this.#regions;
  }

  /**
   * Allocate host memory for a new region and record it. The caller
   * (Machine) maps it into every CPU.
   */
  add(spec: RegionSpec): Region {
    if ((spec.base & PAGE_MASK) !== 0n || spec.size <= 0 || spec.size % PAGE_SIZE !== 0) {
      throw new MachineError(
        EINVAL,
        `unaligned region: ${spec.name} at ${hex(spec.base)} size 0x${spec.size.toString(16)} (base and size must be multiples of 0x1000)`,
      );
    }
    const end = spec.base + BigInt(spec.size);
    if (spec.base < 0n || end > ADDRESS_SPACE_END) {
      throw new MachineError(
        EINVAL,
        `region outside the 64-bit address space: ${spec.name} at ${spec.base < 0n ? `-0x${(-spec.base).toString(16)}` : hex(spec.base)} size 0x${spec.size.toString(16)}`,
      );
    }
    for (const r of this.#regions) {
      if (spec.base < r.end && r.base < end) {
        throw new MachineError(
          EEXIST,
          `overlapping region: ${spec.name} ${hex(spec.base)}..${hex(end)} overlaps ${r.name} ${hex(r.base)}..${hex(r.end)}`,
        );
      }
    }
    const region: Region = { ...spec, end, block: hostAlloc(spec.size) };
    this.#regions.push(region);
    this.#regions.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
    return region;
  }

  /** Forget one region and release its host memory (no CPU may map it any more). */
  remove(region: Region): void {
    const i = this.#regions.indexOf(region);
    if (i < 0) return;
    this.#regions.splice(i, 1);
    if (this.#last === region) this.#last = undefined;
    hostFree(region.block);
  }

  /** Forget every region and release host memory (no CPU may map them any more). */
  freeAll(): void {
    for (const r of this.#regions) hostFree(r.block);
    this.#regions = [];
    this.#last = undefined;
  }

  /** The region containing `addr`, or undefined. */
  find(addr: bigint): Region | undefined {
    const last = this.#last;
    if (last && addr >= last.base && addr < last.end) return last;
    for (const r of this.#regions) {
      if (addr >= r.base && addr < r.end) {
        this.#last = r;
        return r;
      }
    }
    return undefined;
  }

  /** True when [addr, addr+len) lies inside one region. */
  isMapped(addr: bigint, len = 1): boolean {
    const r = this.find(addr);
    return r !== undefined && addr + BigInt(len) <= r.end;
  }

  /** Region and offset of [addr, addr+len), or a MachineError(EFAULT). */
  locate(addr: bigint, len: number): { region: Region; offset: number } {
    const r = this.find(addr);
    if (!r || addr + BigInt(len) > r.end) {
      throw new MachineError(EFAULT, `host access outside mapped memory: ${hex(addr)} (${len} bytes)`);
    }
    return { region: r, offset: Number(addr - r.base) };
  }

  read8(addr: bigint): number {
    const { region, offset } = this.locate(addr, 1);
    return region.block.bytes[offset];
  }

  read16(addr: bigint): number {
    const { region, offset } = this.locate(addr, 2);
    return region.block.view.getUint16(offset, true);
  }

  read32(addr: bigint): number {
    const { region, offset } = this.locate(addr, 4);
    return region.block.view.getUint32(offset, true);
  }

  read64(addr: bigint): bigint {
    const { region, offset } = this.locate(addr, 8);
    return region.block.view.getBigUint64(offset, true);
  }

  write8(addr: bigint, value: number): void {
    const { region, offset } = this.locate(addr, 1);
    region.block.bytes[offset] = value & 0xff;
  }

  write16(addr: bigint, value: number): void {
    const { region, offset } = this.locate(addr, 2);
    region.block.view.setUint16(offset, value & 0xffff, true);
  }

  write32(addr: bigint, value: number): void {
    const { region, offset } = this.locate(addr, 4);
    region.block.view.setUint32(offset, value >>> 0, true);
  }

  write64(addr: bigint, value: bigint): void {
    const { region, offset } = this.locate(addr, 8);
    region.block.view.setBigUint64(offset, BigInt.asUintN(64, value), true);
  }

  /** A copy of [addr, addr+len). */
  readBytes(addr: bigint, len: number): Uint8Array {
    const { region, offset } = this.locate(addr, len);
    return region.block.bytes.slice(offset, offset + len);
  }

  /** A live view of [addr, addr+len) (no copy; valid while the region exists). */
  bytesView(addr: bigint, len: number): Uint8Array {
    const { region, offset } = this.locate(addr, len);
    return region.block.bytes.subarray(offset, offset + len);
  }

  writeBytes(addr: bigint, data: Uint8Array): void {
    const { region, offset } = this.locate(addr, data.length);
    region.block.bytes.set(data, offset);
  }

  fill(addr: bigint, len: number, byte: number): void {
    const { region, offset } = this.locate(addr, len);
    region.block.bytes.fill(byte & 0xff, offset, offset + len);
  }

  /** A NUL-terminated string at `addr` (at most `max` bytes). */
  readCString(addr: bigint, max = 4096): string {
    const out: number[] = [];
    for (let i = 0; i < max; i++) {
      const b = this.read8(addr + BigInt(i));
      if (b === 0) break;
      out.push(b);
    }
    return Buffer.from(out).toString("utf8");
  }
}
