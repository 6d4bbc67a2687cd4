/**
 * bpf_object__relocate() for one main program (libbpf.c
 * bpf_object__relocate_core, bpf_object__reloc_code,
 * bpf_object__relocate_data, bpf_program_fixup_func_info): the
 * instructions the kernel's BPF_PROG_LOAD receives.
 *
 *   main prog insns ─┬─ CO-RE patches (against the kernel's BTF)
 *                    ├─ map / global data ld_imm64 → BPF_PSEUDO_MAP_FD / _VALUE (fd, offset)
 *                    ├─ bpf-to-bpf calls → the .text subprogram is appended once
 *                    │  (depth first, as libbpf) and the call's imm made relative
 *                    ├─ kfunc externs → BPF_PSEUDO_KFUNC_CALL (imm = BTF id, off = BTF fd index)
 *                    └─ .kconfig / __ksym variables → MAP_VALUE / BPF_PSEUDO_BTF_ID
 *
 *   result:  [ main ][ subprog A ][ subprog B ] ...   + func_info / line_info moved along
 */
import { EINVAL } from "../../errno.js";
import type { Btf } from "../btf/btf.js";
import type { Insn } from "../insn.js";
import {
  BPF_CALL,
  BPF_JMP,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
} from "../opcodes.js";
import { bpfCoreCalcRelo, bpfCorePatchInsn, type CoreTarget } from "./core_relo.js";
import { ObjectError } from "./errors.js";
import type { BpfObjectModel, ObjExtern, ObjLineInfo, ObjProgram } from "./model.js";

const EXCEPTION_CB_TAG = "exception_callback:";

/** How an extern resolved (bpf_object__resolve_externs). */
export type ResolvedExtern =
  | { readonly kind: "kfunc"; readonly btfId: number; readonly btfFdIdx: number }
  | { readonly kind: "ksym_var"; readonly btfId: number; readonly btfObjFd: number }
  /** .kconfig variable: a load from the .kconfig map (fd) at `off`. */
  | { readonly kind: "kcfg"; readonly mapFd: number; readonly off: number }
  /** A weak extern that is not there: calls and loads become 0. */
  | { readonly kind: "missing_weak" };

/** What relocation needs from the loader. */
export interface RelocateEnv {
  /** fd of map `mapIdx` (created before relocation). */
  mapFd(mapIdx: number): number;
  /** Resolution of extern `extIdx`. */
  extern(extIdx: number): ResolvedExtern;
  /** BTFs CO-RE relocations resolve against (vmlinux first). */
  readonly coreTargets: readonly CoreTarget[];
}

/** func_info of the final program: insn offsets in instructions. */
export interface FuncInfoRec {
  readonly insnOff: number;
  readonly typeId: number;
}

/** One function of a relocated program. */
export interface RelocatedFunc {
  readonly name: string;
  /** First instruction in the final program. */
  readonly start: number;
  readonly btfId: number;
  readonly global: boolean;
  readonly declTags: readonly string[];
}

/** A program ready for BPF_PROG_LOAD. */
export interface RelocatedProg {
  readonly insns: Insn[];
  readonly funcs: RelocatedFunc[];
  readonly funcInfo: FuncInfoRec[];
  readonly lineInfo: ObjLineInfo[];
  /** libbpf debug lines (CO-RE patches). */
  readonly log: string[];
}

function isCall(insn: Insn): boolean {
  return insn.code === (BPF_JMP | BPF_CALL);
}

/** Apply the CO-RE relocations of `fn` to a copy of its instructions. */
function applyCore(obj: BpfObjectModel, fn: ObjProgram, env: RelocateEnv, log: string[]): Insn[] {
  const insns = fn.insns.slice();
  if (fn.coreRelos.length === 0) return insns;
  const btf = obj.btf as Btf;
  if (env.coreTargets.length === 0) {
    throw new ObjectError(EINVAL, `prog '${fn.name}': CO-RE relocations need the kernel's BTF, which is not available`);
  }
  fn.coreRelos.forEach((r, i) => {
    const what = `prog '${fn.name}': relo #${i}`;
    let res;
    try {
      res = bpfCoreCalcRelo(btf, r, env.coreTargets);
    } catch (err) {
      if (err instanceof ObjectError)
        throw new ObjectError(err.errno, `${what}: ${err.message.replace(/^libbpf: /, "")}`);
      throw err;
    }
    log.push(bpfCorePatchInsn(insns, r.insnOff, res, what));
  });
  return insns;
}

/** The .text function containing section instruction `idx`. */
function subprogAt(obj: BpfObjectModel, secIdx: number, idx: number): ObjProgram | undefined {
  return obj.programs.find((p) => p.secIdx === secIdx && idx >= p.secInsnOff && idx < p.secInsnOff + p.insns.length);
}

/** bpf_object__relocate() for main program `prog`. */
export function relocateProgram(obj: BpfObjectModel, prog: ObjProgram, env: RelocateEnv): RelocatedProg {
  const log: string[] = [];
  const out: Insn[] = [];
  const funcs: RelocatedFunc[] = [];
  const funcInfo: FuncInfoRec[] = [];
  const lineInfo: ObjLineInfo[] = [];
  const appended = new Map<ObjProgram, number>();

  const append = (fn: ObjProgram): number => {
    const start = out.length;
    appended.set(fn, start);
    out.push(...applyCore(obj, fn, env, log));
    funcs.push({ name: fn.name, start, btfId: fn.btfId, global: fn.global, declTags: fn.declTags });
    const fi = fn.funcInfo.find((f) => f.insnOff === 0);
    if (fi) funcInfo.push({ insnOff: start, typeId: fi.typeId });
    for (const l of fn.lineInfo) lineInfo.push({ ...l, insnOff: l.insnOff + start });
    return start;
  };

  /** bpf_object__reloc_code(): relocate `fn` (already appended at `base`), appending callees depth first. */
  const relocCode = (fn: ObjProgram, base: number): void => {
    const relos = new Map(fn.relos.map((r) => [r.insnIdx, r]));
    for (let i = 0; i < fn.insns.length; i++) {
      const at = base + i;
      const insn = out[at];
      const relo = relos.get(i);
      const where = `prog '${prog.name}': insn #${at}`;
      if (relo?.kind === "map" || relo?.kind === "data") {
        const next = out[at + 1];
        if (!next) throw new ObjectError(EINVAL, `${where}: ld_imm64 without its second half`);
        const fd = env.mapFd(relo.mapIdx);
        if (relo.kind === "map") {
          out[at] = { ...insn, src: BPF_PSEUDO_MAP_FD, imm: fd };
        } else {
          out[at] = { ...insn, src: BPF_PSEUDO_MAP_VALUE, imm: fd };
          out[at + 1] = { ...next, imm: (insn.imm + relo.symOff) | 0 };
        }
        i++;
        continue;
      }
      if (relo?.kind === "extern_call" || relo?.kind === "extern_ld64") {
        applyExtern(out, at, env.extern(relo.extIdx), obj.externs[relo.extIdx], where);
        if (relo.kind === "extern_ld64") i++;
        continue;
      }
      let target: { fn: ObjProgram; secIdx: number } | undefined;
      let subInsnIdx = -1;
      if (relo?.kind === "call") {
        subInsnIdx = relo.symOff / 8 + insn.imm + 1;
        target = { fn: subprogAt(obj, obj.textShndx, subInsnIdx)!, secIdx: obj.textShndx };
      } else if (relo?.kind === "subprog_addr") {
        subInsnIdx = (relo.symOff + insn.imm) / 8;
        target = { fn: subprogAt(obj, obj.textShndx, subInsnIdx)!, secIdx: obj.textShndx };
      } else if (isCall(insn) && insn.src === BPF_PSEUDO_CALL) {
        // A call without a relocation: inside the same section.
        subInsnIdx = fn.secInsnOff + i + insn.imm + 1;
        target = { fn: subprogAt(obj, fn.secIdx, subInsnIdx)!, secIdx: fn.secIdx };
      }
      if (target === undefined) {
        if (insn.code === 0x18) i++;
        continue;
      }
      if (!target.fn || !Number.isInteger(subInsnIdx)) {
        throw new ObjectError(EINVAL, `${where}: call/subprog relo to insn #${subInsnIdx} outside any function`);
      }
      if (target.fn === fn || target.fn === prog) {
        // Recursion into the same function: offsets stay relative.
        const start = appended.get(target.fn)!;
        setTarget(out, at, start + (subInsnIdx - target.fn.secInsnOff), relo?.kind === "subprog_addr");
        if (insn.code === 0x18) i++;
        continue;
      }
      if (!target.fn.isSubprog) {
        throw new ObjectError(EINVAL, `${where}: call to '${target.fn.name}', which is a program, not a subprogram`);
      }
      let start = appended.get(target.fn);
      if (start === undefined) {
        start = append(target.fn);
        relocCode(target.fn, start);
      }
      setTarget(out, at, start + (subInsnIdx - target.fn.secInsnOff), relo?.kind === "subprog_addr");
      if (insn.code === 0x18) i++;
    }
  };

  append(prog);
  relocCode(prog, 0);
  // libbpf appends the exception callback named by the main function's decl
  // tag even though nothing calls it (the verifier and the JIT need its code).
  for (const tag of prog.declTags) {
    if (!tag.startsWith(EXCEPTION_CB_TAG)) continue;
    const name = tag.slice(EXCEPTION_CB_TAG.length);
    const cb = obj.programs.find((p) => p.isSubprog && p.name === name);
    if (!cb)
      throw new ObjectError(EINVAL, `prog '${prog.name}': exception callback '${name}' could not be found in .text`);
    if (!appended.has(cb)) relocCode(cb, append(cb));
  }
  return { insns: out, funcs, funcInfo, lineInfo, log };
}

function setTarget(out: Insn[], at: number, dest: number, isFuncAddr: boolean): void {
  const insn = out[at];
  const imm = dest - (at + 1);
  out[at] = isFuncAddr ? { ...insn, src: BPF_PSEUDO_FUNC, imm } : { ...insn, src: BPF_PSEUDO_CALL, imm };
}

function applyExtern(out: Insn[], at: number, res: ResolvedExtern, ext: ObjExtern, where: string): void {
  const insn = out[at];
  if (isCall(insn)) {
    if (res.kind === "missing_weak") {
      // libbpf poisons calls to unresolved weak kfuncs; the verifier removes them if dead.
      out[at] = { ...insn, src: BPF_PSEUDO_KFUNC_CALL, imm: 0, off: 0 };
      return;
    }
    if (res.kind !== "kfunc") throw new ObjectError(EINVAL, `${where}: extern '${ext.name}' is not a function`);
    out[at] = { ...insn, src: BPF_PSEUDO_KFUNC_CALL, imm: res.btfId, off: res.btfFdIdx };
    return;
  }
  const next = out[at + 1];
  if (!next) throw new ObjectError(EINVAL, `${where}: ld_imm64 without its second half`);
  switch (res.kind) {
    case "kcfg":
      out[at] = { ...insn, src: BPF_PSEUDO_MAP_VALUE, imm: res.mapFd };
      out[at + 1] = { ...next, imm: res.off };
      return;
    case "ksym_var":
      out[at] = { ...insn, src: BPF_PSEUDO_BTF_ID, imm: res.btfId };
      out[at + 1] = { ...next, imm: res.btfObjFd };
      return;
    case "missing_weak":
      out[at] = { ...insn, src: 0, imm: 0 };
      out[at + 1] = { ...next, imm: 0 };
      return;
    default:
      throw new ObjectError(EINVAL, `${where}: extern function '${ext.name}' used as a variable`);
  }
}
