/**
 * bpf_object__open(): an ELF object from `clang -target bpf` into a
 * {@link BpfObjectModel} (tools/lib/bpf/libbpf.c bpf_object__elf_init,
 * bpf_object__elf_collect, bpf_object__add_programs,
 * bpf_object__init_maps, bpf_object__collect_externs,
 * bpf_object__collect_relos).
 *
 *   ELF ──► sections: license, version, programs (SHF_EXECINSTR), .maps,
 *   │       .data* / .rodata* / .bss* (global data), .BTF, .BTF.ext,
 *   │       .rel<sec> (relocations of programs and of .maps)
 *   ├─► programs: one per FUNC symbol; .text functions are subprograms
 *   ├─► maps: BTF-defined, then one array map per global-data section
 *   ├─► externs: SHN_UNDEF globals typed by BTF (.kconfig / .ksyms)
 *   └─► relocations per program (reloc_desc), BTF.ext per program
 *
 * Every malformed input is an ObjectError (errno EINVAL unless libbpf says
 * otherwise: ENOTSUPP for static programs and unknown map fields, ESRCH for
 * missing externs at load) with libbpf's wording where it has one.
 */
import { EINVAL, ENOTSUPP } from "../../errno.js";
import { BpfError } from "../../errors.js";
import { Btf } from "../btf/btf.js";
import { parseBtfExt, type BtfExt } from "../btf/ext.js";
import type { BtfDatasec } from "../btf/types.js";
import { BPF_INSN_SIZE, decodeInsns } from "../codec.js";
import {
  parseElf,
  EM_BPF,
  ET_REL,
  SHF_EXECINSTR,
  SHN_UNDEF,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_REL,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FUNC,
  STT_OBJECT,
  STT_SECTION,
  type ElfFile,
  type ElfSection,
  type ElfSymbol,
} from "../elf.js";
import { parseBtfMaps } from "./btf_maps.js";
import { collectMapRelos, collectProgRelos } from "./relo_collect.js";
import { ObjectError } from "./errors.js";
import type {
  BpfObjectModel,
  ObjCoreRelo,
  ObjExtern,
  ObjFuncInfo,
  ObjLineInfo,
  ObjMap,
  ObjMapKind,
  ObjProgram,
} from "./model.js";
import { parseSecName } from "./sec_def.js";
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_OBJ_NAME_LEN } from "./uapi.js";

const KCONFIG_SEC = ".kconfig";
const KSYMS_SEC = ".ksyms";

/** Options of {@link bpfObjectOpen}. */
export interface OpenOptions {
  /** Object name (default: from the path, else "bpf_object"). */
  objectName?: string;
}

/** The object name libbpf derives from a path: base name without ".o" (and ".bpf.o"). */
export function objectNameFromPath(path: string): string {
  const base = path.split("/").pop() ?? path;
  if (base.endsWith(".bpf.o")) return base.slice(0, -".bpf.o".length);
  if (base.endsWith(".o")) return base.slice(0, -2);
  return base;
}

/** internal_map_name(): "<obj prefix><section>" in BPF_OBJ_NAME_LEN - 1 characters. */
export function internalMapName(objName: string, realName: string): string {
  let sfxLen = Math.max(7, realName.length);
  if (sfxLen >= BPF_OBJ_NAME_LEN) sfxLen = BPF_OBJ_NAME_LEN - 1;
  const pfxLen = realName.indexOf(".", 1) >= 0 ? 0 : Math.min(BPF_OBJ_NAME_LEN - sfxLen - 1, objName.length);
  const name = (objName.slice(0, pfxLen) + realName.slice(0, sfxLen)).slice(0, BPF_OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

function isDataSec(name: string): boolean {
  return name === ".data" || name.startsWith(".data.");
}
function isRodataSec(name: string): boolean {
  return name === ".rodata" || name.startsWith(".rodata.");
}
function isBssSec(name: string): boolean {
  return name === ".bss" || name.startsWith(".bss.");
}

/** Sections libbpf ignores (debug info, BTF relocations, llvm metadata). */
function ignoredSection(name: string): boolean {
  return (
    name.startsWith(".debug_") ||
    name.startsWith(".rel.debug_") ||
    name === ".rel.BTF" ||
    name === ".rel.BTF.ext" ||
    name === ".llvm_addrsig" ||
    name.startsWith(".rel.eh_frame") ||
    name === ".eh_frame"
  );
}

function cString(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  return Buffer.from(bytes.subarray(0, end)).toString("latin1");
}

interface Collected {
  elf: ElfFile;
  name: string;
  license: string;
  kernVersion: number;
  textShndx: number;
  mapsShndx: number;
  progSecs: ElfSection[];
  dataSecs: { sec: ElfSection; kind: ObjMapKind }[];
  btf: Btf | undefined;
  btfBytes: Uint8Array | undefined;
  btfExt: BtfExt | undefined;
}

/** bpf_object__elf_init + bpf_object__elf_collect (section classification). */
function collectSections(bytes: Uint8Array, name: string): Collected {
  let elf: ElfFile;
  try {
    elf = parseElf(bytes);
  } catch (err) {
    throw new ObjectError(EINVAL, `elf: failed to open ${name}: ${(err as Error).message}`, { cause: err });
  }
  if (elf.header.type !== ET_REL || (elf.header.machine !== EM_BPF && elf.header.machine !== 0)) {
    throw new ObjectError(
      EINVAL,
      `elf: ${name} is not a valid eBPF object file (e_type ${elf.header.type}, e_machine ${elf.header.machine})`,
    );
  }
  const c: Collected = {
    elf,
    name,
    license: "",
    kernVersion: 0,
    textShndx: -1,
    mapsShndx: -1,
    progSecs: [],
    dataSecs: [],
    btf: undefined,
    btfBytes: undefined,
    btfExt: undefined,
  };
  let btfExtBytes: Uint8Array | undefined;
  for (const sec of elf.sections) {
    if (sec.index === 0 || ignoredSection(sec.name)) continue;
    const data = elf.sectionData(sec);
    if (sec.name === "license") {
      c.license = cString(data);
    } else if (sec.name === "version") {
      if (data.length !== 4) throw new ObjectError(EINVAL, `elf: invalid kver section in ${name}`);
      c.kernVersion = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
    } else if (sec.name === ".maps") {
      c.mapsShndx = sec.index;
    } else if (sec.name === ".BTF") {
      c.btfBytes = data;
    } else if (sec.name === ".BTF.ext") {
      btfExtBytes = data;
    } else if (sec.type === SHT_PROGBITS && data.length > 0) {
      if (sec.flags & SHF_EXECINSTR) {
        if (sec.name === ".text") c.textShndx = sec.index;
        c.progSecs.push(sec);
      } else if (isDataSec(sec.name)) c.dataSecs.push({ sec, kind: "data" });
      else if (isRodataSec(sec.name)) c.dataSecs.push({ sec, kind: "rodata" });
    } else if (sec.type === SHT_NOBITS && isBssSec(sec.name)) {
      c.dataSecs.push({ sec, kind: "bss" });
    }
  }
  if (c.btfBytes) {
    try {
      c.btf = Btf.parse(c.btfBytes);
    } catch (err) {
      throw new ObjectError(EINVAL, `Error loading ELF section .BTF: ${(err as Error).message}`, { cause: err });
    }
    if (btfExtBytes) {
      try {
        c.btfExt = parseBtfExt(btfExtBytes, c.btf.strings);
      } catch (err) {
        throw new ObjectError(EINVAL, `Error loading ELF section .BTF.ext: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  return c;
}

function sectionSymbols(elf: ElfFile, secIdx: number): ElfSymbol[] {
  return elf.symbols().filter((s) => s.shndx === secIdx);
}

/** BTF.ext records of section `secName` inside [start, end) insns, relative to `start`. */
function extFor<T extends { insnOff: number }>(
  map: Map<string, T[]> | undefined,
  secName: string,
  start: number,
  end: number,
): (Omit<T, "insnOff"> & { insnOff: number })[] {
  const list = map?.get(secName) ?? [];
  const out: (Omit<T, "insnOff"> & { insnOff: number })[] = [];
  for (const r of list) {
    if (r.insnOff % BPF_INSN_SIZE !== 0)
      throw new ObjectError(EINVAL, `${secName}: BTF.ext record at unaligned offset ${r.insnOff}`);
    const idx = r.insnOff / BPF_INSN_SIZE;
    if (idx >= start && idx < end) out.push({ ...r, insnOff: idx - start });
  }
  return out;
}

function declTagsOf(btf: Btf | undefined, id: number): string[] {
  if (!btf || !id) return [];
  const out: string[] = [];
  for (const t of btf.types) if (t.kind === "decl_tag" && t.type === id && t.componentIdx === -1) out.push(t.name);
  return out;
}

/** bpf_object__add_programs() for one executable section. */
function addPrograms(c: Collected, sec: ElfSection): ObjProgram[] {
  const data = c.elf.sectionData(sec);
  if (data.length % BPF_INSN_SIZE !== 0) {
    throw new ObjectError(
      EINVAL,
      `sec '${sec.name}': corrupted program code (size ${data.length} not a multiple of 8)`,
    );
  }
  const all = decodeInsns(data, { validate: false });
  const isText = sec.index === c.textShndx;
  const parsed = parseSecName(sec.name);
  const syms = sectionSymbols(c.elf, sec.index)
    .filter((s) => s.type === STT_FUNC)
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  if (syms.length === 0) throw new ObjectError(EINVAL, `sec '${sec.name}': no FUNC symbol for program code`);
  const out: ObjProgram[] = [];
  for (const sym of syms) {
    const off = Number(sym.value);
    if (off % BPF_INSN_SIZE !== 0 || sym.size % BPF_INSN_SIZE !== 0 || sym.size === 0) {
      throw new ObjectError(
        EINVAL,
        `sec '${sec.name}': program '${sym.name}' at offset ${off} of size ${sym.size} is not insn-aligned`,
      );
    }
    if (off + sym.size > data.length) {
      throw new ObjectError(EINVAL, `sec '${sec.name}': program at offset ${off} crosses section boundary`);
    }
    if (!isText && sym.bind === STB_LOCAL) {
      throw new ObjectError(ENOTSUPP, `sec '${sec.name}': program '${sym.name}' is static and not supported`);
    }
    const start = off / BPF_INSN_SIZE;
    const end = start + sym.size / BPF_INSN_SIZE;
    const btfFunc = c.btf?.find(sym.name, "func");
    const btfId = btfFunc?.id ?? 0;
    out.push({
      name: sym.name,
      secName: isText ? ".text" : parsed.secName,
      secIdx: sec.index,
      secInsnOff: start,
      insns: all.slice(start, end),
      def: isText ? undefined : parsed.def,
      attachTo: isText ? undefined : parsed.attachTo,
      isSubprog: isText,
      autoload: isText ? false : parsed.autoload,
      global: sym.bind === STB_GLOBAL || sym.bind === STB_WEAK,
      relos: [],
      btfId,
      declTags: declTagsOf(c.btf, btfId),
      funcInfo: extFor(c.btfExt?.funcInfo, sec.name, start, end) as ObjFuncInfo[],
      lineInfo: extFor(c.btfExt?.lineInfo, sec.name, start, end) as ObjLineInfo[],
      coreRelos: extFor(c.btfExt?.coreRelos, sec.name, start, end) as ObjCoreRelo[],
    });
  }
  // Every instruction must belong to some function.
  let covered = 0;
  for (const p of out) covered += p.insns.length;
  if (covered !== all.length) {
    throw new ObjectError(
      EINVAL,
      `sec '${sec.name}': ${all.length - covered} instructions are not covered by FUNC symbols`,
    );
  }
  return out;
}

function datasecOf(btf: Btf | undefined, name: string): BtfDatasec | undefined {
  return btf?.find(name, "datasec");
}

/** Offset of variable `name` in section `secIdx`, from the symbol table (btf_fixup_datasec). */
function symOffset(elf: ElfFile, secIdx: number, name: string): number | undefined {
  const s = elf.symbols().find((x) => x.shndx === secIdx && x.name === name && x.type !== STT_SECTION);
  return s === undefined ? undefined : Number(s.value);
}

/** bpf_object__init_user_btf_maps(). */
function btfMaps(c: Collected): ObjMap[] {
  if (c.mapsShndx < 0) return [];
  const sec = c.elf.section(c.mapsShndx);
  const ds = datasecOf(c.btf, ".maps");
  if (!c.btf || !ds) throw new ObjectError(EINVAL, "elf: DATASEC '.maps' not found.");
  return parseBtfMaps(c.btf, ds).map((d) => {
    const off = symOffset(c.elf, sec.index, d.name) ?? d.secOffset;
    return {
      name: d.name,
      realName: d.name,
      kind: "btf" as const,
      secIdx: sec.index,
      secOffset: off,
      type: d.type,
      keySize: d.keySize,
      valueSize: d.valueSize,
      maxEntries: d.maxEntries,
      mapFlags: d.mapFlags,
      btfKeyTypeId: d.keyTypeId,
      btfValueTypeId: d.valueTypeId,
      initial: undefined,
      varOffsets: new Map<string, number>(),
      initSlots: new Map<number, string>(),
    };
  });
}

/** bpf_object__init_internal_map() for each global-data section. */
function dataMaps(c: Collected): ObjMap[] {
  return c.dataSecs.map(({ sec, kind }) => {
    const ds = datasecOf(c.btf, sec.name);
    const initial = kind === "bss" ? new Uint8Array(sec.size) : new Uint8Array(c.elf.sectionData(sec));
    return {
      name: internalMapName(c.name, sec.name),
      realName: sec.name,
      kind,
      secIdx: sec.index,
      secOffset: 0,
      type: BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: sec.size,
      maxEntries: 1,
      mapFlags: (kind === "rodata" ? BPF_F_RDONLY_PROG : 0) | BPF_F_MMAPABLE,
      btfKeyTypeId: 0,
      btfValueTypeId: ds?.id ?? 0,
      initial,
      varOffsets: new Map(
        sectionSymbols(c.elf, sec.index)
          .filter((s) => s.type === STT_OBJECT && s.name !== "")
          .map((s) => [s.name, Number(s.value)] as const),
      ),
      initSlots: new Map<number, string>(),
    };
  });
}

/** bpf_object__collect_externs(): SHN_UNDEF globals, typed by BTF. */
function collectExterns(c: Collected): ObjExtern[] {
  const syms = c.elf.symbols().filter((s) => s.index > 0 && s.shndx === SHN_UNDEF && s.name !== "");
  if (syms.length === 0) return [];
  if (!c.btf) throw new ObjectError(EINVAL, "extern symbols present, but no BTF");
  const btf = c.btf;
  const kcfg = datasecOf(btf, KCONFIG_SEC);
  const ksyms = datasecOf(btf, KSYMS_SEC);
  const out: ObjExtern[] = [];
  for (const s of syms) {
    if (s.bind !== STB_GLOBAL && s.bind !== STB_WEAK) continue;
    const weak = s.bind === STB_WEAK;
    const inKcfg = kcfg?.vars.find((v) => btf.type(v.type).name === s.name);
    const inKsyms = ksyms?.vars.find((v) => btf.type(v.type).name === s.name);
    const vsi = inKcfg ?? inKsyms;
    if (!vsi) {
      // A function declared __ksym without a DATASEC entry (older clang): FUNC with extern linkage.
      const f = btf.find(s.name, "func");
      if (f && f.linkage === "extern") {
        out.push({ name: s.name, type: "ksym", isFunc: true, weak, btfId: f.id, kcfgOff: 0, kcfgSize: 0 });
        continue;
      }
      throw new ObjectError(EINVAL, `failed to find BTF for extern '${s.name}'`);
    }
    const t = btf.type(vsi.type);
    if (inKcfg) {
      if (t.kind === "func")
        throw new ObjectError(EINVAL, `extern (kcfg) '${s.name}' must be a variable, not a function`);
      out.push({ name: s.name, type: "kcfg", isFunc: false, weak, btfId: t.id, kcfgOff: 0, kcfgSize: vsi.size });
    } else {
      out.push({ name: s.name, type: "ksym", isFunc: t.kind === "func", weak, btfId: t.id, kcfgOff: 0, kcfgSize: 0 });
    }
  }
  // .kconfig layout: libbpf sorts externs by alignment and packs them; keep declaration order, 8-aligned.
  let off = 0;
  return out.map((e) => {
    if (e.type !== "kcfg") return e;
    const size = e.kcfgSize;
    const align = Math.min(8, size >= 8 ? 8 : size >= 4 ? 4 : size >= 2 ? 2 : 1);
    off = Math.ceil(off / align) * align;
    const placed = { ...e, kcfgOff: off };
    off += size;
    return placed;
  });
}

function kconfigMap(c: Collected, externs: ObjExtern[]): ObjMap[] {
  const kcfg = externs.filter((e) => e.type === "kcfg");
  if (kcfg.length === 0) return [];
  const size = Math.max(...kcfg.map((e) => e.kcfgOff + e.kcfgSize));
  return [
    {
      name: internalMapName(c.name, KCONFIG_SEC),
      realName: KCONFIG_SEC,
      kind: "kconfig",
      secIdx: -1,
      secOffset: 0,
      type: BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: size,
      maxEntries: 1,
      mapFlags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
      btfKeyTypeId: 0,
      btfValueTypeId: datasecOf(c.btf, KCONFIG_SEC)?.id ?? 0,
      initial: new Uint8Array(size),
      varOffsets: new Map(kcfg.map((e) => [e.name, e.kcfgOff] as const)),
      initSlots: new Map<number, string>(),
    },
  ];
}

/**
 * bpf_object__open_mem(): parse an object. The result holds no kernel
 * resources; load it with the skeleton API (runtime/loader/skeleton.ts).
 */
export function bpfObjectOpen(bytes: Uint8Array, opts: OpenOptions = {}): BpfObjectModel {
  const name = opts.objectName ?? "bpf_object";
  try {
    const c = collectSections(bytes, name);
    const programs = c.progSecs.flatMap((s) => addPrograms(c, s));
    const externs = collectExterns(c);
    const maps = [...btfMaps(c), ...dataMaps(c), ...kconfigMap(c, externs)];
    for (const rel of c.elf.relocations()) {
      if (rel.section.type !== SHT_REL || ignoredSection(rel.section.name)) continue;
      if (rel.target.index === c.mapsShndx) collectMapRelos(c, rel, maps, programs);
      else if (c.progSecs.some((s) => s.index === rel.target.index)) collectProgRelos(c, rel, programs, maps, externs);
    }
    return {
      name,
      license: c.license,
      kernVersion: c.kernVersion,
      programs,
      maps,
      externs,
      btf: c.btf,
      btfBytes: c.btfBytes,
      textShndx: c.textShndx,
      secNames: c.elf.sections.map((s) => s.name),
    };
  } catch (err) {
    if (err instanceof ObjectError) throw err;
    if (err instanceof BpfError) throw new ObjectError(err.errno, `elf: ${name}: ${err.message}`, { cause: err });
    throw new ObjectError(EINVAL, `elf: ${name}: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
}
