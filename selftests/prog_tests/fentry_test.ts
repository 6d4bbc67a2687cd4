/**
 * Port of tools/testing/selftests/bpf/prog_tests/fentry_test.c: subtests
 * `fentry` (the bpf_fentry_test1..10 functions BPF_PROG_TEST_RUN calls for
 * tracing programs; attached twice, a second attach of a linked program
 * fails) and `fentry_many_args` (bpf_testmod functions with 7 and 11
 * arguments, two programs on one trampoline).
 */
import { assertEq, assertLt, assertOk, assertOkPtr, testStartSubtest } from "../../harness/test_progs/test_progs.js";
import { BpfObject, openAndLoad } from "../../runtime/loader/skeleton.js";
import { BpfError } from "../../runtime/errors.js";
import { globals, testKernel, trigger_module_test_read } from "../testing_helpers.js";

/** bpf_program__attach() as an fd: >= 0 on success, -errno on failure. */
function attachFd(skel: BpfObject, prog: string): number {
  try {
    skel.program(prog).attach();
    return 0;
  } catch (err) {
    return -(err instanceof BpfError ? err.errno : 22);
  }
}

function fentry_test_common(skel: BpfObject): number {
  const err = skel.attach();
  if (!assertOk(err, "fentry_attach")) return err;

  /* Check that an already linked program can't be attached again. */
  const linkFd = attachFd(skel, "test1");
  if (!assertLt(linkFd, 0, "fentry_attach_link")) return -1;

  let runErr = 0;
  let retval = -1;
  try {
    retval = skel.program("test1").testRun().retval;
  } catch (e) {
    runErr = -(e instanceof BpfError ? e.errno : 22);
  }
  assertOk(runErr, "test_run");
  assertEq(retval, 0, "test_run");

  for (const v of Object.values(globals(skel.bss))) {
    if (!assertEq(v, 1, "fentry_result")) return -1;
  }

  skel.detach();

  /* zero results for the re-attach test */
  for (const name of Object.keys(skel.bss ?? {})) skel.bss![name] = 0n;
  return 0;
}

function fentry_test(): void {
  const skel = openAndLoad(testKernel(), "fentry_test");
  if (!assertOkPtr(skel, "fentry_skel_load")) return;
  const obj = skel as BpfObject;
  try {
    let err = fentry_test_common(obj);
    if (!assertOk(err, "fentry_first_attach")) return;
    err = fentry_test_common(obj);
    assertOk(err, "fentry_second_attach");
  } finally {
    obj.destroy();
  }
}

function fentry_many_args(): void {
  const skel = openAndLoad(testKernel(), "fentry_many_args");
  if (!assertOkPtr(skel, "fentry_many_args_skel_load")) return;
  const obj = skel as BpfObject;
  try {
    const err = obj.attach();
    if (!assertOk(err, "fentry_many_args_attach")) return;

    assertOk(trigger_module_test_read(1), "trigger_read");

    assertEq(globals(obj.bss).test1_result, 1, "fentry_many_args_result1");
    assertEq(globals(obj.bss).test2_result, 1, "fentry_many_args_result2");
    assertEq(globals(obj.bss).test3_result, 1, "fentry_many_args_result3");
  } finally {
    obj.destroy();
  }
}

export function test_fentry_test(): void {
  if (testStartSubtest("fentry")) fentry_test();
  if (testStartSubtest("fentry_many_args")) fentry_many_args();
}
