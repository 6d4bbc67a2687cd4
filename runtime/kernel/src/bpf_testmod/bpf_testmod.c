// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_testmod: the test module the BPF selftests attach to (models
 * tools/testing/selftests/bpf/test_kmods/bpf_testmod.c).
 *
 * Built and linked as a module of the simulated kernel (module name
 * "bpf_testmod"), like bpf_testmod.ko. The functions keep the kernel's
 * names, C signatures and return values; ported selftests check them.
 *
 * bpf_testmod_test_read() is the .read of the sysfs file
 * /sys/kernel/bpf_testmod (a TypeScript device here). It calls:
 *
 *   1. bpf_testmod_return_ptr(i) for i = 1.. until it returns NULL (i = 8 on arm64)
 *   2. struct_arg_1({2,3},1,4)  _2(1,{2,3},4)  _3(1,4,{2,3})  _4({10},1,2,3,{2,3})  _5()
 *      _7(16,17,18,19,20,{21,22})  _8(..., {21,22}, 23)  _9(16,17,18,19,20,21,22,{23,24,25,26},27)
 *   3. union_arg_1({1},4,5)  union_arg_2(6,{2,3})  arg_ptr_to_struct(&{-1})
 *      int128_ret(i)  int128_arg(1,2,3)                       (under __SIZEOF_INT128__)
 *      tp bpf_testmod_test_raw_tp_null  struct_ops3  _6(kmalloc'd, b[0]=1)  loop_test(101)
 *      tp bpf_testmod_test_read  tp bpf_testmod_test_nullable_bare  (len == 64: writable tp)
 *   4. fentry_test1(1)==2  test2(2,3)==5  test3(4,5,6)==15  test7(16..22)==133  test11(16..26)==231
 *      → trampoline_count_test(), stacktrace_test_1(), bpf_testmod_fentry_ok = 1
 *   and always returns -EIO.
 *
 * Simplifications:
 *  - Pure functions that test_read checks hide an argument from the optimiser
 *    (OPTIMIZER_HIDE_VAR), so that clang can neither fold their results nor drop their calls.
 *  - Tracepoints are empty noinline hooks named trace_<tracepoint> (attachable with
 *    fentry/fexit); their btf_trace_<tracepoint> typedefs are in BTF, as in the kernel.
 *    `current` is passed as NULL to trace_bpf_testmod_test_read.
 *  - struct_ops are not registered: st_ops3 stays NULL, so bpf_testmod_test_struct_ops3()
 *    calls nothing, as in the kernel when no struct_ops map is attached.
 *  - kfuncs are plain functions; their registration (BTF ID sets, flags) belongs to the
 *    TypeScript kfunc registry. Per-CPU data, sockets and uprobes are not modelled.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/fs.h>
#include <linux/bpf.h>
#include "bpf_testmod.h"

struct sk_buff;

typedef int (*func_proto_typedef)(long);
typedef int (*func_proto_typedef_nested1)(func_proto_typedef);
typedef int (*func_proto_typedef_nested2)(func_proto_typedef_nested1);

long bpf_testmod_test_struct_arg_result;
int bpf_testmod_fentry_ok;

struct bpf_testmod_struct_arg_1 {
	int a;
};

struct bpf_testmod_struct_arg_2 {
	long a;
	long b;
};

struct bpf_testmod_struct_arg_3 {
	int a;
	int b[];
};

struct bpf_testmod_struct_arg_4 {
	u64 a;
	int b;
};

struct bpf_testmod_struct_arg_5 {
	char a;
	short b;
	int c;
	long d;
};

union bpf_testmod_union_arg_1 {
	char a;
	short b;
	struct bpf_testmod_struct_arg_1 arg;
};

union bpf_testmod_union_arg_2 {
	int a;
	long b;
	struct bpf_testmod_struct_arg_2 arg;
};

/* --- tracepoint hooks ------------------------------------------------------------ */

typedef void (*btf_trace_bpf_testmod_test_read)(void *__data, struct task_struct *task,
						struct bpf_testmod_test_read_ctx *ctx);
typedef void (*btf_trace_bpf_testmod_test_write_bare_tp)(void *__data, struct task_struct *task,
							  struct bpf_testmod_test_write_ctx *ctx);
typedef void (*btf_trace_bpf_testmod_test_raw_tp_null_tp)(void *__data, struct sk_buff *skb);
typedef void (*btf_trace_bpf_testmod_test_nullable_bare_tp)(void *__data, struct sk_buff *ctx__nullable);
typedef void (*btf_trace_bpf_testmod_test_writable_bare_tp)(void *__data,
							     struct bpf_testmod_test_writable_ctx *ctx);
typedef void (*btf_trace_bpf_testmod_fentry_test1_tp)(void *__data, int a);
typedef void (*btf_trace_bpf_testmod_fentry_test2_tp)(void *__data, int a, u64 b);

noinline void trace_bpf_testmod_test_read(struct task_struct *task, struct bpf_testmod_test_read_ctx *ctx)
{
	BTF_TYPE_EMIT(btf_trace_bpf_testmod_test_read);
	asm volatile("" : : "r"(task), "r"(ctx) : "memory");
}

noinline void trace_bpf_testmod_test_write_bare_tp(struct task_struct *task, struct bpf_testmod_test_write_ctx *ctx)
{
	BTF_TYPE_EMIT(btf_trace_bpf_testmod_test_write_bare_tp);
	asm volatile("" : : "r"(task), "r"(ctx) : "memory");
}

noinline void trace_bpf_testmod_test_raw_tp_null_tp(struct sk_buff *skb)
{
	BTF_TYPE_EMIT(btf_trace_bpf_testmod_test_raw_tp_null_tp);
	asm volatile("" : : "r"(skb) : "memory");
}

noinline void trace_bpf_testmod_test_nullable_bare_tp(struct sk_buff *ctx__nullable)
{
	BTF_TYPE_EMIT(btf_trace_bpf_testmod_test_nullable_bare_tp);
	asm volatile("" : : "r"(ctx__nullable) : "memory");
}

noinline void trace_bpf_testmod_test_writable_bare_tp(struct bpf_testmod_test_writable_ctx *ctx)
{
	BTF_TYPE_EMIT(btf_trace_bpf_testmod_test_writable_bare_tp);
	/* A writable tracepoint: the attached program may change *ctx. */
	asm volatile("" : : "r"(ctx) : "memory");
}

noinline void trace_bpf_testmod_fentry_test1_tp(int a)
{
	BTF_TYPE_EMIT(btf_trace_bpf_testmod_fentry_test1_tp);
	asm volatile("" : : "r"(a));
}

noinline void trace_bpf_testmod_fentry_test2_tp(int a, u64 b)
{
	BTF_TYPE_EMIT(btf_trace_bpf_testmod_fentry_test2_tp);
	asm volatile("" : : "r"(a), "r"(b));
}

/* --- struct and union arguments -------------------------------------------------- */

__bpf_hook_start();

noinline int bpf_testmod_test_struct_arg_1(struct bpf_testmod_struct_arg_2 a, int b, int c)
{
	bpf_testmod_test_struct_arg_result = a.a + a.b + b + c;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_struct_arg_2(int a, struct bpf_testmod_struct_arg_2 b, int c)
{
	bpf_testmod_test_struct_arg_result = a + b.a + b.b + c;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_struct_arg_3(int a, int b, struct bpf_testmod_struct_arg_2 c)
{
	bpf_testmod_test_struct_arg_result = a + b + c.a + c.b;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_struct_arg_4(struct bpf_testmod_struct_arg_1 a, int b, int c, int d,
					   struct bpf_testmod_struct_arg_2 e)
{
	bpf_testmod_test_struct_arg_result = a.a + b + c + d + e.a + e.b;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_struct_arg_5(void)
{
	bpf_testmod_test_struct_arg_result = 1;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_struct_arg_6(struct bpf_testmod_struct_arg_3 *a)
{
	bpf_testmod_test_struct_arg_result = a->b[0];
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_struct_arg_7(u64 a, void *b, short c, int d, void *e,
					   struct bpf_testmod_struct_arg_4 f)
{
	bpf_testmod_test_struct_arg_result = a + (long)b + c + d + (long)e + f.a + f.b;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_struct_arg_8(u64 a, void *b, short c, int d, void *e,
					   struct bpf_testmod_struct_arg_4 f, int g)
{
	bpf_testmod_test_struct_arg_result = a + (long)b + c + d + (long)e + f.a + f.b + g;
	return bpf_testmod_test_struct_arg_result;
}

/* On arm64, a..g take x0..x6; h (16 bytes, two slots) and i go on the stack. */
noinline int bpf_testmod_test_struct_arg_9(u64 a, void *b, short c, int d, void *e, char f, short g,
					   struct bpf_testmod_struct_arg_5 h, long i)
{
	bpf_testmod_test_struct_arg_result = a + (long)b + c + d + (long)e + f + g + h.a + h.b + h.c + h.d + i;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_union_arg_1(union bpf_testmod_union_arg_1 a, int b, int c)
{
	bpf_testmod_test_struct_arg_result = a.arg.a + b + c;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_union_arg_2(int a, union bpf_testmod_union_arg_2 b)
{
	bpf_testmod_test_struct_arg_result = a + b.arg.a + b.arg.b;
	return bpf_testmod_test_struct_arg_result;
}

noinline int bpf_testmod_test_arg_ptr_to_struct(struct bpf_testmod_struct_arg_1 *a)
{
	bpf_testmod_test_struct_arg_result = a->a;
	return bpf_testmod_test_struct_arg_result;
}

#ifdef __SIZEOF_INT128__
noinline __int128 bpf_testmod_test_int128_ret(int a)
{
	bpf_testmod_test_struct_arg_result = a;
	return (__int128)a;
}

/*
 * The __int128 comes first on purpose: a 16-byte argument starts at an
 * even register (x0:x1), so no register is skipped and pahole's
 * positional register check keeps the function in BTF.
 */
noinline long bpf_testmod_test_int128_arg(__int128 a, int b, long c)
{
	bpf_testmod_test_struct_arg_result = (long)a + b + c;
	return bpf_testmod_test_struct_arg_result;
}
#endif

__weak noinline void bpf_testmod_looooooooooooooooooooooooooooooong_name(void)
{
}

/* --- BTF type tags (empty annotations here) -------------------------------------- */

struct bpf_testmod_btf_type_tag_1 {
	int a;
};

struct bpf_testmod_btf_type_tag_2 {
	struct bpf_testmod_btf_type_tag_1 __user *p;
};

struct bpf_testmod_btf_type_tag_3 {
	struct bpf_testmod_btf_type_tag_1 __percpu *p;
};

noinline int bpf_testmod_test_btf_type_tag_user_1(struct bpf_testmod_btf_type_tag_1 __user *arg)
{
	BTF_TYPE_EMIT(func_proto_typedef);
	BTF_TYPE_EMIT(func_proto_typedef_nested1);
	BTF_TYPE_EMIT(func_proto_typedef_nested2);
	return arg->a;
}

noinline int bpf_testmod_test_btf_type_tag_user_2(struct bpf_testmod_btf_type_tag_2 *arg)
{
	return arg->p->a;
}

noinline int bpf_testmod_test_btf_type_tag_percpu_1(struct bpf_testmod_btf_type_tag_1 __percpu *arg)
{
	return arg->a;
}

noinline int bpf_testmod_test_btf_type_tag_percpu_2(struct bpf_testmod_btf_type_tag_3 *arg)
{
	return arg->p->a;
}

/* --- struct_ops (not registered) ------------------------------------------------- */

static struct bpf_testmod_ops3 *st_ops3;

static noinline void bpf_testmod_test_struct_ops3(void)
{
	if (st_ops3)
		st_ops3->test_1();
}

/* --- the functions test_read checks ---------------------------------------------- */

noinline int bpf_testmod_loop_test(int n)
{
	/* volatile, so that clang keeps the loop (its branches are the point). */
	volatile int sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += i;
	return sum;
}

__weak noinline struct file *bpf_testmod_return_ptr(int arg)
{
	static struct file f = {};

	switch (arg) {
	case 1: return (void *)EINVAL;			/* user address */
	case 2: return (void *)0xcafe4a11;		/* user address */
	case 3: return (void *)-EINVAL;			/* canonical, but invalid */
	case 4: return (void *)(1ull << 60);		/* non-canonical and invalid */
	case 5: return (void *)~(1ull << 30);		/* triggers an extable entry */
	case 6: return &f;				/* valid address */
	case 7: return (void *)((long)&f | 1);		/* kernel pointer tricks */
	default: return NULL;				/* (case 8, VSYSCALL_ADDR, is x86-only) */
	}
}

noinline int bpf_testmod_fentry_test1(int a)
{
	trace_bpf_testmod_fentry_test1_tp(a);

	return a + 1;
}

noinline int bpf_testmod_fentry_test2(int a, u64 b)
{
	trace_bpf_testmod_fentry_test2_tp(a, b);

	return a + b;
}

noinline int bpf_testmod_fentry_test3(char a, int b, u64 c)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + b + c;
}

noinline int bpf_testmod_fentry_test7(u64 a, void *b, short c, int d, void *e, char f, int g)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + (long)b + c + d + (long)e + f + g;
}

noinline int bpf_testmod_fentry_test11(u64 a, void *b, short c, int d, void *e, char f, int g,
				       unsigned int h, long i, __u64 j, unsigned long k)
{
	OPTIMIZER_HIDE_VAR(a);
	return a + (long)b + c + d + (long)e + f + g + h + i + j + k;
}

noinline void bpf_testmod_stacktrace_test(void)
{
	/* The attach point of the stacktrace test. */
	asm volatile("");
}

noinline void bpf_testmod_stacktrace_test_3(void)
{
	bpf_testmod_stacktrace_test();
	asm volatile("");
}

noinline void bpf_testmod_stacktrace_test_2(void)
{
	bpf_testmod_stacktrace_test_3();
	asm volatile("");
}

noinline void bpf_testmod_stacktrace_test_1(void)
{
	bpf_testmod_stacktrace_test_2();
	asm volatile("");
}

noinline int bpf_testmod_trampoline_count_test(void)
{
	int ret = 0;

	OPTIMIZER_HIDE_VAR(ret);
	return ret;
}

/* snprintf(buf, len, "%d\n", val) for the writable tracepoint's early return. */
static int format_int_line(char *buf, size_t len, int val)
{
	char tmp[16];
	unsigned int u = val < 0 ? -(unsigned int)val : (unsigned int)val;
	int n = 0, out = 0;

	do {
		tmp[n++] = '0' + u % 10;
		u /= 10;
	} while (u);
	if (val < 0)
		tmp[n++] = '-';
	while (n > 0) {
		if ((size_t)out + 1 < len)
			buf[out] = tmp[n - 1];
		out++;
		n--;
	}
	if ((size_t)out + 1 < len)
		buf[out] = '\n';
	out++;
	if (len)
		buf[(size_t)out < len ? (size_t)out : len - 1] = '\0';
	return out;
}

noinline ssize_t bpf_testmod_test_read(struct file *file, struct kobject *kobj, const struct bin_attribute *bin_attr,
				       char *buf, loff_t off, size_t len)
{
	struct bpf_testmod_test_read_ctx ctx = {
		.buf = buf,
		.off = off,
		.len = len,
	};
	struct bpf_testmod_struct_arg_1 struct_arg1 = { 10 }, struct_arg1_2 = { -1 };
	struct bpf_testmod_struct_arg_2 struct_arg2 = { 2, 3 };
	struct bpf_testmod_struct_arg_3 *struct_arg3;
	struct bpf_testmod_struct_arg_4 struct_arg4 = { 21, 22 };
	struct bpf_testmod_struct_arg_5 struct_arg5 = { 23, 24, 25, 26 };
	union bpf_testmod_union_arg_1 union_arg1 = { .arg = { 1 } };
	union bpf_testmod_union_arg_2 union_arg2 = { .arg = { 2, 3 } };
	int i = 1;

	while (bpf_testmod_return_ptr(i))
		i++;

	(void)bpf_testmod_test_struct_arg_1(struct_arg2, 1, 4);
	(void)bpf_testmod_test_struct_arg_2(1, struct_arg2, 4);
	(void)bpf_testmod_test_struct_arg_3(1, 4, struct_arg2);
	(void)bpf_testmod_test_struct_arg_4(struct_arg1, 1, 2, 3, struct_arg2);
	(void)bpf_testmod_test_struct_arg_5();
	(void)bpf_testmod_test_struct_arg_7(16, (void *)17, 18, 19, (void *)20, struct_arg4);
	(void)bpf_testmod_test_struct_arg_8(16, (void *)17, 18, 19, (void *)20, struct_arg4, 23);
	(void)bpf_testmod_test_struct_arg_9(16, (void *)17, 18, 19, (void *)20, 21, 22, struct_arg5, 27);

	(void)bpf_testmod_test_union_arg_1(union_arg1, 4, 5);
	(void)bpf_testmod_test_union_arg_2(6, union_arg2);

	(void)bpf_testmod_test_arg_ptr_to_struct(&struct_arg1_2);

#ifdef __SIZEOF_INT128__
	(void)bpf_testmod_test_int128_ret(i);
	(void)bpf_testmod_test_int128_arg((__int128)1, 2, 3);
#endif

	trace_bpf_testmod_test_raw_tp_null_tp(NULL);

	bpf_testmod_test_struct_ops3();

	struct_arg3 = kmalloc(sizeof(struct bpf_testmod_struct_arg_3) + sizeof(int), GFP_KERNEL);
	if (struct_arg3 != NULL) {
		struct_arg3->b[0] = 1;
		(void)bpf_testmod_test_struct_arg_6(struct_arg3);
		kfree(struct_arg3);
	}

	/* Always true; the check keeps the compiler from dropping the call. */
	if (bpf_testmod_loop_test(101) > 100)
		trace_bpf_testmod_test_read(NULL, &ctx);

	trace_bpf_testmod_test_nullable_bare_tp(NULL);

	/* Magic length that enables the writable tracepoint. */
	if (len == 64) {
		struct bpf_testmod_test_writable_ctx writable = {
			.val = 1024,
		};
		trace_bpf_testmod_test_writable_bare_tp(&writable);
		if (writable.early_ret)
			return format_int_line(buf, len, writable.val);
	}

	if (bpf_testmod_fentry_test1(1) != 2 ||
	    bpf_testmod_fentry_test2(2, 3) != 5 ||
	    bpf_testmod_fentry_test3(4, 5, 6) != 15 ||
	    bpf_testmod_fentry_test7(16, (void *)17, 18, 19, (void *)20, 21, 22) != 133 ||
	    bpf_testmod_fentry_test11(16, (void *)17, 18, 19, (void *)20, 21, 22, 23, 24, 25, 26) != 231)
		goto out;

	bpf_testmod_trampoline_count_test();

	bpf_testmod_stacktrace_test_1();

	bpf_testmod_fentry_ok = 1;
out:
	return -EIO; /* always fails */
}
EXPORT_SYMBOL(bpf_testmod_test_read);
ALLOW_ERROR_INJECTION(bpf_testmod_test_read, ERRNO);

noinline ssize_t bpf_testmod_test_write(struct file *file, struct kobject *kobj, const struct bin_attribute *bin_attr,
					char *buf, loff_t off, size_t len)
{
	struct bpf_testmod_test_write_ctx ctx = {
		.buf = buf,
		.off = off,
		.len = len,
	};

	trace_bpf_testmod_test_write_bare_tp(NULL, &ctx);

	return -EIO; /* always fails */
}
EXPORT_SYMBOL(bpf_testmod_test_write);
ALLOW_ERROR_INJECTION(bpf_testmod_test_write, ERRNO);

/* Shadows the kernel's bpf_fentry_shadow_test (which returns a + 1). */
noinline int bpf_fentry_shadow_test(int a)
{
	return a + 2;
}
EXPORT_SYMBOL_GPL(bpf_fentry_shadow_test);

__bpf_hook_end();

/* --- kfuncs (plain functions; registration is the TypeScript registry's) ---------- */

struct sock;

__bpf_kfunc u64 bpf_kfunc_call_test1(struct sock *sk, u32 a, u64 b, u32 c, u64 d)
{
	return a + b + c + d;
}

__bpf_kfunc int bpf_kfunc_call_test2(struct sock *sk, u32 a, u32 b)
{
	return a + b;
}

__bpf_kfunc struct sock *bpf_kfunc_call_test3(struct sock *sk)
{
	return sk;
}

/* Checks that the caller sign-extended a, b and c (returns 1, 2, 3 if not). */
__bpf_kfunc long noinline bpf_kfunc_call_test4(signed char a, short b, int c, long d)
{
	volatile long val;

	val = a;
	if (val >= 0)
		return 1;
	val = b;
	if (val >= 0)
		return 2;
	val = c;
	if (val >= 0)
		return 3;
	return (long)a + (long)b + (long)c + d;
}

/* Checks that the caller zero-extended a, b and c (returns 1..6 if not). */
__bpf_kfunc int bpf_kfunc_call_test5(u8 a, u16 b, u32 c)
{
	volatile long val = a;

	if (val != (unsigned long)a)
		return 1;
	if (val < 0)
		return 2;
	val = b;
	if (val != (unsigned long)b)
		return 3;
	if (val < 0)
		return 4;
	val = c;
	if (val != (unsigned long)c)
		return 5;
	if (val < 0)
		return 6;
	return 0;
}

__bpf_kfunc u64 bpf_kfunc_call_stack_arg(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f, u64 g, u64 h, u64 i, u64 j)
{
	return a + b + c + d + e + f + g + h + i + j;
}

__bpf_kfunc void bpf_kfunc_common_test(void)
{
}

MODULE_LICENSE("Dual BSD/GPL");
MODULE_DESCRIPTION("BPF selftests module");
