/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The BPF uapi of the simulated kernel: the subset of
 * include/uapi/linux/bpf.h that BPF programs see through vmlinux.h
 * (program, map and attach types, helper IDs, context structs, special
 * map value types), written from the uapi facts (names, values, layouts).
 *
 * Simplifications: the enums stop at Linux 6.1 (plus the two helpers added
 * in 6.2, cgroup_storage_get/delete, and the special types of 6.4); the
 * syscall attribute union (union bpf_attr) is not modelled.
 */
#ifndef _UAPI_LINUX_BPF_H
#define _UAPI_LINUX_BPF_H

#include <linux/types.h>

/* Instruction classes, sizes, modes, ALU/JMP ops (the ISA, RFC 9669). */
#define BPF_LD 0x00
#define BPF_LDX 0x01
#define BPF_ST 0x02
#define BPF_STX 0x03
#define BPF_ALU 0x04
#define BPF_JMP 0x05
#define BPF_JMP32 0x06
#define BPF_ALU64 0x07

#define MAX_BPF_REG 11
#define BPF_PSEUDO_MAP_FD 1
#define BPF_PSEUDO_MAP_VALUE 2
#define BPF_PSEUDO_BTF_ID 3
#define BPF_PSEUDO_CALL 1
#define BPF_PSEUDO_KFUNC_CALL 2

struct bpf_insn {
	__u8 code;
	__u8 dst_reg : 4;
	__u8 src_reg : 4;
	__s16 off;
	__s32 imm;
};

enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC,
	BPF_MAP_TYPE_HASH,
	BPF_MAP_TYPE_ARRAY,
	BPF_MAP_TYPE_PROG_ARRAY,
	BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	BPF_MAP_TYPE_PERCPU_HASH,
	BPF_MAP_TYPE_PERCPU_ARRAY,
	BPF_MAP_TYPE_STACK_TRACE,
	BPF_MAP_TYPE_CGROUP_ARRAY,
	BPF_MAP_TYPE_LRU_HASH,
	BPF_MAP_TYPE_LRU_PERCPU_HASH,
	BPF_MAP_TYPE_LPM_TRIE,
	BPF_MAP_TYPE_ARRAY_OF_MAPS,
	BPF_MAP_TYPE_HASH_OF_MAPS,
	BPF_MAP_TYPE_DEVMAP,
	BPF_MAP_TYPE_SOCKMAP,
	BPF_MAP_TYPE_CPUMAP,
	BPF_MAP_TYPE_XSKMAP,
	BPF_MAP_TYPE_SOCKHASH,
	BPF_MAP_TYPE_CGROUP_STORAGE,
	BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
	BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
	BPF_MAP_TYPE_QUEUE,
	BPF_MAP_TYPE_STACK,
	BPF_MAP_TYPE_SK_STORAGE,
	BPF_MAP_TYPE_DEVMAP_HASH,
	BPF_MAP_TYPE_STRUCT_OPS,
	BPF_MAP_TYPE_RINGBUF,
	BPF_MAP_TYPE_INODE_STORAGE,
	BPF_MAP_TYPE_TASK_STORAGE,
	BPF_MAP_TYPE_BLOOM_FILTER,
	BPF_MAP_TYPE_USER_RINGBUF,
};

enum bpf_prog_type {
	BPF_PROG_TYPE_UNSPEC,
	BPF_PROG_TYPE_SOCKET_FILTER,
	BPF_PROG_TYPE_KPROBE,
	BPF_PROG_TYPE_SCHED_CLS,
	BPF_PROG_TYPE_SCHED_ACT,
	BPF_PROG_TYPE_TRACEPOINT,
	BPF_PROG_TYPE_XDP,
	BPF_PROG_TYPE_PERF_EVENT,
	BPF_PROG_TYPE_CGROUP_SKB,
	BPF_PROG_TYPE_CGROUP_SOCK,
	BPF_PROG_TYPE_LWT_IN,
	BPF_PROG_TYPE_LWT_OUT,
	BPF_PROG_TYPE_LWT_XMIT,
	BPF_PROG_TYPE_SOCK_OPS,
	BPF_PROG_TYPE_SK_SKB,
	BPF_PROG_TYPE_CGROUP_DEVICE,
	BPF_PROG_TYPE_SK_MSG,
	BPF_PROG_TYPE_RAW_TRACEPOINT,
	BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	BPF_PROG_TYPE_LWT_SEG6LOCAL,
	BPF_PROG_TYPE_LIRC_MODE2,
	BPF_PROG_TYPE_SK_REUSEPORT,
	BPF_PROG_TYPE_FLOW_DISSECTOR,
	BPF_PROG_TYPE_CGROUP_SYSCTL,
	BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE,
	BPF_PROG_TYPE_CGROUP_SOCKOPT,
	BPF_PROG_TYPE_TRACING,
	BPF_PROG_TYPE_STRUCT_OPS,
	BPF_PROG_TYPE_EXT,
	BPF_PROG_TYPE_LSM,
	BPF_PROG_TYPE_SK_LOOKUP,
	BPF_PROG_TYPE_SYSCALL,
};

enum bpf_attach_type {
	BPF_CGROUP_INET_INGRESS,
	BPF_CGROUP_INET_EGRESS,
	BPF_CGROUP_INET_SOCK_CREATE,
	BPF_CGROUP_SOCK_OPS,
	BPF_SK_SKB_STREAM_PARSER,
	BPF_SK_SKB_STREAM_VERDICT,
	BPF_CGROUP_DEVICE,
	BPF_SK_MSG_VERDICT,
	BPF_CGROUP_INET4_BIND,
	BPF_CGROUP_INET6_BIND,
	BPF_CGROUP_INET4_CONNECT,
	BPF_CGROUP_INET6_CONNECT,
	BPF_CGROUP_INET4_POST_BIND,
	BPF_CGROUP_INET6_POST_BIND,
	BPF_CGROUP_UDP4_SENDMSG,
	BPF_CGROUP_UDP6_SENDMSG,
	BPF_LIRC_MODE2,
	BPF_FLOW_DISSECTOR,
	BPF_CGROUP_SYSCTL,
	BPF_CGROUP_UDP4_RECVMSG,
	BPF_CGROUP_UDP6_RECVMSG,
	BPF_CGROUP_GETSOCKOPT,
	BPF_CGROUP_SETSOCKOPT,
	BPF_TRACE_RAW_TP,
	BPF_TRACE_FENTRY,
	BPF_TRACE_FEXIT,
	BPF_MODIFY_RETURN,
	BPF_LSM_MAC,
	BPF_TRACE_ITER,
	BPF_CGROUP_INET4_GETPEERNAME,
	BPF_CGROUP_INET6_GETPEERNAME,
	BPF_CGROUP_INET4_GETSOCKNAME,
	BPF_CGROUP_INET6_GETSOCKNAME,
	BPF_XDP_DEVMAP,
	BPF_CGROUP_INET_SOCK_RELEASE,
	BPF_XDP_CPUMAP,
	BPF_SK_LOOKUP,
	BPF_XDP,
	BPF_SK_SKB_VERDICT,
	BPF_SK_REUSEPORT_SELECT,
	BPF_SK_REUSEPORT_SELECT_OR_MIGRATE,
	BPF_PERF_EVENT,
	BPF_TRACE_KPROBE_MULTI,
	BPF_LSM_CGROUP,
	__MAX_BPF_ATTACH_TYPE
};

/* Flags of bpf_map_update_elem(). */
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
	BPF_F_LOCK = 4,
};

/* Map creation flags. */
enum {
	BPF_F_NO_PREALLOC = (1U << 0),
	BPF_F_NO_COMMON_LRU = (1U << 1),
	BPF_F_NUMA_NODE = (1U << 2),
	BPF_F_RDONLY = (1U << 3),
	BPF_F_WRONLY = (1U << 4),
	BPF_F_STACK_BUILD_ID = (1U << 5),
	BPF_F_ZERO_SEED = (1U << 6),
	BPF_F_RDONLY_PROG = (1U << 7),
	BPF_F_WRONLY_PROG = (1U << 8),
	BPF_F_CLONE = (1U << 9),
	BPF_F_MMAPABLE = (1U << 10),
	BPF_F_PRESERVE_ELEMS = (1U << 11),
	BPF_F_INNER_MAP = (1U << 12),
};

/* Helper IDs: FN(name, id), in the uapi order. */
#define ___BPF_FUNC_MAPPER(FN, ctx...) \
	FN(unspec, 0, ##ctx) \
	FN(map_lookup_elem, 1, ##ctx) \
	FN(map_update_elem, 2, ##ctx) \
	FN(map_delete_elem, 3, ##ctx) \
	FN(probe_read, 4, ##ctx) \
	FN(ktime_get_ns, 5, ##ctx) \
	FN(trace_printk, 6, ##ctx) \
	FN(get_prandom_u32, 7, ##ctx) \
	FN(get_smp_processor_id, 8, ##ctx) \
	FN(skb_store_bytes, 9, ##ctx) \
	FN(l3_csum_replace, 10, ##ctx) \
	FN(l4_csum_replace, 11, ##ctx) \
	FN(tail_call, 12, ##ctx) \
	FN(clone_redirect, 13, ##ctx) \
	FN(get_current_pid_tgid, 14, ##ctx) \
	FN(get_current_uid_gid, 15, ##ctx) \
	FN(get_current_comm, 16, ##ctx) \
	FN(get_cgroup_classid, 17, ##ctx) \
	FN(skb_vlan_push, 18, ##ctx) \
	FN(skb_vlan_pop, 19, ##ctx) \
	FN(skb_get_tunnel_key, 20, ##ctx) \
	FN(skb_set_tunnel_key, 21, ##ctx) \
	FN(perf_event_read, 22, ##ctx) \
	FN(redirect, 23, ##ctx) \
	FN(get_route_realm, 24, ##ctx) \
	FN(perf_event_output, 25, ##ctx) \
	FN(skb_load_bytes, 26, ##ctx) \
	FN(get_stackid, 27, ##ctx) \
	FN(csum_diff, 28, ##ctx) \
	FN(skb_get_tunnel_opt, 29, ##ctx) \
	FN(skb_set_tunnel_opt, 30, ##ctx) \
	FN(skb_change_proto, 31, ##ctx) \
	FN(skb_change_type, 32, ##ctx) \
	FN(skb_under_cgroup, 33, ##ctx) \
	FN(get_hash_recalc, 34, ##ctx) \
	FN(get_current_task, 35, ##ctx) \
	FN(probe_write_user, 36, ##ctx) \
	FN(current_task_under_cgroup, 37, ##ctx) \
	FN(skb_change_tail, 38, ##ctx) \
	FN(skb_pull_data, 39, ##ctx) \
	FN(csum_update, 40, ##ctx) \
	FN(set_hash_invalid, 41, ##ctx) \
	FN(get_numa_node_id, 42, ##ctx) \
	FN(skb_change_head, 43, ##ctx) \
	FN(xdp_adjust_head, 44, ##ctx) \
	FN(probe_read_str, 45, ##ctx) \
	FN(get_socket_cookie, 46, ##ctx) \
	FN(get_socket_uid, 47, ##ctx) \
	FN(set_hash, 48, ##ctx) \
	FN(setsockopt, 49, ##ctx) \
	FN(skb_adjust_room, 50, ##ctx) \
	FN(redirect_map, 51, ##ctx) \
	FN(sk_redirect_map, 52, ##ctx) \
	FN(sock_map_update, 53, ##ctx) \
	FN(xdp_adjust_meta, 54, ##ctx) \
	FN(perf_event_read_value, 55, ##ctx) \
	FN(perf_prog_read_value, 56, ##ctx) \
	FN(getsockopt, 57, ##ctx) \
	FN(override_return, 58, ##ctx) \
	FN(sock_ops_cb_flags_set, 59, ##ctx) \
	FN(msg_redirect_map, 60, ##ctx) \
	FN(msg_apply_bytes, 61, ##ctx) \
	FN(msg_cork_bytes, 62, ##ctx) \
	FN(msg_pull_data, 63, ##ctx) \
	FN(bind, 64, ##ctx) \
	FN(xdp_adjust_tail, 65, ##ctx) \
	FN(skb_get_xfrm_state, 66, ##ctx) \
	FN(get_stack, 67, ##ctx) \
	FN(skb_load_bytes_relative, 68, ##ctx) \
	FN(fib_lookup, 69, ##ctx) \
	FN(sock_hash_update, 70, ##ctx) \
	FN(msg_redirect_hash, 71, ##ctx) \
	FN(sk_redirect_hash, 72, ##ctx) \
	FN(lwt_push_encap, 73, ##ctx) \
	FN(lwt_seg6_store_bytes, 74, ##ctx) \
	FN(lwt_seg6_adjust_srh, 75, ##ctx) \
	FN(lwt_seg6_action, 76, ##ctx) \
	FN(rc_repeat, 77, ##ctx) \
	FN(rc_keydown, 78, ##ctx) \
	FN(skb_cgroup_id, 79, ##ctx) \
	FN(get_current_cgroup_id, 80, ##ctx) \
	FN(get_local_storage, 81, ##ctx) \
	FN(sk_select_reuseport, 82, ##ctx) \
	FN(skb_ancestor_cgroup_id, 83, ##ctx) \
	FN(sk_lookup_tcp, 84, ##ctx) \
	FN(sk_lookup_udp, 85, ##ctx) \
	FN(sk_release, 86, ##ctx) \
	FN(map_push_elem, 87, ##ctx) \
	FN(map_pop_elem, 88, ##ctx) \
	FN(map_peek_elem, 89, ##ctx) \
	FN(msg_push_data, 90, ##ctx) \
	FN(msg_pop_data, 91, ##ctx) \
	FN(rc_pointer_rel, 92, ##ctx) \
	FN(spin_lock, 93, ##ctx) \
	FN(spin_unlock, 94, ##ctx) \
	FN(sk_fullsock, 95, ##ctx) \
	FN(tcp_sock, 96, ##ctx) \
	FN(skb_ecn_set_ce, 97, ##ctx) \
	FN(get_listener_sock, 98, ##ctx) \
	FN(skc_lookup_tcp, 99, ##ctx) \
	FN(tcp_check_syncookie, 100, ##ctx) \
	FN(sysctl_get_name, 101, ##ctx) \
	FN(sysctl_get_current_value, 102, ##ctx) \
	FN(sysctl_get_new_value, 103, ##ctx) \
	FN(sysctl_set_new_value, 104, ##ctx) \
	FN(strtol, 105, ##ctx) \
	FN(strtoul, 106, ##ctx) \
	FN(sk_storage_get, 107, ##ctx) \
	FN(sk_storage_delete, 108, ##ctx) \
	FN(send_signal, 109, ##ctx) \
	FN(tcp_gen_syncookie, 110, ##ctx) \
	FN(skb_output, 111, ##ctx) \
	FN(probe_read_user, 112, ##ctx) \
	FN(probe_read_kernel, 113, ##ctx) \
	FN(probe_read_user_str, 114, ##ctx) \
	FN(probe_read_kernel_str, 115, ##ctx) \
	FN(tcp_send_ack, 116, ##ctx) \
	FN(send_signal_thread, 117, ##ctx) \
	FN(jiffies64, 118, ##ctx) \
	FN(read_branch_records, 119, ##ctx) \
	FN(get_ns_current_pid_tgid, 120, ##ctx) \
	FN(xdp_output, 121, ##ctx) \
	FN(get_netns_cookie, 122, ##ctx) \
	FN(get_current_ancestor_cgroup_id, 123, ##ctx) \
	FN(sk_assign, 124, ##ctx) \
	FN(ktime_get_boot_ns, 125, ##ctx) \
	FN(seq_printf, 126, ##ctx) \
	FN(seq_write, 127, ##ctx) \
	FN(sk_cgroup_id, 128, ##ctx) \
	FN(sk_ancestor_cgroup_id, 129, ##ctx) \
	FN(ringbuf_output, 130, ##ctx) \
	FN(ringbuf_reserve, 131, ##ctx) \
	FN(ringbuf_submit, 132, ##ctx) \
	FN(ringbuf_discard, 133, ##ctx) \
	FN(ringbuf_query, 134, ##ctx) \
	FN(csum_level, 135, ##ctx) \
	FN(skc_to_tcp6_sock, 136, ##ctx) \
	FN(skc_to_tcp_sock, 137, ##ctx) \
	FN(skc_to_tcp_timewait_sock, 138, ##ctx) \
	FN(skc_to_tcp_request_sock, 139, ##ctx) \
	FN(skc_to_udp6_sock, 140, ##ctx) \
	FN(get_task_stack, 141, ##ctx) \
	FN(load_hdr_opt, 142, ##ctx) \
	FN(store_hdr_opt, 143, ##ctx) \
	FN(reserve_hdr_opt, 144, ##ctx) \
	FN(inode_storage_get, 145, ##ctx) \
	FN(inode_storage_delete, 146, ##ctx) \
	FN(d_path, 147, ##ctx) \
	FN(copy_from_user, 148, ##ctx) \
	FN(snprintf_btf, 149, ##ctx) \
	FN(seq_printf_btf, 150, ##ctx) \
	FN(skb_cgroup_classid, 151, ##ctx) \
	FN(redirect_neigh, 152, ##ctx) \
	FN(per_cpu_ptr, 153, ##ctx) \
	FN(this_cpu_ptr, 154, ##ctx) \
	FN(redirect_peer, 155, ##ctx) \
	FN(task_storage_get, 156, ##ctx) \
	FN(task_storage_delete, 157, ##ctx) \
	FN(get_current_task_btf, 158, ##ctx) \
	FN(bprm_opts_set, 159, ##ctx) \
	FN(ktime_get_coarse_ns, 160, ##ctx) \
	FN(ima_inode_hash, 161, ##ctx) \
	FN(sock_from_file, 162, ##ctx) \
	FN(check_mtu, 163, ##ctx) \
	FN(for_each_map_elem, 164, ##ctx) \
	FN(snprintf, 165, ##ctx) \
	FN(sys_bpf, 166, ##ctx) \
	FN(btf_find_by_name_kind, 167, ##ctx) \
	FN(sys_close, 168, ##ctx) \
	FN(timer_init, 169, ##ctx) \
	FN(timer_set_callback, 170, ##ctx) \
	FN(timer_start, 171, ##ctx) \
	FN(timer_cancel, 172, ##ctx) \
	FN(get_func_ip, 173, ##ctx) \
	FN(get_attach_cookie, 174, ##ctx) \
	FN(task_pt_regs, 175, ##ctx) \
	FN(get_branch_snapshot, 176, ##ctx) \
	FN(trace_vprintk, 177, ##ctx) \
	FN(skc_to_unix_sock, 178, ##ctx) \
	FN(kallsyms_lookup_name, 179, ##ctx) \
	FN(find_vma, 180, ##ctx) \
	FN(loop, 181, ##ctx) \
	FN(strncmp, 182, ##ctx) \
	FN(get_func_arg, 183, ##ctx) \
	FN(get_func_ret, 184, ##ctx) \
	FN(get_func_arg_cnt, 185, ##ctx) \
	FN(get_retval, 186, ##ctx) \
	FN(set_retval, 187, ##ctx) \
	FN(xdp_get_buff_len, 188, ##ctx) \
	FN(xdp_load_bytes, 189, ##ctx) \
	FN(xdp_store_bytes, 190, ##ctx) \
	FN(copy_from_user_task, 191, ##ctx) \
	FN(skb_set_tstamp, 192, ##ctx) \
	FN(ima_file_hash, 193, ##ctx) \
	FN(kptr_xchg, 194, ##ctx) \
	FN(map_lookup_percpu_elem, 195, ##ctx) \
	FN(skc_to_mptcp_sock, 196, ##ctx) \
	FN(dynptr_from_mem, 197, ##ctx) \
	FN(ringbuf_reserve_dynptr, 198, ##ctx) \
	FN(ringbuf_submit_dynptr, 199, ##ctx) \
	FN(ringbuf_discard_dynptr, 200, ##ctx) \
	FN(dynptr_read, 201, ##ctx) \
	FN(dynptr_write, 202, ##ctx) \
	FN(dynptr_data, 203, ##ctx) \
	FN(tcp_raw_gen_syncookie_ipv4, 204, ##ctx) \
	FN(tcp_raw_gen_syncookie_ipv6, 205, ##ctx) \
	FN(tcp_raw_check_syncookie_ipv4, 206, ##ctx) \
	FN(tcp_raw_check_syncookie_ipv6, 207, ##ctx) \
	FN(ktime_get_tai_ns, 208, ##ctx) \
	FN(user_ringbuf_drain, 209, ##ctx) \
	FN(cgroup_storage_get, 210, ##ctx) \
	FN(cgroup_storage_delete, 211, ##ctx)

#define __BPF_ENUM_FN(x, y) BPF_FUNC_##x = y,
enum bpf_func_id {
	___BPF_FUNC_MAPPER(__BPF_ENUM_FN)
	__BPF_FUNC_MAX_ID,
};
#undef __BPF_ENUM_FN

/* Return codes of tc programs are #defines in pkt_cls.h (not in BTF). */

#define __bpf_md_ptr(type, name) \
	union {                  \
		type name;       \
		__u64 : 64;      \
	} __attribute__((aligned(8)))

/* The tc / socket filter context (__sk_buff is a mirror of the sk_buff fields a program may access). */
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
	__u32 data_meta;
	__bpf_md_ptr(struct bpf_flow_keys *, flow_keys);
	__u64 tstamp;
	__u32 wire_len;
	__u32 gso_segs;
	__bpf_md_ptr(struct bpf_sock *, sk);
	__u32 gso_size;
	__u8 tstamp_type;
	__u32 : 24;
	__u64 hwtstamp;
};

struct bpf_tunnel_key {
	__u32 tunnel_id;
	union {
		__u32 remote_ipv4;
		__u32 remote_ipv6[4];
	};
	__u8 tunnel_tos;
	__u8 tunnel_ttl;
	union {
		__u16 tunnel_ext;
		__be16 tunnel_flags;
	};
	__u32 tunnel_label;
	union {
		__u32 local_ipv4;
		__u32 local_ipv6[4];
	};
};

struct bpf_sock {
	__u32 bound_dev_if;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 mark;
	__u32 priority;
	__u32 src_ip4;
	__u32 src_ip6[4];
	__u32 src_port;
	__be16 dst_port;
	__u16 : 16;
	__u32 dst_ip4;
	__u32 dst_ip6[4];
	__u32 state;
	__s32 rx_queue_mapping;
};

struct bpf_sock_tuple {
	union {
		struct {
			__be32 saddr;
			__be32 daddr;
			__be16 sport;
			__be16 dport;
		} ipv4;
		struct {
			__be32 saddr[4];
			__be32 daddr[4];
			__be16 sport;
			__be16 dport;
		} ipv6;
	};
};

/* The XDP context. */
struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

enum xdp_action {
	XDP_ABORTED = 0,
	XDP_DROP,
	XDP_PASS,
	XDP_TX,
	XDP_REDIRECT,
};

struct bpf_flow_keys {
	__u16 nhoff;
	__u16 thoff;
	__u16 addr_proto;
	__u8 is_frag;
	__u8 is_first_frag;
	__u8 is_encap;
	__u8 ip_proto;
	__be16 n_proto;
	__be16 sport;
	__be16 dport;
	union {
		struct {
			__be32 ipv4_src;
			__be32 ipv4_dst;
		};
		struct {
			__u32 ipv6_src[4];
			__u32 ipv6_dst[4];
		};
	};
	__u32 flags;
	__be32 flow_label;
};

/* Raw tracepoint context. */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

/* Special map value types the verifier knows by name. */
struct bpf_spin_lock {
	__u32 val;
};

struct bpf_timer {
	__u64 : 64;
	__u64 : 64;
} __attribute__((aligned(8)));

struct bpf_dynptr {
	__u64 : 64;
	__u64 : 64;
} __attribute__((aligned(8)));

struct bpf_list_head {
	__u64 : 64;
	__u64 : 64;
} __attribute__((aligned(8)));

struct bpf_list_node {
	__u64 : 64;
	__u64 : 64;
	__u64 : 64;
} __attribute__((aligned(8)));

struct bpf_rb_root {
	__u64 : 64;
	__u64 : 64;
} __attribute__((aligned(8)));

struct bpf_rb_node {
	__u64 : 64;
	__u64 : 64;
	__u64 : 64;
	__u64 : 64;
} __attribute__((aligned(8)));

struct bpf_refcount {
	__u32 : 32;
} __attribute__((aligned(4)));

/* BTF and program metadata records (also the layout of .BTF.ext records). */
struct bpf_func_info {
	__u32 insn_off;
	__u32 type_id;
};

struct bpf_line_info {
	__u32 insn_off;
	__u32 file_name_off;
	__u32 line_off;
	__u32 line_col;
};

#endif /* _UAPI_LINUX_BPF_H */
