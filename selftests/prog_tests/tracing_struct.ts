/**
 * Port of tools/testing/selftests/bpf/prog_tests/tracing_struct.c:
 * subtests `struct_args`, `struct_many_args`, `int128_args`, `union_args`,
 * each triggered by trigger_module_test_read(256) (bpf_testmod_test_read()
 * calls the struct/union/int128 test functions with the kernel's values).
 * Each test function opens, attaches and triggers itself, as the kernel's
 * do, so the assertion lines carry its name (`test_struct_args:PASS:...`).
 */
import { assertEq, assertOk, assertOkPtr, testStartSubtest } from "../../harness/test_progs/test_progs.js";
import { BpfObject, openAndLoad } from "../../runtime/loader/skeleton.js";
import { globals, testKernel, trigger_module_test_read } from "../testing_helpers.js";

function test_struct_args(): void {
  const skel = openAndLoad(testKernel(), "tracing_struct");
  if (!assertOkPtr(skel, "tracing_struct__open_and_load") || !(skel instanceof BpfObject)) return;
  try {
    const err = skel.attach();
    if (!assertOk(err, "tracing_struct__attach")) return;

    assertOk(trigger_module_test_read(256), "trigger_read");
    const b = globals(skel.bss);
    assertEq(b.t1_a_a, 2, "t1:a.a");
    assertEq(b.t1_a_b, 3, "t1:a.b");
    assertEq(b.t1_b, 1, "t1:b");
    assertEq(b.t1_c, 4, "t1:c");

    assertEq(b.t1_nregs, 4, "t1 nregs");
    assertEq(b.t1_reg0, 2, "t1 reg0");
    assertEq(b.t1_reg1, 3, "t1 reg1");
    assertEq(b.t1_reg2, 1, "t1 reg2");
    assertEq(b.t1_reg3, 4, "t1 reg3");
    assertEq(b.t1_ret, 10, "t1 ret");

    assertEq(b.t2_a, 1, "t2:a");
    assertEq(b.t2_b_a, 2, "t2:b.a");
    assertEq(b.t2_b_b, 3, "t2:b.b");
    assertEq(b.t2_c, 4, "t2:c");
    assertEq(b.t2_ret, 10, "t2 ret");

    assertEq(b.t3_a, 1, "t3:a");
    assertEq(b.t3_b, 4, "t3:b");
    assertEq(b.t3_c_a, 2, "t3:c.a");
    assertEq(b.t3_c_b, 3, "t3:c.b");
    assertEq(b.t3_ret, 10, "t3 ret");

    assertEq(b.t4_a_a, 10, "t4:a.a");
    assertEq(b.t4_b, 1, "t4:b");
    assertEq(b.t4_c, 2, "t4:c");
    assertEq(b.t4_d, 3, "t4:d");
    assertEq(b.t4_e_a, 2, "t4:e.a");
    assertEq(b.t4_e_b, 3, "t4:e.b");
    assertEq(b.t4_ret, 21, "t4 ret");

    assertEq(b.t5_ret, 1, "t5 ret");

    assertEq(b.t6, 1, "t6 ret");
  } finally {
    skel.destroy();
  }
}

function test_struct_many_args(): void {
  const skel = openAndLoad(testKernel(), "tracing_struct_many_args");
  if (!assertOkPtr(skel, "tracing_struct_many_args__open_and_load") || !(skel instanceof BpfObject)) return;
  try {
    const err = skel.attach();
    if (!assertOk(err, "tracing_struct_many_args__attach")) return;

    assertOk(trigger_module_test_read(256), "trigger_read");
    const b = globals(skel.bss);
    assertEq(b.t7_a, 16, "t7:a");
    assertEq(b.t7_b, 17, "t7:b");
    assertEq(b.t7_c, 18, "t7:c");
    assertEq(b.t7_d, 19, "t7:d");
    assertEq(b.t7_e, 20, "t7:e");
    assertEq(b.t7_f_a, 21, "t7:f.a");
    assertEq(b.t7_f_b, 22, "t7:f.b");
    assertEq(b.t7_ret, 133, "t7 ret");

    assertEq(b.t8_a, 16, "t8:a");
    assertEq(b.t8_b, 17, "t8:b");
    assertEq(b.t8_c, 18, "t8:c");
    assertEq(b.t8_d, 19, "t8:d");
    assertEq(b.t8_e, 20, "t8:e");
    assertEq(b.t8_f_a, 21, "t8:f.a");
    assertEq(b.t8_f_b, 22, "t8:f.b");
    assertEq(b.t8_g, 23, "t8:g");
    assertEq(b.t8_ret, 156, "t8 ret");

    assertEq(b.t9_a, 16, "t9:a");
    assertEq(b.t9_b, 17, "t9:b");
    assertEq(b.t9_c, 18, "t9:c");
    assertEq(b.t9_d, 19, "t9:d");
    assertEq(b.t9_e, 20, "t9:e");
    assertEq(b.t9_f, 21, "t9:f");
    assertEq(b.t9_g, 22, "t9:g");
    assertEq(b.t9_h_a, 23, "t9:h.a");
    assertEq(b.t9_h_b, 24, "t9:h.b");
    assertEq(b.t9_h_c, 25, "t9:h.c");
    assertEq(b.t9_h_d, 26, "t9:h.d");
    assertEq(b.t9_i, 27, "t9:i");
    assertEq(b.t9_ret, 258, "t9 ret");
  } finally {
    skel.destroy();
  }
}

function test_int128_args(): void {
  const skel = openAndLoad(testKernel(), "tracing_struct_int128");
  if (!assertOkPtr(skel, "tracing_struct_int128__open_and_load") || !(skel instanceof BpfObject)) return;
  try {
    const err = skel.attach();
    if (!assertOk(err, "tracing_struct_int128__attach")) return;

    assertOk(trigger_module_test_read(256), "trigger_read");
    const b = globals(skel.bss);
    // bpf_testmod_test_int128_arg(1, 2, 3): a fills ctx[0..1], returns 6.
    assertEq(b.i128_a_lo, 1, "int128:a lo");
    assertEq(b.i128_a_hi, 0, "int128:a hi");
    assertEq(b.i128_b, 2, "int128:b");
    assertEq(b.i128_c, 3, "int128:c");
    assertEq(b.i128_ret, 6, "int128 ret");
  } finally {
    skel.destroy();
  }
}

function test_union_args(): void {
  const skel = openAndLoad(testKernel(), "tracing_struct");
  if (!assertOkPtr(skel, "tracing_struct__open_and_load") || !(skel instanceof BpfObject)) return;
  try {
    const err = skel.attach();
    if (!assertOk(err, "tracing_struct__attach")) return;

    assertOk(trigger_module_test_read(256), "trigger_read");
    const b = globals(skel.bss);
    assertEq(b.ut1_a_a, 1, "ut1:a.arg.a");
    assertEq(b.ut1_b, 4, "ut1:b");
    assertEq(b.ut1_c, 5, "ut1:c");

    assertEq(b.ut2_a, 6, "ut2:a");
    assertEq(b.ut2_b_a, 2, "ut2:b.arg.a");
    assertEq(b.ut2_b_b, 3, "ut2:b.arg.b");
  } finally {
    skel.destroy();
  }
}

export function test_tracing_struct(): void {
  if (testStartSubtest("struct_args")) test_struct_args();
  if (testStartSubtest("struct_many_args")) test_struct_many_args();
  if (testStartSubtest("int128_args")) test_int128_args();
  if (testStartSubtest("union_args")) test_union_args();
}
