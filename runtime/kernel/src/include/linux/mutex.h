/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct mutex (models include/linux/mutex_types.h, mutex.h).
 *
 * Simplification: the lock state (owner task, waiters) lives on the
 * TypeScript side, keyed by the mutex's address; mutex_lock() and
 * mutex_unlock() are kernel services (hypercalls). The fields keep the
 * kernel's names and layout so that BTF and memory dumps look familiar.
 */
#ifndef _LINUX_MUTEX_H
#define _LINUX_MUTEX_H

#include <linux/kernel.h>

struct mutex {
	atomic_long_t owner;
	unsigned int wait_lock;
	struct list_head wait_list;
};

#define __MUTEX_INITIALIZER(lockname)                                                    \
	{                                                                                \
		.owner = { 0 }, .wait_lock = 0,                                          \
		.wait_list = { &(lockname).wait_list, &(lockname).wait_list },           \
	}

#define DEFINE_MUTEX(mutexname) struct mutex mutexname = __MUTEX_INITIALIZER(mutexname)

/* Serialises kernel text patching (kernel/extable.c). */
extern struct mutex text_mutex;

#endif /* _LINUX_MUTEX_H */
