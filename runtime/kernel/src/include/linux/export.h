/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exported symbols (models include/linux/export.h).
 *
 * EXPORT_SYMBOL(sym) records the name in the __ksymtab_strings section.
 * The module loader (runtime/kernel/module.ts) links a module only against
 * exported symbols of the kernel and of loaded modules, and refuses a
 * module that exports a name someone else already exports, as
 * kernel/module/main.c does. The GPL distinction is kept as a name only.
 */
#ifndef _LINUX_EXPORT_H
#define _LINUX_EXPORT_H

#define __EXPORT_SYMBOL(sym)                                                      \
	static const char __kstrtab_##sym[]                                       \
		__attribute__((__section__("__ksymtab_strings"), __used__, __aligned__(1))) = #sym

#define EXPORT_SYMBOL(sym) __EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym) __EXPORT_SYMBOL(sym)

#endif /* _LINUX_EXPORT_H */
