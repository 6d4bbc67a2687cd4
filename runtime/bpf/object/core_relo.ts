/**
 * CO-RE relocations (tools/lib/bpf/relo_core.c bpf_core_calc_relo_insn,
 * bpf_core_patch_insn; libbpf.c bpf_core_find_cands): a program compiled
 * against one struct layout (its own BTF) is patched for the kernel's.
 *
 *   relo {insn, local type id, access "0:4:1", kind}
 *     local spec:   root type ─[0]─► member #4 ─► member #1     (bit offset, size)
 *     candidates:   kernel BTF types of the same kind and essential name
 *                   ("task_struct___old" → "task_struct"), vmlinux then modules
 *     target spec:  the same path by member *names*
 *     patch:        LDX/ST/STX off, ALU imm, or ld_imm64 imm := target value
 *                   (LDX size adjusted when the field's size changed)
 *
 * Kinds: field byte offset/size/exists/signed, lshift/rshift (bitfields),
 * type id local/target, type exists/size/matches, enum value exists/value.
 * A relocation no candidate satisfies poisons the instruction as libbpf
 * does (call of helper #195896080, 0xbad2310): the verifier then rejects it
 * if it is reachable. field_exists and type_exists resolve to 0 instead.
 * Ambiguous candidates are an error.
 *
 * Simplification: type_matches is answered with the type_exists rules.
 */
import { EINVAL, ESRCH } from "../../errno.js";
import type { Btf } from "../btf/btf.js";
import { BPF_CORE_RELO_KIND_NAMES } from "../btf/ext.js";
import type { BtfType } from "../btf/types.js";
import type { Insn } from "../insn.js";
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_CLASS,
  BPF_LDX,
  BPF_MODE,
  BPF_SIZE,
  BPF_ST,
  BPF_STX,
  BPF_MEM,
  BPF_K,
  BPF_SRC,
  BPF_OP,
  BPF_MOV,
  bpfSizeBytes,
  bytesToBpfSize,
  type AccessSize,
} from "../opcodes.js";
import { ObjectError } from "./errors.js";
import type { ObjCoreRelo } from "./model.js";

/** enum bpf_core_relo_kind. */
export const BPF_CORE_FIELD_BYTE_OFFSET = 0;
export const BPF_CORE_FIELD_BYTE_SIZE = 1;
export const BPF_CORE_FIELD_EXISTS = 2;
export const BPF_CORE_FIELD_SIGNED = 3;
export const BPF_CORE_FIELD_LSHIFT_U64 = 4;
export const BPF_CORE_FIELD_RSHIFT_U64 = 5;
export const BPF_CORE_TYPE_ID_LOCAL = 6;
export const BPF_CORE_TYPE_ID_TARGET = 7;
export const BPF_CORE_TYPE_EXISTS = 8;
export const BPF_CORE_TYPE_SIZE = 9;
export const BPF_CORE_ENUMVAL_EXISTS = 10;
export const BPF_CORE_ENUMVAL_VALUE = 11;
export const BPF_CORE_TYPE_MATCHES = 12;

/** The helper id libbpf writes into a poisoned instruction (0xbad2310). */
export const BPF_CORE_POISON_HELPER = 0xbad2310;

/** A BTF to resolve against, with its btf_obj_id (1 for vmlinux). */
export interface CoreTarget {
  readonly btf: Btf;
  readonly objId: number;
}

/** What one relocation resolved to. */
export interface CoreReloResult {
  /** Value before (from the local BTF) and after (from the target). */
  readonly origVal: bigint;
  readonly newVal: bigint;
  /** Target field size, when a field relocation changes it (LDX size adjust). */
  readonly newSize?: number;
  /** True: no candidate matched; the instruction is poisoned. */
  readonly poison: boolean;
  /** The target type's BTF and id (for type_id_target). */
  readonly target?: { objId: number; id: number };
}

function kindName(kind: number): string {
  return BPF_CORE_RELO_KIND_NAMES[kind] ?? `kind ${kind}`;
}

function isFieldKind(k: number): boolean {
  return k <= BPF_CORE_FIELD_RSHIFT_U64;
}
function isTypeKind(k: number): boolean {
  return (k >= BPF_CORE_TYPE_ID_LOCAL && k <= BPF_CORE_TYPE_SIZE) || k === BPF_CORE_TYPE_MATCHES;
}

/** bpf_core_essential_name_len(): drop a "___flavor" suffix. */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== "_" && name.slice(i + 1, i + 4) === "___" && name[i + 4] !== "_") return name.slice(0, i + 1);
  }
  return name;
}

/** One step of a resolved access path. */
interface SpecStep {
  /** Type id the step lands on (after the access). */
  typeId: number;
  name: string;
  /** Member index or array index. */
  idx: number;
}

/** A resolved access spec (struct bpf_core_spec). */
interface Spec {
  btf: Btf;
  rootId: number;
  steps: SpecStep[];
  /** Bit offset of the accessed field from the root. */
  bitOffset: number;
  /** For a bitfield: its bit size (0 otherwise). */
  bitSize: number;
  /** The type id of the final field (unresolved). */
  fieldTypeId: number;
}

function skipMods(btf: Btf, id: number): BtfType {
  return btf.resolved(id);
}

function parseAccess(str: string): number[] {
  if (!/^\d+(:\d+)*$/.test(str)) throw new ObjectError(EINVAL, `invalid CO-RE access string: '${str}'`);
  return str.split(":").map(Number);
}

/** bpf_core_parse_spec() for field relocations on the local BTF. */
function parseFieldSpec(btf: Btf, rootId: number, access: number[]): Spec {
  let id = rootId;
  let t = skipMods(btf, id);
  // The first accessor indexes the root as an array (pointer arithmetic).
  const rootSize = btf.sizeof(id);
  let bitOffset = access[0] * rootSize * 8;
  let bitSize = 0;
  const steps: SpecStep[] = [];
  for (let i = 1; i < access.length; i++) {
    const a = access[i];
    t = skipMods(btf, id);
    if (t.kind === "struct" || t.kind === "union") {
      const m = t.members[a];
      if (!m) throw new ObjectError(EINVAL, `CO-RE spec: member #${a} of ${t.kind} '${t.name}' out of range`);
      bitOffset += m.bitOffset;
      bitSize = m.bitfieldSize;
      id = m.type;
      // As libbpf: an anonymous member is not an accessor of the high-level
      // spec; matching finds the next named member through it by name.
      if (m.name !== "") steps.push({ typeId: id, name: m.name, idx: a });
    } else if (t.kind === "array") {
      const elemSize = btf.sizeof(t.type);
      bitOffset += a * elemSize * 8;
      bitSize = 0;
      id = t.type;
      steps.push({ typeId: id, name: "", idx: a });
    } else {
      throw new ObjectError(EINVAL, `CO-RE spec: cannot access into ${t.kind} with accessor #${i}`);
    }
  }
  return { btf, rootId, steps, bitOffset, bitSize, fieldTypeId: id };
}

/** Find member `name` in composite `t` (through anonymous members); bit offset from `t`. */
function findMember(
  btf: Btf,
  id: number,
  name: string,
): { typeId: number; bitOffset: number; bitSize: number } | undefined {
  const t = skipMods(btf, id);
  if (t.kind !== "struct" && t.kind !== "union") return undefined;
  for (const m of t.members) {
    if (m.name === name) return { typeId: m.type, bitOffset: m.bitOffset, bitSize: m.bitfieldSize };
    if (m.name === "") {
      const inner = findMember(btf, m.type, name);
      if (inner) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
    }
  }
  return undefined;
}

/** Compatible kinds for a field's final type (bpf_core_fields_are_compat). */
function fieldsCompatible(local: Btf, localId: number, targ: Btf, targId: number): boolean {
  const a = skipMods(local, localId);
  const b = skipMods(targ, targId);
  const scalar = (t: BtfType) =>
    t.kind === "int" || t.kind === "enum" || t.kind === "enum64" || t.kind === "float" || t.kind === "ptr";
  if (scalar(a) && scalar(b))
    return (
      a.kind === b.kind ||
      (a.kind.startsWith("enum") && b.kind.startsWith("enum")) ||
      (a.kind === "int" && b.kind.startsWith("enum")) ||
      (b.kind === "int" && a.kind.startsWith("enum"))
    );
  if (a.kind === "array" && b.kind === "array") return fieldsCompatible(local, a.type, targ, b.type);
  return a.kind === b.kind && (a.name === "" || b.name === "" || essentialName(a.name) === essentialName(b.name));
}

/** bpf_core_spec_match(): follow the local path by names in the target; undefined if it does not match. */
function matchSpec(local: Spec, targ: Btf, targRoot: number, access: number[]): Spec | undefined {
  let id = targRoot;
  let bitOffset = access[0] * targ.sizeof(targRoot) * 8;
  let bitSize = 0;
  const steps: SpecStep[] = [];
  for (const step of local.steps) {
    const t = skipMods(targ, id);
    if (step.name !== "") {
      const m = findMember(targ, id, step.name);
      if (!m) return undefined;
      bitOffset += m.bitOffset;
      bitSize = m.bitSize;
      id = m.typeId;
    } else {
      if (t.kind !== "array") return undefined;
      if (t.nelems !== 0 && step.idx >= t.nelems) return undefined;
      bitOffset += step.idx * targ.sizeof(t.type) * 8;
      bitSize = 0;
      id = t.type;
    }
    steps.push({ typeId: id, name: step.name, idx: step.idx });
  }
  if (!fieldsCompatible(local.btf, local.fieldTypeId, targ, id)) return undefined;
  return { btf: targ, rootId: targRoot, steps, bitOffset, bitSize, fieldTypeId: id };
}

/** The value of a field relocation of `kind` for `spec` (bpf_core_calc_field_relo). */
function fieldValue(spec: Spec, kind: number): { val: bigint; size: number } {
  const t = skipMods(spec.btf, spec.fieldTypeId);
  const fieldSize = t.kind === "ptr" ? 8 : spec.btf.sizeof(spec.fieldTypeId);
  let byteSz = fieldSize;
  let byteOff: number;
  if (spec.bitSize) {
    byteOff = Math.floor(spec.bitOffset / 8 / byteSz) * byteSz;
    while (spec.bitOffset + spec.bitSize - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new ObjectError(EINVAL, "CO-RE: bitfield can't be read with a 64-bit load");
      byteSz *= 2;
      byteOff = Math.floor(spec.bitOffset / 8 / byteSz) * byteSz;
    }
  } else {
    if (spec.bitOffset % 8) throw new ObjectError(EINVAL, "CO-RE: unaligned non-bitfield field");
    byteOff = spec.bitOffset / 8;
  }
  const bitSz = spec.bitSize || fieldSize * 8;
  switch (kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET:
      return { val: BigInt(byteOff), size: byteSz };
    case BPF_CORE_FIELD_BYTE_SIZE:
      return { val: BigInt(byteSz), size: byteSz };
    case BPF_CORE_FIELD_EXISTS:
      return { val: 1n, size: byteSz };
    case BPF_CORE_FIELD_SIGNED: {
      const signed = (t.kind === "int" && t.signed) || ((t.kind === "enum" || t.kind === "enum64") && t.signed);
      return { val: signed ? 1n : 0n, size: byteSz };
    }
    case BPF_CORE_FIELD_LSHIFT_U64:
      return { val: BigInt(64 - (spec.bitOffset + bitSz - byteOff * 8)), size: byteSz };
    case BPF_CORE_FIELD_RSHIFT_U64:
      return { val: BigInt(64 - bitSz), size: byteSz };
    default:
      throw new ObjectError(EINVAL, `CO-RE: unknown field relocation kind ${kind}`);
  }
}

/** Candidate ids: same kind, same essential name (bpf_core_add_cands). */
function candidates(local: Btf, localId: number, targets: readonly CoreTarget[]): { target: CoreTarget; id: number }[] {
  const lt = local.type(localId);
  const name = essentialName(lt.name);
  if (!name) throw new ObjectError(EINVAL, `CO-RE: local type [${localId}] has no name`);
  const out: { target: CoreTarget; id: number }[] = [];
  for (const target of targets) {
    for (const t of target.btf.types) {
      if (t.kind !== lt.kind || !t.name) continue;
      if (essentialName(t.name) === name) out.push({ target, id: t.id });
    }
    // As the kernel: when vmlinux has a candidate, modules are not searched.
    if (out.length > 0) break;
  }
  return out;
}

/** Resolve one relocation against `targets` (bpf_core_calc_relo_insn). */
export function bpfCoreCalcRelo(local: Btf, relo: ObjCoreRelo, targets: readonly CoreTarget[]): CoreReloResult {
  const kind = relo.kind;
  const access = parseAccess(relo.accessStr);
  if (kind === BPF_CORE_TYPE_ID_LOCAL)
    return { origVal: BigInt(relo.typeId), newVal: BigInt(relo.typeId), poison: false };
  const localRoot = relo.typeId;
  if (isFieldKind(kind)) {
    const lspec = parseFieldSpec(local, localRoot, access);
    const orig = fieldValue(lspec, kind).val;
    const results: { val: bigint; size: number; t: { objId: number; id: number } }[] = [];
    for (const c of candidates(local, localRoot, targets)) {
      const tspec = matchSpec(lspec, c.target.btf, c.id, access);
      if (!tspec) continue;
      const v = fieldValue(tspec, kind);
      results.push({ ...v, t: { objId: c.target.objId, id: c.id } });
    }
    if (results.length === 0) {
      if (kind === BPF_CORE_FIELD_EXISTS) return { origVal: orig, newVal: 0n, poison: false };
      return { origVal: orig, newVal: orig, poison: true };
    }
    const first = results[0];
    for (const r of results) {
      if (r.val !== first.val) {
        throw new ObjectError(EINVAL, `relo: ${kindName(kind)}: ambiguous target candidates: ${first.val} != ${r.val}`);
      }
    }
    const lsize = fieldValue(lspec, BPF_CORE_FIELD_BYTE_SIZE).val;
    const newSize = kind === BPF_CORE_FIELD_BYTE_OFFSET && BigInt(first.size) !== lsize ? first.size : undefined;
    return { origVal: orig, newVal: first.val, newSize, poison: false, target: first.t };
  }
  if (isTypeKind(kind)) {
    const origVal =
      kind === BPF_CORE_TYPE_SIZE
        ? BigInt(local.sizeof(localRoot))
        : kind === BPF_CORE_TYPE_ID_TARGET
          ? BigInt(localRoot)
          : 1n;
    const cands = candidates(local, localRoot, targets);
    if (cands.length === 0) {
      if (kind === BPF_CORE_TYPE_EXISTS || kind === BPF_CORE_TYPE_MATCHES)
        return { origVal, newVal: 0n, poison: false };
      return { origVal, newVal: origVal, poison: true };
    }
    const c = cands[0];
    const newVal =
      kind === BPF_CORE_TYPE_SIZE
        ? BigInt(c.target.btf.sizeof(c.id))
        : kind === BPF_CORE_TYPE_ID_TARGET
          ? BigInt(c.id)
          : 1n;
    return { origVal, newVal, poison: false, target: { objId: c.target.objId, id: c.id } };
  }
  if (kind === BPF_CORE_ENUMVAL_EXISTS || kind === BPF_CORE_ENUMVAL_VALUE) {
    const lt = skipMods(local, localRoot);
    if (lt.kind !== "enum" && lt.kind !== "enum64")
      throw new ObjectError(EINVAL, `CO-RE: enumval relocation on ${lt.kind}`);
    const lv = lt.values[access[0]];
    if (!lv) throw new ObjectError(EINVAL, `CO-RE: enumerator #${access[0]} out of range`);
    const origVal = kind === BPF_CORE_ENUMVAL_EXISTS ? 1n : lv.value;
    for (const c of candidates(local, localRoot, targets)) {
      const tt = skipMods(c.target.btf, c.id);
      if (tt.kind !== "enum" && tt.kind !== "enum64") continue;
      const tv = tt.values.find((v) => essentialName(v.name) === essentialName(lv.name));
      if (tv) return { origVal, newVal: kind === BPF_CORE_ENUMVAL_EXISTS ? 1n : tv.value, poison: false };
    }
    if (kind === BPF_CORE_ENUMVAL_EXISTS) return { origVal, newVal: 0n, poison: false };
    return { origVal, newVal: origVal, poison: true };
  }
  throw new ObjectError(EINVAL, `CO-RE: unsupported relocation kind ${kind}`);
}

function poisonInsn(): Insn {
  // call 0xbad2310: the verifier reports "invalid func unknown#195896080".
  return { code: 0x85, dst: 0, src: 0, off: 0, imm: BPF_CORE_POISON_HELPER };
}

/**
 * bpf_core_patch_insn(): apply `res` to insns[idx] (and idx+1 for ld_imm64),
 * checking the instruction still holds the local value. Returns a log line.
 */
export function bpfCorePatchInsn(insns: Insn[], idx: number, res: CoreReloResult, what: string): string {
  const insn = insns[idx];
  if (!insn) throw new ObjectError(EINVAL, `${what}: insn #${idx} out of range`);
  if (res.poison) {
    insns[idx] = poisonInsn();
    if (insn.code === 0x18 && insns[idx + 1]) insns[idx + 1] = { code: 0, dst: 0, src: 0, off: 0, imm: 0 };
    return `${what}: substituting insn #${idx} w/ invalid insn`;
  }
  const cls = BPF_CLASS(insn.code);
  const val = res.newVal;
  if ((cls === BPF_ALU || cls === BPF_ALU64) && BPF_SRC(insn.code) === BPF_K) {
    if (insn.imm !== Number(BigInt.asIntN(32, res.origVal)) && BPF_OP(insn.code) !== BPF_MOV) {
      throw new ObjectError(
        ESRCH,
        `${what}: unexpected insn #${idx} (ALU/ALU64) value: got ${insn.imm}, exp ${res.origVal} -> ${val}`,
      );
    }
    if (val > 0x7fffffffn || val < -0x80000000n)
      throw new ObjectError(ESRCH, `${what}: insn #${idx}: value ${val} does not fit in imm`);
    insns[idx] = { ...insn, imm: Number(val) };
    return `${what}: patched insn #${idx} (ALU/ALU64) imm ${insn.imm} -> ${val}`;
  }
  if (
    (cls === BPF_LDX || cls === BPF_ST || cls === BPF_STX) &&
    (BPF_MODE(insn.code) === BPF_MEM || BPF_MODE(insn.code) === 0x80)
  ) {
    if (BigInt(insn.off) !== res.origVal) {
      throw new ObjectError(
        ESRCH,
        `${what}: unexpected insn #${idx} (LDX/ST/STX) value: got ${insn.off}, exp ${res.origVal} -> ${val}`,
      );
    }
    if (val > 0x7fffn) throw new ObjectError(ESRCH, `${what}: insn #${idx} (LDX/ST/STX) value too big: ${val}`);
    let code = insn.code;
    if (res.newSize !== undefined && cls === BPF_LDX) {
      const cur = bpfSizeBytes(BPF_SIZE(insn.code));
      if (res.newSize !== cur) {
        if (![1, 2, 4, 8].includes(res.newSize))
          throw new ObjectError(ESRCH, `${what}: insn #${idx}: unexpected mem size ${res.newSize}`);
        code = (insn.code & ~0x18) | bytesToBpfSize(res.newSize as AccessSize);
      }
    }
    insns[idx] = { ...insn, code, off: Number(val) };
    return `${what}: patched insn #${idx} (LDX/ST/STX) off ${insn.off} -> ${val}`;
  }
  if (insn.code === 0x18) {
    const next = insns[idx + 1];
    if (!next) throw new ObjectError(EINVAL, `${what}: ld_imm64 insn #${idx} without its second half`);
    const cur = (BigInt(next.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
    if (cur !== BigInt.asUintN(64, res.origVal)) {
      throw new ObjectError(
        ESRCH,
        `${what}: unexpected insn #${idx} (LDIMM64) value: got ${cur}, exp ${res.origVal} -> ${val}`,
      );
    }
    const v = BigInt.asUintN(64, val);
    insns[idx] = { ...insn, imm: Number(BigInt.asIntN(32, v & 0xffffffffn)) };
    insns[idx + 1] = { ...next, imm: Number(BigInt.asIntN(32, v >> 32n)) };
    return `${what}: patched insn #${idx} (LDIMM64) imm64 ${cur} -> ${v}`;
  }
  throw new ObjectError(
    EINVAL,
    `${what}: trying to relocate unrecognized insn #${idx}, code:0x${insn.code.toString(16)}`,
  );
}
