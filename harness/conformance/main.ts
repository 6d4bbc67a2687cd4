/**
 * `a64bpf conformance-plugin [MEMORY] [--interpret|--jit] [--program HEX]`:
 * a plugin for the bpf_conformance test suite (protocol.ts). By default the
 * program is JITed and run on a one-CPU emulated machine with the kernel's
 * BPF text, data and stack (bare.ts: the full simulated kernel would take
 * more than the start-up budget); `--kernel` runs it on the full
 * simulated kernel instead (a task of a 1-CPU Kernel: slower to start), and
 * `--interpret` runs the reference interpreter. Helpers 0–5 are ubpf's
 * (helpers.ts).
 *
 *   r1 = address of a copy of MEMORY (0 when it is empty), r2 = its length
 *
 * Start-up matters (the suite starts the plugin once per test): this
 * module imports only what it needs, and the interpreter path does not
 * even boot the emulator.
 */
import { decodeInsns } from "../../runtime/bpf/codec.js";
import type { Insn } from "../../runtime/bpf/insn.js";
import type { BpfCall } from "../../runtime/bpf/interp.js";
import { CONFORMANCE_HELPERS } from "./helpers.js";
import { decodeHex, parsePluginArgs, PluginUsageError } from "./protocol.js";

const PLUGIN_USAGE = [
  "usage: a64bpf conformance-plugin [MEMORY] [--interpret | --jit | --kernel] [--program HEX]",
  "",
  "A bpf_conformance plugin: reads the program as hex bytes from stdin (or --program),",
  "runs it with r1 = a copy of MEMORY (hex) and r2 = its length, prints r0 in hex.",
  "  --jit        the arm64 JIT on a one-CPU emulated machine (default)",
  "  --kernel     the arm64 JIT on the full simulated kernel",
  "  --interpret  the reference interpreter",
].join("\n");

/** Where the interpreter path maps the input memory and the stack (any unused addresses). */
const MEM_BASE = 0x1_0000_0000n;
const STACK_TOP = 0x2_0000_0000n;
/** Bytes mapped above r10: conformance programs sometimes store a little past their frame. */
const STACK_SLACK = 64;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").split("\n")[0] ?? "";
}

async function runInterp(insns: readonly Insn[], memory: Uint8Array): Promise<bigint> {
  const { bpfInterp, INTERP_STACK_SIZE } = await import("../../runtime/bpf/interp.js");
  const { FlatMemory } = await import("../../runtime/bpf/interp_mem.js");
  const mem = new FlatMemory();
  if (memory.length) mem.map(MEM_BASE, memory, { name: "input" });
  mem.map(STACK_TOP - BigInt(INTERP_STACK_SIZE), new Uint8Array(INTERP_STACK_SIZE + STACK_SLACK), { name: "stack" });
  const helper = (id: number, call: BpfCall): bigint => {
    const h = CONFORMANCE_HELPERS[id];
    if (!h) throw new Error(`unknown helper: ${id}`);
    const ret = BigInt.asUintN(64, h.fn([...call.args], call.mem));
    if (h.unwind?.(ret)) call.requestExit();
    return ret;
  };
  const args = [memory.length ? MEM_BASE : 0n, BigInt(memory.length)];
  return bpfInterp(insns, { mem, stack: STACK_TOP, args, helper }).r0;
}

async function runJit(insns: readonly Insn[], memory: Uint8Array): Promise<bigint> {
  const { bootBare, callBare } = await import("./bare.js");
  const { bpfIntJitCompile } = await import("../../runtime/jit/jit.js");
  const bare = bootBare(memory.length, CONFORMANCE_HELPERS);
  try {
    bare.machine.memory.writeBytes(bare.data, memory);
    const helper = (id: number): bigint => {
      const a = bare.helpers.get(id);
      if (a === undefined) throw new Error(`unknown helper: ${id}`);
      return a;
    };
    const jited = bpfIntJitCompile({ insns }, { kernel: bare.kernel, helper });
    return callBare(bare, jited.bpfFunc, [memory.length ? bare.data : 0n, BigInt(memory.length)]);
  } finally {
    bare.machine.close();
  }
}

/** The JIT on the full simulated kernel (`--kernel`): a 1-CPU Kernel, the program called by a task. */
async function runJitKernel(insns: readonly Insn[], memory: Uint8Array): Promise<bigint> {
  const { createDiffEnv } = await import("../../runtime/jit/diff.js");
  const { bpfIntJitCompile } = await import("../../runtime/jit/jit.js");
  const { FaultError } = await import("../../runtime/machine/fault.js");
  const env = createDiffEnv({ helpers: CONFORMANCE_HELPERS, maxScratch: Math.max(memory.length, 8) });
  try {
    env.k.machine.memory.writeBytes(env.scratch, memory);
    const jited = bpfIntJitCompile({ insns }, env.jitEnv);
    const args = [memory.length ? env.scratch : 0n, BigInt(memory.length)];
    try {
      return env.k.call(jited.bpfFunc, args, { comm: "conformance", maxSteps: 10_000 });
    } catch (err) {
      if (err instanceof FaultError) throw new Error(`program faulted: ${err.message.split("\n")[0]}`);
      throw err;
    }
  } finally {
    env.k.close();
  }
}

/** Entry point of `a64bpf conformance-plugin`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${PLUGIN_USAGE}\n`);
    return 0;
  }
  try {
    const args = parsePluginArgs(argv);
    const bytes = decodeHex(args.program ?? (await readStdin()));
    const insns = decodeInsns(bytes);
    const r0 = args.interpret
      ? await runInterp(insns, args.memory)
      : args.kernel
        ? await runJitKernel(insns, args.memory)
        : await runJit(insns, args.memory);
    process.stdout.write(`${r0.toString(16)}\n`);
    return 0;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${err instanceof PluginUsageError ? "usage: " : ""}${msg}\n`);
    return 1;
  }
}
