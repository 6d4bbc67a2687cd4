/**
 * Helper prototypes as the verifier sees them (struct bpf_func_proto in
 * kernel/bpf/helpers.c, kernel/trace/bpf_trace.c, net/core/filter.c) and
 * which program types may call each one (the get_func_proto callbacks:
 * bpf_base_func_proto, tracing_prog_func_proto, tc_cls_act_func_proto).
 *
 *   ret_type                      arg types (R1..R5)
 *   map_lookup_elem  map_value_or_null   const_map_ptr, ptr_to_map_key
 *   map_update_elem  integer             const_map_ptr, ptr_to_map_key, ptr_to_map_value, anything
 *   spin_lock        void                ptr_to_spin_lock
 *   loop             integer             anything, ptr_to_func, ptr_to_stack_or_null, anything
 *   timer_set_cb     integer (GPL)       ptr_to_timer, ptr_to_func
 *   ...
 *
 * Simplification: MEM_RDONLY/MEM_UNINIT flags, btf_id arguments and the
 * rarely used argument kinds are folded into the few kinds the verifier
 * model distinguishes (verifier/calls.ts).
 */
import {
  BPF_FUNC_NAMES,
  BPF_FUNC_loop,
  BPF_FUNC_get_func_arg,
  BPF_FUNC_get_func_arg_cnt,
  BPF_FUNC_get_func_ip,
  BPF_FUNC_get_func_ret,
  BPF_FUNC_get_prandom_u32,
  BPF_FUNC_get_smp_processor_id,
  BPF_FUNC_ktime_get_ns,
  BPF_FUNC_map_delete_elem,
  BPF_FUNC_map_lookup_elem,
  BPF_FUNC_map_update_elem,
  BPF_FUNC_probe_read_kernel,
  BPF_FUNC_tail_call,
  BPF_FUNC_trace_printk,
} from "../func_ids.js";
import {
  BPF_PROG_TYPE_EXT,
  BPF_PROG_TYPE_KPROBE,
  BPF_PROG_TYPE_RAW_TRACEPOINT,
  BPF_PROG_TYPE_SCHED_ACT,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_SOCKET_FILTER,
  BPF_PROG_TYPE_SYSCALL,
  BPF_PROG_TYPE_TRACEPOINT,
  BPF_PROG_TYPE_TRACING,
  BPF_PROG_TYPE_XDP,
} from "../object/uapi.js";

/** enum bpf_arg_type, folded. */
export type HelperArg =
  | "anything"
  | "const_map_ptr"
  | "ptr_to_map_key"
  | "ptr_to_map_value"
  /** Readable memory of the size given by the next argument (const_size[_or_zero]). */
  | "ptr_to_mem"
  /** Writable memory, may be uninitialised, size in the next argument. */
  | "ptr_to_uninit_mem"
  | "const_size"
  | "const_size_or_zero"
  | "ptr_to_ctx"
  /** A pointer to 8 writable bytes (bpf_get_func_arg's value, get_func_ret's). */
  | "ptr_to_long"
  /** A callback: a static subprogram's address (ld_imm64 BPF_PSEUDO_FUNC). */
  | "ptr_to_func"
  | "ptr_to_stack_or_null"
  /** ARG_PTR_TO_SPIN_LOCK: the `struct bpf_spin_lock` of a map value. */
  | "ptr_to_spin_lock"
  /** ARG_PTR_TO_TIMER: the `struct bpf_timer` of a map value. */
  | "ptr_to_timer";

/** enum bpf_return_type, folded. */
export type HelperRet = "integer" | "void" | "map_value_or_null";

/** struct bpf_func_proto. */
export interface HelperProto {
  readonly id: number;
  readonly ret: HelperRet;
  readonly args: readonly HelperArg[];
  /** gpl_only: needs a GPL-compatible license. */
  readonly gplOnly: boolean;
}

function proto(id: number, ret: HelperRet, args: HelperArg[], gplOnly = false): HelperProto {
  return { id, ret, args, gplOnly };
}

/** A helper id by its uapi name (the func_ids.ts table), for helpers without a BPF_FUNC_ constant there. */
export function helperId(name: string): number {
  const id = BPF_FUNC_NAMES.indexOf(name);
  if (id < 0) throw new Error(`no BPF helper named bpf_${name}`);
  return id;
}

/** Helper ids of bpf_spin_lock, bpf_spin_unlock and bpf_timer_set_callback. */
export const BPF_FUNC_spin_lock = helperId("spin_lock");
export const BPF_FUNC_spin_unlock = helperId("spin_unlock");
export const BPF_FUNC_timer_set_callback = helperId("timer_set_callback");

/** BPF_MAX_LOOPS (include/linux/bpf.h): bpf_loop's largest nr_loops. */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;

const BASE: readonly HelperProto[] = [
  proto(BPF_FUNC_map_lookup_elem, "map_value_or_null", ["const_map_ptr", "ptr_to_map_key"]),
  proto(BPF_FUNC_map_update_elem, "integer", ["const_map_ptr", "ptr_to_map_key", "ptr_to_map_value", "anything"]),
  proto(BPF_FUNC_map_delete_elem, "integer", ["const_map_ptr", "ptr_to_map_key"]),
  proto(BPF_FUNC_ktime_get_ns, "integer", []),
  proto(BPF_FUNC_get_prandom_u32, "integer", []),
  proto(BPF_FUNC_get_smp_processor_id, "integer", []),
  proto(BPF_FUNC_tail_call, "void", ["ptr_to_ctx", "const_map_ptr", "anything"]),
  proto(BPF_FUNC_trace_printk, "integer", ["ptr_to_mem", "const_size"], true),
  proto(BPF_FUNC_probe_read_kernel, "integer", ["ptr_to_uninit_mem", "const_size_or_zero", "anything"], true),
  proto(115, "integer", ["ptr_to_uninit_mem", "const_size_or_zero", "anything"], true),
  proto(125, "integer", []),
  // bpf_base_func_proto() for bpf_capable programs.
  proto(BPF_FUNC_spin_lock, "void", ["ptr_to_spin_lock"]),
  proto(BPF_FUNC_spin_unlock, "void", ["ptr_to_spin_lock"]),
  proto(BPF_FUNC_loop, "integer", ["anything", "ptr_to_func", "ptr_to_stack_or_null", "anything"]),
  proto(BPF_FUNC_timer_set_callback, "integer", ["ptr_to_timer", "ptr_to_func"], true),
];

const CURRENT: readonly HelperProto[] = [proto(14, "integer", [])];

const TRACING: readonly HelperProto[] = [
  proto(BPF_FUNC_get_func_ip, "integer", ["ptr_to_ctx"]),
  proto(BPF_FUNC_get_func_arg, "integer", ["ptr_to_ctx", "anything", "ptr_to_long"]),
  proto(BPF_FUNC_get_func_ret, "integer", ["ptr_to_ctx", "ptr_to_long"]),
  proto(BPF_FUNC_get_func_arg_cnt, "integer", ["ptr_to_ctx"]),
];

const BY_ID = new Map<number, HelperProto>([...BASE, ...CURRENT, ...TRACING].map((p) => [p.id, p]));

/** The program facts get_func_proto looks at. */
export interface ProtoQuery {
  readonly progType: number;
  readonly expectedAttachType: number;
}

/**
 * env->ops->get_func_proto(func_id, prog): the prototype, or undefined when
 * the program type may not call the helper ("program of this type cannot
 * use helper ...").
 */
export function helperProto(id: number, q: ProtoQuery): HelperProto | undefined {
  const p = BY_ID.get(id);
  if (!p) return undefined;
  const tracingLike = [
    BPF_PROG_TYPE_TRACING,
    BPF_PROG_TYPE_KPROBE,
    BPF_PROG_TYPE_TRACEPOINT,
    BPF_PROG_TYPE_RAW_TRACEPOINT,
  ];
  // Every trampoline program gets the get_func_* protos; for fentry the
  // verifier inlines get_func_ret as r0 = -EOPNOTSUPP.
  if (TRACING.includes(p)) return q.progType === BPF_PROG_TYPE_TRACING ? p : undefined;
  if (CURRENT.includes(p))
    return tracingLike.includes(q.progType) || q.progType === BPF_PROG_TYPE_SCHED_CLS ? p : undefined;
  const known = [
    BPF_PROG_TYPE_SOCKET_FILTER,
    BPF_PROG_TYPE_SCHED_CLS,
    BPF_PROG_TYPE_SCHED_ACT,
    BPF_PROG_TYPE_XDP,
    BPF_PROG_TYPE_SYSCALL,
    BPF_PROG_TYPE_EXT,
    ...tracingLike,
  ];
  return known.includes(q.progType) ? p : undefined;
}
