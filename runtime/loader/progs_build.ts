/**
 * Building BPF C programs (tools/testing/selftests/bpf/Makefile, the
 * `$(TRUNNER_BPF_OBJS)` rule): `clang -target bpf -O2 -g` against the
 * libbpf headers and a vmlinux.h generated from the simulated kernel's BTF
 * (what `bpftool btf dump file vmlinux format c` gives the selftests).
 *
 *   kernel BTF ──btfDumpC──► <cache>/bpf-progs/vmlinux-<hash>/vmlinux.h
 *   selftests/progs/<name>.c + *.h ──clang-19──► <cache>/bpf-progs/<name>-<hash>.o
 *
 * The cache key of an object is the sha256 of everything that decides its
 * bytes: the C file, every header in its directory, vmlinux.h, the flags,
 * the libbpf headers and the clang binary. A hit starts no process.
 *
 * Flags: -target bpf -O2 -g -D__TARGET_ARCH_arm64 -mcpu=v3 (the selftests'
 * default CPU version), -I<progs dir> -I<vmlinux.h dir> -I<libbpf headers>,
 * -Wall. The kernel's selftests also pass -Wno-compare-distinct-pointer-types
 * and -fno-strict-aliasing; kept here for the same sources.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ENOENT } from "../errno.js";
import { CACHE_DIR, PROJECT_ROOT } from "../paths.js";
import { BuildError, runTool, toolFingerprint } from "../kernel/toolchain.js";
import { hashInputs, makeBuildDir, publishBuildDir, type BuildInput } from "../kernel/build.js";
import { kernelImageFile } from "../kernel/image.js";
import type { Btf } from "../bpf/btf/btf.js";
import { btfDumpC } from "../bpf/btf/dump_c.js";

/** selftests/progs: the BPF C programs of the ported selftests. */
export const PROGS_DIR = join(PROJECT_ROOT, "selftests", "progs");

/** Where libbpf-dev installs bpf/bpf_helpers.h and friends. */
export const LIBBPF_INCLUDE_DIR = "/usr/include";

/** clang flags for BPF objects (see the header). */
export const BPF_CFLAGS: readonly string[] = [
  "-target",
  "bpf",
  "-O2",
  "-g",
  "-mcpu=v3",
  "-D__TARGET_ARCH_arm64",
  "-Wall",
  "-Wno-compare-distinct-pointer-types",
  "-fno-strict-aliasing",
];

/** A compiled BPF object. */
export interface BpfProgBuild {
  /** Program base name ("fentry_many_args"). */
  name: string;
  /** Cache key. */
  hash: string;
  /** The object file in the cache. */
  path: string;
  bytes: Uint8Array;
  /** True when no compiler ran. */
  cached: boolean;
}

/** Options of {@link buildBpfProg} and {@link vmlinuxHeaderDir}. */
export interface BpfProgBuildOptions {
  /** Cache root (default CACHE_DIR). */
  cacheDir?: string;
  /** Directory of the C sources (default selftests/progs). */
  srcDir?: string;
  /** The BTF vmlinux.h is generated from (default: the built kernel image's). */
  btf?: Btf;
  /** Extra -D/-I flags. */
  extraFlags?: readonly string[];
}

const headerDirs = new Map<string, string>();
const memo = new Map<string, BpfProgBuild>();

function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The directory holding vmlinux.h for `btf` (the built kernel's by
 * default), generated once per content hash.
 */
export function vmlinuxHeaderDir(opts: Pick<BpfProgBuildOptions, "cacheDir" | "btf"> = {}): string {
  const btf = opts.btf ?? kernelImageFile().btf;
  const header = btfDumpC(btf);
  const hash = sha256(header).slice(0, 32);
  const cacheDir = opts.cacheDir ?? CACHE_DIR;
  const key = `${cacheDir}:${hash}`;
  const known = headerDirs.get(key);
  if (known) return known;
  const dir = join(cacheDir, "bpf-progs", `vmlinux-${hash}`);
  if (!existsSync(join(dir, "vmlinux.h"))) {
    const tmp = makeBuildDir(cacheDir, "vmlinux-h");
    writeFileSync(join(tmp, "vmlinux.h"), header);
    publishBuildDir(tmp, dir);
  }
  headerDirs.set(key, dir);
  return dir;
}

function libbpfHeaders(): BuildInput[] {
  const dir = join(LIBBPF_INCLUDE_DIR, "bpf");
  if (!existsSync(join(dir, "bpf_helpers.h"))) {
    throw new BuildError(ENOENT, `libbpf headers not found in ${dir}: run npm run bootstrap (libbpf-dev)`);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith(".h"))
    .sort()
    .map((f) => ({ name: `libbpf/${f}`, data: readFileSync(join(dir, f)) }));
}

function localHeaders(srcDir: string): BuildInput[] {
  if (!existsSync(srcDir)) return [];
  return readdirSync(srcDir)
    .filter((f) => f.endsWith(".h"))
    .sort()
    .map((f) => ({ name: `progs/${f}`, data: readFileSync(join(srcDir, f)) }));
}

/**
 * Compile `<srcDir>/<name>.c` (or the path `name` when it ends in `.c`) for
 * BPF, or return the cached object. Compiler errors are a BuildError whose
 * message carries clang's diagnostics.
 */
export function buildBpfProg(name: string, opts: BpfProgBuildOptions = {}): BpfProgBuild {
  const src = name.endsWith(".c") ? name : join(opts.srcDir ?? PROGS_DIR, `${name}.c`);
  const base = basename(src, ".c");
  if (!existsSync(src)) throw new BuildError(ENOENT, `BPF program source not found: ${src}`);
  const cacheDir = opts.cacheDir ?? CACHE_DIR;
  const hdrDir = vmlinuxHeaderDir(opts);
  const flags = [...BPF_CFLAGS, ...(opts.extraFlags ?? [])];
  const hash = hashInputs([
    { name: "format", data: "bpf-prog 1" },
    { name: `src/${base}.c`, data: readFileSync(src) },
    ...localHeaders(dirname(src)),
    { name: "vmlinux.h", data: readFileSync(join(hdrDir, "vmlinux.h")) },
    ...libbpfHeaders(),
    { name: "flags", data: flags.join(" ") },
    { name: "clang", data: toolFingerprint("clang") },
  ]);
  const finalDir = join(cacheDir, "bpf-progs", `${base}-${hash.slice(0, 32)}`);
  const path = join(finalDir, `${base}.bpf.o`);
  const hit = memo.get(path);
  if (hit) return { ...hit, cached: true };
  if (existsSync(path)) {
    const build = { name: base, hash, path, bytes: new Uint8Array(readFileSync(path)), cached: true };
    memo.set(path, build);
    return build;
  }
  const tmp = makeBuildDir(cacheDir, `bpf-${base}`);
  try {
    const out = join(tmp, `${base}.bpf.o`);
    runTool("clang", [...flags, "-I", dirname(src), "-I", hdrDir, "-I", LIBBPF_INCLUDE_DIR, "-c", src, "-o", out], {
      what: `compile ${base}.c`,
    });
    mkdirSync(dirname(finalDir), { recursive: true });
    publishBuildDir(tmp, finalDir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const build = { name: base, hash, path, bytes: new Uint8Array(readFileSync(path)), cached: false };
  memo.set(path, build);
  return build;
}

/** Names of the C programs in `srcDir` (default selftests/progs), sorted. */
export function listBpfProgs(srcDir = PROGS_DIR): string[] {
  if (!existsSync(srcDir)) return [];
  return readdirSync(srcDir)
    .filter((f) => f.endsWith(".c"))
    .map((f) => basename(f, ".c"))
    .sort();
}
