/**
 * Register and stack-slot state of the verifier (include/linux/bpf_verifier.h
 * struct bpf_reg_state, struct bpf_stack_state; kernel/bpf/log.c
 * reg_type_str / print_verifier_state for the text).
 *
 *   reg types kept:  not_init  scalar (known constant or unknown)
 *                    ctx  map_ptr  map_value[_or_null]  map_key  fp (stack)
 *                    pkt  pkt_meta  pkt_end  ptr_<struct> (PTR_TO_BTF_ID)
 *                    mem[_or_null]  func
 *   pointers carry:  a fixed offset, "has a variable offset", the map,
 *                    the stack frame, a null-check id
 *
 * Simplification: scalars are a known 64-bit constant or unknown (no
 * tnum, no min/max bounds); a pointer plus an unknown scalar only records
 * that its offset is variable. See ARCHITECTURE.md "Verifier".
 */

import type { Btf } from "../btf/btf.js";

/** enum bpf_reg_type, folded. */
export type RegType =
  | "not_init"
  | "scalar"
  | "ctx"
  | "map_ptr"
  | "map_value"
  | "map_key"
  | "fp"
  | "pkt"
  | "pkt_meta"
  | "pkt_end"
  | "btf_id"
  | "mem"
  | "func";

/** The map a map pointer or map value belongs to. */
export interface VerifierMap {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  /**
   * map->btf and btf_value_type_id when the map was created with BTF (its
   * special fields — bpf_spin_lock, bpf_timer — come from them,
   * btf_record.ts); undefined: a map without BTF.
   */
  readonly btf?: Btf;
  readonly btfValueTypeId?: number;
}

/** struct bpf_reg_state. */
export interface RegState {
  readonly type: RegType;
  /** Scalars: the known value (u64), or undefined when unknown. */
  readonly value?: bigint;
  /** Pointers: fixed offset from the object's start (fp: from the frame pointer). */
  readonly off: number;
  /** Pointers: an unknown scalar was added. */
  readonly varOff: boolean;
  /** PTR_MAYBE_NULL. */
  readonly maybeNull: boolean;
  /** Shared by copies of one maybe-null pointer (mark_ptr_or_null_regs). */
  readonly id: number;
  readonly map?: VerifierMap;
  /** fp: the frame the stack pointer points into. */
  readonly frameno?: number;
  /** btf_id: the struct's name, for "ptr_<name>"; mem: the size. */
  readonly btfName?: string;
  readonly memSize?: number;
  /** btf_id: offset of a trailing flexible array member (accesses past the size land in it). */
  readonly flexOff?: number;
  /** func: the subprogram's first instruction. */
  readonly subprog?: number;
  /** ref_obj_id: the reference this pointer carries (resources.ts), 0/undefined for none. */
  readonly refObjId?: number;
  /** btf_id: MEM_ALLOC, an object the program allocated (bpf_obj_new): writable within its size. */
  readonly alloc?: boolean;
  /** Written since the last state print (the "_w" suffix in logs). */
  readonly written?: boolean;
}

/** A not-initialised register. */
export const NOT_INIT: RegState = Object.freeze({ type: "not_init", off: 0, varOff: false, maybeNull: false, id: 0 });

/** An unknown scalar. */
export const UNKNOWN_SCALAR: RegState = Object.freeze({
  type: "scalar",
  off: 0,
  varOff: false,
  maybeNull: false,
  id: 0,
});

/** A known scalar. */
export function constScalar(v: bigint): RegState {
  return { type: "scalar", value: BigInt.asUintN(64, v), off: 0, varOff: false, maybeNull: false, id: 0 };
}

/** A pointer of `type`. */
export function pointer(type: RegType, extra: Partial<RegState> = {}): RegState {
  return { type, off: 0, varOff: false, maybeNull: false, id: 0, ...extra };
}

/** True for every pointer type. */
export function isPointer(r: RegState): boolean {
  return r.type !== "scalar" && r.type !== "not_init";
}

/** reg_type_str(): the kernel's name of a register type ("map_value_or_null", "fp", "ptr_task_struct"). */
export function regTypeStr(r: RegState): string {
  let base: string;
  switch (r.type) {
    case "not_init":
      return "?";
    case "scalar":
      return "scalar";
    case "btf_id":
      base = `ptr_${r.btfName ?? ""}`;
      break;
    default:
      base = r.type;
  }
  return r.maybeNull ? `${base}_or_null` : base;
}

function s64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** The register as print_verifier_state() writes it after "R1=". */
export function formatReg(r: RegState): string {
  switch (r.type) {
    case "not_init":
      return "?";
    case "scalar":
      return r.value === undefined ? "scalar()" : String(s64(r.value));
    case "fp":
      return `fp${r.off}${r.varOff ? "+var" : ""}`;
    case "map_ptr":
      return `map_ptr(map=${r.map?.name ?? ""},ks=${r.map?.keySize ?? 0},vs=${r.map?.valueSize ?? 0})`;
    case "map_value":
    case "map_key": {
      const parts = [`map=${r.map?.name ?? ""}`, `ks=${r.map?.keySize ?? 0}`, `vs=${r.map?.valueSize ?? 0}`];
      if (r.off) parts.push(`off=${r.off}`);
      if (r.id) parts.unshift(`id=${r.id}`);
      return `${regTypeStr(r)}(${parts.join(",")})`;
    }
    case "mem":
      return `${regTypeStr(r)}(${r.id ? `id=${r.id},` : ""}sz=${r.memSize ?? 0})`;
    default: {
      const parts = [
        r.id ? `id=${r.id}` : "",
        r.refObjId ? `ref_obj_id=${r.refObjId}` : "",
        r.off ? `off=${r.off}` : "",
      ];
      return `${r.alloc ? "alloc_" : ""}${regTypeStr(r)}(${parts.filter(Boolean).join(",")})`;
    }
  }
}

/** A register after a write (for the "_w" marks of log level 2). */
export function written(r: RegState): RegState {
  return r.written ? r : { ...r, written: true };
}

/**
 * regsafe(): is `cur` covered by `old` (everything verified from `old`
 * also holds for `cur`)? Unknown scalars cover every scalar; a register
 * never read on `old`'s continuation is NOT_INIT there and covers anything.
 */
export function regSafe(old: RegState, cur: RegState): boolean {
  if (old.type === "not_init") return true;
  if (old.type !== cur.type) return false;
  if (old.type === "scalar") return old.value === undefined || old.value === cur.value;
  if (old.off !== cur.off || old.maybeNull !== cur.maybeNull) return false;
  if (cur.varOff && !old.varOff) return false;
  if (old.map !== cur.map || old.frameno !== cur.frameno) return false;
  if (old.btfName !== cur.btfName || old.memSize !== cur.memSize || old.subprog !== cur.subprog) return false;
  if (old.alloc !== cur.alloc || !old.refObjId !== !cur.refObjId) return false;
  return true;
}

/** Exact equality (the "infinite loop" check). */
export function regEqual(a: RegState, b: RegState): boolean {
  return (
    a.type === b.type &&
    a.value === b.value &&
    a.off === b.off &&
    a.varOff === b.varOff &&
    a.maybeNull === b.maybeNull &&
    a.map === b.map &&
    a.frameno === b.frameno &&
    a.btfName === b.btfName &&
    a.memSize === b.memSize &&
    a.subprog === b.subprog &&
    a.alloc === b.alloc &&
    a.refObjId === b.refObjId
  );
}
