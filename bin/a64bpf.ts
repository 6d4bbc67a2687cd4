#!/usr/bin/env node
/**
 * a64bpf — the command-line entry. Thin: picks the subcommand and imports
 * only the module that implements it (start-up time matters: a
 * conformance-plugin call must stay well under 100 ms).
 *
 * Each command module exports `main(argv: string[]): Promise<number>`
 * returning the process exit code.
 */

interface CommandEntry {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, CommandEntry> = {
  kernel: {
    summary: "the simulated kernel: kernel call <func> [args...] | kernel syms | kernel load-module <file.c>",
    load: () => import("../harness/kernel/main.js"),
  },
  btf: {
    summary: "BTF as C or raw text: btf dump [file PATH | module NAME] --format c|raw (default: vmlinux)",
    load: () => import("../harness/btf/main.js"),
  },
  trace: {
    summary: "load a BPF object, attach it, call a function: trace --object p.o --call <func> [args...] [--json]",
    load: () => import("../harness/trace/main.js"),
  },
  bench: {
    summary: "run benchmarks: a64bpf bench [section...] [--json FILE]",
    load: () => import("../harness/bench/main.js"),
  },
  fuzz: {
    summary: "differential fuzzing: a64bpf fuzz jit --cases N --seed S",
    load: () => import("../harness/fuzz/main.js"),
  },
  "conformance-plugin": {
    summary: "bpf_conformance plugin: program hex on stdin, [MEMORY] [--interpret]",
    // The build's pre-linked bundle starts faster; sources (tsx) use the module itself.
    load: () =>
      import("../harness/conformance/main.bundle.js" as string).catch(
        () => import("../harness/conformance/main.js"),
      ) as Promise<{ main: (argv: string[]) => Promise<number> }>,
  },
  prog: {
    summary: "programs in files: prog load FILE.o | prog dump jited|xlated FILE [--prog NAME] [--opcodes]",
    load: () => import("../harness/prog/main.js"),
  },
  race: {
    summary: "race explorer: race <scenario> [--inject F] [--strategy random|pct|bounded] | --replay TOKEN | --matrix",
    load: () => import("../harness/race/main.js"),
  },
  selftests: {
    summary: "run the ported BPF selftests (test_progs options: -t -a -d -n -l -j -v -J -w ...)",
    load: () => import("../harness/test_progs/main.js"),
  },
};

function usage(): string {
  const lines = ["usage: a64bpf <command> [options]", "", "commands:"];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(20)} ${c.summary}`);
  return lines.join("\n");
}

async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    process.stdout.write(`${usage()}\n`);
    return cmd ? 0 : 2;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`a64bpf: unknown command: ${cmd}\n${usage()}\n`);
    return 2;
  }
  const mod = await entry.load();
  return mod.main(rest);
}

// `a64bpf ... | head`: the reader went away; stop quietly, as a C tool killed by SIGPIPE would.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // As runtime/errors.ts formatUserError(), without importing it on the fast path.
    const e = err as { message?: string; errnoName?: string; errno?: number };
    const errno = e.errnoName && typeof e.errno === "number" ? ` (${e.errnoName}, -${e.errno})` : "";
    process.stderr.write(`a64bpf: ${e.message ?? String(err)}${errno}\n`);
    if (process.env.A64BPF_DEBUG) process.stderr.write(`${(err as Error).stack ?? ""}\n`);
    process.exitCode = 1;
  },
);
