// SPDX-License-Identifier: GPL-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} by_proto SEC(".maps");

__u64 runs = 0;
__u32 last_len = 0;
int data_var = 7;
const volatile __u32 multiplier = 3;

static __noinline __u64 scale(__u64 v)
{
	return v * multiplier + data_var;
}

__noinline int global_sub(__u32 x)
{
	return x + 1;
}

SEC("tc")
int tc_prog(struct __sk_buff *skb)
{
	__u32 key = 0, proto = bpf_ntohs(skb->protocol);
	__u64 *v, one = 1;

	runs++;
	last_len = skb->len;
	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		*v += scale(skb->len);
	v = bpf_map_lookup_elem(&by_proto, &proto);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&by_proto, &proto, &one, BPF_NOEXIST);
	return global_sub(proto & 0xff);
}

char _license[] SEC("license") = "GPL";
