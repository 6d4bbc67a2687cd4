/* SPDX-License-Identifier: GPL-2.0 */
/*
 * a64bpf's bpf_experimental.h: the API of the kernel selftests' header of
 * the same name that the ported programs use, written for this project.
 *
 *   bpf_throw(cookie)              kfunc; never returns to its caller: the
 *                                  exception callback of the boundary program
 *                                  runs instead (runtime/bpf/exceptions)
 *   __exception_cb(name)           decl tag "exception_callback:<name>" on
 *                                  the main program: name is its callback,
 *                                  a global `int name(u64 cookie)`
 *   bpf_cmp_unlikely(a, OP, b)     a OP b as one conditional jump on the
 *                                  registers (signed when a's type is signed
 *                                  and OP is an ordering), so the verifier
 *                                  learns from it
 *   bpf_assert(c) / _with(c, v)    throw 0 (or v) unless c
 *   bpf_assert_range(x, lo, hi)    throw 0 unless lo <= x <= hi (inclusive)
 *   bpf_assert_range_with(.., v)   same, throwing v
 *
 * Object, graph and region kfuncs are declared because the ported programs
 * call them. The simulated kernel has bpf_obj_new_impl/bpf_obj_drop_impl and
 * the region kfuncs (bpf_rcu_read_lock/unlock, bpf_preempt_disable/enable,
 * bpf_local_irq_save/restore), but not the graph ones (bpf_rbtree_add_impl,
 * ...). They are __weak here so that an unresolved one leaves the call with
 * imm 0 (libbpf) instead of making libbpf refuse the whole object.
 */
#ifndef __A64BPF_BPF_EXPERIMENTAL_H
#define __A64BPF_BPF_EXPERIMENTAL_H

#include <vmlinux.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* ---- exceptions ------------------------------------------------------ */

extern void bpf_throw(u64 cookie) __ksym;

#define __exception_cb(name) __attribute__((btf_decl_tag("exception_callback:" #name)))

/* Is the type signed? (-1 converted to it compares below 1.) */
#define __bpf_type_is_signed(type) (((type)(-1)) < (type)1)

/* Operators that only exist unsigned in BPF conditional jumps. */
#define __bpf_op_is_unsigned_only(op)                                                      \
	(__builtin_strcmp(#op, "==") == 0 || __builtin_strcmp(#op, "!=") == 0 || \
	 __builtin_strcmp(#op, "&") == 0)

/*
 * One "if lhs OP rhs goto" whose taken side yields `taken`: the verifier
 * sees the comparison on the very registers the program keeps using.
 * `rhs_kind` is "r" for a register (64-bit constants do not fit an
 * immediate) or "i" for a 32-bit immediate.
 */
#define __bpf_jcmp(lhs, op_text, rhs_kind, rhs, taken)                               \
	({                                                                           \
		__label__ __bpf_jcmp_taken;                                          \
		bool __bpf_jcmp_res = (taken);                                        \
		asm volatile goto("if %[l] " op_text " %[r] goto %l[__bpf_jcmp_taken]" \
				  :                                                  \
				  : [l] "r"(lhs), [r] rhs_kind(rhs)                  \
				  :                                                  \
				  : __bpf_jcmp_taken);                               \
		__bpf_jcmp_res = !(taken);                                          \
	__bpf_jcmp_taken:                                                            \
		__bpf_jcmp_res;                                                      \
	})

#define __bpf_jcmp_sized(lhs, op_text, rhs, taken)                                  \
	(sizeof(rhs) == 8 ? __bpf_jcmp(lhs, op_text, "r", rhs, taken) \
			  : __bpf_jcmp(lhs, op_text, "i", rhs, taken))

/*
 * bpf_cmp_unlikely(LHS, OP, RHS): LHS must be an lvalue; the comparison is
 * signed when LHS's type is signed and OP orders (<, <=, >, >=).
 */
#define bpf_cmp_unlikely(LHS, OP, RHS)                                                  \
	({                                                                              \
		typeof(LHS) __cmp_l = (LHS);                                            \
		typeof(RHS) __cmp_r = (RHS);                                            \
		bool __cmp_res;                                                         \
		_Static_assert(sizeof(&(LHS)), "bpf_cmp_unlikely: LHS must be an lvalue"); \
		(void)(__cmp_l OP __cmp_r);                                             \
		if (__bpf_op_is_unsigned_only(OP) || !__bpf_type_is_signed(typeof(__cmp_l))) \
			__cmp_res = __bpf_jcmp_sized(__cmp_l, #OP, __cmp_r, true);     \
		else                                                                    \
			__cmp_res = __bpf_jcmp_sized(__cmp_l, "s" #OP, __cmp_r, true); \
		__cmp_res;                                                              \
	})

#define bpf_assert(cond)        \
	if (!(cond))            \
		bpf_throw(0);

#define bpf_assert_with(cond, value) \
	if (!(cond))                 \
		bpf_throw(value);

#define bpf_assert_range_with(x, beg, end, value)                 \
	({                                                        \
		typeof(x) __range_v = (x);                        \
		if (!bpf_cmp_unlikely(__range_v, >=, (beg)))      \
			bpf_throw(value);                         \
		if (!bpf_cmp_unlikely(__range_v, <=, (end)))      \
			bpf_throw(value);                         \
	})

#define bpf_assert_range(x, beg, end) bpf_assert_range_with(x, beg, end, 0)

/* ---- objects, graphs and regions (graph kfuncs: not in the simulated kernel) */

#define __contains(name, node) __attribute__((btf_decl_tag("contains:" #name ":" #node)))

extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym __weak;
#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))

extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym __weak;
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)

extern int bpf_rbtree_add_impl(struct bpf_rb_root *root, struct bpf_rb_node *node,
			       bool (less)(struct bpf_rb_node *a, const struct bpf_rb_node *b),
			       void *meta, __u64 off) __ksym __weak;
#define bpf_rbtree_add(head, node, less) bpf_rbtree_add_impl(head, node, less, NULL, 0)

extern void bpf_rcu_read_unlock(void) __ksym __weak;
extern void bpf_preempt_disable(void) __ksym __weak;
extern void bpf_preempt_enable(void) __ksym __weak;
extern void bpf_local_irq_save(unsigned long *flags) __ksym __weak;
extern void bpf_local_irq_restore(unsigned long *flags) __ksym __weak;

#endif /* __A64BPF_BPF_EXPERIMENTAL_H */
