/**
 * `bpftool prog dump jited` for a JitedProg: each function under its ksym
 * name, each A64 instruction as `offset: mnemonic operands` (capstone),
 * interleaved with the BPF instruction it came from (using ctx.offset), and
 * optionally the instruction bytes (`opcodes`) and source lines (for the
 * loader's BTF line info).
 *
 *   bpf_prog_a04f5eef06a7f555_prog:
 *   ; prologue
 *      0:	add	x9, x30, #0
 *      4:	nop
 *      ...
 *   ; 0: (b7) r0 = 0
 *     18:	mov	x8, #0
 *   ; 1: (95) exit
 *   ; epilogue
 *     1c:	ldp	xzr, x26, [sp], #0x10
 *      ...
 *   ; plt
 *     30:	ldr	x10, #0x38
 *     34:	br	x10
 *
 * Offsets are bytes from the function's entry (as bpftool prints them);
 * pc-relative operands are shown for an image at address 0 unless
 * `absolute` asks for the real addresses.
 */
import { disassemble } from "../a64/disasm.js";
import { formatInsnWithCode, type FormatOptions } from "../bpf/format.js";
import { opInfo } from "../bpf/opcodes.js";
import type { JitedFunc, JitedProg } from "./jit.js";

/** Options of {@link dumpJited}. */
export interface DumpJitedOptions {
  /** Print each instruction's four bytes on the next line, as `bpftool ... opcodes` does. */
  opcodes?: boolean;
  /** Disassemble at the image's real address (default: offsets from 0, stable across runs). */
  absolute?: boolean;
  /** Interleave the BPF instructions (default true). */
  bpf?: boolean;
  /** Source line for a BPF slot (BTF line info), printed as `; <line>` before the instruction. */
  source?: (slot: number) => string | undefined;
  /** How BPF instructions are formatted (e.g. map ids for ld_imm64, as the loader knows them). */
  format?: FormatOptions;
}

/** capstone 5 prints BTI landing pads as plain hints; LLVM (bpftool) names them. */
const BTI_NAMES: Record<string, string> = { "#0x22": "c", "#0x24": "j", "#0x26": "jc" };

function mnemonicText(mnemonic: string, operands: string): string {
  if (mnemonic === "hint" && BTI_NAMES[operands]) return `bti\t${BTI_NAMES[operands]}`;
  return `${mnemonic}${operands ? `\t${operands}` : ""}`;
}

function hexBytes(word: number): string {
  const b = [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** The lines of one function (see the file header). */
function dumpFunc(jited: JitedProg, f: JitedFunc, opts: DumpJitedOptions): string[] {
  const base = opts.absolute ? f.bpfFunc : 0n;
  const insns = disassemble(f.image, base);
  // Markers before A64 index i: BPF instructions starting there, prologue/epilogue/plt.
  const marks = new Map<number, string[]>();
  const mark = (i: number, text: string): void => {
    const list = marks.get(i);
    if (list) list.push(text);
    else marks.set(i, [text]);
  };
  mark(0, "; prologue");
  if (opts.bpf ?? true) {
    for (let s = 0; s < f.len; s++) {
      const slot = f.start + s;
      const src = opts.source?.(slot);
      if (src !== undefined) mark(f.offsets[s], `; ${src}`);
      mark(f.offsets[s], `; ${slot}: ${formatInsnWithCode(jited.insns, slot, opts.format)}`);
      if (opInfo(jited.insns[slot].code).kind === "ldimm64") s++;
    }
  }
  mark(f.epilogue, "; epilogue");
  mark(pltStart(f), "; plt");
  const lines = [`${f.symbol}:`];
  for (let i = 0; i < insns.length; i++) {
    for (const m of marks.get(i) ?? []) lines.push(m);
    const d = insns[i];
    const off = (i * 4).toString(16).padStart(4, " ");
    lines.push(`${off}:\t${mnemonicText(d.mnemonic, d.operands)}`);
    if (opts.opcodes) lines.push(`\t${hexBytes(d.word)}`);
  }
  return lines;
}

const A64_NOP = 0xd503201f;
const A64_RET = 0xd65f03c0;

/** The PLT block, including its alignment nop when the epilogue's `ret` is followed by one. */
function pltStart(f: JitedFunc): number {
  const plt = Number((f.plt.addr - f.bpfFunc) / 4n);
  return f.image[plt - 1] === A64_NOP && f.image[plt - 2] === A64_RET ? plt - 1 : plt;
}

/**
 * The listing of every function of `jited` (capstone must be loaded:
 * `await initDisassembler()`), one line per instruction, ending in a newline.
 */
export function dumpJited(jited: JitedProg, opts: DumpJitedOptions = {}): string {
  const out: string[] = [];
  for (const f of jited.subprogs) {
    if (out.length) out.push("");
    out.push(...dumpFunc(jited, f, opts));
  }
  return `${out.join("\n")}\n`;
}
