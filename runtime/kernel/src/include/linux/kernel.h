/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The catch-all kernel header of the simulated kernel (models
 * include/linux/kernel.h, container_of.h, limits.h, minmax.h).
 */
#ifndef _LINUX_KERNEL_H
#define _LINUX_KERNEL_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/stddef.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <a64bpf_services.h>

#define U8_MAX ((u8)~0U)
#define U16_MAX ((u16)~0U)
#define U32_MAX ((u32)~0U)
#define U64_MAX ((u64)~0ULL)
#define S32_MAX ((s32)(U32_MAX >> 1))
#define S32_MIN ((s32)(-S32_MAX - 1))
#define LONG_MAX ((long)(~0UL >> 1))
#define ULONG_MAX (~0UL)

#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))

#define KERN_SOH "\001"
#define KERN_ERR KERN_SOH "3"
#define KERN_WARNING KERN_SOH "4"
#define KERN_INFO KERN_SOH "6"
#define KERN_DEBUG KERN_SOH "7"
#define pr_err(fmt, ...) printk(KERN_ERR fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) printk(KERN_WARNING fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) printk(KERN_INFO fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) printk(KERN_DEBUG fmt, ##__VA_ARGS__)

/* BUG()/WARN_ON() report to the TypeScript side with file and line. */
#define BUG() a64bpf_bug(__FILE__, __LINE__)
#define BUG_ON(cond)                       \
	do {                               \
		if (unlikely(cond))        \
			BUG();             \
	} while (0)
#define WARN_ON(cond)                                                                  \
	({                                                                             \
		int __ret_warn_on = !!(cond);                                          \
		if (unlikely(__ret_warn_on))                                           \
			__warn_printk("WARNING at %s:%d\n", __FILE__, __LINE__);       \
		unlikely(__ret_warn_on);                                               \
	})

#endif /* _LINUX_KERNEL_H */
