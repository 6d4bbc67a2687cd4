/**
 * `a64bpf prog dump jited FILE [--opcodes] [--bti] [--pac] [--no-lse] [--far]
 * [--absolute] [--no-bpf]`: JIT a program on a freshly booted one-CPU kernel
 * and print the listing `bpftool prog dump jited` would, with each BPF
 * instruction (and, once the loader provides BTF line info, each source
 * line) above the A64 code it produced (runtime/jit/dump.ts).
 *
 * Helper calls go to the kernel's function of that name when it has one,
 * else to a stub named after the helper (the program is only compiled,
 * never run); ld_imm64 map references resolve to
 * 0, since raw bytecode carries no maps (a note says so on stderr).
 */
import { parseArgs } from "node:util";
import { initDisassembler } from "../../runtime/a64/disasm.js";
import { funcIdName } from "../../runtime/bpf/func_ids.js";
import { Kernel } from "../../runtime/kernel/kernel.js";
import { dumpJited } from "../../runtime/jit/dump.js";
import { bpfIntJitCompile, bpfJitFree, type JitEnv } from "../../runtime/jit/jit.js";
import { dumpJitedElf } from "./dump_jited_elf.js";
import { isElfFile } from "./elf.js";
import { readProgSource } from "./source.js";

function hasSymbol(k: Kernel, name: string): boolean {
  try {
    k.symbolAddress(name);
    return true;
  } catch {
    return false;
  }
}

/** Where the command writes (the real stdout/stderr, or a test's buffers). */
export interface ProgIo {
  out(text: string): void;
  err(text: string): void;
}

/** Run `prog dump jited` with `argv` (after "dump jited"); returns the exit code. */
export async function dumpJitedCommand(argv: readonly string[], io: ProgIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      opcodes: { type: "boolean" },
      bti: { type: "boolean" },
      pac: { type: "boolean" },
      "no-lse": { type: "boolean" },
      far: { type: "boolean" },
      absolute: { type: "boolean" },
      "no-bpf": { type: "boolean" },
      prog: { type: "string" },
    },
  });
  if (positionals.length !== 1) {
    io.err(
      "usage: a64bpf prog dump jited FILE [--prog NAME] [--opcodes] [--bti] [--pac] [--no-lse] [--far] [--absolute] [--no-bpf]\n",
    );
    return 2;
  }
  if (isElfFile(positionals[0])) {
    const bpf = !(values["no-bpf"] ?? false);
    const opts = { prog: values.prog, opcodes: values.opcodes, absolute: values.absolute, bpf };
    return dumpJitedElf(positionals[0], opts, io);
  }
  const prog = readProgSource(positionals[0]);
  const disasm = initDisassembler();
  const k = new Kernel({ cpus: 1 });
  try {
    const stubs = new Map<number, bigint>();
    let mapNote = false;
    const env: JitEnv = {
      kernel: k,
      helper: (id) => {
        let a = stubs.get(id);
        if (a === undefined) {
          const name = funcIdName(id);
          a = hasSymbol(k, name) ? k.symbolAddress(name) : k.registerDynamicService(name, () => 0n);
          stubs.set(id, a);
        }
        return a;
      },
      kfunc: (btfId) => {
        const name = `kfunc_btf_id_${btfId}`;
        return k.registerDynamicService(name, () => 0n);
      },
      pseudoLd: () => {
        mapNote = true;
        return 0n;
      },
    };
    const jited = bpfIntJitCompile({ insns: prog.insns, name: prog.name }, env, {
      bti: values.bti ?? false,
      pac: values.pac ?? false,
      lse: !(values["no-lse"] ?? false),
      far: values.far ?? false,
    });
    await disasm;
    if (mapNote) io.err("note: ld_imm64 map references resolved to 0 (raw bytecode has no maps)\n");
    io.out(
      dumpJited(jited, {
        opcodes: values.opcodes ?? false,
        absolute: values.absolute ?? false,
        bpf: !(values["no-bpf"] ?? false),
        source: prog.source,
      }),
    );
    bpfJitFree(jited, env);
    return 0;
  } finally {
    k.close();
  }
}
