/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Module declarations (models include/linux/module.h). Modules of the
 * simulated kernel are linked by runtime/kernel/module.ts; init/exit and
 * license macros are accepted and ignored.
 */
#ifndef _LINUX_MODULE_H
#define _LINUX_MODULE_H

#include <linux/kernel.h>

struct module;

#define module_init(fn)
#define module_exit(fn)
#define MODULE_LICENSE(s)
#define MODULE_AUTHOR(s)
#define MODULE_DESCRIPTION(s)
#define ALLOW_ERROR_INJECTION(fn, type)

#endif /* _LINUX_MODULE_H */
