/**
 * `a64bpf fuzz <target> ...` (`npm run fuzz -- <target> ...`): differential
 * fuzzers. Each target is one entry of TARGETS; the loader issue adds
 * `loader`.
 *
 *   jit      random programs, JIT on the emulated CPU vs the interpreter (jit.ts)
 *   loader   malformed BPF ELF objects: typed errors, no crash, no hang, nothing leaked (loader.ts)
 */
import { fuzzJit, type FuzzIo } from "./jit.js";
import { fuzzLoader } from "./loader.js";

type Target = (argv: readonly string[], io: FuzzIo) => number | Promise<number>;

const TARGETS: Record<string, { summary: string; run: Target }> = {
  jit: { summary: "JIT vs interpreter on seeded random programs: --cases N --seed S", run: fuzzJit },
  loader: { summary: "malformed ELF objects must give typed errors: --cases N --seed S [--no-load]", run: fuzzLoader },
};

function usage(): string {
  return [
    "usage: a64bpf fuzz <target> [options]",
    "",
    "targets:",
    ...Object.entries(TARGETS).map(([n, t]) => `  ${n.padEnd(8)} ${t.summary}`),
  ].join("\n");
}

/** Entry point of `a64bpf fuzz`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const io: FuzzIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(`${usage()}\n`);
    return 0;
  }
  const target = name === undefined ? undefined : TARGETS[name];
  if (!target) {
    io.err(`${name ? `a64bpf fuzz: unknown target: ${name}\n` : ""}${usage()}\n`);
    return 2;
  }
  return target.run(rest, io);
}
