// SPDX-License-Identifier: GPL-2.0
/*
 * kprobe_testmod: traceable functions for the kprobe and BPF-prologue tests
 * (runtime/kprobe, runtime/bpf/prologue). The argument specs of the tests
 * name these parameters and members through the module's BTF, as perf named
 * them through DWARF:
 *
 *   kprobe_target obj->inner->val   x0 -> +8(obj) -> +8(inner)
 *   kprobe_target obj->flags x      x0 -> +16(obj); x1
 *   kprobe_target_many a0..a7 obj9  obj9 is the first stacked argument
 *   kprobe_notrace                  notrace: no ftrace location
 *
 * Each function only dereferences its pointers when `x` (or a7) is not
 * negative, so a test can pass a bad pointer and still see the function
 * return normally while the prologue's probe read fails.
 */
#include <linux/kernel.h>

struct kprobe_inner {
	long pad;
	long val;
	int ival;
	short sval;
	unsigned char cval;
	unsigned int bits : 5;
};

union kprobe_word {
	unsigned long word;
	unsigned char bytes[8];
};

struct kprobe_obj {
	int tag;
	struct kprobe_inner *inner;
	unsigned long flags;
	struct kprobe_inner embedded;
	union kprobe_word u;
	struct kprobe_obj *next;
	long arr[4];
	struct {
		long anon_a;
		long anon_b;
	};
};

noinline long kprobe_target(struct kprobe_obj *obj, long x)
{
	if (x < 0)
		return x;
	return obj->inner->val + obj->flags + x;
}

noinline long kprobe_target_many(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7,
				 struct kprobe_obj *obj9)
{
	long sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;

	if (a7 < 0)
		return sum;
	return sum + obj9->inner->val;
}

/* Calls kprobe_target from C, so a probe fires inside a nested call. */
noinline long kprobe_target_caller(struct kprobe_obj *obj, long x)
{
	return kprobe_target(obj, x) + 1;
}

/* Calls kprobe_target n times (a task that keeps going through the probe). */
noinline long kprobe_target_loop(struct kprobe_obj *obj, long n)
{
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += kprobe_target(obj, i);
	return sum;
}

/* No patchable entry: not an ftrace location, so not probeable here. */
notrace noinline long kprobe_notrace(long x)
{
	return x + 1;
}

/* A global the prologue cannot fetch (perf: "global ... not support"). */
long kprobe_global = 42;
