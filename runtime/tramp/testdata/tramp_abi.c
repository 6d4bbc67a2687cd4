// SPDX-License-Identifier: GPL-2.0
/*
 * tramp_abi: a test module for the BPF trampoline's argument handling.
 *
 * Each abi_fN records the bytes of every argument it receives into
 * abi_record (16-byte slot per argument) and returns a value derived from
 * them; each call_fN calls abi_fN with fixed values. clang compiles both
 * sides, so the calls follow AAPCS64 exactly as clang implements it: the
 * tests compare what a trampoline in between sees (the BPF context) and
 * passes on (what abi_fN records) with what abi_fN records untraced.
 */
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/export.h>

struct abi_s4 { int a; };
struct abi_s12 { int a, b, c; };
struct abi_s16 { long a, b; };
/* Member-level alignment: clang passes it at an even register pair. */
struct abi_s16m { _Alignas(16) long a; long b; };
/* Struct-level alignment: ignored for argument passing. */
struct abi_s16a { long a, b; } __attribute__((aligned(16)));
struct abi_si128 { __int128 v; };
struct abi_s24 { long a, b, c; };
/* Padding only an alignment attribute explains: BTF alone cannot place it. */
struct abi_s8a { long a; } __attribute__((aligned(16)));

unsigned char abi_record[16 * 16];
EXPORT_SYMBOL(abi_record);

static __always_inline void rec(int i, const void *p, int n)
{
	volatile unsigned char *dst = &abi_record[16 * i];
	const unsigned char *src = p;
	for (int k = 0; k < 16; k++)
		dst[k] = k < n ? src[k] : 0;
}
#define REC(i, v) rec(i, &(v), sizeof(v))

noinline long abi_f8(char a, short b, int c, long d, void *e, char f, short g, int h)
{
	REC(0, a); REC(1, b); REC(2, c); REC(3, d); REC(4, e); REC(5, f); REC(6, g); REC(7, h);
	return a + b + c + d + (long)e + f + g + h;
}

noinline long abi_f9(long a, struct abi_s16 b, int c, struct abi_s12 d, short e, char f,
		     __int128 g, long h, struct abi_s4 i)
{
	REC(0, a); REC(1, b); REC(2, c); REC(3, d); REC(4, e); REC(5, f); REC(6, g); REC(7, h); REC(8, i);
	return a + b.a + b.b + c + d.a + d.b + d.c + e + f + (long)g + (long)(g >> 64) + h + i.a;
}

noinline long abi_f10(int a, __int128 b, char c, struct abi_s16m d, short e, struct abi_s16a f,
		      long g, __int128 h, char i, struct abi_s16 j)
{
	REC(0, a); REC(1, b); REC(2, c); REC(3, d); REC(4, e); REC(5, f); REC(6, g); REC(7, h); REC(8, i); REC(9, j);
	return a + (long)b + c + d.a + d.b + e + f.a + f.b + g + (long)h + i + j.a + j.b;
}

noinline long abi_f11(char a, short b, struct abi_s16 c, int d, __int128 e, long f,
		      struct abi_si128 g, char h, short i, int j, long k)
{
	REC(0, a); REC(1, b); REC(2, c); REC(3, d); REC(4, e); REC(5, f); REC(6, g); REC(7, h); REC(8, i);
	REC(9, j); REC(10, k);
	return a + b + c.a + c.b + d + (long)e + f + (long)g.v + h + i + j + k;
}

noinline long abi_f12(long a, long b, long c, long d, long e, long f, long g, struct abi_s16 h,
		      long i, int j, char k, struct abi_s12 l)
{
	REC(0, a); REC(1, b); REC(2, c); REC(3, d); REC(4, e); REC(5, f); REC(6, g); REC(7, h); REC(8, i);
	REC(9, j); REC(10, k); REC(11, l);
	return a + b + c + d + e + f + g + h.a + h.b + i + j + k + l.a + l.b + l.c;
}

/* Rejected by btf_distill_func_proto: a struct argument larger than 16 bytes. */
noinline long abi_big(struct abi_s24 a)
{
	return a.a + a.b + a.c;
}

noinline long abi_pad(int a, struct abi_s8a b, long c)
{
	REC(0, a); REC(1, b); REC(2, c);
	return a + b.a + c;
}

static const __int128 I128_A = ((__int128)0x1122334455667788LL << 64) | 0x99aabbccddeeff00ULL;
static const __int128 I128_B = ((__int128)-3 << 64) | 0x123456789ULL;

noinline long call_f8(void)
{
	return abi_f8(-1, -2, -3, -4, (void *)0xfeedface, 6, 7, 8);
}
EXPORT_SYMBOL(call_f8);

noinline long call_f9(void)
{
	struct abi_s16 b = { 0x1001, 0x1002 };
	struct abi_s12 d = { 0x2001, -0x2002, 0x2003 };
	struct abi_s4 i = { -0x3001 };
	return abi_f9(-11, b, 0x7fffffff, d, -12, 'z', I128_A, 0x5555666677778888L, i);
}
EXPORT_SYMBOL(call_f9);

noinline long call_f10(void)
{
	struct abi_s16m d = { 0x4001, 0x4002 };
	struct abi_s16a f = { 0x5001, 0x5002 };
	struct abi_s16 j = { 0x6001, -0x6002 };
	return abi_f10(-21, I128_B, -22, d, 23, f, 24, I128_A, -25, j);
}
EXPORT_SYMBOL(call_f10);

noinline long call_f11(void)
{
	struct abi_s16 c = { 0x7001, 0x7002 };
	struct abi_si128 g = { I128_B };
	return abi_f11(31, -32, c, 33, I128_A, -34, g, 35, -36, 37, -38);
}
EXPORT_SYMBOL(call_f11);

noinline long call_f12(void)
{
	struct abi_s16 h = { 0x8001, 0x8002 };
	struct abi_s12 l = { 0x9001, 0x9002, -0x9003 };
	return abi_f12(41, 42, 43, 44, 45, 46, 47, h, 48, -49, 50, l);
}
EXPORT_SYMBOL(call_f12);

noinline long call_pad(void)
{
	struct abi_s8a b = { 0xa001 };
	return abi_pad(-61, b, 62);
}
EXPORT_SYMBOL(call_pad);
