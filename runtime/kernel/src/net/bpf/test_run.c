// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel functions that BPF_PROG_TEST_RUN of tracing programs calls,
 * and the body of bpf_prog_test_run_tracing() (models net/bpf/test_run.c).
 *
 * Names, C signatures and return values are the kernel's: fentry/fexit
 * selftests attach to bpf_fentry_test1..10 and fmod_ret selftests to
 * bpf_modify_return_test/test2, and check the values below.
 *
 * Simplification: bpf_prog_test_run_tracing() takes the program's
 * expected_attach_type and a pointer for test.retval instead of
 * (prog, kattr, uattr); the TypeScript caller validates the syscall
 * attributes (flags, cpu, batch_size must be 0) and copies retval out.
 * Each test function hides an argument from the optimiser
 * (OPTIMIZER_HIDE_VAR) so that its call and result survive -O2.
 * Tracepoints are empty noinline hooks named after them (trace_<name>),
 * so they are attachable functions but emit nothing.
 */
#include <linux/bpf.h>

noinline void trace_bpf_test_finish(int *err)
{
	asm volatile("" : : "r"(err) : "memory");
}

noinline void trace_bpf_trigger_tp(int nonce)
{
	asm volatile("" : : "r"(nonce));
}

__bpf_kfunc int bpf_fentry_test1(int a)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + 1;
}
EXPORT_SYMBOL_GPL(bpf_fentry_test1);

noinline int bpf_fentry_test2(int a, u64 b)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + b;
}

noinline int bpf_fentry_test3(char a, int b, u64 c)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + b + c;
}

noinline int bpf_fentry_test4(void *a, char b, int c, u64 d)
{
	OPTIMIZER_HIDE_VAR(a);
	return (long)a + b + c + d;
}

noinline int bpf_fentry_test5(u64 a, void *b, short c, int d, u64 e)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + (long)b + c + d + e;
}

noinline int bpf_fentry_test6(u64 a, void *b, short c, int d, void *e, u64 f)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + (long)b + c + d + (long)e + f;
}

struct bpf_fentry_test_t {
	struct bpf_fentry_test_t *a;
};

noinline int bpf_fentry_test7(struct bpf_fentry_test_t *arg)
{
	/* Hide the NULL argument from the optimiser (as the kernel does). */
	asm volatile("" : "+r"(arg));
	return (long)arg;
}

noinline int bpf_fentry_test8(struct bpf_fentry_test_t *arg)
{
	OPTIMIZER_HIDE_VAR(arg);
	return (long)arg->a;
}

__bpf_kfunc u32 bpf_fentry_test9(u32 *a)
{
	OPTIMIZER_HIDE_VAR(a);
	return *a;
}

noinline int bpf_fentry_test10(const void *a)
{
	OPTIMIZER_HIDE_VAR(a);
	return (long)a;
}

noinline void bpf_fentry_test_sinfo(struct skb_shared_info *sinfo)
{
	asm volatile("" : : "r"(sinfo));
}

__bpf_kfunc int bpf_modify_return_test(int a, int *b)
{
	*b += 1;
	return a + *b;
}

__bpf_kfunc int bpf_modify_return_test2(int a, int *b, short c, int d, void *e, char f, int g)
{
	*b += 1;
	return a + *b + c + d + (long)e + f + g;
}

__bpf_kfunc int bpf_modify_return_test_tp(int nonce)
{
	trace_bpf_trigger_tp(nonce);
	return nonce;
}

noinline int bpf_fentry_shadow_test(int a)
{
	return a + 1;
}

/*
 *   expected_attach_type      calls (kernel values)                   result
 *   BPF_TRACE_FENTRY/FEXIT    bpf_fentry_test1(1) == 2 ... test10     0, or -EFAULT on a mismatch
 *   BPF_MODIFY_RETURN         ret = modify_return_test(1, &b)         0, *retval =
 *                             ret += modify_return_test2(1,&b,3..7)     (side_effect << 16) | ret
 *   anything else                                                     -EFAULT
 */
noinline int bpf_prog_test_run_tracing(u32 expected_attach_type, u32 *retval_out)
{
	struct bpf_fentry_test_t arg = {};
	u16 side_effect = 0, ret = 0;
	int b = 2, err = -EFAULT;
	u32 retval = 0;

	switch (expected_attach_type) {
	case BPF_TRACE_FENTRY:
	case BPF_TRACE_FEXIT:
		if (bpf_fentry_test1(1) != 2 ||
		    bpf_fentry_test2(2, 3) != 5 ||
		    bpf_fentry_test3(4, 5, 6) != 15 ||
		    bpf_fentry_test4((void *)7, 8, 9, 10) != 34 ||
		    bpf_fentry_test5(11, (void *)12, 13, 14, 15) != 65 ||
		    bpf_fentry_test6(16, (void *)17, 18, 19, (void *)20, 21) != 111 ||
		    bpf_fentry_test7((struct bpf_fentry_test_t *)0) != 0 ||
		    bpf_fentry_test8(&arg) != 0 ||
		    bpf_fentry_test9(&retval) != 0 ||
		    bpf_fentry_test10((void *)0) != 0)
			goto out;
		break;
	case BPF_MODIFY_RETURN:
		ret = bpf_modify_return_test(1, &b);
		if (b != 2)
			side_effect++;
		b = 2;
		ret += bpf_modify_return_test2(1, &b, 3, 4, (void *)5, 6, 7);
		if (b != 2)
			side_effect++;
		break;
	default:
		goto out;
	}

	retval = ((u32)side_effect << 16) | ret;
	*retval_out = retval;
	err = 0;
out:
	trace_bpf_test_finish(&err);
	return err;
}
