// SPDX-License-Identifier: GPL-2.0
/*
 * Byte-wise memory and string helpers (models lib/string.c, the generic
 * C versions; arm64's optimised assembly is not modelled).
 *
 * The compiler may emit calls to memcpy/memset/memmove/memcmp for struct
 * copies and initialisers, so they must exist even in a freestanding
 * image. Built with -ffreestanding (no builtins), so clang does not turn
 * these loops back into calls to themselves.
 */
#include <linux/kernel.h>
#include <linux/string.h>

void *memcpy(void *dest, const void *src, size_t count)
{
	char *d = dest;
	const char *s = src;

	while (count--)
		*d++ = *s++;
	return dest;
}
EXPORT_SYMBOL(memcpy);

void *memmove(void *dest, const void *src, size_t count)
{
	char *d = dest;
	const char *s = src;

	if (d <= s || d >= s + count) {
		while (count--)
			*d++ = *s++;
	} else {
		d += count;
		s += count;
		while (count--)
			*--d = *--s;
	}
	return dest;
}
EXPORT_SYMBOL(memmove);

void *memset(void *s, int c, size_t count)
{
	char *p = s;

	while (count--)
		*p++ = (char)c;
	return s;
}
EXPORT_SYMBOL(memset);

int memcmp(const void *cs, const void *ct, size_t count)
{
	const unsigned char *a = cs, *b = ct;

	for (; count; count--, a++, b++) {
		if (*a != *b)
			return *a < *b ? -1 : 1;
	}
	return 0;
}
EXPORT_SYMBOL(memcmp);

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return p - s;
}
EXPORT_SYMBOL(strlen);

size_t strnlen(const char *s, size_t count)
{
	const char *p = s;

	while (count-- && *p)
		p++;
	return p - s;
}
EXPORT_SYMBOL(strnlen);

int strcmp(const char *cs, const char *ct)
{
	unsigned char a, b;

	do {
		a = *cs++;
		b = *ct++;
		if (a != b)
			return a < b ? -1 : 1;
	} while (a);
	return 0;
}
EXPORT_SYMBOL(strcmp);
