/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filesystem and sysfs types that kernel function signatures mention
 * (include/linux/fs.h, kobject.h, sysfs.h). The simulated kernel has no
 * VFS: bpf_testmod's sysfs file is a TypeScript device. struct file has
 * a few of the kernel's fields so that objects of it can exist; inode,
 * kobject and bin_attribute are only declared.
 */
#ifndef _LINUX_FS_H
#define _LINUX_FS_H

#include <linux/types.h>

struct file {
	unsigned int f_flags;
	unsigned int f_mode;
	loff_t f_pos;
	void *private_data;
};
struct inode;
struct kobject;
struct bin_attribute;

#endif /* _LINUX_FS_H */
