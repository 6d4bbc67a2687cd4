/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compiler attributes of the simulated kernel (models
 * include/linux/compiler_types.h, compiler_attributes.h, compiler.h).
 *
 * notrace: on arm64 with DYNAMIC_FTRACE_WITH_ARGS the kernel builds with
 * -fpatchable-function-entry=2 and marks untraceable functions with
 * patchable_function_entry(0, 0): no NOPs, no __patchable_function_entries
 * record, so no ftrace location and no fentry/fexit attachment.
 * Sparse annotations (__user, __percpu, __bitwise, __force) are empty.
 */
#ifndef _LINUX_COMPILER_H
#define _LINUX_COMPILER_H

#define noinline __attribute__((__noinline__))
#define __used __attribute__((__used__))
#define __weak __attribute__((__weak__))
#define __always_inline inline __attribute__((__always_inline__))
#define __aligned(x) __attribute__((__aligned__(x)))
#define __packed __attribute__((__packed__))
#define __maybe_unused __attribute__((__unused__))
#define __noreturn __attribute__((__noreturn__))
#define __section(s) __attribute__((__section__(s)))
#define notrace __attribute__((__patchable_function_entry__(0, 0)))

#define __user
#define __percpu
#define __rcu
#define __bitwise
#define __force

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define barrier() __asm__ __volatile__("" : : : "memory")

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val)                                  \
	do {                                                \
		*(volatile __typeof__(x) *)&(x) = (val);    \
	} while (0)

/*
 * Makes var opaque to the optimiser (and the enclosing function impure).
 * clang sees the test functions and their callers in one translation
 * unit: without this it folds bpf_fentry_test10(NULL) to 0 and drops calls
 * of pure functions such as bpf_testmod_trampoline_count_test(), leaving
 * nothing for fentry/fexit to see. The kernel does the same for
 * bpf_fentry_test7 (net/bpf/test_run.c).
 */
#define OPTIMIZER_HIDE_VAR(var) __asm__ __volatile__("" : "+r"(var))

/* Keep a type in DWARF (and so in BTF) without defining an object of it. */
#define BTF_TYPE_EMIT(type) ((void)(type *)0)

/* Functions that BPF programs call or attach to by BTF (include/linux/btf.h). */
#define __bpf_kfunc __used noinline
#define __bpf_hook_start()
#define __bpf_hook_end()
#define __bpf_kfunc_start_defs()
#define __bpf_kfunc_end_defs()

#endif /* _LINUX_COMPILER_H */
