/**
 * ELF64 little-endian reader (the System V gABI and the ELF-64 Object File
 * Format; the readers libbpf's libelf use and the kernel's module loader
 * have equivalent checks in kernel/module/main.c elf_validity_check()).
 *
 * Used for the simulated kernel's image and modules (aarch64, ET_EXEC) and
 * for BPF objects (EM_BPF, ET_REL). Everything is read from one byte array
 * without copying; section data are subarrays of it.
 *
 *   offset 0        ELF header (64 bytes)        e_phoff/e_shoff point at the tables
 *   e_phoff         program headers (56 bytes each)
 *   ...             section contents
 *   e_shoff         section headers (64 bytes each); e_shstrndx names them
 *
 * Defensive: every offset, size, count and index is checked against the
 * file before use. Bad input is a {@link LoaderError} (EINVAL) naming the
 * part that is wrong ("section 7: offset 0x... beyond end of file"), never
 * an exception from a DataView or an unbounded loop. Counts are bounded by
 * the file size, so a huge e_shnum cannot make the reader allocate or spin.
 *
 * Simplifications: only ELFCLASS64 + ELFDATA2LSB; SHN_XINDEX symbol
 * indices (SHT_SYMTAB_SHNDX) are refused; extended section numbering
 * (e_shnum = 0, e_shstrndx = SHN_XINDEX) is supported.
 */
import { EINVAL } from "../errno.js";
import { BpfError, type BpfErrorOptions } from "../errors.js";

/** Bad ELF or BTF input (errno EINVAL), with the part of the file that is wrong. */
export class LoaderError extends BpfError {
  constructor(message: string, options: BpfErrorOptions = {}) {
    super(EINVAL, message, options);
  }
}

/** e_type: relocatable object (.o, BPF objects). */
export const ET_REL = 1;
/** e_type: executable (the kernel image and modules here). */
export const ET_EXEC = 2;
/** e_type: shared object. */
export const ET_DYN = 3;
/** e_machine: AArch64. */
export const EM_AARCH64 = 183;
/** e_machine: eBPF. */
export const EM_BPF = 247;
/** sh_type: unused header. */
export const SHT_NULL = 0;
/** sh_type: program data. */
export const SHT_PROGBITS = 1;
/** sh_type: symbol table. */
export const SHT_SYMTAB = 2;
/** sh_type: string table. */
export const SHT_STRTAB = 3;
/** sh_type: relocations with addends. */
export const SHT_RELA = 4;
/** sh_type: zero-filled, no file data (.bss). */
export const SHT_NOBITS = 8;
/** sh_type: relocations without addends. */
export const SHT_REL = 9;
/** sh_type: dynamic symbol table. */
export const SHT_DYNSYM = 11;
/** sh_type: extended section indices of symbols. */
export const SHT_SYMTAB_SHNDX = 18;
/** sh_flags: writable at run time. */
export const SHF_WRITE = 0x1n;
/** sh_flags: occupies memory at run time. */
export const SHF_ALLOC = 0x2n;
/** sh_flags: executable. */
export const SHF_EXECINSTR = 0x4n;
/** Section index of an undefined symbol. */
export const SHN_UNDEF = 0;
/** First reserved section index. */
export const SHN_LORESERVE = 0xff00;
/** Section index of an absolute symbol. */
export const SHN_ABS = 0xfff1;
/** Section index of a common (tentative) symbol. */
export const SHN_COMMON = 0xfff2;
/** Section index escape to SHT_SYMTAB_SHNDX / section header 0. */
export const SHN_XINDEX = 0xffff;
/** Symbol binding: local. */
export const STB_LOCAL = 0;
/** Symbol binding: global. */
export const STB_GLOBAL = 1;
/** Symbol binding: weak. */
export const STB_WEAK = 2;
/** Symbol type: none (labels). */
export const STT_NOTYPE = 0;
/** Symbol type: data object. */
export const STT_OBJECT = 1;
/** Symbol type: function. */
export const STT_FUNC = 2;
/** Symbol type: section. */
export const STT_SECTION = 3;
/** Symbol type: source file name. */
export const STT_FILE = 4;
/** p_type: loadable segment. */
export const PT_LOAD = 1;
/** p_flags: executable. */
export const PF_X = 1;
/** p_flags: writable. */
export const PF_W = 2;
/** p_flags: readable. */
export const PF_R = 4;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;

/** The ELF header fields a reader needs. */
export interface ElfHeader {
  type: number;
  machine: number;
  entry: bigint;
  flags: number;
  phoff: number;
  shoff: number;
  phnum: number;
  shnum: number;
  shstrndx: number;
}

/** One section header, with its name resolved. */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  /** File offset of the contents (meaningless for SHT_NOBITS). */
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

/** One program header. */
export interface ElfSegment {
  index: number;
  type: number;
  /** PF_R | PF_W | PF_X. */
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
  align: number;
}

/** One symbol of .symtab. */
export interface ElfSymbol {
  /** Index in the symbol table. */
  index: number;
  name: string;
  value: bigint;
  size: number;
  /** STT_*. */
  type: number;
  /** STB_*. */
  bind: number;
  /** STV_* (st_other & 3). */
  visibility: number;
  /** Section index or SHN_UNDEF / SHN_ABS / SHN_COMMON. */
  shndx: number;
}

/** One relocation entry; `addend` is 0n for SHT_REL. */
export interface ElfRelocation {
  offset: bigint;
  type: number;
  /** Symbol index into the linked symbol table. */
  sym: number;
  addend: bigint;
}

/** A SHT_REL or SHT_RELA section applied to `target`. */
export interface ElfRelocationSection {
  section: ElfSection;
  target: ElfSection;
  rela: boolean;
  entries: ElfRelocation[];
}

function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

/** A u64 file quantity as a safe number, or a LoaderError. */
function fileNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new LoaderError(`${what}: ${hex(v)} is too large`);
  return Number(v);
}

/**
 * A NUL-terminated string at `off` inside `table` (a string section), or a
 * LoaderError naming `what`.
 */
export function readCString(table: Uint8Array, ref: { off: number; what: string }): string {
  const { off, what } = ref;
  if (off < 0 || off >= table.length) {
    if (off === 0 && table.length === 0) return "";
    throw new LoaderError(`${what}: string offset ${hex(off)} outside string table of ${table.length} bytes`);
  }
  let end = off;
  while (end < table.length && table[end] !== 0) end++;
  if (end === table.length) throw new LoaderError(`${what}: string at ${hex(off)} is not NUL-terminated`);
  let s = "";
  for (let i = off; i < end; i++) s += String.fromCharCode(table[i]);
  return s;
}

function parseHeader(view: DataView, length: number): ElfHeader {
  if (length < EHDR_SIZE) throw new LoaderError(`truncated ELF header: ${length} bytes (need ${EHDR_SIZE})`);
  if (view.getUint32(0, false) !== 0x7f454c46) throw new LoaderError("not an ELF file: bad magic");
  const cls = view.getUint8(4);
  const data = view.getUint8(5);
  if (cls !== 2) throw new LoaderError(`unsupported ELF class: ${cls} (only ELFCLASS64)`);
  if (data !== 1) throw new LoaderError(`unsupported ELF data encoding: ${data} (only little-endian)`);
  if (view.getUint8(6) !== 1) throw new LoaderError(`unsupported ELF version: ${view.getUint8(6)}`);
  const phoff = fileNumber(view.getBigUint64(32, true), "ELF header: e_phoff");
  const shoff = fileNumber(view.getBigUint64(40, true), "ELF header: e_shoff");
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  const shentsize = view.getUint16(58, true);
  if (phnum > 0 && phentsize !== PHDR_SIZE) {
    throw new LoaderError(`ELF header: e_phentsize ${phentsize} (expected ${PHDR_SIZE})`);
  }
  if ((shoff !== 0 || view.getUint16(60, true) !== 0) && shentsize !== SHDR_SIZE) {
    throw new LoaderError(`ELF header: e_shentsize ${shentsize} (expected ${SHDR_SIZE})`);
  }
  return {
    type: view.getUint16(16, true),
    machine: view.getUint16(18, true),
    entry: view.getBigUint64(24, true),
    flags: view.getUint32(48, true),
    phoff,
    shoff,
    phnum,
    shnum: view.getUint16(60, true),
    shstrndx: view.getUint16(62, true),
  };
}

function checkTable(length: number, off: number, count: number, entsize: number, what: string): void {
  if (count === 0) return;
  if (off + count * entsize > length) {
    throw new LoaderError(`${what}: ${count} entries at ${hex(off)} extend beyond end of file (${hex(length)})`);
  }
}

function readSectionHeader(view: DataView, off: number, index: number): ElfSection {
  return {
    index,
    name: "",
    type: view.getUint32(off + 4, true),
    flags: view.getBigUint64(off + 8, true),
    addr: view.getBigUint64(off + 16, true),
    offset: fileNumber(view.getBigUint64(off + 24, true), `section ${index}: sh_offset`),
    size: fileNumber(view.getBigUint64(off + 32, true), `section ${index}: sh_size`),
    link: view.getUint32(off + 40, true),
    info: view.getUint32(off + 44, true),
    addralign: fileNumber(view.getBigUint64(off + 48, true), `section ${index}: sh_addralign`),
    entsize: fileNumber(view.getBigUint64(off + 56, true), `section ${index}: sh_entsize`),
  };
}

function readSegment(view: DataView, off: number, index: number): ElfSegment {
  return {
    index,
    type: view.getUint32(off, true),
    flags: view.getUint32(off + 4, true),
    offset: fileNumber(view.getBigUint64(off + 8, true), `segment ${index}: p_offset`),
    vaddr: view.getBigUint64(off + 16, true),
    paddr: view.getBigUint64(off + 24, true),
    filesz: fileNumber(view.getBigUint64(off + 32, true), `segment ${index}: p_filesz`),
    memsz: fileNumber(view.getBigUint64(off + 40, true), `segment ${index}: p_memsz`),
    align: fileNumber(view.getBigUint64(off + 48, true), `segment ${index}: p_align`),
  };
}

function sectionLabel(s: ElfSection): string {
  return s.name ? `section ${s.index} (${s.name})` : `section ${s.index}`;
}

/** Sections with file contents must lie inside the file and not overlap each other or the ELF header. */
function checkSectionExtents(sections: readonly ElfSection[], length: number): void {
  const withData: ElfSection[] = [];
  for (const s of sections) {
    if (s.type === SHT_NULL || s.type === SHT_NOBITS) continue;
    if (s.offset > length) throw new LoaderError(`${sectionLabel(s)}: offset ${hex(s.offset)} beyond end of file`);
    if (s.offset + s.size > length) {
      throw new LoaderError(
        `${sectionLabel(s)}: contents ${hex(s.offset)}..${hex(s.offset + s.size)} extend beyond end of file (${hex(length)})`,
      );
    }
    if (s.size === 0) continue;
    if (s.offset < EHDR_SIZE)
      throw new LoaderError(`${sectionLabel(s)}: offset ${hex(s.offset)} overlaps the ELF header`);
    withData.push(s);
  }
  withData.sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < withData.length; i++) {
    const a = withData[i - 1];
    const b = withData[i];
    if (b.offset < a.offset + a.size) throw new LoaderError(`${sectionLabel(b)}: contents overlap ${sectionLabel(a)}`);
  }
}

/** A parsed ELF file: headers eagerly, symbols and relocations on first use. */
export class ElfFile {
  readonly bytes: Uint8Array;
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  readonly #view: DataView;
  readonly #byName = new Map<string, ElfSection>();
  #symbols: ElfSymbol[] | undefined;
  #relocations: ElfRelocationSection[] | undefined;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const view = this.#view;
    const length = bytes.length;
    const header = parseHeader(view, length);

    // Extended numbering: the real counts live in section header 0.
    let shnum = header.shnum;
    let shstrndx = header.shstrndx;
    if (header.shoff !== 0) {
      checkTable(length, header.shoff, 1, SHDR_SIZE, "section header table");
      const first = readSectionHeader(view, header.shoff, 0);
      if (shnum === 0) shnum = first.size;
      if (shstrndx === SHN_XINDEX) shstrndx = first.link;
    } else if (shnum !== 0) {
      throw new LoaderError(`ELF header: ${shnum} sections but e_shoff is 0`);
    }
    checkTable(length, header.shoff, shnum, SHDR_SIZE, "section header table");
    checkTable(length, header.phoff, header.phnum, PHDR_SIZE, "program header table");
    if (shnum > 0 && shstrndx >= shnum) {
      throw new LoaderError(`ELF header: e_shstrndx ${shstrndx} out of range (${shnum} sections)`);
    }
    this.header = { ...header, shnum, shstrndx };

    const sections: ElfSection[] = [];
    for (let i = 0; i < shnum; i++) sections.push(readSectionHeader(view, header.shoff + i * SHDR_SIZE, i));
    if (shnum > 0) {
      const strtab = sections[shstrndx];
      if (shstrndx !== 0 && strtab.type !== SHT_STRTAB) {
        throw new LoaderError(`section ${shstrndx}: section name table has type ${strtab.type}, not SHT_STRTAB`);
      }
      checkSectionExtents([strtab], length);
      const names = shstrndx === 0 ? new Uint8Array(0) : bytes.subarray(strtab.offset, strtab.offset + strtab.size);
      for (const s of sections) {
        const nameOff = view.getUint32(header.shoff + s.index * SHDR_SIZE, true);
        if (s.index === 0 && nameOff === 0) continue;
        s.name = readCString(names, { off: nameOff, what: `section ${s.index}: name` });
      }
    }
    checkSectionExtents(sections, length);
    for (const s of sections) {
      if (s.link >= shnum && s.link !== 0 && (s.type === SHT_SYMTAB || s.type === SHT_REL || s.type === SHT_RELA)) {
        throw new LoaderError(`${sectionLabel(s)}: sh_link ${s.link} out of range (${shnum} sections)`);
      }
      if (!this.#byName.has(s.name)) this.#byName.set(s.name, s);
    }
    this.sections = sections;

    const segments: ElfSegment[] = [];
    for (let i = 0; i < header.phnum; i++) {
      const seg = readSegment(view, header.phoff + i * PHDR_SIZE, i);
      if (seg.offset + seg.filesz > length) {
        throw new LoaderError(
          `segment ${i}: contents ${hex(seg.offset)}..${hex(seg.offset + seg.filesz)} beyond end of file`,
        );
      }
      if (seg.type === PT_LOAD && seg.filesz > seg.memsz) {
        throw new LoaderError(`segment ${i}: p_filesz ${hex(seg.filesz)} larger than p_memsz ${hex(seg.memsz)}`);
      }
      segments.push(seg);
    }
    this.segments = segments;
  }

  /** The first section called `name`. */
  sectionByName(name: string): ElfSection | undefined {
    return this.#byName.get(name);
  }

  /** Section `index`, or a LoaderError naming `what` refers to it. */
  section(index: number, what = "section index"): ElfSection {
    const s = this.sections[index];
    if (!Number.isInteger(index) || !s) {
      throw new LoaderError(`${what}: section index ${index} out of range (${this.sections.length} sections)`);
    }
    return s;
  }

  /** The contents of `s` (a view into the file; empty for SHT_NOBITS). */
  sectionData(s: ElfSection): Uint8Array {
    if (s.type === SHT_NOBITS || s.type === SHT_NULL) return new Uint8Array(0);
    return this.bytes.subarray(s.offset, s.offset + s.size);
  }

  /** The file bytes of a segment (p_filesz of them). */
  segmentData(seg: ElfSegment): Uint8Array {
    return this.bytes.subarray(seg.offset, seg.offset + seg.filesz);
  }

  /** The symbol table (.symtab), or [] when there is none. Index 0 is the null symbol. */
  symbols(): readonly ElfSymbol[] {
    if (!this.#symbols) this.#symbols = this.#readSymbols();
    return this.#symbols;
  }

  /** The first symbol called `name`. */
  symbol(name: string): ElfSymbol | undefined {
    return this.symbols().find((s) => s.name === name);
  }

  /** Every SHT_REL / SHT_RELA section, checked against its symbol table and target. */
  relocations(): readonly ElfRelocationSection[] {
    if (!this.#relocations) this.#relocations = this.#readRelocations();
    return this.#relocations;
  }

  #symtab(): ElfSection | undefined {
    return this.sections.find((s) => s.type === SHT_SYMTAB);
  }

  #readSymbols(): ElfSymbol[] {
    const symtab = this.#symtab();
    if (!symtab) return [];
    const label = sectionLabel(symtab);
    if (symtab.entsize !== SYM_SIZE)
      throw new LoaderError(`${label}: sh_entsize ${symtab.entsize} (expected ${SYM_SIZE})`);
    if (symtab.size % SYM_SIZE !== 0)
      throw new LoaderError(`${label}: size ${hex(symtab.size)} is not a multiple of ${SYM_SIZE}`);
    const strtab = this.section(symtab.link, `${label}: sh_link`);
    if (strtab.type !== SHT_STRTAB)
      throw new LoaderError(`${label}: linked section ${strtab.index} is not a string table`);
    if (this.sections.some((s) => s.type === SHT_SYMTAB_SHNDX)) {
      throw new LoaderError(`${label}: extended section indices (SHT_SYMTAB_SHNDX) are not supported`);
    }
    const names = this.sectionData(strtab);
    const view = this.#view;
    const count = symtab.size / SYM_SIZE;
    const out: ElfSymbol[] = [];
    for (let i = 0; i < count; i++) {
      const off = symtab.offset + i * SYM_SIZE;
      const info = view.getUint8(off + 4);
      const shndx = view.getUint16(off + 6, true);
      if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= this.sections.length) {
        throw new LoaderError(
          `${label}: symbol ${i}: section index ${shndx} out of range (${this.sections.length} sections)`,
        );
      }
      if (shndx === SHN_XINDEX) throw new LoaderError(`${label}: symbol ${i}: extended section index not supported`);
      out.push({
        index: i,
        name: readCString(names, { off: view.getUint32(off, true), what: `${label}: symbol ${i}: name` }),
        value: view.getBigUint64(off + 8, true),
        size: fileNumber(view.getBigUint64(off + 16, true), `${label}: symbol ${i}: st_size`),
        type: info & 0xf,
        bind: info >> 4,
        visibility: view.getUint8(off + 5) & 3,
        shndx,
      });
    }
    return out;
  }

  #readRelocations(): ElfRelocationSection[] {
    const out: ElfRelocationSection[] = [];
    for (const s of this.sections) {
      if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
      const label = sectionLabel(s);
      const rela = s.type === SHT_RELA;
      const entsize = rela ? RELA_SIZE : REL_SIZE;
      if (s.entsize !== entsize) throw new LoaderError(`${label}: sh_entsize ${s.entsize} (expected ${entsize})`);
      if (s.size % entsize !== 0)
        throw new LoaderError(`${label}: size ${hex(s.size)} is not a multiple of ${entsize}`);
      const target = this.section(s.info, `${label}: sh_info`);
      const symtab = this.#symtab();
      if (!symtab || s.link !== symtab.index) {
        throw new LoaderError(`${label}: sh_link ${s.link} is not the symbol table`);
      }
      const nsyms = this.symbols().length;
      const entries: ElfRelocation[] = [];
      const view = this.#view;
      const checkOffset = this.header.type === ET_REL && target.type !== SHT_NOBITS;
      for (let i = 0; i < s.size / entsize; i++) {
        const off = s.offset + i * entsize;
        const offset = view.getBigUint64(off, true);
        const info = view.getBigUint64(off + 8, true);
        const sym = Number(info >> 32n);
        if (sym >= nsyms)
          throw new LoaderError(`${label}: relocation ${i}: symbol ${sym} out of range (${nsyms} symbols)`);
        if (checkOffset && offset >= BigInt(target.size)) {
          throw new LoaderError(
            `${label}: relocation ${i}: offset ${hex(offset)} outside ${sectionLabel(target)} of ${hex(target.size)} bytes`,
          );
        }
        entries.push({
          offset,
          type: Number(info & 0xffffffffn),
          sym,
          addend: rela ? view.getBigInt64(off + 16, true) : 0n,
        });
      }
      out.push({ section: s, target, rela, entries });
    }
    return out;
  }
}

/** Parse an ELF64 little-endian file; bad input is a {@link LoaderError}. */
export function parseElf(bytes: Uint8Array): ElfFile {
  return new ElfFile(bytes);
}
