// SPDX-License-Identifier: GPL-2.0
/* fexit on bpf_testmod_test_int128_arg(__int128 a, int b, long c), read
 * through the raw context: a fills ctx[0..1] (x0:x1), b is ctx[2], c is
 * ctx[3] and the return value ctx[4].
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u64 i128_a_lo, i128_a_hi, i128_b, i128_c, i128_ret;

SEC("fexit/bpf_testmod_test_int128_arg")
int test_int128_arg(unsigned long long *ctx)
{
	i128_a_lo = ctx[0];
	i128_a_hi = ctx[1];
	i128_b = ctx[2];
	i128_c = ctx[3];
	i128_ret = ctx[4];
	return 0;
}
