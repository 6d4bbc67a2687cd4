/**
 * ELF objects for `a64bpf prog`: open a BPF object, load it (or one of its
 * programs, `--prog NAME`) into a freshly booted kernel with bpf_testmod,
 * and give the dumps what they print: the xlated instructions with map ids,
 * the JITed image, BTF line info per instruction, function prototypes.
 *
 * As bpftool, the dumps show programs as the kernel holds them: after
 * libbpf's relocations and the verifier's rewrites.
 */
import { readFileSync } from "node:fs";
import { EINVAL, ENOENT } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { btfDeclaration } from "../../runtime/bpf/btf/dump_c.js";
import { formatInsnWithCode, type FormatOptions } from "../../runtime/bpf/format.js";
import type { Insn } from "../../runtime/bpf/insn.js";
import { bpfSys } from "../../runtime/loader/bpf_sys.js";
import type { BpfProg } from "../../runtime/loader/prog.js";
import { opInfo, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../../runtime/bpf/opcodes.js";
import { BpfObject } from "../../runtime/loader/skeleton.js";
import { bootBpfKernel } from "../../runtime/loader/testing.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";
import { objectNameFromPath } from "../../runtime/bpf/object/open.js";

/** True when `file` starts with the ELF magic. */
export function isElfFile(file: string): boolean {
  try {
    const b = readFileSync(file);
    return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
  } catch {
    return false;
  }
}

/** A loaded object and the kernel it lives in; close() releases both. */
export interface LoadedElf {
  readonly kernel: Kernel;
  readonly obj: BpfObject;
  /** The loaded programs, in object order. */
  readonly progs: readonly BpfProg[];
  close(): void;
}

/** Options of {@link loadElf}. */
export interface LoadElfOptions {
  /** Load only this program (the others are not autoloaded). */
  prog?: string;
  logLevel?: number;
}

/** Boot a kernel and load `file` (all autoload programs, or only `opts.prog`). */
export function loadElf(file: string, opts: LoadElfOptions = {}): LoadedElf {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new BpfError(ENOENT, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const obj = BpfObject.open(bytes, { objectName: objectNameFromPath(file) });
  if (opts.prog !== undefined) {
    const target = obj.program(opts.prog);
    for (const p of obj.programs) p.autoload = p === target;
  }
  const { kernel } = bootBpfKernel({ cpus: 1 });
  try {
    obj.load(kernel, { logLevel: opts.logLevel });
  } catch (err) {
    kernel.close();
    throw err;
  }
  const progs = obj.programs.flatMap((p) => (p.prog ? [p.prog] : []));
  if (progs.length === 0) {
    obj.destroy();
    kernel.close();
    throw new BpfError(EINVAL, `${file}: no program to load`);
  }
  return {
    kernel,
    obj,
    progs,
    close() {
      obj.destroy();
      kernel.close();
    },
  };
}

/**
 * "<line> @ file:N" for each xlated slot where a BTF line_info record
 * starts; consecutive records of the same line (different columns) print once.
 */
export function lineSource(prog: BpfProg): (slot: number) => string | undefined {
  const bySlot = new Map<number, string>();
  let prev = "";
  for (const l of [...prog.lineInfo].sort((a, b) => a.insnOff - b.insnOff)) {
    const text = `${l.line.trim()} @ ${l.fileName.split("/").pop()}:${l.lineNum}`;
    if (text !== prev) bySlot.set(l.insnOff, text);
    prev = text;
  }
  return (slot) => bySlot.get(slot);
}

/** The C prototype bpftool prints above a function ("int tc_prog(struct __sk_buff * skb)"). */
export function funcHeader(prog: BpfProg, start: number): string | undefined {
  const f = prog.funcs.find((x) => x.start === start);
  if (!f || !prog.btf || !f.btfId) return undefined;
  const t = prog.btf.type(f.btfId);
  if (t.kind !== "func") return undefined;
  try {
    return btfDeclaration(prog.btf, t.type, { name: f.name });
  } catch {
    return undefined;
  }
}

/** ld_imm64 map operands by map id (`map[id:N]`), as bpftool prints loaded programs. */
export function mapIdFormat(prog: BpfProg): FormatOptions {
  const sys = bpfSys(prog.k);
  return {
    immName: (insn: Insn, _full: bigint, next: Insn) => {
      if (insn.src !== BPF_PSEUDO_MAP_FD && insn.src !== BPF_PSEUDO_MAP_VALUE) return undefined;
      const m = sys.findMap(insn.imm);
      if (!m) return undefined;
      return insn.src === BPF_PSEUDO_MAP_FD ? `map[id:${m.id}]` : `map[id:${m.id}][0]+${next.imm}`;
    },
  };
}

/** `bpftool prog dump xlated` of a loaded program: map ids, function headers, source lines. */
export function dumpXlated(prog: BpfProg, opts: { source?: boolean } = {}): string {
  const insns: readonly Insn[] = prog.xlated;
  const src = lineSource(prog);
  const starts = new Set(prog.verifier.subprogs.map((s) => s.start));
  const fmt = mapIdFormat(prog);
  let out = "";
  for (let i = 0; i < insns.length; i++) {
    if (starts.has(i)) {
      const h = funcHeader(prog, i);
      if (h) out += `${h}:\n`;
    }
    const line = opts.source !== false ? src(i) : undefined;
    if (line) out += `; ${line}\n`;
    out += `${String(i).padStart(4)}: ${formatInsnWithCode(insns, i, fmt)}\n`;
    if (opInfo(insns[i].code).kind === "ldimm64") i++;
  }
  return out;
}
