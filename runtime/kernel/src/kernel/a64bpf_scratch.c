// SPDX-License-Identifier: GPL-2.0
/*
 * a64bpf_scratch: a zeroed, writable buffer with a kallsyms name, where
 * hand-written test code (assembled by runtime/a64) stores results that
 * the TypeScript side reads back. Not a kernel concept; the synthetic
 * image has the same symbol.
 */
#include <linux/kernel.h>

u8 a64bpf_scratch[0xf00] __aligned(64);
