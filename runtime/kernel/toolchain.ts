/**
 * The C toolchain of the simulated kernel: clang-19 for aarch64, ld.lld-19
 * and pahole (the pipeline the kernel uses for vmlinux BTF: DWARF from the
 * compiler, BTF from pahole -J, as scripts/link-vmlinux.sh does).
 *
 * Flags follow arch/arm64/Makefile and the top-level Makefile where they
 * matter to the code the trampoline must honour:
 *   -fpatchable-function-entry=2   two NOPs at every traceable function entry
 *                                  (DYNAMIC_FTRACE_WITH_ARGS), recorded in
 *                                  __patchable_function_entries
 *   -fno-omit-frame-pointer -fno-optimize-sibling-calls
 *                                  frame records for backtraces, no tail calls
 *   -mgeneral-regs-only            no FP/SIMD in kernel code
 *   -fno-asynchronous-unwind-tables -fno-unwind-tables   no .eh_frame
 * The compiler, not this code, decides the AAPCS64 layout of every call.
 *
 * A tool's identity for build hashes is its resolved path, size and mtime
 * (no process is started on a cache hit). Failures are BuildErrors that
 * carry the tool's diagnostics.
 */
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { EINVAL, ENOENT } from "../errno.js";
import { KernelError, type BpfErrorOptions } from "../errors.js";

/** A failed compile, link or BTF step; `diagnostics` is the tool's stderr. */
export class BuildError extends KernelError {
  readonly diagnostics: string;

  constructor(errno: number, message: string, options: BpfErrorOptions & { diagnostics?: string } = {}) {
    super(errno, message, options);
    this.diagnostics = options.diagnostics ?? "";
  }
}

/** The tools, by the names Debian installs them under. */
export const TOOLS = {
  clang: "clang-19",
  lld: "ld.lld-19",
  pahole: "pahole",
} as const;

/** A key of TOOLS. */
export type ToolName = keyof typeof TOOLS;

/** clang flags shared by the kernel and its modules (see the header). */
export const KERNEL_CFLAGS: readonly string[] = [
  "--target=aarch64-linux-gnu",
  "-std=gnu11",
  "-O2",
  "-g",
  "-ffreestanding",
  "-fno-pic",
  "-fno-common",
  "-fpatchable-function-entry=2",
  "-mgeneral-regs-only",
  "-fno-omit-frame-pointer",
  "-fno-optimize-sibling-calls",
  "-fno-stack-protector",
  "-fno-asynchronous-unwind-tables",
  "-fno-unwind-tables",
  "-mbranch-protection=none",
  "-nostdinc",
  "-D__KERNEL__",
  "-Wall",
  "-Wno-unused-function",
  "-Wno-c23-extensions",
];

/** ld.lld flags shared by the kernel and its modules. */
export const LDFLAGS: readonly string[] = [
  "-static",
  "--no-pie",
  "-z",
  "max-page-size=4096",
  "-z",
  "norelro",
  "--build-id=none",
];

/** pahole flags (scripts/pahole-flags.sh for pahole 1.24: floats on, everything else default). */
export const PAHOLE_FLAGS: readonly string[] = ["-J", "--btf_gen_floats"];

const resolved = new Map<ToolName, string>();

/** Absolute path of a tool found on PATH, or a BuildError(ENOENT). */
export function toolPath(tool: ToolName): string {
  const cached = resolved.get(tool);
  if (cached) return cached;
  const exe = TOOLS[tool];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, exe);
    if (existsSync(p)) {
      resolved.set(tool, p);
      return p;
    }
  }
  throw new BuildError(ENOENT, `${exe} not found on PATH: run npm run bootstrap`);
}

/** "path:size:mtime" of the tool's real binary: changes when the tool is upgraded. */
export function toolFingerprint(tool: ToolName): string {
  const real = realpathSync(toolPath(tool));
  const st = statSync(real);
  return `${TOOLS[tool]}=${real}:${st.size}:${Math.floor(st.mtimeMs)}`;
}

/** Fingerprints of every tool, for build hashes. */
export function toolchainFingerprint(): string {
  return (Object.keys(TOOLS) as ToolName[]).map(toolFingerprint).join("\n");
}

/** Options of {@link runTool}. */
export interface RunToolOptions {
  cwd?: string;
  /** Prefix of the error message ("compile bpf_testmod.c"). */
  what: string;
}

/**
 * Run a tool synchronously; a non-zero exit is a BuildError(EINVAL) whose
 * message includes the diagnostics (trimmed) and whose `diagnostics` has them all.
 */
export function runTool(tool: ToolName, args: readonly string[], opts: RunToolOptions): string {
  const res = spawnSync(toolPath(tool), args, { cwd: opts.cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  if (res.error) throw new BuildError(EINVAL, `${opts.what}: cannot run ${TOOLS[tool]}: ${res.error.message}`);
  const diagnostics = `${res.stderr ?? ""}${res.stdout ?? ""}`.trim();
  if (res.status !== 0) {
    const shown = diagnostics.length > 4000 ? `${diagnostics.slice(0, 4000)}\n...` : diagnostics;
    throw new BuildError(EINVAL, `${opts.what}: ${TOOLS[tool]} failed (exit ${res.status ?? res.signal}):\n${shown}`, {
      diagnostics,
    });
  }
  return diagnostics;
}

/** Options of {@link compileC}. */
export interface CompileOptions {
  /** -I directories, in order. */
  includeDirs: readonly string[];
  /** Extra flags for this file (e.g. -fno-eliminate-unused-debug-types). */
  extraFlags?: readonly string[];
  /** Source prefix mapped away in DWARF, so builds do not depend on the checkout path. */
  prefixMap?: { from: string; to: string };
  /** Name used in error messages (default: the source path). */
  what?: string;
}

/** Compile one C file to an aarch64 object with {@link KERNEL_CFLAGS}. */
export function compileC(src: string, out: string, opts: CompileOptions): void {
  const args = [...KERNEL_CFLAGS, ...(opts.extraFlags ?? [])];
  if (opts.prefixMap) args.push(`-ffile-prefix-map=${opts.prefixMap.from}=${opts.prefixMap.to}`);
  for (const dir of opts.includeDirs) args.push("-I", dir);
  args.push("-c", src, "-o", out);
  runTool("clang", args, { what: `compile ${opts.what ?? src}` });
}

/** Options of {@link linkImage}. */
export interface LinkOptions {
  script: string;
  /** --defsym NAME=value pairs (addresses). */
  defsyms: Record<string, bigint>;
  /** Extra implicit linker scripts (PROVIDE lists) or objects. */
  extraInputs?: readonly string[];
  entry: string;
  what: string;
}

/** Link objects into a static ET_EXEC image at fixed addresses. */
export function linkImage(objects: readonly string[], out: string, opts: LinkOptions): void {
  const args = [...LDFLAGS, "-T", opts.script, "-e", opts.entry, "-o", out];
  for (const [name, value] of Object.entries(opts.defsyms)) args.push(`--defsym=${name}=0x${value.toString(16)}`);
  args.push(...objects, ...(opts.extraInputs ?? []));
  runTool("lld", args, { what: opts.what });
}

/** Add a .BTF section generated from the image's DWARF (pahole -J, in place). */
export function addBtf(image: string, what: string): void {
  runTool("pahole", [...PAHOLE_FLAGS, image], { what });
}
