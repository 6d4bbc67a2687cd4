/**
 * `a64bpf kernel ...`: the simulated kernel from the command line.
 *
 *   a64bpf kernel call <func> [int args...] [--cpus N] [--module file.c ...]
 *       boot, call func on a fresh task, print its return value (typed by BTF)
 *   a64bpf kernel syms [--module file.c ...]
 *       /proc/kallsyms of vmlinux, bpf_testmod and the given modules
 *   a64bpf kernel load-module <file.c ...>
 *       build and load a module, print its symbols
 *
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */
import { Command, CommanderError } from "commander";
import { ENOENT } from "../../runtime/errno.js";
import { BpfError, formatUserError } from "../../runtime/errors.js";
import { bootKernel, type KernelImages } from "../../runtime/kernel/boot.js";
import { checkCallArgs, parseIntArg } from "./call_args.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";

/** The return value as the function's BTF return type prints in C. */
function formatReturn(images: KernelImages, func: string, raw: bigint): string {
  const f = images.findFunc(func);
  if (!f) return BigInt.asIntN(64, raw).toString();
  const proto = f.btf.funcSignature(func)?.proto;
  if (!proto) return BigInt.asIntN(64, raw).toString();
  const t = f.btf.resolved(proto.returnType);
  if (t.kind === "void") return "(void)";
  if (t.kind === "ptr") return `0x${raw.toString(16)}`;
  const bits = 8 * f.btf.sizeof(proto.returnType);
  const signed = (t.kind === "int" && t.signed) || t.kind === "enum";
  return (signed ? BigInt.asIntN(bits, raw) : BigInt.asUintN(bits, raw)).toString();
}

function boot(cpus: number, modules: readonly string[]): { kernel: Kernel; images: KernelImages } {
  const booted = bootKernel({ cpus });
  for (const m of modules) booted.images.loadModule([m]);
  return booted;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command("a64bpf kernel")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const collect = (v: string, prev: string[]) => [...prev, v];
  let code = 0;
  program
    .command("call")
    .description("call a kernel function on a fresh task and print its return value")
    .argument("<func>", "kernel or module function")
    .argument("[args...]", "integer arguments (decimal or 0x hex)")
    .option("--cpus <n>", "number of CPUs", "2")
    .option("--module <file.c>", "load this C module first (repeatable)", collect, [])
    .action((func: string, args: string[], o: { cpus: string; module: string[] }) => {
      const { kernel, images } = boot(Number(o.cpus), o.module);
      try {
        // A function with BTF is checked against its prototype; a symbol without
        // BTF (an assembly stub, a service) is called with the values as given.
        const addr = images.findFunc(func)?.addr ?? kernel.kallsyms.addressOf(func);
        if (addr === undefined) throw new BpfError(ENOENT, `unknown symbol: ${func} (not in kallsyms)`);
        const values = checkCallArgs(images, func, args.map(parseIntArg));
        const ret = kernel.call(addr, values, { comm: func });
        process.stdout.write(`${formatReturn(images, func, ret)}\n`);
      } finally {
        kernel.close();
      }
    });
  program
    .command("syms")
    .description("list kallsyms (vmlinux, modules, BPF)")
    .option("--module <file.c>", "load this C module first (repeatable)", collect, [])
    .action((o: { module: string[] }) => {
      const { kernel } = boot(1, o.module);
      try {
        process.stdout.write(kernel.kallsyms.procKallsyms());
      } finally {
        kernel.close();
      }
    });
  program
    .command("load-module")
    .description("build and load a C module, print its symbols")
    .argument("<files...>", "C source files")
    .action((files: string[]) => {
      const { kernel, images } = boot(1, []);
      try {
        const m = images.loadModule(files);
        for (const s of m.image.ksyms())
          process.stdout.write(`${s.addr.toString(16).padStart(16, "0")} ${s.type} ${s.name}\t[${m.name}]\n`);
      } finally {
        kernel.close();
      }
    });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`a64bpf kernel: ${formatUserError(err)}\n`);
    code = 1;
  }
  return code;
}
