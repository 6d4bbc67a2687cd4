/**
 * A value in memory as JSON, typed by BTF (tools/bpf/bpftool/btf_dumper.c,
 * what `bpftool map dump` prints for a map with BTF).
 *
 *   int, bool        number (bool: true/false); beyond 2^53 a decimal string
 *   char array       a string when it is NUL-terminated printable text, else numbers
 *   enum             the enumerator's name, or the number when none matches
 *   pointer          "0x..." hex string
 *   array            list of its elements
 *   struct / union   object by member name; bitfields extracted; an
 *                    anonymous member's fields are merged into the parent
 *   float            number (4 and 8 bytes)
 *
 * Simplifications: little-endian only (the emulated machine's order); ints
 * wider than 64 bits (__int128) become a "0x..." hex string.
 */
import { LoaderError } from "../elf.js";
import type { Btf } from "./btf.js";

/** What {@link btfDumpValue} returns. */
export type BtfJson = number | string | boolean | BtfJson[] | { [name: string]: BtfJson };

/** Little-endian unsigned integer of `bits` bits starting at bit `bitOff` of `bytes`. */
function readBits(bytes: Uint8Array, bitOff: number, bits: number): bigint {
  let v = 0n;
  const first = Math.floor(bitOff / 8);
  const last = Math.floor((bitOff + bits - 1) / 8);
  for (let i = last; i >= first; i--) v = (v << 8n) | BigInt(bytes[i] ?? 0);
  return BigInt.asUintN(bits, v >> BigInt(bitOff - first * 8));
}

function num(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** A NUL-terminated run of printable ASCII (bpftool's is_str_array). */
function asString(bytes: Uint8Array): string | undefined {
  const end = bytes.indexOf(0);
  if (end < 0) return undefined;
  for (let i = 0; i < end; i++) if (bytes[i] < 0x20 || bytes[i] > 0x7e) return undefined;
  return String.fromCharCode(...bytes.subarray(0, end));
}

function isCharType(btf: Btf, id: number): boolean {
  const t = btf.resolved(id);
  return t.kind === "int" && t.size === 1 && (t.char || t.name === "char" || t.name === "unsigned char");
}

/**
 * The value of BTF type `typeId` stored at bit `bitOff` of `bytes`
 * (`bitSize` for a bitfield member, else 0).
 */
export function btfDumpValue(btf: Btf, typeId: number, bytes: Uint8Array, bitOff = 0, bitSize = 0): BtfJson {
  const t = btf.resolved(typeId);
  switch (t.kind) {
    case "int": {
      const bits = bitSize || (t.bits ? t.bits : t.size * 8);
      const raw = readBits(bytes, bitOff + (bitSize ? 0 : t.bitsOffset), bits);
      if (t.bool) return raw !== 0n;
      if (bits > 64) return `0x${raw.toString(16)}`;
      return num(t.signed ? BigInt.asIntN(bits, raw) : raw);
    }
    case "enum":
    case "enum64": {
      const bits = bitSize || t.size * 8;
      const raw = readBits(bytes, bitOff, bits);
      const v = t.signed ? BigInt.asIntN(bits, raw) : raw;
      const e = t.values.find((x) => x.value === v || BigInt.asUintN(bits, x.value) === raw);
      return e ? e.name : num(v);
    }
    case "ptr":
      return `0x${readBits(bytes, bitOff, 64).toString(16)}`;
    case "float": {
      const view = new DataView(bytes.buffer, bytes.byteOffset + bitOff / 8, t.size);
      return t.size === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true);
    }
    case "array": {
      const elemSize = btf.sizeof(t.type);
      if (isCharType(btf, t.type)) {
        const s = asString(bytes.subarray(bitOff / 8, bitOff / 8 + t.nelems));
        if (s !== undefined) return s;
      }
      const out: BtfJson[] = [];
      for (let i = 0; i < t.nelems; i++) out.push(btfDumpValue(btf, t.type, bytes, bitOff + i * elemSize * 8));
      return out;
    }
    case "struct":
    case "union": {
      const out: { [name: string]: BtfJson } = {};
      for (const m of t.members) {
        const v = btfDumpValue(btf, m.type, bytes, bitOff + m.bitOffset, m.bitfieldSize);
        if (m.name === "" && typeof v === "object" && !Array.isArray(v)) Object.assign(out, v);
        else out[m.name] = v;
      }
      return out;
    }
    default:
      throw new LoaderError(`BTF [${typeId}] ${t.kind}: no value to dump`);
  }
}
