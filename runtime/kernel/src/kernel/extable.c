// SPDX-License-Identifier: GPL-2.0
/*
 * text_mutex (models kernel/extable.c, where the kernel defines it).
 *
 * A real object in the image: the TypeScript text-poke code and the
 * mutex_lock/mutex_unlock services identify the mutex by this address
 * (kallsyms: "text_mutex"), so emulated code and TypeScript kernel threads
 * contend for the same lock.
 */
#include <linux/mutex.h>

DEFINE_MUTEX(text_mutex);
