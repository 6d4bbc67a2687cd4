/**
 * perf probe arguments to fetch arguments through BTF: perf's
 * probe-finder.c (find_variable(), convert_variable_location(),
 * convert_variable_fields(), convert_variable_type()) with the kernel's BTF
 * standing in for DWARF, as perf resolved `page->flags` through debuginfo.
 *
 *   "obj->inner->val" on kprobe_target(struct kprobe_obj *obj, long x)
 *     obj      parameter 0, in x0               value %x0
 *     ->inner  obj is a pointer: new deref      refs [+8]   (offsetof inner)
 *     ->val    inner is a pointer: new deref    refs [+8, +8]
 *     type     long                             s64
 *   → val=+8(+8(%x0)):s64
 *
 *   "obj->embedded.ival"  `.` adds to the current deref: refs [+24+16]
 *   "obj->arr[2]"         array member: + 2 * sizeof(long) to the deref
 *   "p[3]" (p a pointer)  new deref at 3 * sizeof(*p)
 *
 * Rules kept from perf: `->` only through a pointer and `.` only on a
 * struct/union ("must be referred by '->'/'.'"); a pointer must point to a
 * struct or union; a member of a struct held in registers is not supported
 * ("Structure on a register is not supported yet", -EOPNOTSUPP); a member
 * that does not exist is -EINVAL; a name that is neither a parameter nor a
 * global is -ENOENT; a global becomes `@name` with a deref at +0 (which the
 * prologue then refuses). Types: a cast is used as given; otherwise
 * s<bits> for a signed integer, x<bits> for anything else with a size
 * (perf's choice once kernels had hexadecimal types), capped at 64 bits; a
 * bitfield is b<width>@<bit offset>/<container bits>; an array has no type.
 * `:string` adds a deref at +0 through a pointer to char, as perf does.
 * `@user` marks every deref the fields create as a user read.
 *
 * Additions: parameter locations come from the BTF prototype and AAPCS64
 * (param_location.ts), parameters in floating-point registers are
 * -EOPNOTSUPP (pt_regs has no V registers); a bare register name without
 * `%` (x0–x29, lr, sp) is taken as that register when the function has no
 * parameter of that name. Bitfield offsets are little-endian bit offsets
 * inside the member's container, not DWARF's DW_AT_bit_offset.
 */
import { EINVAL, ENOENT, EOPNOTSUPP } from "../../errno.js";
import { BpfError } from "../../errors.js";
import type { Btf } from "../btf/btf.js";
import { describeKind } from "../btf/btf.js";
import type { BtfFuncProto, BtfType } from "../btf/types.js";
import { getArchRegstr, DWARF_REG_SP } from "./dwarf_regs.js";
import { paramLocations, type ParamInfo } from "./param_location.js";
import { isCVarname, type PerfProbeArg, type PerfProbeArgField } from "./perf_probe_arg.js";
import type { ProbeTraceArg, ProbeTraceArgRef } from "./probe_trace_arg.js";

/** Kprobe tracer basic types are at most 64 bits (MAX_BASIC_TYPE_BITS). */
const MAX_BASIC_TYPE_BITS = 64;

/** The probed function as the converter needs it. */
export interface ProbeFunc {
  /** Function name (for messages). */
  readonly name: string;
  /** The BTF the prototype and its types belong to. */
  readonly btf: Btf;
  readonly proto: BtfFuncProto;
}

/** Options of {@link convertPerfProbeArg}. */
export interface ConvertOptions {
  /** True when `name` is a global variable of the kernel (perf: a DW_AT_external variable in the CU). */
  isGlobal?: (name: string) => boolean;
}

/** The probed function's parameters with their locations, for several conversions. */
export function probeFuncParams(func: ProbeFunc): ParamInfo[] {
  return paramLocations(func.btf, func.proto);
}

function fail(errno: number, message: string): BpfError {
  return new BpfError(errno, message);
}

/** A mutable deref chain while fields are converted. */
interface Chain {
  refs: { offset: bigint; userAccess?: boolean }[];
}

function lastRef(chain: Chain): { offset: bigint; userAccess?: boolean } | undefined {
  return chain.refs[chain.refs.length - 1];
}

function pushRef(chain: Chain, userAccess: boolean): { offset: bigint; userAccess?: boolean } {
  const ref = userAccess ? { offset: 0n, userAccess: true } : { offset: 0n };
  chain.refs.push(ref);
  return ref;
}

function typeName(btf: Btf, t: BtfType): string {
  return t.name || describeKind(btf.resolved(t.id));
}

interface FieldResult {
  /** Type of the final field (unresolved id). */
  type: number;
  /** The final member is a bitfield: its width and bit offset inside the deref's storage. */
  bitfield?: { bits: number; bitOffset: number; containerBits: number };
}

/** convert_variable_fields(): walk `fields` from a variable of type `typeId`. */
function convertFields(
  btf: Btf,
  start: { typeId: number; varname: string },
  fields: readonly PerfProbeArgField[],
  chain: Chain,
  userAccess: boolean,
): FieldResult {
  let typeId = start.typeId;
  let varname = start.varname;
  let bitfield: FieldResult["bitfield"];
  for (const field of fields) {
    const type = btf.resolved(typeId);
    if (field.name.startsWith("[") && (type.kind === "array" || type.kind === "ptr")) {
      const elemId = type.type;
      let ref = lastRef(chain);
      if (type.kind === "ptr") ref = pushRef(chain, userAccess);
      if (!ref) throw fail(EOPNOTSUPP, `structure on a register is not supported yet: ${varname}`);
      ref.offset += BigInt(btf.sizeof(elemId)) * BigInt(field.index ?? 0);
      typeId = elemId;
      bitfield = undefined;
      continue;
    }
    let composite: BtfType;
    if (type.kind === "ptr") {
      if (!field.ref) throw fail(EINVAL, `semantic error: ${field.name} must be referred by '->'`);
      composite = btf.resolved(type.type);
      if (composite.kind !== "struct" && composite.kind !== "union") {
        throw fail(EINVAL, `${varname} is not a data structure nor an union`);
      }
      pushRef(chain, userAccess);
    } else {
      if (type.kind !== "struct" && type.kind !== "union") {
        throw fail(EINVAL, `${varname} is not a data structure nor an union`);
      }
      if (field.name.startsWith("[")) throw fail(EINVAL, `semantic error: ${varname} is not a pointer nor array`);
      if (field.ref) throw fail(EINVAL, `semantic error: ${field.name} must be referred by '.'`);
      if (!lastRef(chain)) throw fail(EOPNOTSUPP, `structure on a register is not supported yet: ${varname}`);
      composite = type;
    }
    const loc = btf.member(composite.id, field.name);
    if (!loc) {
      throw fail(EINVAL, `${varname}(type:${typeName(btf, composite)}) has no member ${field.name}`);
    }
    const ref = lastRef(chain) as { offset: bigint };
    if (loc.member.bitfieldSize !== 0) {
      const containerBits = btf.sizeof(loc.member.type) * 8;
      const unit = Math.floor(loc.bitOffset / containerBits) * containerBits;
      ref.offset += BigInt(unit / 8);
      bitfield = { bits: loc.member.bitfieldSize, bitOffset: loc.bitOffset - unit, containerBits };
    } else {
      // perf: a union member is at offset 0 (its bitOffset is 0 in BTF too).
      ref.offset += BigInt(composite.kind === "union" ? 0 : loc.bitOffset / 8);
      bitfield = undefined;
    }
    typeId = loc.member.type;
    varname = field.name;
  }
  return { type: typeId, ...(bitfield ? { bitfield } : {}) };
}

const BASIC_CAST = /^[usx](8|16|32|64)$/;

/** convert_variable_type(): the fetch type of the final value, or undefined for the default. */
function convertType(
  btf: Btf,
  res: FieldResult,
  cast: string | undefined,
  chain: Chain,
  userAccess: boolean,
): string | undefined {
  if (cast !== undefined && !["string", "ustring", "u", "s", "x"].includes(cast)) {
    if (!BASIC_CAST.test(cast) && !/^b\d+@\d+\/\d+$/.test(cast)) throw fail(EINVAL, `invalid type: ${cast}`);
    return cast;
  }
  if (res.bitfield) return `b${res.bitfield.bits}@${res.bitfield.bitOffset}/${res.bitfield.containerBits}`;
  const type = btf.resolved(res.type);
  if (cast === "string" || cast === "ustring") {
    if (type.kind !== "ptr" && type.kind !== "array") {
      throw fail(EINVAL, `failed to cast into string: ${typeName(btf, type)} is not a pointer nor array`);
    }
    const elem = btf.resolved(type.type);
    if (elem.kind !== "int" || elem.size !== 1) {
      throw fail(EINVAL, `failed to cast into string: ${typeName(btf, elem)} is not (unsigned) char`);
    }
    if (type.kind === "ptr") pushRef(chain, userAccess);
    return cast;
  }
  let size: number;
  try {
    size = type.kind === "array" ? 0 : btf.sizeof(type.id);
  } catch {
    size = 0;
  }
  if (size <= 0) return undefined;
  const signed = type.kind === "int" && type.signed;
  const prefix = cast ?? (signed ? "s" : "x");
  return `${prefix}${Math.min(size * 8, MAX_BASIC_TYPE_BITS)}`;
}

/** A bare register spelled without `%` (x0–x29, lr, sp) as perf names it, or undefined. */
export function registerAlias(name: string): string | undefined {
  const m = /^x(\d{1,2})$/.exec(name);
  if (m && `x${Number(m[1])}` === name && Number(m[1]) <= 29) return getArchRegstr(Number(m[1]));
  if (name === "lr") return getArchRegstr(30);
  if (name === "sp") return getArchRegstr(DWARF_REG_SP);
  return undefined;
}

/** The base value and location derefs of a parameter (convert_variable_location). */
function paramBase(func: ProbeFunc, p: ParamInfo): { value: string; refs: ProbeTraceArgRef[] } {
  const loc = p.location;
  switch (loc.kind) {
    case "reg":
      return { value: getArchRegstr(loc.reg) as string, refs: [] };
    case "reg-indirect":
      return { value: getArchRegstr(loc.reg) as string, refs: [{ offset: 0n }] };
    case "stack":
      return { value: "%sp", refs: [{ offset: BigInt(loc.offset) }] };
    case "stack-indirect":
      return { value: "%sp", refs: [{ offset: BigInt(loc.offset) }, { offset: 0n }] };
    case "fp":
      throw fail(
        EOPNOTSUPP,
        `sorry, we don't support this variable location yet: ${p.name} of ${func.name} is a ${loc.why} in a floating-point register`,
      );
  }
}

function result(arg: PerfProbeArg, value: string, chain: Chain, type: string | undefined): ProbeTraceArg {
  return {
    ...(arg.name !== undefined ? { name: arg.name } : {}),
    value,
    ...(type !== undefined ? { type } : {}),
    refs: chain.refs.map((r) => ({ ...r })),
  };
}

/**
 * find_variable() + convert_variable(): `arg` on `func` as a fetch argument.
 * `params` defaults to probeFuncParams(func).
 */
export function convertPerfProbeArg(
  func: ProbeFunc,
  arg: PerfProbeArg,
  opts: ConvertOptions & { params?: readonly ParamInfo[] } = {},
): ProbeTraceArg {
  if (!isCVarname(arg.var)) {
    // copy_to_probe_trace_arg(): a register, symbol or special value, passed as is.
    return result(arg, arg.var, { refs: [] }, arg.type);
  }
  const params = opts.params ?? probeFuncParams(func);
  const param = params.find((p) => p.name === arg.var);
  if (!param) {
    const reg = registerAlias(arg.var);
    if (reg !== undefined) {
      if (arg.fields.length > 0) throw fail(EINVAL, `register ${reg} has no type: fields need a typed variable`);
      return result(arg, reg, { refs: [] }, arg.type);
    }
    if (opts.isGlobal?.(arg.var)) {
      if (arg.fields.length > 0) throw fail(ENOENT, `failed to get the type of ${arg.var}`);
      return result(arg, `@${arg.var}`, { refs: [{ offset: 0n }] }, arg.type);
    }
    throw fail(ENOENT, `failed to find '${arg.var}' in this function: ${func.name}`);
  }
  const base = paramBase(func, param);
  const chain: Chain = { refs: base.refs.map((r) => ({ ...r })) };
  const res = convertFields(func.btf, { typeId: param.type, varname: arg.var }, arg.fields, chain, arg.userAccess);
  const type = convertType(func.btf, res, arg.type, chain, arg.userAccess);
  return result(arg, base.value, chain, type);
}
