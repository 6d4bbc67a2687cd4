/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64 register frames (models arch/arm64/include/uapi/asm/ptrace.h and
 * arch/arm64/include/asm/ptrace.h).
 *
 * struct user_pt_regs is the uapi layout libbpf's PT_REGS_* macros use on
 * arm64 (regs[31], sp, pc, pstate); struct pt_regs starts with it. The
 * fields after orig_x0 follow recent kernels; they are internal and may
 * differ between kernel versions (CO-RE relocations absorb that).
 */
#ifndef _ASM_PTRACE_H
#define _ASM_PTRACE_H

#include <linux/types.h>

struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};

struct frame_record {
	u64 fp;
	u64 lr;
};

struct frame_record_meta {
	struct frame_record record;
	u64 type;
};

struct pt_regs {
	union {
		struct user_pt_regs user_regs;
		struct {
			u64 regs[31];
			u64 sp;
			u64 pc;
			u64 pstate;
		};
	};
	u64 orig_x0;
	s32 syscallno;
	u32 pmr;
	u64 sdei_ttbr1;
	struct frame_record_meta stackframe;
	u64 lockdep_hardirqs;
	u64 exit_rcu;
};

#endif /* _ASM_PTRACE_H */
