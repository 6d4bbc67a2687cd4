/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by bpf_testmod and its tracepoints (models
 * tools/testing/selftests/bpf/test_kmods/bpf_testmod.h).
 */
#ifndef _BPF_TESTMOD_H
#define _BPF_TESTMOD_H

#include <linux/types.h>

struct task_struct;
struct cgroup;

struct bpf_testmod_test_read_ctx {
	char *buf;
	loff_t off;
	size_t len;
};

struct bpf_testmod_test_write_ctx {
	char *buf;
	loff_t off;
	size_t len;
};

struct bpf_testmod_test_writable_ctx {
	bool early_ret;
	int val;
};

/* BPF iterator state: returns *value* *cnt* times. */
struct bpf_iter_testmod_seq {
	s64 value;
	int cnt;
};

struct bpf_testmod_ops3 {
	int (*test_1)(void);
	int (*test_2)(void);
};

#endif /* _BPF_TESTMOD_H */
