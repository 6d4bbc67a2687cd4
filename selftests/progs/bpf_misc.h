/* SPDX-License-Identifier: GPL-2.0 */
/*
 * a64bpf's bpf_misc.h: the test annotations of the kernel selftests'
 * progs/bpf_misc.h, under the same names and with the same BTF decl-tag
 * encoding, so that RUN_TESTS-style ports read them the way
 * tools/testing/selftests/bpf/test_loader.c does.
 *
 * Each annotation is a btf_decl_tag("comment:<key>[=<value>]") on the
 * program's FUNC. BTF does not keep the order of decl tags, so the
 * ordered ones (__msg, __regex, __xlated) carry __COUNTER__ first:
 * "comment:test_expect_msg=<n>=<text>", and the reader sorts by <n>.
 *
 *   __success / __failure     the load must succeed / fail
 *   __msg(text)               the verifier log contains text (in order)
 *   __regex(re)               same, as a POSIX extended regex
 *   __description(text)       subtest name instead of the program's
 *   __log_level(n)            verifier log level for the load
 *   __retval(n)               test-run once, the program returns n
 *   __arch_arm64 / _x86_64    run only on that architecture
 */
#ifndef __A64BPF_BPF_MISC_H
#define __A64BPF_BPF_MISC_H

#define XSTR(s) STR(s)
#define STR(s) #s

#define __a64bpf_test_tag(text) __attribute__((btf_decl_tag("comment:" text)))

#define __msg(msg) __a64bpf_test_tag("test_expect_msg=" XSTR(__COUNTER__) "=" msg)
#define __regex(regex) __a64bpf_test_tag("test_expect_regex=" XSTR(__COUNTER__) "=" regex)
#define __xlated(msg) __a64bpf_test_tag("test_expect_xlated=" XSTR(__COUNTER__) "=" msg)
#define __failure __a64bpf_test_tag("test_expect_failure")
#define __success __a64bpf_test_tag("test_expect_success")
#define __description(desc) __a64bpf_test_tag("test_description=" desc)
#define __log_level(lvl) __a64bpf_test_tag("test_log_level=" #lvl)
#define __retval(val) __a64bpf_test_tag("test_retval=" XSTR(val))
#define __auxiliary __a64bpf_test_tag("test_auxiliary")
#define __arch_x86_64 __a64bpf_test_tag("test_arch=X86_64")
#define __arch_arm64 __a64bpf_test_tag("test_arch=ARM64")
#define __arch_riscv64 __a64bpf_test_tag("test_arch=RISCV64")

/* A __retval that accepts any value (test_loader.c POINTER_VALUE). */
#define POINTER_VALUE 0xbadcafe

#endif /* __A64BPF_BPF_MISC_H */
