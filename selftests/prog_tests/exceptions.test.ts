/**
 * The exceptions port through the real command line (from the TypeScript
 * sources through tsx, so that this file does not rebuild dist/ while
 * other test files use it): with DENYLIST.aarch64 every remaining
 * subtest passes, the success and ext subtests among them; with the
 * test-only A64BPF_TEST_EXC_DROP_X23_X24 switch (exception frames without
 * x23/x24) the throwing subtests fail — the port sees the frame layout.
 * Also the decl-tag reader (parse_test_spec).
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { parseTestSpec } from "./exceptions.js";

const BIN = join(PROJECT_ROOT, "bin", "a64bpf.ts");

function selftests(args: string[], env: Record<string, string> = {}) {
  return spawnSync("node", ["--import", "tsx", BIN, "selftests", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    cwd: PROJECT_ROOT,
  });
}

const SUCCESS_AND_EXT = [
  "exception_throw_always_1",
  "exception_tail_call",
  "exception_ext_mod_cb_runtime",
  "exception_throw_from_void_global",
  "exception_bad_assert_poseq_gfunc_with",
  "throwing extension -> global func in exception_cb",
  "throwing extension \\(with custom cb\\) -> global func in exception_cb",
  "exception_ext",
  "throwing fexit -> throwing subprog",
  "non-throwing fmod_ret -> non-throwing global subprog",
  "throwing extension -> main subprog",
];

test("-t exceptions passes with the denylist: success, ext and the supported fail/assert subtests", (t) => {
  const r = selftests(["-t", "exceptions"]);
  t.is(r.status, 0, r.stdout + r.stderr);
  for (const name of SUCCESS_AND_EXT) {
    t.regex(r.stdout, new RegExp(`^#1/\\d+\\s+exceptions/${name}:OK$`, "m"), name);
  }
  for (const name of ["reject_exception_cb_type_1", "reject_throwing_exception_cb", "check_assert_with_return"]) {
    t.regex(r.stdout, new RegExp(`^#1/\\d+\\s+exceptions/${name}:OK$`, "m"), name);
  }
  t.notRegex(r.stdout, /:FAIL$/m);
  // 117 subtests, 22 of them denylisted.
  t.regex(r.stdout, /^Summary: 1\/95 PASSED, 0 SKIPPED, 0 FAILED$/m);
});

test("exception frames without x23/x24 make the throwing subtests fail", (t) => {
  const r = selftests(["-a", "exceptions/exception_throw_always_1,exceptions/exception_ext"], {
    A64BPF_TEST_EXC_DROP_X23_X24: "1",
  });
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(
    r.stdout,
    /^test_exceptions_success:FAIL:exception_throw_always_1 prog run ret unexpected error: -14 \(errno 14\)$/m,
  );
  t.regex(r.stdout, /^#1\/1\s+exceptions\/exception_throw_always_1:FAIL$/m);
  t.regex(r.stdout, /^#1\/8\s+exceptions\/exception_ext:OK$/m, "a program that does not throw is unaffected");
});

test("parse_test_spec: expectations from the decl tags, messages in __COUNTER__ order", (t) => {
  const spec = parseTestSpec("prog", [
    "exception_callback:cb",
    "comment:test_expect_msg=7=second",
    "comment:test_expect_failure",
    "comment:test_expect_msg=3=first",
    "comment:test_expect_regex=9=R[0-9]",
    "comment:test_log_level=2",
    "comment:test_description=a description",
    "comment:test_retval=11",
  ]);
  t.deepEqual(spec, {
    name: "prog",
    description: "a description",
    expectSuccess: false,
    msgs: ["first", "second", "{{R[0-9]}}"],
    retval: 11,
    logLevel: 2,
    skip: undefined,
  });
  t.true(parseTestSpec("p", []).expectSuccess, "no annotation: success expected");
  t.is(parseTestSpec("p", ["comment:test_arch=X86_64"]).skip, "", "x86-only: skipped on arm64");
  t.is(parseTestSpec("p", ["comment:test_arch=X86_64", "comment:test_arch=ARM64"]).skip, undefined);
});
