/**
 * The in-memory model of an opened BPF ELF object (libbpf's struct
 * bpf_object / bpf_program / bpf_map / extern_desc before load), as plain
 * data. Parsing (open.ts) fills it; relocation (relocate.ts) turns each
 * program into the instructions the kernel gets.
 *
 *   BpfObjectModel
 *   ├─ programs[]   one per FUNC symbol of an executable section;
 *   │               .text functions are subprograms (isSubprog)
 *   ├─ maps[]       BTF-defined (.maps), global data (.data/.bss/.rodata*),
 *   │               .kconfig
 *   ├─ externs[]    __kconfig and __ksym symbols (SHN_UNDEF)
 *   └─ btf, btfExt  the object's .BTF and .BTF.ext
 */
import type { Btf } from "../btf/btf.js";
import type { BtfExtCoreRelo, BtfExtFuncInfo, BtfExtLineInfo } from "../btf/ext.js";
import type { Insn } from "../insn.js";
import type { SecDef } from "./sec_def.js";

/** A relocation recorded against one instruction of a program (reloc_desc). */
export type ObjReloc =
  /** ld_imm64 of a BTF-defined map: BPF_PSEUDO_MAP_FD. */
  | { readonly kind: "map"; readonly insnIdx: number; readonly mapIdx: number }
  /** ld_imm64 of global data: BPF_PSEUDO_MAP_VALUE at sym_off + the insn's addend. */
  | { readonly kind: "data"; readonly insnIdx: number; readonly mapIdx: number; readonly symOff: number }
  /** bpf-to-bpf call through a relocation: target = symOff/8 + imm + 1 in the .text section. */
  | { readonly kind: "call"; readonly insnIdx: number; readonly symOff: number }
  /** ld_imm64 of a .text function's address (BPF_PSEUDO_FUNC, callbacks). */
  | { readonly kind: "subprog_addr"; readonly insnIdx: number; readonly symOff: number }
  /** call of an extern function (a kfunc). */
  | { readonly kind: "extern_call"; readonly insnIdx: number; readonly extIdx: number }
  /** ld_imm64 of an extern variable (.kconfig value or __ksym address). */
  | { readonly kind: "extern_ld64"; readonly insnIdx: number; readonly extIdx: number };

/** A program or subprogram of the object. */
export interface ObjProgram {
  /** The function's symbol name (libbpf prog->name). */
  readonly name: string;
  /** The ELF section name without a leading `?`. */
  readonly secName: string;
  readonly secIdx: number;
  /** First instruction of the function in its section. */
  readonly secInsnOff: number;
  /** The function's instructions (a copy of the section's). */
  readonly insns: Insn[];
  /** Section definition (undefined for .text subprograms and unknown names). */
  readonly def: SecDef | undefined;
  /** SEC_ATTACH_BTF target from the section name ("bpf_fentry_test1"). */
  readonly attachTo: string | undefined;
  /** In .text: only used as a subprogram. */
  readonly isSubprog: boolean;
  /** Load it with the object (false for `?` sections; settable before load). */
  autoload: boolean;
  /** STB_GLOBAL (global functions are verified on their own in the kernel). */
  readonly global: boolean;
  /** Relocations, insnIdx relative to the function's first instruction. */
  readonly relos: ObjReloc[];
  /** BTF FUNC id of the function in the object's BTF (0 without BTF). */
  readonly btfId: number;
  /** BTF decl tags attached to the function ("exception_callback:cb", ...). */
  readonly declTags: readonly string[];
  /** BTF.ext records for the function, insn offsets relative to its start (in instructions). */
  readonly funcInfo: readonly ObjFuncInfo[];
  readonly lineInfo: readonly ObjLineInfo[];
  readonly coreRelos: readonly ObjCoreRelo[];
}

/** func_info with the offset in instructions. */
export interface ObjFuncInfo extends Omit<BtfExtFuncInfo, "insnOff"> {
  readonly insnOff: number;
}

/** line_info with the offset in instructions. */
export interface ObjLineInfo extends Omit<BtfExtLineInfo, "insnOff"> {
  readonly insnOff: number;
}

/** A CO-RE relocation with the offset in instructions. */
export interface ObjCoreRelo extends Omit<BtfExtCoreRelo, "insnOff"> {
  readonly insnOff: number;
}

/** What kind of map a definition came from (libbpf_map_type). */
export type ObjMapKind = "btf" | "data" | "bss" | "rodata" | "kconfig";

/** A map definition (struct bpf_map before creation). */
export interface ObjMap {
  /** The name given to the kernel ("counts", "fentry_m.bss"). */
  readonly name: string;
  /** For internal maps: the ELF section name (".bss", ".rodata.str1.1"). */
  readonly realName: string;
  readonly kind: ObjMapKind;
  readonly secIdx: number;
  /** Offset of the map's variable in .maps (BTF maps). */
  readonly secOffset: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  /** BTF ids in the object's BTF of the key and value types (0 if none); DATASEC for global data. */
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  /** Initial value of a global-data map (the section bytes; zeros for .bss). */
  initial: Uint8Array | undefined;
  /** Global data: variable offsets from the symbol table (btf_fixup_datasec). */
  readonly varOffsets: ReadonlyMap<string, number>;
  /** __array(values, ...) initial slots of a prog array: slot → program name. */
  readonly initSlots: ReadonlyMap<number, string>;
}

/** An extern symbol (extern_desc). */
export interface ObjExtern {
  readonly name: string;
  /** "kcfg": a .kconfig variable; "ksym": a __ksym function or variable. */
  readonly type: "kcfg" | "ksym";
  /** For ksym: a function (kfunc) or a variable. */
  readonly isFunc: boolean;
  readonly weak: boolean;
  /** BTF id of the VAR or FUNC in the object's BTF. */
  readonly btfId: number;
  /** For kcfg: offset in the .kconfig map and size. */
  readonly kcfgOff: number;
  readonly kcfgSize: number;
}

/** An opened object. */
export interface BpfObjectModel {
  /** Object name (file base name without .o / .bpf.o). */
  readonly name: string;
  readonly license: string;
  /** `version` section, or 0. */
  readonly kernVersion: number;
  readonly programs: ObjProgram[];
  readonly maps: ObjMap[];
  readonly externs: ObjExtern[];
  readonly btf: Btf | undefined;
  /** Bytes of .BTF (for BPF_BTF_LOAD-like uses). */
  readonly btfBytes: Uint8Array | undefined;
  /** Section index of .text, or -1. */
  readonly textShndx: number;
  /** The ELF section names by index (for messages and dumps). */
  readonly secNames: readonly string[];
}
