/**
 * Loading a built image (vmlinux or a module) into a Machine, and the
 * metadata the rest of the runtime needs from it (the roles of the boot
 * loader, of kallsyms_init and of ftrace_init reading __mcount_loc).
 *
 *   ELF PT_LOAD segments ──► one Region each, with the segment's permissions
 *       R-X text   →  "<name> text"     R-- rodata  →  "<name> rodata"
 *       RW- data   →  "<name> data"     (p_memsz > p_filesz: the rest is .bss, zeroed)
 *   .symtab       ──► symbols (kallsyms entries, sizes up to the next symbol)
 *   __patchable_function_entries ──► ftrace locations: the entry address of
 *                    every traceable function (two NOPs there; notrace
 *                    functions such as the service stubs have none)
 *   __ksymtab_strings ──► exported names (EXPORT_SYMBOL)
 *   .BTF          ──► Btf, parsed on first use
 *
 * An ImageFile is immutable and shared: parsing is memoised per build
 * hash, so booting many machines in one process parses an image once.
 */
import type { Machine } from "../machine/machine.js";
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, type Region } from "../machine/memory.js";
import { Btf } from "../bpf/btf/btf.js";
import {
  LoaderError,
  parseElf,
  PF_R,
  PF_W,
  PF_X,
  PT_LOAD,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_WRITE,
  SHN_ABS,
  SHN_COMMON,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHT_NOBITS,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FILE,
  STT_FUNC,
  STT_OBJECT,
  STT_SECTION,
  type ElfFile,
  type ElfSection,
} from "../bpf/elf.js";
import { buildKernel, type BuildKernelOptions } from "./build.js";
import { Kallsyms, type KsymEntry } from "./kallsyms.js";

/** One loadable segment. */
export interface ImageSegment {
  kind: "text" | "rodata" | "data";
  vaddr: bigint;
  memsz: number;
  filesz: number;
  /** Unicorn permissions (PROT_*). */
  perms: number;
  /** File bytes (filesz of them). */
  data: Uint8Array;
}

/** A symbol of the image's symbol table that kallsyms would list. */
export interface ImageSymbol {
  name: string;
  addr: bigint;
  /** st_size from the ELF symbol table. */
  size: number;
  kind: "func" | "object" | "label";
  bind: "local" | "global" | "weak";
  /** Name of the section the symbol is in. */
  section: string;
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

function segmentKind(flags: number): ImageSegment["kind"] {
  if (flags & PF_X) return "text";
  if (flags & PF_W) return "data";
  return "rodata";
}

function segmentPerms(flags: number): number {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

/** AArch64 mapping symbols ($x, $d, $x.12) are not code or data names (scripts/kallsyms.c). */
function isMappingSymbol(name: string): boolean {
  return /^\$[adtx](\.|$)/.test(name);
}

/** kallsyms type letter (scripts/kallsyms.c / nm): t/T text, r/R rodata, d/D data, b/B bss, W/V weak. */
function ksymType(sym: ImageSymbol, sec: ElfSection): string {
  let letter: string;
  if (sec.flags & SHF_EXECINSTR) letter = "t";
  else if (sec.type === SHT_NOBITS) letter = "b";
  else if (sec.flags & SHF_WRITE) letter = "d";
  else letter = "r";
  if (sym.bind === "weak") return letter === "t" ? "W" : "V";
  return sym.bind === "global" ? letter.toUpperCase() : letter;
}

function leadingUnderscores(name: string): number {
  let n = 0;
  while (name[n] === "_") n++;
  return n;
}

/** A parsed image: segments, symbols, exports, ftrace locations, BTF. */
export class ImageFile {
  /** "vmlinux" or the module name. */
  readonly name: string;
  readonly elf: ElfFile;
  readonly segments: readonly ImageSegment[];
  /** Code and data symbols, by address. */
  readonly symbols: readonly ImageSymbol[];
  /** EXPORT_SYMBOL names. */
  readonly exports: readonly string[];
  /** Entry addresses of traceable functions, sorted. */
  readonly ftraceLocations: readonly bigint[];
  /** [start, end) of the text segment. */
  readonly textRange: { start: bigint; end: bigint };
  readonly #ftrace: Set<bigint>;
  readonly #byName = new Map<string, ImageSymbol>();
  #btf: Btf | undefined;
  #ksyms: KsymEntry[] | undefined;

  constructor(bytes: Uint8Array, name: string) {
    this.name = name;
    const elf = parseElf(bytes);
    this.elf = elf;
    this.segments = this.#readSegments();
    const text = this.segments.find((s) => s.kind === "text");
    if (!text) throw new LoaderError(`${name}: no executable segment`);
    this.textRange = { start: text.vaddr, end: text.vaddr + BigInt(text.memsz) };
    this.symbols = this.#readSymbols();
    for (const s of this.symbols) {
      const old = this.#byName.get(s.name);
      if (!old || (old.bind === "local" && s.bind !== "local")) this.#byName.set(s.name, s);
    }
    this.exports = this.#readExports();
    this.ftraceLocations = this.#readFtraceLocations();
    this.#ftrace = new Set(this.ftraceLocations);
  }

  /** The image's BTF (parsed on first use); a LoaderError when there is no .BTF. */
  get btf(): Btf {
    if (!this.#btf) {
      const sec = this.elf.sectionByName(".BTF");
      if (!sec) throw new LoaderError(`${this.name}: no .BTF section`);
      this.#btf = Btf.parse(this.elf.sectionData(sec));
    }
    return this.#btf;
  }

  /** A symbol by name (a global one when a local of the same name exists). */
  symbol(name: string): ImageSymbol | undefined {
    return this.#byName.get(name);
  }

  /** Address of a symbol, or a LoaderError naming the image. */
  address(name: string): bigint {
    const s = this.symbol(name);
    if (!s) throw new LoaderError(`${this.name}: no symbol ${name}`);
    return s.addr;
  }

  /** ftrace_location(): is `addr` the patchable entry of a traceable function? */
  isFtraceLocation(addr: bigint): boolean {
    return this.#ftrace.has(addr);
  }

  /** Functions with a patchable entry, by address. */
  traceableFunctions(): ImageSymbol[] {
    return this.symbols.filter((s) => s.kind === "func" && this.#ftrace.has(s.addr));
  }

  /** kallsyms entries: sizes run to the next symbol or the end of the segment. */
  ksyms(): readonly KsymEntry[] {
    if (this.#ksyms) return this.#ksyms;
    const out: KsymEntry[] = [];
    const bySeg = new Map<ImageSegment, ImageSymbol[]>();
    for (const s of this.symbols) {
      const seg = this.segments.find((g) => s.addr >= g.vaddr && s.addr < g.vaddr + BigInt(g.memsz));
      if (!seg) continue;
      const list = bySeg.get(seg) ?? [];
      list.push(s);
      bySeg.set(seg, list);
    }
    for (const [seg, list] of bySeg) {
      const segEnd = seg.vaddr + BigInt(seg.memsz);
      const addrs = [...new Set(list.map((s) => s.addr))].sort((a, b) => (a < b ? -1 : 1));
      const nextOf = new Map(addrs.map((a, i) => [a, i + 1 < addrs.length ? addrs[i + 1] : segEnd]));
      for (const s of list) {
        const next = nextOf.get(s.addr) ?? segEnd;
        const sec = this.elf.sectionByName(s.section);
        if (!sec) continue;
        const rank = (s.bind === "weak" ? 1000 : 0) + leadingUnderscores(s.name) * 10 + (s.kind === "label" ? 1 : 0);
        out.push({ name: s.name, addr: s.addr, size: Number(next - s.addr), type: ksymType(s, sec), rank });
      }
    }
    this.#ksyms = out.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.rank - b.rank));
    return this.#ksyms;
  }

  #readSegments(): ImageSegment[] {
    const out: ImageSegment[] = [];
    for (const seg of this.elf.segments) {
      if (seg.type !== PT_LOAD || seg.memsz === 0) continue;
      if (seg.vaddr % BigInt(PAGE_SIZE) !== 0n) {
        throw new LoaderError(`${this.name}: segment ${seg.index} at ${hex(seg.vaddr)} is not page-aligned`);
      }
      out.push({
        kind: segmentKind(seg.flags),
        vaddr: seg.vaddr,
        memsz: seg.memsz,
        filesz: seg.filesz,
        perms: segmentPerms(seg.flags),
        data: this.elf.segmentData(seg),
      });
    }
    out.sort((a, b) => (a.vaddr < b.vaddr ? -1 : 1));
    for (let i = 1; i < out.length; i++) {
      const prev = out[i - 1];
      const end = prev.vaddr + BigInt(Math.ceil(prev.memsz / PAGE_SIZE) * PAGE_SIZE);
      if (out[i].vaddr < end)
        throw new LoaderError(`${this.name}: segments at ${hex(prev.vaddr)} and ${hex(out[i].vaddr)} share a page`);
    }
    return out;
  }

  #readSymbols(): ImageSymbol[] {
    const out: ImageSymbol[] = [];
    for (const s of this.elf.symbols()) {
      if (s.index === 0 || !s.name || s.type === STT_SECTION || s.type === STT_FILE) continue;
      if (s.shndx === SHN_UNDEF || s.shndx === SHN_ABS || s.shndx === SHN_COMMON || s.shndx >= SHN_LORESERVE) continue;
      if (isMappingSymbol(s.name)) continue;
      const sec = this.elf.section(s.shndx, `symbol ${s.name}`);
      if (!(sec.flags & SHF_ALLOC)) continue;
      out.push({
        name: s.name,
        addr: s.value,
        size: s.size,
        kind: s.type === STT_FUNC ? "func" : s.type === STT_OBJECT ? "object" : "label",
        bind:
          s.bind === STB_LOCAL ? "local" : s.bind === STB_WEAK ? "weak" : s.bind === STB_GLOBAL ? "global" : "local",
        section: sec.name,
      });
    }
    return out.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  }

  #readExports(): string[] {
    const sec = this.elf.sectionByName("__ksymtab_strings");
    if (!sec) return [];
    const data = this.elf.sectionData(sec);
    const names: string[] = [];
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 0) continue;
      if (i > start) names.push(Buffer.from(data.subarray(start, i)).toString("latin1"));
      start = i + 1;
    }
    return names;
  }

  #readFtraceLocations(): bigint[] {
    const sec = this.elf.sectionByName("__patchable_function_entries");
    if (!sec) return [];
    const data = this.elf.sectionData(sec);
    if (data.length % 8 !== 0)
      throw new LoaderError(`${this.name}: __patchable_function_entries size ${data.length} not a multiple of 8`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const out: bigint[] = [];
    for (let off = 0; off < data.length; off += 8) {
      const addr = view.getBigUint64(off, true);
      if (addr < this.textRange.start || addr >= this.textRange.end) {
        throw new LoaderError(`${this.name}: ftrace location ${hex(addr)} outside the text segment`);
      }
      out.push(addr);
    }
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

const parsed = new Map<string, ImageFile>();

/** Parse an image once per (name, key: a build hash) in this process. */
export function imageFile(bytes: Uint8Array, id: { name: string; key: string }): ImageFile {
  const { name, key } = id;
  const k = `${name}:${key}`;
  let img = parsed.get(k);
  if (!img) {
    img = new ImageFile(bytes, name);
    parsed.set(k, img);
  }
  return img;
}

/**
 * Map every segment of `image` into `machine` as its own region (page
 * rounded, with the segment's permissions), copy the file bytes and zero
 * the rest (.bss). Returns the regions, in address order.
 */
export function mapImage(machine: Machine, image: ImageFile): Region[] {
  const regions: Region[] = [];
  for (const seg of image.segments) {
    const size = Math.ceil(seg.memsz / PAGE_SIZE) * PAGE_SIZE;
    const region = machine.map({ name: `${image.name} ${seg.kind}`, base: seg.vaddr, size, perms: seg.perms });
    region.block.bytes.fill(0, 0, size);
    region.block.bytes.set(seg.data, 0);
    regions.push(region);
  }
  machine.invalidateText(image.textRange.start, image.textRange.end);
  return regions;
}

/** The kernel image loaded into a machine. */
export interface LoadedKernel {
  readonly name: string;
  readonly image: ImageFile;
  readonly regions: readonly Region[];
  readonly kallsyms: Kallsyms;
  /** Address of a symbol (kallsyms_lookup_name), or undefined. */
  symbol(name: string): bigint | undefined;
  /** "name+0x18/0x40 [module]", or undefined. */
  symbolize(addr: bigint): string | undefined;
  /** The kernel's BTF. */
  readonly btf: Btf;
}

/** Load an already built image as the kernel of `machine`. */
export function loadKernel(machine: Machine, image: ImageFile): LoadedKernel {
  const regions = mapImage(machine, image);
  const kallsyms = new Kallsyms();
  kallsyms.addImage(image.ksyms());
  return {
    name: image.name,
    image,
    regions,
    kallsyms,
    symbol: (name) => kallsyms.addressOf(name),
    symbolize: (addr) => kallsyms.formatAddress(addr),
    get btf() {
      return image.btf;
    },
  };
}

/** The built (cached) kernel image, parsed. */
export function kernelImageFile(opts: BuildKernelOptions = {}): ImageFile {
  const build = buildKernel(opts);
  return imageFile(build.bytes, { name: "vmlinux", key: build.hash });
}

/**
 * A boot image for the simulated kernel (shape of the kernel core's
 * BootImage): builds or finds the cached vmlinux, maps it on load.
 */
export function kernelBootImage(opts: BuildKernelOptions = {}): { name: string; load(machine: Machine): LoadedKernel } {
  return {
    name: "vmlinux",
    load: (machine) => loadKernel(machine, kernelImageFile(opts)),
  };
}
