/**
 * `a64bpf prog <verb> ...`: bpftool's `prog` commands for programs in files.
 *
 *   prog dump jited FILE [options]    JITed code, interleaved with BPF (dump_jited.ts;
 *                                     ELF objects through dump_jited_elf.ts)
 *   prog dump jited --trampoline F    a kernel function's BPF trampoline, annotated
 *                                     with its frame (dump_trampoline.ts)
 *   prog dump xlated FILE.o [options] after the verifier's rewrites (load_cmd.ts)
 *   prog load FILE.o [options]        load an object, print its programs (load_cmd.ts)
 *
 * Each verb is one entry of VERBS.
 */
import { formatUserError } from "../../runtime/errors.js";
import { dumpJitedCommand, type ProgIo } from "./dump_jited.js";
import { dumpTrampolineCommand } from "./dump_trampoline.js";
import { dumpXlatedCommand, loadCommand } from "./load_cmd.js";

type Verb = (argv: readonly string[], io: ProgIo) => Promise<number>;

/** Subcommands by their words ("dump jited"). */
const VERBS: Record<string, Verb> = {
  "dump jited": dumpJitedCommand,
  "dump xlated": dumpXlatedCommand,
  load: loadCommand,
};

function usage(): string {
  return [
    "usage: a64bpf prog <command> ...",
    "",
    "commands:",
    "  prog load FILE [--prog NAME] [--log-level 1|2]",
    "      load the object's programs (BPF_PROG_LOAD: verify, JIT), list them as bpftool prog does",
    "  prog dump xlated FILE [--prog NAME] [--no-source]",
    "      the verified program, in the kernel's instruction syntax, with source lines",
    "  prog dump jited FILE [--prog NAME] [--opcodes] [--bti] [--pac] [--no-lse] [--far] [--absolute] [--no-bpf]",
    "      the JITed arm64 code, interleaved with the BPF instructions and source lines",
    "  prog dump jited --trampoline FUNC [--object FILE | --fentry N --fexit N --fmod-ret N] [--ip-arg] [--module FILE.c]",
    "      the BPF trampoline of a kernel function, with its frame annotated",
    "",
    "FILE is a BPF ELF object (clang -target bpf), a .c file built like selftests/progs, or raw bytecode.",
  ].join("\n");
}

/** Run `a64bpf prog` with explicit output functions (tests). */
export async function runProg(argv: readonly string[], io: ProgIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(`${usage()}\n`);
    return 0;
  }
  if (argv[0] === "dump" && argv[1] === "jited" && argv.includes("--trampoline")) {
    try {
      return await dumpTrampolineCommand(argv.slice(2), io);
    } catch (err) {
      io.err(`a64bpf prog dump jited: ${formatUserError(err)}\n`);
      return 1;
    }
  }
  for (const [words, verb] of Object.entries(VERBS)) {
    const w = words.split(" ");
    if (w.every((x, i) => argv[i] === x)) {
      try {
        return await verb(argv.slice(w.length), io);
      } catch (err) {
        io.err(`a64bpf prog ${words}: ${formatUserError(err)}\n`);
        return 1;
      }
    }
  }
  io.err(`${usage()}\n`);
  return 2;
}

/** Entry point of `a64bpf prog`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  return runProg(argv, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  });
}
