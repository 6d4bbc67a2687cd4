// SPDX-License-Identifier: GPL-2.0
/*
 * Puts the uapi types BPF programs need into the kernel's BTF.
 *
 * In the real kernel these types reach vmlinux BTF because kernel code
 * uses them (net/core/filter.c, kernel/bpf/ (verifier, helpers), arch/arm64). The
 * simulated kernel has no such code, so this file is built with
 * -fno-eliminate-unused-debug-types: every type declared by the headers
 * below is written to DWARF and pahole turns it into BTF, which
 * `a64bpf btf dump --format c` then writes into vmlinux.h.
 */
#include <linux/bpf.h>
#include <linux/mutex.h>
#include <uapi/linux/bpf.h>
#include <uapi/linux/net_headers.h>
#include <asm/ptrace.h>
