/**
 * Relocations of an object (libbpf.c bpf_program__record_reloc,
 * bpf_object__collect_prog_relos, bpf_object__collect_map_relos): each
 * SHT_REL entry of a program section becomes a reloc_desc of the function
 * it falls in; entries of .rel.maps fill prog arrays' __array(values)
 * initial slots.
 *
 *   symbol                          instruction        reloc_desc
 *   SHN_UNDEF (extern)              call / ld_imm64    extern_call / extern_ld64
 *   .text function or section       call (R_BPF_64_32) call (target = st_value/8 + imm + 1)
 *   .text function                  ld_imm64           subprog_addr (callbacks)
 *   .maps variable                  ld_imm64           map
 *   .data/.rodata/.bss (+ st_value) ld_imm64           data (offset = st_value + imm)
 *   anything else                                      "bad data relo against section"
 */
import { EINVAL, ENOTSUPP } from "../../errno.js";
import type { Btf } from "../btf/btf.js";
import { SHN_UNDEF, STT_SECTION, type ElfFile, type ElfRelocationSection, type ElfSymbol } from "../elf.js";
import type { Insn } from "../insn.js";
import { BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL } from "../opcodes.js";
import { ObjectError } from "./errors.js";
import type { ObjExtern, ObjMap, ObjProgram, ObjReloc } from "./model.js";
import { BPF_MAP_TYPE_PROG_ARRAY } from "./uapi.js";

/** R_BPF_64_64 (ld_imm64), R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_32 (calls). */
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_32 = 10;

const BPF_LD_IMM64_CODE = 0x18;

/** What relocation collection needs of the parsed ELF. */
export interface RelocContext {
  readonly elf: ElfFile;
  readonly textShndx: number;
  readonly mapsShndx: number;
  readonly btf: Btf | undefined;
}

function isCallInsn(insn: Insn): boolean {
  return insn.code === (BPF_JMP | BPF_CALL);
}

/** bpf_program__record_reloc(): one relocation entry of a program section. */
function recordReloc(
  c: RelocContext,
  ctx: { prog: ObjProgram; insnIdx: number; sym: ElfSymbol; maps: ObjMap[]; externs: ObjExtern[]; type: number },
): ObjReloc {
  const { prog, insnIdx, sym, maps, externs } = ctx;
  const insn = prog.insns[insnIdx];
  const where = `prog '${prog.name}': relo #${insnIdx}`;
  if (sym.shndx === SHN_UNDEF) {
    const extIdx = externs.findIndex((e) => e.name === sym.name);
    if (extIdx < 0) throw new ObjectError(EINVAL, `${where}: extern relo failed to find extern for '${sym.name}'`);
    if (isCallInsn(insn)) {
      if (!externs[extIdx].isFunc) throw new ObjectError(EINVAL, `${where}: call to non-function extern '${sym.name}'`);
      return { kind: "extern_call", insnIdx, extIdx };
    }
    if (insn.code !== BPF_LD_IMM64_CODE) {
      throw new ObjectError(
        EINVAL,
        `${where}: extern '${sym.name}' referenced by an insn that is not ld_imm64 (0x${insn.code.toString(16)})`,
      );
    }
    return { kind: "extern_ld64", insnIdx, extIdx };
  }
  if (isCallInsn(insn)) {
    if (insn.src !== BPF_PSEUDO_CALL) throw new ObjectError(EINVAL, `${where}: incorrect bpf_call opcode`);
    if (sym.shndx !== c.textShndx) {
      const sec = c.elf.sections[sym.shndx]?.name ?? String(sym.shndx);
      throw new ObjectError(EINVAL, `${where}: bad call relo against '${sym.name}' in section '${sec}'`);
    }
    if (sym.value % 8n !== 0n) throw new ObjectError(EINVAL, `${where}: bad call relo offset: ${sym.value}`);
    if (ctx.type !== R_BPF_64_32)
      throw new ObjectError(EINVAL, `${where}: unexpected relocation type ${ctx.type} on a call`);
    return { kind: "call", insnIdx, symOff: Number(sym.value) };
  }
  if (insn.code !== BPF_LD_IMM64_CODE) {
    throw new ObjectError(EINVAL, `${where}: invalid relo for insns[${insnIdx}].code 0x${insn.code.toString(16)}`);
  }
  if (ctx.type !== R_BPF_64_64)
    throw new ObjectError(EINVAL, `${where}: unexpected relocation type ${ctx.type} on ld_imm64`);
  if (sym.shndx === c.textShndx) {
    if (sym.value % 8n !== 0n) throw new ObjectError(EINVAL, `${where}: bad subprog addr relo offset: ${sym.value}`);
    return { kind: "subprog_addr", insnIdx, symOff: Number(sym.value) };
  }
  if (sym.shndx === c.mapsShndx) {
    const mapIdx = maps.findIndex((m) => m.kind === "btf" && m.secOffset === Number(sym.value));
    if (mapIdx < 0) throw new ObjectError(EINVAL, `${where}: map relo failed to find map for section off ${sym.value}`);
    return { kind: "map", insnIdx, mapIdx };
  }
  const mapIdx = maps.findIndex((m) => m.kind !== "btf" && m.secIdx === sym.shndx);
  if (mapIdx < 0) {
    const sec = c.elf.sections[sym.shndx]?.name ?? String(sym.shndx);
    throw new ObjectError(EINVAL, `${where}: bad data relo against section '${sec}'`);
  }
  return { kind: "data", insnIdx, mapIdx, symOff: Number(sym.value) };
}

/** Relocations of a program section, distributed to its functions. */
export function collectProgRelos(
  c: RelocContext,
  rel: ElfRelocationSection,
  progs: ObjProgram[],
  maps: ObjMap[],
  externs: ObjExtern[],
): void {
  const syms = c.elf.symbols();
  for (const [i, r] of rel.entries.entries()) {
    if (r.offset % 8n !== 0n)
      throw new ObjectError(EINVAL, `sec '${rel.section.name}': relo #${i}: unaligned offset ${r.offset}`);
    const slot = Number(r.offset / 8n);
    const prog = progs.find(
      (p) => p.secIdx === rel.target.index && slot >= p.secInsnOff && slot < p.secInsnOff + p.insns.length,
    );
    if (!prog)
      throw new ObjectError(EINVAL, `sec '${rel.section.name}': relo #${i}: program for insn #${slot} not found`);
    const sym = syms[r.sym];
    if (r.type === R_BPF_NONE) continue;
    prog.relos.push(recordReloc(c, { prog, insnIdx: slot - prog.secInsnOff, sym, maps, externs, type: r.type }));
  }
}

/** bpf_object__collect_map_relos(): __array(values, ...) initial slots of prog arrays. */
export function collectMapRelos(c: RelocContext, rel: ElfRelocationSection, maps: ObjMap[], progs: ObjProgram[]): void {
  const syms = c.elf.symbols();
  for (const [i, r] of rel.entries.entries()) {
    const sym = syms[r.sym];
    const off = Number(r.offset);
    const map = maps.find((m) => m.kind === "btf" && off >= m.secOffset && off < m.secOffset + mapVarSize(c, m));
    if (!map) throw new ObjectError(EINVAL, `.maps relo #${i}: cannot find map def for offset ${off}`);
    if (map.type !== BPF_MAP_TYPE_PROG_ARRAY) {
      throw new ObjectError(ENOTSUPP, `map '${map.name}': initial values are only supported for prog arrays`);
    }
    const prog = progs.find((p) => !p.isSubprog && p.name === sym.name);
    if (!prog) throw new ObjectError(EINVAL, `.maps relo #${i}: '${sym.name}' is not a BPF program`);
    const valuesOff = valuesMemberOffset(c, map);
    const slot = (off - map.secOffset - valuesOff) / 8;
    if (!Number.isInteger(slot) || slot < 0)
      throw new ObjectError(EINVAL, `map '${map.name}': invalid relo offset ${off}`);
    if (slot >= map.maxEntries)
      throw new ObjectError(EINVAL, `map '${map.name}': slot [${slot}] is out of bounds (max ${map.maxEntries})`);
    (map.initSlots as Map<number, string>).set(slot, prog.name);
  }
}

function mapVarType(c: RelocContext, m: ObjMap): number {
  const v = c.btf!.find(m.name, "var");
  if (!v) throw new ObjectError(EINVAL, `map '${m.name}': no BTF VAR`);
  return v.type;
}
/** The variable's size from its symbol (a flexible `values` array has initialisers beyond the BTF size). */
function mapVarSize(c: RelocContext, m: ObjMap): number {
  const sym = c.elf.symbols().find((s) => s.shndx === c.mapsShndx && s.name === m.name && s.type !== STT_SECTION);
  return Math.max(sym?.size ?? 0, c.btf!.sizeof(mapVarType(c, m)));
}
function valuesMemberOffset(c: RelocContext, m: ObjMap): number {
  const loc = c.btf!.member(mapVarType(c, m), "values");
  if (!loc) throw new ObjectError(EINVAL, `map '${m.name}': no 'values' member`);
  return loc.bitOffset / 8;
}
