/**
 * `a64bpf btf dump [file PATH | module NAME] [format c|raw]` (bpftool's
 * `btf dump`, with `--format c|raw` accepted as well): the BTF of the
 * simulated kernel's vmlinux (default), of one of its modules (from the
 * module's own build, e.g. bpf_testmod), or of any ELF file with a .BTF
 * section, as a C header (runtime/bpf/btf/dump_c.ts: what
 * `bpftool btf dump file vmlinux format c > vmlinux.h` gives) or as
 * bpftool's raw listing.
 *
 *   a64bpf btf dump --format c > vmlinux.h
 *   clang-19 -target bpf -O2 -g -c prog.c      (prog.c includes "vmlinux.h")
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EINVAL, ENOENT } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { Btf } from "../../runtime/bpf/btf/btf.js";
import { btfDumpC } from "../../runtime/bpf/btf/dump_c.js";
import { btfDumpRaw } from "../../runtime/bpf/btf/dump_raw.js";
import { parseElf } from "../../runtime/bpf/elf.js";
import { kernelImageFile } from "../../runtime/kernel/image.js";
import { bootKernel } from "../../runtime/kernel/boot.js";

/** Where the command writes. */
export interface BtfIo {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = "usage: a64bpf btf dump [file PATH | module bpf_testmod] [format c|raw | --format c|raw]";

/** The .BTF of an ELF file. */
function btfOfFile(path: string): Btf {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new BpfError(ENOENT, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (bytes[0] === 0xeb && bytes[1] === 0x9f) return Btf.parse(bytes);
  const elf = parseElf(bytes);
  const sec = elf.sectionByName(".BTF");
  if (!sec) throw new BpfError(ENOENT, `${path}: no .BTF section`);
  return Btf.parse(elf.sectionData(sec));
}

/** The BTF of a module the simulated kernel loads at boot (bpf_testmod). */
function btfOfModule(name: string): Btf {
  const { kernel, images } = bootKernel({ cpus: 1 });
  try {
    const m = images.modules.module(name);
    if (!m)
      throw new BpfError(
        ENOENT,
        `unknown module: ${name} (loaded: ${images.modules.modules.map((x) => x.name).join(", ")})`,
      );
    return m.image.btf;
  } finally {
    kernel.close();
  }
}

/** Run `a64bpf btf` with explicit output functions (tests). */
export function runBtf(argv: readonly string[], io: BtfIo): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { format: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const [verb, ...rest] = positionals;
  if (verb !== "dump") {
    io.err(`${USAGE}\n`);
    return 2;
  }
  let format = values.format ?? "raw";
  let source: () => Btf = () => kernelImageFile().btf;
  for (let i = 0; i < rest.length; i += 2) {
    const [key, val] = [rest[i], rest[i + 1]];
    if (val === undefined) {
      io.err(`${USAGE}\n`);
      return 2;
    }
    if (key === "file") source = () => btfOfFile(val);
    else if (key === "module") source = () => btfOfModule(val);
    else if (key === "format") format = val;
    else {
      io.err(`${USAGE}\n`);
      return 2;
    }
  }
  if (format !== "c" && format !== "raw") {
    io.err(`a64bpf btf dump: unknown format: ${format} (c or raw)\n`);
    return 2;
  }
  try {
    const btf = source();
    io.out(format === "c" ? btfDumpC(btf) : btfDumpRaw(btf));
    return 0;
  } catch (err) {
    const e = err instanceof BpfError ? err : new BpfError(EINVAL, String((err as Error).message ?? err));
    io.err(`a64bpf btf dump: ${e.message}\n`);
    return 1;
  }
}

/** Entry point of `a64bpf btf`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  return runBtf(argv, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
}
