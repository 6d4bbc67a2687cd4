/**
 * Context access rules per program type (the is_valid_access callbacks):
 *
 *   tracing (fentry/fexit/fmod_ret/tp_btf)   tracing_prog_is_valid_access + btf_ctx_access
 *       ctx is u64 slots: the arguments (a struct of ≤ 16 bytes takes 1-2
 *       slots), then the return value (fexit; fmod_ret: int only)
 *       messages: "func '%s' offset %d is not multiple of 8",
 *                 "func '%s' doesn't have %d-th argument",
 *                 "func '%s' arg%d '%s' has type %s. Only pointer access is allowed",
 *                 "ret type %s not allowed for fmod_ret"
 *   tc (sched_cls/act)                        tc_cls_act_is_valid_access + bpf_skb_is_valid_access
 *       struct __sk_buff: data/data_end/data_meta give packet pointers,
 *       a few fields are writable, narrow reads of the others
 *
 * A refused access is "invalid bpf_context access off=%d size=%d" (EACCES)
 * after the callback's own message.
 */
import { btfTypeStr, type Btf } from "../btf/btf.js";
import type { BtfType } from "../btf/types.js";
import {
  BPF_MODIFY_RETURN,
  BPF_TRACE_FEXIT,
  BPF_PROG_TYPE_SCHED_ACT,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_TRACING,
  BPF_LSM_MAC,
} from "../object/uapi.js";
import type { AttachTarget } from "./env.js";
import { pointer, UNKNOWN_SCALAR, type RegState } from "./reg_state.js";

/** MAX_BPF_FUNC_ARGS. */
export const MAX_BPF_FUNC_ARGS = 12;

/** struct __sk_buff (uapi) field offsets and its size. */
export const SKB = {
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  vlan_present: 20,
  vlan_tci: 24,
  vlan_proto: 28,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  tc_index: 44,
  cb: 48,
  hash: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  napi_id: 84,
  family: 88,
  local_port: 136,
  data_meta: 140,
  flow_keys: 144,
  tstamp: 152,
  wire_len: 160,
  gso_segs: 164,
  sk: 168,
  gso_size: 176,
  tstamp_type: 180,
  hwtstamp: 184,
  size: 192,
} as const;

/** The result of a context access check. */
export type CtxAccess =
  | { readonly ok: true; readonly reg: RegState; readonly convert?: "skb_data" | "skb_data_end" | "skb_data_meta" }
  | { readonly ok: false; readonly log?: string };

/** What ctx access needs about the program. */
export interface CtxProg {
  readonly progType: number;
  readonly expectedAttachType: number;
  readonly attach?: AttachTarget;
}

/** get_ctx_arg_idx(): which argument (or nr_args for the return value) `off` falls in. */
export function ctxArgIdx(btf: Btf, params: readonly { type: number }[], retType: number, off: number): number {
  let offset = 0;
  for (let i = 0; i < params.length; i++) {
    const t = btf.resolved(params[i].type);
    offset += t.kind === "ptr" ? 8 : Math.ceil(btf.sizeof(t.id) / 8) * 8;
    if (off < offset) return i;
  }
  const rt = btf.resolved(retType);
  offset += rt.kind === "ptr" || rt.kind === "void" ? 8 : Math.ceil(btf.sizeof(rt.id) / 8) * 8;
  if (off < offset) return params.length;
  return params.length + 1;
}

function isSmallInt(t: BtfType): boolean {
  return t.kind === "int" && t.size <= 8;
}

/** btf_ctx_access(): a read of `size` bytes at `off` of a tracing program's ctx. */
export function btfCtxAccess(prog: CtxProg, off: number, size: number): CtxAccess {
  const att = prog.attach;
  if (!att) return { ok: true, reg: UNKNOWN_SCALAR };
  const tname = att.funcName;
  if (off % 8) return { ok: false, log: `func '${tname}' offset ${off} is not multiple of 8` };
  const { btf, proto } = att;
  const nrArgs = proto.params.length;
  const arg = ctxArgIdx(btf, proto.params, proto.returnType, off);
  if (arg > nrArgs) return { ok: false, log: `func '${tname}' doesn't have ${arg + 1}-th argument` };
  let t: BtfType;
  if (arg === nrArgs) {
    const eat = prog.expectedAttachType;
    if (eat === BPF_TRACE_FEXIT || eat === BPF_LSM_MAC) {
      t = btf.resolved(proto.returnType);
    } else if (eat === BPF_MODIFY_RETURN) {
      t = btf.resolved(proto.returnType);
      if (!isSmallInt(t)) return { ok: false, log: `ret type ${btfTypeStr(t)} not allowed for fmod_ret` };
    } else {
      return { ok: false, log: `func '${tname}' doesn't have ${arg + 1}-th argument` };
    }
  } else {
    t = btf.resolved(proto.params[arg].type);
  }
  if (t.kind === "int" || t.kind === "enum" || t.kind === "enum64" || t.kind === "struct" || t.kind === "union") {
    return { ok: true, reg: UNKNOWN_SCALAR };
  }
  if (t.kind !== "ptr") {
    return {
      ok: false,
      log: `func '${tname}' arg${arg} '${t.name}' has type ${btfTypeStr(t)}. Only pointer access is allowed`,
    };
  }
  const pointee = btf.resolved(t.type);
  if (pointee.kind === "void" || pointee.kind === "int") return { ok: true, reg: UNKNOWN_SCALAR };
  if (pointee.kind !== "struct" && pointee.kind !== "union") {
    return { ok: false, log: `func '${tname}' arg${arg} type ${btfTypeStr(pointee)} is not a struct` };
  }
  return { ok: true, reg: btfIdPointer(btf, pointee.id) };
}

/**
 * A PTR_TO_BTF_ID register for struct `id`, with the offset of a trailing
 * flexible array (btf_struct_walk lets accesses past the size land there).
 */
export function btfIdPointer(btf: Btf, id: number): RegState {
  const t = btf.resolved(id);
  let flexOff: number | undefined;
  if (t.kind === "struct" && t.members.length > 0) {
    const last = t.members[t.members.length - 1];
    const lt = btf.resolved(last.type);
    if (lt.kind === "array" && lt.nelems === 0) flexOff = last.bitOffset / 8;
  }
  return pointer("btf_id", { btfName: t.name, memSize: btf.sizeof(t.id), flexOff });
}

/** tracing_prog_is_valid_access(). */
function tracingAccess(prog: CtxProg, off: number, size: number, write: boolean): CtxAccess {
  if (off < 0 || off >= 8 * MAX_BPF_FUNC_ARGS) return { ok: false };
  if (write) return { ok: false };
  if (off % size !== 0) return { ok: false };
  return btfCtxAccess(prog, off, size);
}

/** bpf_ctx_narrow_access_ok() for a 4-byte field. */
function narrowOk(off: number, size: number, fieldOff: number, fieldSize: number): boolean {
  return off >= fieldOff && off + size <= fieldOff + fieldSize;
}

function inRange(off: number, start: number, end: number): boolean {
  return off >= start && off < end;
}

/** tc_cls_act_is_valid_access() + bpf_skb_is_valid_access(). */
function skbAccess(off: number, size: number, write: boolean): CtxAccess {
  if (off < 0 || off >= SKB.size) return { ok: false };
  if (off % size !== 0) return { ok: false };
  const cbEnd = SKB.cb + 20;
  if (write) {
    const writable =
      inRange(off, SKB.mark, SKB.mark + 4) ||
      inRange(off, SKB.tc_index, SKB.tc_index + 4) ||
      inRange(off, SKB.priority, SKB.priority + 4) ||
      inRange(off, SKB.tc_classid, SKB.tc_classid + 4) ||
      inRange(off, SKB.queue_mapping, SKB.queue_mapping + 4) ||
      inRange(off, SKB.cb, cbEnd) ||
      inRange(off, SKB.tstamp, SKB.tstamp + 8);
    if (!writable) return { ok: false };
  }
  if (inRange(off, SKB.family, SKB.local_port + 4)) return { ok: false };
  if (inRange(off, SKB.cb, cbEnd)) return off + size > cbEnd ? { ok: false } : { ok: true, reg: UNKNOWN_SCALAR };
  if (off === SKB.data || off === SKB.data_end || off === SKB.data_meta) {
    if (size !== 4 || write) return { ok: false };
    if (off === SKB.data) return { ok: true, reg: pointer("pkt"), convert: "skb_data" };
    if (off === SKB.data_end) return { ok: true, reg: pointer("pkt_end"), convert: "skb_data_end" };
    return { ok: true, reg: pointer("pkt_meta"), convert: "skb_data_meta" };
  }
  if (inRange(off, SKB.flow_keys, SKB.flow_keys + 8)) return { ok: false };
  if (inRange(off, SKB.sk, SKB.sk + 8)) return { ok: false };
  if (inRange(off, SKB.tstamp, SKB.tstamp + 8) || inRange(off, SKB.hwtstamp, SKB.hwtstamp + 8)) {
    return size === 8 ? { ok: true, reg: UNKNOWN_SCALAR } : { ok: false };
  }
  if (off === SKB.tstamp_type) return size === 1 ? { ok: true, reg: UNKNOWN_SCALAR } : { ok: false };
  const fieldOff = off & ~3;
  if (write && size !== 4) return { ok: false };
  if (!narrowOk(off, size, fieldOff, 4)) return { ok: false };
  return { ok: true, reg: UNKNOWN_SCALAR };
}

/** check_ctx_access(): the access `off`/`size` to the ctx of `prog`. */
export function checkCtxAccess(prog: CtxProg, off: number, size: number, write: boolean): CtxAccess {
  switch (prog.progType) {
    case BPF_PROG_TYPE_TRACING:
      return tracingAccess(prog, off, size, write);
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
      return skbAccess(off, size, write);
    default:
      // Other types: a raw u64 array of up to 12 slots, read-only (raw_tp, kprobe pt_regs).
      if (write || off < 0 || off + size > 8 * MAX_BPF_FUNC_ARGS || off % size) return { ok: false };
      return { ok: true, reg: UNKNOWN_SCALAR };
  }
}
