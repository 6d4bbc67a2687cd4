/**
 * Modules of the simulated kernel: bpf_testmod and user C files (models
 * kernel/module/main.c load_module(): allocate, resolve symbols against
 * exports, check for duplicate exports, add kallsyms and BTF).
 *
 *   C files ──clang (kernel flags, -DMODULE)──► .o ──check undefined symbols
 *     ──ld.lld at the allocated address + PROVIDE(export = addr) list──►
 *     <name>.ko (ET_EXEC) ──pahole -J──► standalone .BTF ──► mapped, kallsyms "[name]"
 *
 * Differences from the kernel, on purpose:
 *  - A module is linked at its final address (the kernel relocates an
 *    ET_REL .ko at load time). The address comes from a first-fit page
 *    allocator over the module area (layout.ts MODULES_BASE/MODULES_SIZE);
 *    the first free address is used when the module fits there, so loads
 *    in the same order get the same addresses and hit the build cache.
 *  - The module's BTF is standalone (pahole -J without --btf_base), not
 *    split BTF on top of vmlinux: it repeats the base types it uses.
 *  - Unloading is not modelled (emulated memory regions cannot be removed).
 *
 * As in the kernel, a module links only against EXPORT_SYMBOL'd names of
 * the kernel and of loaded modules ("bpf_testmod: Unknown symbol foo (err
 * -2)", ENOENT), exporting a name already exported elsewhere is refused
 * ("exports duplicate symbol ... (owned by kernel)", ENOEXEC), and loading
 * a module name twice is EEXIST. A non-exported global that has the same
 * name as a kernel function is allowed and shadows nothing (the kernel's
 * bpf_fentry_shadow_test and bpf_testmod's coexist).
 *
 * Builds are cached like the kernel's, keyed by the C files, the local
 * headers they include with "...", the kernel headers, flags, tools, the
 * module name, its address and the export list it links against.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { EEXIST, EINVAL, ENOENT, ENOEXEC, ENOMEM } from "../errno.js";
import { KernelError } from "../errors.js";
import { CACHE_DIR } from "../paths.js";
import type { Machine } from "../machine/machine.js";
import { PAGE_SIZE, type Region } from "../machine/memory.js";
import { parseElf, SHN_UNDEF, STB_GLOBAL, STB_LOCAL, STB_WEAK } from "../bpf/elf.js";
import {
  hashInputs,
  KERNEL_SRC_DIR,
  KERNEL_SRC_PREFIX,
  makeBuildDir,
  publishBuildDir,
  servicesHeader,
  sharedInputs,
  type BuildInput,
} from "./build.js";
import { imageFile, mapImage, type ImageFile, type LoadedKernel } from "./image.js";
import { MODULES_BASE, MODULES_SIZE } from "./layout.js";
import { allServices } from "./services/table.js";
import { addBtf, BuildError, compileC, linkImage } from "./toolchain.js";

const MODULE_FORMAT = "a64bpf-module-build-1";
const MODULE_NAME_LEN = 56;
const MODULE_LDS = "arch/arm64/module.lds";

/** The C sources of bpf_testmod. */
export const BPF_TESTMOD_SOURCES: readonly string[] = [join(KERNEL_SRC_DIR, "bpf_testmod", "bpf_testmod.c")];

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** First-fit page allocator over [base, base + size) (the module area's vmalloc range). */
export class ModuleAllocator {
  readonly base: bigint;
  readonly size: number;
  /** Allocated ranges, sorted by start. */
  readonly #used: { start: bigint; end: bigint }[] = [];

  constructor(base: bigint = MODULES_BASE, size: number = MODULES_SIZE) {
    this.base = base;
    this.size = size;
  }

  /** The lowest page-aligned address where `size` bytes fit, or undefined. */
  firstFit(size: number): bigint | undefined {
    const len = BigInt(Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
    let cur = this.base;
    for (const r of this.#used) {
      if (r.start - cur >= len) return cur;
      cur = r.end;
    }
    return this.base + BigInt(this.size) - cur >= len ? cur : undefined;
  }

  /** True when [start, start + size) is free and inside the area. */
  fits(start: bigint, size: number): boolean {
    const end = start + BigInt(Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
    if (start < this.base || end > this.base + BigInt(this.size) || start % BigInt(PAGE_SIZE) !== 0n) return false;
    return this.#used.every((r) => end <= r.start || start >= r.end);
  }

  /** Release the range that starts at `start` (a failed load). */
  release(start: bigint): void {
    const i = this.#used.findIndex((r) => r.start === start);
    if (i >= 0) this.#used.splice(i, 1);
  }

  /** Reserve [start, start + size); ENOMEM when it is not free. */
  reserve(start: bigint, size: number): void {
    if (!this.fits(start, size)) throw new KernelError(ENOMEM, `module area: ${hex(start)}+${hex(size)} is not free`);
    const end = start + BigInt(Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
    this.#used.push({ start, end });
    this.#used.sort((a, b) => (a.start < b.start ? -1 : 1));
  }
}

/** An exported symbol and who exports it ("kernel" or a module name). */
export interface ExportedSymbol {
  addr: bigint;
  owner: string;
}

/** A module built for one address. */
export interface ModuleBuild {
  name: string;
  base: bigint;
  hash: string;
  path: string;
  bytes: Uint8Array;
  cached: boolean;
}

/** Options of {@link buildModule}. */
export interface BuildModuleOptions {
  name: string;
  /** Link address (page aligned). */
  base: bigint;
  /** Symbols the module may link against. */
  exports: ReadonlyMap<string, ExportedSymbol>;
  cacheDir?: string;
}

/** A valid module name (kernel rule: '-' becomes '_'). */
export function moduleNameOf(file: string): string {
  return basename(file).replace(/\.c$/, "").replace(/-/g, "_");
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_]+$/.test(name) || name.length >= MODULE_NAME_LEN) {
    throw new KernelError(EINVAL, `invalid module name: ${name}`);
  }
}

/** Headers a C file includes with "..." (recursively), relative to the including file. */
function localHeaders(file: string, seen: Set<string>): void {
  const text = readFileSync(file, "latin1");
  for (const m of text.matchAll(/^\s*#\s*include\s*"([^"]+)"/gm)) {
    const h = resolve(dirname(file), m[1]);
    if (seen.has(h) || !existsSync(h)) continue;
    seen.add(h);
    localHeaders(h, seen);
  }
}

function readSources(cFiles: readonly string[]): { files: string[]; inputs: BuildInput[] } {
  if (cFiles.length === 0) throw new KernelError(EINVAL, "module has no C files");
  const files = cFiles.map((f) => resolve(f));
  for (const f of files) {
    if (!existsSync(f)) throw new KernelError(ENOENT, `module source not found: ${f}`);
  }
  const headers = new Set<string>();
  for (const f of files) localHeaders(f, headers);
  const inputs = [...files, ...[...headers].sort()].map((f) => ({ name: `src:${f}`, data: readFileSync(f) }));
  return { files, inputs };
}

/** The PROVIDE(name = address) script that resolves a module's references. */
export function exportsScript(exports: ReadonlyMap<string, ExportedSymbol>): string {
  const names = [...exports.keys()].sort();
  return names.map((n) => `PROVIDE(${n} = ${hex(exports.get(n)!.addr)});`).join("\n") + "\n";
}

/** Undefined non-weak globals of the objects that nothing (the objects or the exports) defines. */
function unresolvedSymbols(objects: readonly string[], exports: ReadonlyMap<string, ExportedSymbol>): string[] {
  const defined = new Set<string>();
  const wanted = new Set<string>();
  for (const o of objects) {
    for (const s of parseElf(new Uint8Array(readFileSync(o))).symbols()) {
      if (!s.name || s.bind === STB_LOCAL) continue;
      if (s.shndx === SHN_UNDEF) {
        if (s.bind === STB_GLOBAL) wanted.add(s.name);
      } else if (s.bind === STB_GLOBAL || s.bind === STB_WEAK) {
        defined.add(s.name);
      }
    }
  }
  return [...wanted].filter((n) => !defined.has(n) && !exports.has(n)).sort();
}

/** Build (or find in the cache) a module linked at `opts.base`. */
export function buildModule(cFiles: readonly string[], opts: BuildModuleOptions): ModuleBuild {
  checkName(opts.name);
  const cacheDir = opts.cacheDir ?? CACHE_DIR;
  const services = allServices();
  const { files, inputs } = readSources(cFiles);
  const script = exportsScript(opts.exports);
  const hash = hashInputs([
    { name: "format", data: MODULE_FORMAT },
    ...sharedInputs(services),
    { name: "lds", data: readFileSync(join(KERNEL_SRC_DIR, MODULE_LDS)) },
    ...inputs,
    { name: "name", data: opts.name },
    { name: "base", data: opts.base.toString(16) },
    { name: "exports", data: script },
  ]);
  const finalDir = join(cacheDir, "modules", `${opts.name}-${hash.slice(0, 32)}`);
  const path = join(finalDir, `${opts.name}.ko`);
  if (existsSync(path)) {
    return { name: opts.name, base: opts.base, hash, path, bytes: new Uint8Array(readFileSync(path)), cached: true };
  }
  const tmp = makeBuildDir(cacheDir, `module-${opts.name}`);
  try {
    const gen = join(tmp, "gen");
    mkdirSync(gen, { recursive: true });
    writeFileSync(join(gen, "a64bpf_services.h"), servicesHeader(services));
    writeFileSync(join(tmp, "exports.lds"), script);
    const objects = files.map((f, i) => {
      const out = join(tmp, `${i}-${basename(f, ".c")}.o`);
      compileC(f, out, {
        includeDirs: [join(KERNEL_SRC_DIR, "include"), gen],
        extraFlags: ["-DMODULE", `-DKBUILD_MODNAME="${opts.name}"`],
        prefixMap: f.startsWith(KERNEL_SRC_DIR) ? { from: KERNEL_SRC_DIR, to: KERNEL_SRC_PREFIX } : undefined,
        what: `${opts.name}: ${basename(f)}`,
      });
      return out;
    });
    const missing = unresolvedSymbols(objects, opts.exports);
    if (missing.length) {
      throw new KernelError(ENOENT, missing.map((n) => `${opts.name}: Unknown symbol ${n} (err -2)`).join("\n"));
    }
    const out = join(tmp, `${opts.name}.ko`);
    linkImage(objects, out, {
      script: join(KERNEL_SRC_DIR, MODULE_LDS),
      defsyms: { MODULE_BASE: opts.base },
      extraInputs: [join(tmp, "exports.lds")],
      entry: "MODULE_BASE",
      what: `link ${opts.name}`,
    });
    addBtf(out, `pahole ${opts.name}`);
    const bytes = new Uint8Array(readFileSync(out));
    writeFileSync(join(tmp, "manifest.json"), JSON.stringify({ name: opts.name, base: hex(opts.base), hash }, null, 2));
    publishBuildDir(tmp, finalDir);
    return { name: opts.name, base: opts.base, hash, path, bytes, cached: false };
  } finally {
    // After a successful publish tmp no longer exists.
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A module loaded into a machine. */
export interface LoadedModule {
  name: string;
  image: ImageFile;
  base: bigint;
  /** Bytes reserved in the module area. */
  size: number;
  regions: readonly Region[];
  build: ModuleBuild;
}

/** Options of {@link ModuleLoader.load}. */
export interface LoadModuleOptions {
  /** Module name (default: the first C file's base name). */
  name?: string;
}

/** Loads modules into one machine whose kernel is already loaded. */
export class ModuleLoader {
  readonly machine: Machine;
  readonly kernel: LoadedKernel;
  readonly allocator: ModuleAllocator;
  readonly #exports = new Map<string, ExportedSymbol>();
  readonly #modules: LoadedModule[] = [];
  readonly #cacheDir: string | undefined;

  constructor(machine: Machine, kernel: LoadedKernel, opts: { cacheDir?: string; allocator?: ModuleAllocator } = {}) {
    this.machine = machine;
    this.kernel = kernel;
    this.allocator = opts.allocator ?? new ModuleAllocator();
    this.#cacheDir = opts.cacheDir;
    for (const name of kernel.image.exports) {
      const s = kernel.image.symbol(name);
      if (s) this.#exports.set(name, { addr: s.addr, owner: "kernel" });
    }
  }

  /** Loaded modules, in load order. */
  get modules(): readonly LoadedModule[] {
    return this.#modules;
  }

  /** Exported symbols (kernel and modules). */
  get exports(): ReadonlyMap<string, ExportedSymbol> {
    return this.#exports;
  }

  /** The loaded module called `name`. */
  module(name: string): LoadedModule | undefined {
    return this.#modules.find((m) => m.name === name);
  }

  /** Build bpf_testmod and load it (as test_progs loads bpf_testmod.ko). */
  loadBpfTestmod(): LoadedModule {
    return this.load(BPF_TESTMOD_SOURCES, { name: "bpf_testmod" });
  }

  /** Build (or find cached) and load a module from C files. */
  load(cFiles: readonly string[], opts: LoadModuleOptions = {}): LoadedModule {
    const name = opts.name ?? moduleNameOf(cFiles[0] ?? "");
    checkName(name);
    if (this.module(name)) throw new KernelError(EEXIST, `module ${name} is already loaded`);
    let base = this.allocator.firstFit(PAGE_SIZE);
    if (base === undefined) throw new KernelError(ENOMEM, `${name}: module area is full`);
    let build = this.#build(cFiles, name, base);
    let image = imageFile(build.bytes, { name, key: build.hash });
    let size = this.#span(image, base);
    if (!this.allocator.fits(base, size)) {
      const other = this.allocator.firstFit(size);
      if (other === undefined)
        throw new KernelError(ENOMEM, `${name}: no room for ${hex(size)} bytes in the module area`);
      base = other;
      build = this.#build(cFiles, name, base);
      image = imageFile(build.bytes, { name, key: build.hash });
      size = this.#span(image, base);
    }
    for (const e of image.exports) {
      const owner = this.#exports.get(e);
      if (owner) throw new KernelError(ENOEXEC, `${name}: exports duplicate symbol ${e} (owned by ${owner.owner})`);
    }
    this.allocator.reserve(base, size);
    let regions: Region[];
    try {
      regions = mapImage(this.machine, image);
    } catch (err) {
      this.allocator.release(base);
      throw err;
    }
    this.kernel.kallsyms.addImage(image.ksyms(), name);
    for (const e of image.exports) this.#exports.set(e, { addr: image.address(e), owner: name });
    const mod: LoadedModule = { name, image, base, size, regions, build };
    this.#modules.push(mod);
    return mod;
  }

  #build(cFiles: readonly string[], name: string, base: bigint): ModuleBuild {
    return buildModule(cFiles, { name, base, exports: this.#exports, cacheDir: this.#cacheDir });
  }

  #span(image: ImageFile, base: bigint): number {
    let end = base;
    for (const s of image.segments) {
      if (s.vaddr < base) throw new BuildError(EINVAL, `${image.name}: segment below the module base`);
      const e = s.vaddr + BigInt(Math.ceil(s.memsz / PAGE_SIZE) * PAGE_SIZE);
      if (e > end) end = e;
    }
    return Number(end - base);
  }
}
