/**
 * The uapi enums a loader and the kernel side share (include/uapi/linux/bpf.h:
 * enum bpf_prog_type, enum bpf_attach_type, map flags). Values are the
 * kernel's; only the ones this runtime knows by name are listed.
 */

/** enum bpf_prog_type. */
export const BPF_PROG_TYPE_UNSPEC = 0;
export const BPF_PROG_TYPE_SOCKET_FILTER = 1;
export const BPF_PROG_TYPE_KPROBE = 2;
export const BPF_PROG_TYPE_SCHED_CLS = 3;
export const BPF_PROG_TYPE_SCHED_ACT = 4;
export const BPF_PROG_TYPE_TRACEPOINT = 5;
export const BPF_PROG_TYPE_XDP = 6;
export const BPF_PROG_TYPE_PERF_EVENT = 7;
export const BPF_PROG_TYPE_RAW_TRACEPOINT = 17;
export const BPF_PROG_TYPE_TRACING = 26;
export const BPF_PROG_TYPE_STRUCT_OPS = 27;
export const BPF_PROG_TYPE_EXT = 28;
export const BPF_PROG_TYPE_LSM = 29;
export const BPF_PROG_TYPE_SYSCALL = 31;

/** Names as bpftool prints them (libbpf prog_type_name). */
export const PROG_TYPE_NAMES: Readonly<Record<number, string>> = {
  [BPF_PROG_TYPE_UNSPEC]: "unspec",
  [BPF_PROG_TYPE_SOCKET_FILTER]: "socket_filter",
  [BPF_PROG_TYPE_KPROBE]: "kprobe",
  [BPF_PROG_TYPE_SCHED_CLS]: "sched_cls",
  [BPF_PROG_TYPE_SCHED_ACT]: "sched_act",
  [BPF_PROG_TYPE_TRACEPOINT]: "tracepoint",
  [BPF_PROG_TYPE_XDP]: "xdp",
  [BPF_PROG_TYPE_PERF_EVENT]: "perf_event",
  [BPF_PROG_TYPE_RAW_TRACEPOINT]: "raw_tracepoint",
  [BPF_PROG_TYPE_TRACING]: "tracing",
  [BPF_PROG_TYPE_STRUCT_OPS]: "struct_ops",
  [BPF_PROG_TYPE_EXT]: "ext",
  [BPF_PROG_TYPE_LSM]: "lsm",
  [BPF_PROG_TYPE_SYSCALL]: "syscall",
};

/** enum bpf_attach_type (the ones tracing programs use). */
export const BPF_ATTACH_TYPE_NONE = 0;
export const BPF_TRACE_RAW_TP = 23;
export const BPF_TRACE_FENTRY = 24;
export const BPF_TRACE_FEXIT = 25;
export const BPF_MODIFY_RETURN = 26;
export const BPF_LSM_MAC = 27;

/** Attach type names (libbpf attach_type_name). */
export const ATTACH_TYPE_NAMES: Readonly<Record<number, string>> = {
  [BPF_TRACE_RAW_TP]: "trace_raw_tp",
  [BPF_TRACE_FENTRY]: "trace_fentry",
  [BPF_TRACE_FEXIT]: "trace_fexit",
  [BPF_MODIFY_RETURN]: "modify_return",
  [BPF_LSM_MAC]: "lsm_mac",
};

/** BPF_F_SLEEPABLE (BPF_PROG_LOAD prog_flags). */
export const BPF_F_SLEEPABLE = 1 << 4;

/** enum bpf_map_type (the ones implemented). */
export const BPF_MAP_TYPE_UNSPEC = 0;
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PROG_ARRAY = 3;
export const BPF_MAP_TYPE_PERCPU_HASH = 5;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;

/** Map type names as bpftool prints them. */
export const MAP_TYPE_NAMES: Readonly<Record<number, string>> = {
  [BPF_MAP_TYPE_UNSPEC]: "unspec",
  [BPF_MAP_TYPE_HASH]: "hash",
  [BPF_MAP_TYPE_ARRAY]: "array",
  [BPF_MAP_TYPE_PROG_ARRAY]: "prog_array",
  4: "perf_event_array",
  [BPF_MAP_TYPE_PERCPU_HASH]: "percpu_hash",
  [BPF_MAP_TYPE_PERCPU_ARRAY]: "percpu_array",
  7: "stack_trace",
  9: "lru_hash",
  12: "array_of_maps",
  13: "hash_of_maps",
  27: "ringbuf",
};

/** Map flags (BPF_MAP_CREATE map_flags). */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_MMAPABLE = 1 << 10;

/** bpf_map_update_elem flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** BPF_OBJ_NAME_LEN: names of programs and maps, NUL included. */
export const BPF_OBJ_NAME_LEN = 16;
