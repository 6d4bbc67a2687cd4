/**
 * `a64bpf trace`: quick experiments and scripted checks.
 *
 *   a64bpf trace [--module m.c ...] --object p.o|p.c --call <func> [int args...]
 *                [--cpus N] [--json]
 *
 * Boots the simulated kernel (with bpf_testmod), loads the modules, opens
 * and loads the BPF object (a .c file is built with the selftests' flags),
 * attaches every autoload program, calls `func` on a fresh task, then
 * prints the call's return value and every global of the object's .bss
 * and .data by name, typed by BTF as bpftool prints map values (arrays,
 * structs, strings, enum names; as JSON with --json). Exit status 1 with the error
 * when any step fails; nothing is left behind (the kernel is per run).
 */
import { Command, CommanderError } from "commander";
import { resolve } from "node:path";
import { EINVAL } from "../../runtime/errno.js";
import { BpfError, formatUserError } from "../../runtime/errors.js";
import { buildBpfProg } from "../../runtime/loader/progs_build.js";
import type { BtfJson } from "../../runtime/bpf/btf/dump_value.js";
import { BpfObject } from "../../runtime/loader/skeleton.js";
import { bootBpfKernel } from "../../runtime/loader/testing.js";
import { checkCallArgs, parseIntArg } from "../kernel/call_args.js";

interface TraceOptions {
  module: string[];
  object: string;
  call: string;
  cpus: string;
  json?: boolean;
}

function runTrace(args: string[], o: TraceOptions): void {
  const { kernel: k, images } = bootBpfKernel({ cpus: Number(o.cpus) });
  try {
    for (const m of o.module) images.loadModule([resolve(m)]);
    const path = resolve(o.object);
    const bytes = path.endsWith(".c") ? buildBpfProg(path).bytes : path;
    const obj = BpfObject.open(bytes, { objectName: path.replace(/^.*\//, "").replace(/\.(c|o|bpf\.o)$/, "") });
    obj.load(k);
    const err = obj.attach();
    if (err !== 0) throw obj.attachError ?? new BpfError(-err, `failed to attach ${o.object}: ${err}`);
    const f = images.func(o.call);
    const proto = f.btf.funcSignature(o.call)?.proto;
    const raw = k.call(f.addr, checkCallArgs(images, o.call, args.map(parseIntArg)), { comm: o.call });
    const retSize = proto ? f.btf.sizeof(proto.returnType) : 8;
    const ret = retSize > 0 && retSize < 8 ? BigInt.asIntN(retSize * 8, raw) : BigInt.asIntN(64, raw);
    // Every global of .bss and .data, typed by BTF (arrays, structs, strings as bpftool prints them).
    const globals: Record<string, BtfJson> = {};
    for (const sec of [".bss", ".data"]) {
      const g = obj.globals(sec);
      for (const name of g?.vars.keys() ?? []) globals[name] = g!.json(name);
    }
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ func: o.call, ret: Number(ret), globals })}\n`);
    } else {
      process.stdout.write(`${o.call}() = ${ret}\n`);
      for (const [name, v] of Object.entries(globals)) process.stdout.write(`${name} = ${JSON.stringify(v)}\n`);
    }
    obj.destroy();
    if (k.oopses.length) throw new BpfError(EINVAL, k.formatFault(k.oopses[0]));
  } finally {
    k.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const collect = (v: string, prev: string[]) => [...prev, v];
  const program = new Command("a64bpf trace")
    .description("load a BPF object, attach it, call a kernel function, print its return value and globals")
    .requiredOption("--object <file>", "BPF object (.o) or BPF C source (.c, built like selftests/progs)")
    .requiredOption("--call <func>", "kernel or module function to call")
    .option("--module <file.c>", "load this C module first (repeatable)", collect, [])
    .option("--cpus <n>", "number of CPUs", "2")
    .option("--json", "print JSON")
    .argument("[args...]", "integer arguments of the call")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: "user" });
    runTrace(program.args, program.opts<TraceOptions>());
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`a64bpf trace: ${formatUserError(err)}\n`);
    return 1;
  }
}
