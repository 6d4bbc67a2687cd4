// SPDX-License-Identifier: GPL-2.0
/* Tracing programs for the loader tests: fentry/fexit on the kernel's
 * bpf_fentry_test* functions and bpf_testmod, plus programs the verifier
 * must reject (not autoloaded: tests enable them one at a time).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u64 fentry1_a = 0;
__u64 fentry2_b = 0;
__u64 fexit1_ret = 0;
__u64 fexit2_nargs = 0;
__u64 fexit2_arg1 = 0;
__u64 fexit2_ret = 0;
__u64 fexit2_ip = 0;
__u64 testmod7_g = 0;

SEC("fentry/bpf_fentry_test1")
int BPF_PROG(fentry1, int a)
{
	fentry1_a = a;
	return 0;
}

SEC("fentry/bpf_fentry_test2")
int BPF_PROG(fentry2, int a, __u64 b)
{
	fentry2_b = b;
	return 0;
}

SEC("fexit/bpf_fentry_test1")
int BPF_PROG(fexit1, int a, int ret)
{
	fexit1_ret = ret;
	return 0;
}

SEC("fexit/bpf_fentry_test2")
int fexit2(void *ctx)
{
	__u64 v = 0, r = 0;

	fexit2_nargs = bpf_get_func_arg_cnt(ctx);
	if (!bpf_get_func_arg(ctx, 1, &v))
		fexit2_arg1 = v;
	if (!bpf_get_func_ret(ctx, &r))
		fexit2_ret = r;
	fexit2_ip = bpf_get_func_ip(ctx);
	return 0;
}

SEC("fentry/bpf_testmod_fentry_test7")
int BPF_PROG(testmod7, __u64 a, void *b, short c, int d, void *e, char f, int g)
{
	testmod7_g = g;
	return 0;
}

__u64 past_val = 0;

/* bpf_fentry_test1 has one argument: reading the second slot is refused. */
SEC("?fentry/bpf_fentry_test1")
int past_last_arg(__u64 *ctx)
{
	past_val = ctx[1];
	return 0;
}

/* Writes the frame pointer. */
SEC("?fentry/bpf_fentry_test1")
__attribute__((naked)) int write_r10(void)
{
	asm volatile ("r10 = 0; r0 = 0; exit;" ::: "memory");
}
