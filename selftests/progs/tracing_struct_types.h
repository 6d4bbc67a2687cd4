/* SPDX-License-Identifier: GPL-2.0 */
/* The struct and union argument types of bpf_testmod's test functions, as
 * the module defines them (its BTF is not part of vmlinux.h).
 */
#ifndef __TRACING_STRUCT_TYPES_H
#define __TRACING_STRUCT_TYPES_H

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
	__u64 a;
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

#endif
