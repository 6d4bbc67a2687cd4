/**
 * Port of tools/testing/selftests/bpf/prog_tests/exceptions.c: one test,
 * `exceptions`, whose subtests are
 *
 *   1. the success programs of progs/exceptions.c, each test-run once on
 *      pkt_v4 (RUN_SUCCESS: retval checked), with
 *      exception_tail_call_target stored in jmp_table[0] first;
 *   2. the ext subtests (RUN_EXT): one program of exceptions_ext.c is
 *      enabled, pointed at a function of a loaded exceptions.c program and
 *      loaded with verifier log level 2; it must fail with the kernel's
 *      message, or load and attach (two of them then re-run a success
 *      program: 131 and 128);
 *   3. RUN_TESTS(exceptions_fail) and RUN_TESTS(exceptions_assert): one
 *      subtest per program, expectations from the programs' BTF decl tags
 *      (bpf_misc.h), checked by harness/test_progs/run_tests.ts.
 *
 * RUN_SUCCESS and RUN_EXT are macros in the kernel, so their assertions
 * print test_exceptions_success as their function; the helpers here carry
 * that name for the same PASS/FAIL lines.
 */
import {
  assertEq,
  assertErrPtr,
  assertOk,
  assertOkPtr,
  testLog,
  testStartSubtest,
} from "../../harness/test_progs/test_progs.js";
import { runTests, type ExpectMsg, type TableProgSpec, type TableRunner } from "../../harness/test_progs/run_tests.js";
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";
import { bpfSys } from "../../runtime/loader/bpf_sys.js";
import { buildBpfProg } from "../../runtime/loader/progs_build.js";
import { BpfObject, type BpfLink, type BpfProgram } from "../../runtime/loader/skeleton.js";
import { PKT_V4 } from "../../runtime/loader/test_run.js";
import { testKernel } from "../testing_helpers.js";

/** -errno of a failed call (libbpf's return convention). */
function negErrno(err: unknown): number {
  return -(err instanceof BpfError ? err.errno : EINVAL);
}

/** <name>__open(): the built object, or the error (for ASSERT_OK_PTR). */
function openObject(name: string): BpfObject | BpfError {
  try {
    return BpfObject.open(buildBpfProg(name).bytes, { objectName: name });
  } catch (err) {
    if (err instanceof BpfError) return err;
    throw err;
  }
}

/** <name>__load(): 0 or -errno. */
function loadObject(obj: BpfObject, k: Kernel, logLevel?: number): number {
  try {
    obj.load(k, { logLevel });
    return 0;
  } catch (err) {
    return negErrno(err);
  }
}

/** bpf_program__attach(): the link or the error. */
function attachProgram(prog: BpfProgram): BpfLink | BpfError {
  try {
    return prog.attach();
  } catch (err) {
    if (err instanceof BpfError) return err;
    throw err;
  }
}

/** The test_run options of every RUN_SUCCESS (the kernel keeps retval across runs). */
interface TestRunOpts {
  retval: number;
}

/** One RUN_EXT: which extension program, where it goes, and what must happen. */
interface ExtCase {
  /** Subtest name. */
  readonly name: string;
  /** Expected result of exceptions_ext__load (0 or -EINVAL). */
  readonly loadRet: number;
  /** The attach is expected to fail (only checked after a successful load). */
  readonly attachErr: boolean;
  /** Program of exceptions_ext.c to enable. */
  readonly prog: string;
  /** Program of exceptions.c whose function it targets, and the function. */
  readonly target: string;
  readonly func: string;
  /** Expected in the verifier log when the load fails. */
  readonly msg: string;
  /** Run while attached. */
  readonly afterLink?: (run: (prog: string, retval: number) => void) => void;
}

const EXT_CASES: readonly ExtCase[] = [
  ...["pfentry", "throwing_fentry", "pfexit", "throwing_fexit"].map((prog): ExtCase => ({
    name: `${prog.startsWith("throwing") ? "throwing" : "non-throwing"} ${prog.includes("fentry") ? "fentry" : "fexit"} -> exception_cb`,
    loadRet: -EINVAL,
    attachErr: true,
    prog,
    target: "exception_ext_mod_cb_runtime",
    func: "exception_cb_mod",
    msg: "FENTRY/FEXIT programs cannot attach to exception callback",
  })),
  {
    name: "throwing extension (with custom cb) -> exception_cb",
    loadRet: -EINVAL,
    attachErr: true,
    prog: "throwing_exception_cb_extension",
    target: "exception_ext_mod_cb_runtime",
    func: "exception_cb_mod",
    msg: "Extension programs cannot attach to exception callback",
  },
  {
    name: "throwing extension -> global func in exception_cb",
    loadRet: 0,
    attachErr: false,
    prog: "throwing_exception_cb_extension",
    target: "exception_ext_mod_cb_runtime",
    func: "exception_cb_mod_global",
    msg: "",
    afterLink: (run) => run("exception_ext_mod_cb_runtime", 131),
  },
  {
    name: "throwing extension (with custom cb) -> global func in exception_cb",
    loadRet: 0,
    attachErr: false,
    prog: "throwing_extension",
    target: "exception_ext",
    func: "exception_ext_global",
    msg: "",
    afterLink: (run) => run("exception_ext", 128),
  },
  ...[
    ["non-throwing fentry -> non-throwing subprog", "pfentry", "subprog"],
    ["throwing fentry -> non-throwing subprog", "throwing_fentry", "subprog"],
    ["non-throwing fentry -> throwing subprog", "pfentry", "throwing_subprog"],
    ["throwing fentry -> throwing subprog", "throwing_fentry", "throwing_subprog"],
    ["non-throwing fexit -> non-throwing subprog", "pfexit", "subprog"],
    ["throwing fexit -> non-throwing subprog", "throwing_fexit", "subprog"],
    ["non-throwing fexit -> throwing subprog", "pfexit", "throwing_subprog"],
    ["throwing fexit -> throwing subprog", "throwing_fexit", "throwing_subprog"],
  ].map(([name, prog, func]): ExtCase => ({
    name,
    loadRet: 0,
    attachErr: false,
    prog,
    target: "exception_throw_subprog",
    func,
    msg: "",
  })),
  // fmod_ret is not allowed on subprograms (the kernel test keeps these to
  // notice when it becomes allowed and throwing has to be considered).
  ...["subprog", "global_subprog"].map((func): ExtCase => ({
    name: `non-throwing fmod_ret -> non-throwing ${func === "subprog" ? "" : "global "}subprog`,
    loadRet: -EINVAL,
    attachErr: true,
    prog: "pfmod_ret",
    target: "exception_throw_subprog",
    func,
    msg: "can't modify return codes of BPF program",
  })),
  ...[
    ["non-throwing extension -> non-throwing subprog", "subprog", "subprog() is not a global function"],
    ["non-throwing extension -> throwing subprog", "throwing_subprog", "throwing_subprog() is not a global function"],
  ].map(([name, func, msg]): ExtCase => ({
    name,
    loadRet: -EINVAL,
    attachErr: true,
    prog: "extension",
    target: "exception_throw_subprog",
    func,
    msg,
  })),
  ...[
    // The kernel reuses the first name for the global_subprog case.
    ["non-throwing extension -> non-throwing subprog", "extension", "global_subprog"],
    ["non-throwing extension -> throwing global subprog", "extension", "throwing_global_subprog"],
    ["throwing extension -> throwing global subprog", "throwing_extension", "throwing_global_subprog"],
    ["throwing extension -> non-throwing global subprog", "throwing_extension", "global_subprog"],
    ["non-throwing extension -> main subprog", "extension", "exception_throw_subprog"],
    ["throwing extension -> main subprog", "throwing_extension", "exception_throw_subprog"],
  ].map(([name, prog, func]): ExtCase => ({
    name,
    loadRet: 0,
    attachErr: false,
    prog,
    target: "exception_throw_subprog",
    func,
    msg: "",
  })),
];

/** The success programs and their return values, in the kernel's order. */
const SUCCESS_RUNS: readonly (readonly [string, number])[] = [
  ["exception_throw_always_1", 64],
  ["exception_throw_always_2", 32],
  ["exception_throw_unwind_1", 16],
  ["exception_throw_unwind_2", 32],
  ["exception_throw_default", 0],
  ["exception_throw_default_value", 5],
  ["exception_tail_call", 24],
  ["exception_ext", 0],
  ["exception_ext_mod_cb_runtime", 35],
  ["exception_throw_subprog", 1],
  ["exception_assert_nz_gfunc", 1],
  ["exception_assert_zero_gfunc", 1],
  ["exception_assert_neg_gfunc", 1],
  ["exception_assert_pos_gfunc", 1],
  ["exception_assert_negeq_gfunc", 1],
  ["exception_assert_poseq_gfunc", 1],
  ["exception_assert_nz_gfunc_with", 1],
  ["exception_assert_zero_gfunc_with", 1],
  ["exception_assert_neg_gfunc_with", 1],
  ["exception_assert_pos_gfunc_with", 1],
  ["exception_assert_negeq_gfunc_with", 1],
  ["exception_assert_poseq_gfunc_with", 1],
  ["exception_bad_assert_nz_gfunc", 0],
  ["exception_bad_assert_zero_gfunc", 0],
  ["exception_bad_assert_neg_gfunc", 0],
  ["exception_bad_assert_pos_gfunc", 0],
  ["exception_bad_assert_negeq_gfunc", 0],
  ["exception_bad_assert_poseq_gfunc", 0],
  ["exception_bad_assert_nz_gfunc_with", 100],
  ["exception_bad_assert_zero_gfunc_with", 105],
  ["exception_bad_assert_neg_gfunc_with", 200],
  ["exception_bad_assert_pos_gfunc_with", 0],
  ["exception_bad_assert_negeq_gfunc_with", 101],
  ["exception_bad_assert_poseq_gfunc_with", 99],
  ["exception_assert_range", 1],
  ["exception_assert_range_with", 1],
  ["exception_bad_assert_range", 0],
  ["exception_bad_assert_range_with", 10],
  ["exception_throw_from_void_global", 11],
];

/** RUN_SUCCESS(prog, retval), reporting as test_exceptions_success. */
function runSuccessOf(skel: BpfObject, ropts: TestRunOpts): (prog: string, retval: number) => void {
  return {
    test_exceptions_success(prog: string, retval: number): void {
      if (!testStartSubtest(prog)) return;
      let ret = 0;
      try {
        ropts.retval = skel.program(prog).testRun({ dataIn: PKT_V4, repeat: 1 }).retval;
      } catch (err) {
        ret = negErrno(err);
      }
      assertOk(ret, `${prog} prog run ret`);
      assertEq(ropts.retval, retval, `${prog} prog run retval`);
    },
  }.test_exceptions_success;
}

/**
 * RUN_EXT: reopen exceptions_ext (log level 2), enable one program, target
 * a function of `skel`, load, check the result. Returns false where the
 * kernel's macro jumps to `done` (the rest of the test is skipped).
 */
function runExtOf(
  k: Kernel,
  skel: BpfObject,
  state: { eskel: BpfObject | undefined; run: (prog: string, retval: number) => void },
): (c: ExtCase) => boolean {
  return {
    test_exceptions_success(c: ExtCase): boolean {
      state.eskel?.destroy();
      const opened = openObject("exceptions_ext");
      state.eskel = opened instanceof BpfObject ? opened : undefined;
      if (!assertOkPtr(opened, "exceptions_ext__open") || !state.eskel) return false;
      const eskel = state.eskel;
      const prog = eskel.program(c.prog);
      prog.autoload = true;
      let err = 0;
      try {
        prog.setAttachTarget(skel.program(c.target), c.func);
      } catch (e) {
        err = negErrno(e);
      }
      if (!assertOk(err, "set_attach_target")) return false;
      assertOkPtr(prog.name ? prog : null, prog.name);
      if (!assertEq(loadObject(eskel, k, 2), c.loadRet, "exceptions_ext__load")) {
        testLog("%s\n", prog.log);
        return false;
      }
      if (c.loadRet !== 0 && !assertOkPtr(prog.log.includes(c.msg) ? prog : null, "strstr")) {
        testLog("%s\n", prog.log);
        return false;
      }
      if (c.loadRet === 0 && c.attachErr) {
        if (!assertErrPtr(attachProgram(prog), "attach err")) return false;
      } else if (c.loadRet === 0) {
        const link = attachProgram(prog);
        if (!assertOkPtr(link, "attach ok") || link instanceof BpfError) return false;
        c.afterLink?.(state.run);
        link.detach();
      }
      return true;
    },
  }.test_exceptions_success;
}

function test_exceptions_success(): void {
  const k = testKernel();
  const ropts: TestRunOpts = { retval: 0 };
  const opened = openObject("exceptions");
  if (!assertOkPtr(opened, "exceptions__open") || !(opened instanceof BpfObject)) return;
  const skel = opened;
  const state = { eskel: undefined as BpfObject | undefined, run: runSuccessOf(skel, ropts) };
  try {
    if (!assertOk(loadObject(skel, k), "exceptions__load")) return;
    let err = 0;
    try {
      bpfSys(k).progArrayUpdate(skel.map("jmp_table").fd, 0, skel.program("exception_tail_call_target").fd);
    } catch (e) {
      err = negErrno(e);
    }
    if (!assertOk(err, "bpf_map_update_elem jmp_table")) return;

    for (const [prog, retval] of SUCCESS_RUNS) state.run(prog, retval);

    const runExt = runExtOf(k, skel, state);
    for (const c of EXT_CASES) {
      if (testStartSubtest(c.name) && !runExt(c)) return;
    }
  } finally {
    state.eskel?.destroy();
    skel.destroy();
  }
}

const TAG = "comment:";

/** "<counter>=<text>" (bpf_misc.h's ordered tags) → [counter, text]; plain text → [Infinity, text]. */
function ordered(value: string): [number, string] {
  const m = /^(\d+)=([\s\S]*)$/.exec(value);
  return m ? [Number(m[1]), m[2]] : [Number.POSITIVE_INFINITY, value];
}

/**
 * parse_test_spec() of test_loader.c: a program's test annotations from
 * its BTF decl tags (see selftests/progs/bpf_misc.h). Messages keep their
 * source order through the __COUNTER__ prefix; __regex(re) becomes the
 * pattern "{{re}}". A program annotated for other architectures only is
 * skipped.
 */
export function parseTestSpec(name: string, declTags: readonly string[]): TableProgSpec {
  let expectSuccess = true;
  let description: string | undefined;
  let retval: number | undefined;
  let logLevel: number | undefined;
  const msgs: [number, string | ExpectMsg][] = [];
  const arches: string[] = [];
  for (const tag of declTags) {
    if (!tag.startsWith(TAG)) continue;
    const body = tag.slice(TAG.length);
    const eq = body.indexOf("=");
    const key = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? "" : body.slice(eq + 1);
    switch (key) {
      case "test_expect_failure":
        expectSuccess = false;
        break;
      case "test_expect_success":
        expectSuccess = true;
        break;
      case "test_expect_msg":
        msgs.push(ordered(value));
        break;
      case "test_expect_regex": {
        const [n, re] = ordered(value);
        msgs.push([n, `{{${re}}}`]);
        break;
      }
      case "test_description":
        description = value;
        break;
      case "test_retval":
        retval = Number(value);
        break;
      case "test_log_level":
        logLevel = Number(value);
        break;
      case "test_arch":
        arches.push(value);
        break;
      default:
        break;
    }
  }
  msgs.sort((a, b) => a[0] - b[0]);
  const skip = arches.length > 0 && !arches.includes("ARM64") ? "" : undefined;
  return { name, description, expectSuccess, msgs: msgs.map((m) => m[1]), retval, logLevel, skip };
}

/**
 * process_subtest() of RUN_TESTS(skel): every program of the object with its annotations; each
 * load reopens the object with only that program enabled, as
 * test_loader__run_subtests() does.
 */
async function process_subtest(k: Kernel, objName: string): Promise<void> {
  const opened = openObject(objName);
  if (!assertOkPtr(opened, "obj_open_mem") || !(opened instanceof BpfObject)) return;
  const specs = opened.programs.map((p) => parseTestSpec(p.name, p.model.declTags));
  const runner: TableRunner = (spec, { logLevel }) => {
    const obj = openObject(objName);
    if (!(obj instanceof BpfObject)) return { err: negErrno(obj), log: obj.message };
    for (const p of obj.programs) p.autoload = p.name === spec.name;
    const prog = obj.program(spec.name);
    prog.logLevel = logLevel;
    const err = loadObject(obj, k);
    if (err) {
      obj.destroy();
      return { err, log: prog.log };
    }
    return {
      err: 0,
      log: prog.log,
      testRun: () => {
        try {
          return { err: 0, retval: prog.testRun({ dataIn: PKT_V4, repeat: 1 }).retval };
        } catch (e) {
          return { err: negErrno(e), retval: 0 };
        }
      },
      close: () => obj.destroy(),
    };
  };
  await runTests(specs, runner);
}

async function test_exceptions_failure(): Promise<void> {
  await process_subtest(testKernel(), "exceptions_fail");
}

async function test_exceptions_assertions(): Promise<void> {
  await process_subtest(testKernel(), "exceptions_assert");
}

/** test_exceptions(): the success and ext subtests, then RUN_TESTS of exceptions_fail and exceptions_assert. */
export async function test_exceptions(): Promise<void> {
  test_exceptions_success();
  await test_exceptions_failure();
  await test_exceptions_assertions();
}
