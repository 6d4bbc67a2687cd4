/**
 * Where `a64bpf prog` gets a program from. Today: raw bytecode (flat
 * 8-byte `struct bpf_insn` slots, as `llvm-objcopy -O binary` or a
 * `bpftool prog dump xlated file=` would give) and the bpf_conformance hex
 * text (space-separated bytes). ELF objects are recognised and refused
 * until the loader exists; that issue adds them here, with the BTF line
 * info the dump already knows how to print (`ProgSource.source`).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { EINVAL, ENOENT } from "../../runtime/errno.js";
import { BpfError, NotSupportedError } from "../../runtime/errors.js";
import { decodeInsns } from "../../runtime/bpf/codec.js";
import type { Insn } from "../../runtime/bpf/insn.js";

/** A program ready to JIT, with what the file told about it. */
export interface ProgSource {
  readonly insns: Insn[];
  /** prog name (from the file name: up to 15 of [A-Za-z0-9_.]). */
  readonly name: string;
  /** "raw" or "hex" (later: "elf"). */
  readonly format: "raw" | "hex";
  /** Source line of a slot (BTF line info); undefined for formats without it. */
  readonly source?: (slot: number) => string | undefined;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

function isHexText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (!/[0-9a-fA-Fx \t\r\n]/.test(c)) return false;
  }
  return true;
}

function hexToBytes(text: string): Uint8Array {
  const toks = text
    .trim()
    .split(/\s+/)
    .filter((t) => t !== "");
  return Uint8Array.from(
    toks.map((t) => {
      if (!/^(0x)?[0-9a-fA-F]{1,2}$/.test(t)) throw new BpfError(EINVAL, `invalid hex byte: ${JSON.stringify(t)}`);
      return parseInt(t.replace(/^0x/, ""), 16);
    }),
  );
}

/** A program name the kernel accepts, derived from a file name ("xdp-drop.o" → "xdp_drop"). */
export function progNameFromFile(file: string): string {
  return basename(file)
    .replace(/\.[^.]*$/, "")
    .replace(/[^A-Za-z0-9_.]/g, "_")
    .slice(0, 15);
}

/** Read `file` as raw bytecode or hex text; ELF objects are refused (ENOTSUPP) until the loader lands. */
export function readProgSource(file: string): ProgSource {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new BpfError(ENOENT, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new NotSupportedError(`${file}: ELF objects are not supported yet (raw bytecode or hex text only)`);
  }
  const hex = isHexText(bytes);
  const insns = decodeInsns(hex ? hexToBytes(Buffer.from(bytes).toString("utf8")) : bytes);
  return { insns, name: progNameFromFile(file), format: hex ? "hex" : "raw" };
}
