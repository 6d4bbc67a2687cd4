/**
 * `a64bpf prog dump jited FILE.o [--prog NAME] ...`: the JITed images of an
 * ELF object's programs, loaded into a freshly booted kernel, with each
 * BPF instruction and its BTF source line above the A64 code
 * (runtime/jit/dump.ts). Called by dump_jited.ts for ELF files.
 */
import { initDisassembler } from "../../runtime/a64/disasm.js";
import { dumpJited } from "../../runtime/jit/dump.js";
import type { ProgIo } from "./dump_jited.js";
import { lineSource, loadElf, mapIdFormat } from "./elf.js";

/** Options of the ELF dump (the flags dump_jited parsed). */
export interface ElfJitedOptions {
  prog?: string;
  opcodes?: boolean;
  absolute?: boolean;
  bpf?: boolean;
}

/** Dump the JITed programs of `file`; returns the exit code. */
export async function dumpJitedElf(file: string, opts: ElfJitedOptions, io: ProgIo): Promise<number> {
  const disasm = initDisassembler();
  const loaded = loadElf(file, { prog: opts.prog });
  try {
    await disasm;
    for (const p of loaded.progs) {
      io.out(
        dumpJited(p.jited, {
          opcodes: opts.opcodes ?? false,
          absolute: opts.absolute ?? false,
          bpf: opts.bpf ?? true,
          source: lineSource(p),
          format: mapIdFormat(p),
        }),
      );
    }
    return 0;
  } finally {
    loaded.close();
  }
}
