/**
 * Port of tools/testing/selftests/bpf/prog_tests/fexit_test.c: subtests
 * `fexit` (bpf_fentry_test1..10 through BPF_PROG_TEST_RUN, attached twice)
 * and `fexit_many_args` (return values 133 and 231 of bpf_testmod's 7- and
 * 11-argument functions).
 */
import { assertEq, assertLt, assertOk, assertOkPtr, testStartSubtest } from "../../harness/test_progs/test_progs.js";
import { BpfObject, openAndLoad } from "../../runtime/loader/skeleton.js";
import { BpfError } from "../../runtime/errors.js";
import { globals, testKernel, trigger_module_test_read } from "../testing_helpers.js";

function attachFd(skel: BpfObject, prog: string): number {
  try {
    skel.program(prog).attach();
    return 0;
  } catch (err) {
    return -(err instanceof BpfError ? err.errno : 22);
  }
}

function fexit_test_common(skel: BpfObject): number {
  const err = skel.attach();
  if (!assertOk(err, "fexit_attach")) return err;

  /* Check that an already linked program can't be attached again. */
  const linkFd = attachFd(skel, "test1");
  if (!assertLt(linkFd, 0, "fexit_attach_link")) return -1;

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
    if (!assertEq(v, 1, "fexit_result")) return -1;
  }

  skel.detach();

  /* zero results for the re-attach test */
  for (const name of Object.keys(skel.bss ?? {})) skel.bss![name] = 0n;
  return 0;
}

function fexit_test(): void {
  const skel = openAndLoad(testKernel(), "fexit_test");
  if (!assertOkPtr(skel, "fexit_skel_load")) return;
  const obj = skel as BpfObject;
  try {
    let err = fexit_test_common(obj);
    if (!assertOk(err, "fexit_first_attach")) return;
    err = fexit_test_common(obj);
    assertOk(err, "fexit_second_attach");
  } finally {
    obj.destroy();
  }
}

function fexit_many_args(): void {
  const skel = openAndLoad(testKernel(), "fexit_many_args");
  if (!assertOkPtr(skel, "fexit_many_args_skel_load")) return;
  const obj = skel as BpfObject;
  try {
    const err = obj.attach();
    if (!assertOk(err, "fexit_many_args_attach")) return;

    assertOk(trigger_module_test_read(1), "trigger_read");

    assertEq(globals(obj.bss).test1_result, 1, "fexit_many_args_result1");
    assertEq(globals(obj.bss).test2_result, 1, "fexit_many_args_result2");
    assertEq(globals(obj.bss).test3_result, 1, "fexit_many_args_result3");
  } finally {
    obj.destroy();
  }
}

export function test_fexit_test(): void {
  if (testStartSubtest("fexit")) fexit_test();
  if (testStartSubtest("fexit_many_args")) fexit_many_args();
}
