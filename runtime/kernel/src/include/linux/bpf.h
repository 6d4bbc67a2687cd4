/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-internal BPF declarations (models include/linux/bpf.h).
 *
 * struct bpf_prog, bpf_tramp_image and bpf_tramp_run_ctx live on the
 * TypeScript side (runtime/bpf, runtime/tramp); C code only passes
 * pointers to them, so they are declared, not defined.
 */
#ifndef _LINUX_BPF_H
#define _LINUX_BPF_H

#include <linux/kernel.h>
#include <uapi/linux/bpf.h>

struct bpf_prog;
struct bpf_tramp_image;
struct bpf_tramp_run_ctx;
struct skb_shared_info;

#define MAX_BPF_FUNC_ARGS 12

#endif /* _LINUX_BPF_H */
