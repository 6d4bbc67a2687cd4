import test from "ava";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT_ERR_SETUP_INFRA, EXIT_NO_TEST, EXIT_USAGE, runSelftests } from "./main.js";

const FIXTURES = join(fileURLToPath(new URL(".", import.meta.url)), "fixtures");
const BASIC = ["--tests-dir", join(FIXTURES, "basic"), "--no-denylist"];
const TMP = mkdtempSync(join(tmpdir(), "a64bpf-selftests-"));

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Run the runner with captured output; in this process unless `fork` (worker processes, as users get). */
async function selftests(args: string[], fork = false): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const prev = process.env.A64BPF_NO_FORK;
  if (fork) delete process.env.A64BPF_NO_FORK;
  else process.env.A64BPF_NO_FORK = "1";
  try {
    const code = await runSelftests(args, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    if (prev === undefined) delete process.env.A64BPF_NO_FORK;
    else process.env.A64BPF_NO_FORK = prev;
  }
}

const BASIC_OUTPUT = `#1       zeta_pass:OK
#2/1     alpha_subtests/one:OK
#2/2     alpha_subtests/two:SKIP
#2/3     alpha_subtests/three:OK
#2       alpha_subtests:OK (SKIP: 1/3)
#3       serial_pass:OK
test_fail_eq:FAIL:five unexpected five: actual 5 != expected 7
#4       fail_eq:FAIL
#5/1     fail_subtest/good:OK
before the failing assert
test_fail_subtest:FAIL:bad_attach unexpected error: -524 (errno 524)
#5/2     fail_subtest/bad:FAIL
#5       fail_subtest:FAIL
#6       skip_whole:SKIP
test_throws:FAIL:exception NotSupportedError (ENOTSUPP): argument 9 of f: struct of 24 bytes
#7       throws:FAIL
forced line 42
from console.log
#8       forced_log:OK
#9       async_pass:OK

All error logs:
test_fail_eq:FAIL:five unexpected five: actual 5 != expected 7
#4       fail_eq:FAIL
before the failing assert
test_fail_subtest:FAIL:bad_attach unexpected error: -524 (errno 524)
#5/2     fail_subtest/bad:FAIL
#5       fail_subtest:FAIL
test_throws:FAIL:exception NotSupportedError (ENOTSUPP): argument 9 of f: struct of 24 bytes
#7       throws:FAIL
Summary: 6/3 PASSED, 2 SKIPPED, 3 FAILED
`;

test.serial("worker processes: results, captured logs, All error logs, Summary, exit 1", async (t) => {
  const r = await selftests(BASIC, true);
  t.is(r.out, BASIC_OUTPUT);
  t.is(r.err, "");
  t.is(r.code, 1);
});

test.serial("in-process mode prints exactly what the workers print", async (t) => {
  const r = await selftests(BASIC);
  t.is(r.out, BASIC_OUTPUT);
  t.is(r.code, 1);
});

test.serial("-j2 gives the same result set as the ordered run; serial tests run last", async (t) => {
  const j2 = await selftests([...BASIC, "-j2"], true);
  const resultLines = (s: string): string[] =>
    s
      .split("\nAll error logs:\n")[0]
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .sort();
  t.deepEqual(resultLines(j2.out), resultLines(BASIC_OUTPUT));
  t.is(j2.out.split("\nAll error logs:\n")[1], BASIC_OUTPUT.split("\nAll error logs:\n")[1]);
  const lines = j2.out.split("\nAll error logs:\n")[0].trimEnd().split("\n");
  t.is(lines[lines.length - 1], "#3       serial_pass:OK");
  t.is(j2.code, 1);
});

test.serial("-v streams logs and prints subtest lines as subtests end", async (t) => {
  const r = await selftests([...BASIC, "-v", "-t", "alpha,fail_subtest,serial"], true);
  t.is(
    r.out,
    `test_alpha_subtests:PASS:one_val 0 nsec
#2/1     alpha_subtests/one:OK
#2/2     alpha_subtests/two:SKIP
test_alpha_subtests:PASS:three_ok 0 nsec
#2/3     alpha_subtests/three:OK
#2       alpha_subtests:OK (SKIP: 1/3)
worker -1 of 0, SELFTESTS_VERBOSE=1
serial_test_serial_pass:PASS:serial_name 0 nsec
#3       serial_pass:OK
test_fail_subtest:PASS:good_op 0 nsec
#5/1     fail_subtest/good:OK
before the failing assert
test_fail_subtest:FAIL:bad_attach unexpected error: -524 (errno 524)
#5/2     fail_subtest/bad:FAIL
#5       fail_subtest:FAIL
Summary: 2/3 PASSED, 1 SKIPPED, 1 FAILED
`,
  );
  t.is(r.code, 1);
});

test.serial("-n NUM/SUBNUMS: filtered subtests keep their numbers and are not printed", async (t) => {
  const r = await selftests([...BASIC, "-n", "2,9/2-3"]);
  t.is(
    r.out,
    `#2/2     alpha_subtests/two:SKIP
#2/3     alpha_subtests/three:OK
#2       alpha_subtests:OK (SKIP: 1/3)
#9       async_pass:OK
Summary: 2/1 PASSED, 1 SKIPPED, 0 FAILED
`,
  );
  t.is(r.code, 0);
});

test.serial("-a test/subtest globs, -d whole tests, deny beats allow", async (t) => {
  const r = await selftests([...BASIC, "-a", "alpha_subtests/t*,fail_*", "-d", "fail_eq", "-b", "subtest/bad"]);
  t.is(
    r.out,
    `#2/2     alpha_subtests/two:SKIP
#2/3     alpha_subtests/three:OK
#2       alpha_subtests:OK (SKIP: 1/3)
#5/1     fail_subtest/good:OK
#5       fail_subtest:OK
Summary: 2/2 PASSED, 1 SKIPPED, 0 FAILED
`,
  );
  t.is(r.code, 0);
});

test.serial("the default denylist applies as -d @FILE; --no-denylist turns it off", async (t) => {
  const deny = ["--tests-dir", join(FIXTURES, "basic"), "--denylist", join(FIXTURES, "DENYLIST.fixtures")];
  const r = await selftests(deny);
  t.is(
    r.out,
    `#1       zeta_pass:OK
#2/1     alpha_subtests/one:OK
#2/2     alpha_subtests/two:SKIP
#2/3     alpha_subtests/three:OK
#2       alpha_subtests:OK (SKIP: 1/3)
#3       serial_pass:OK
#5/1     fail_subtest/good:OK
#5       fail_subtest:OK
#6       skip_whole:SKIP
forced line 42
from console.log
#8       forced_log:OK
#9       async_pass:OK
Summary: 7/3 PASSED, 2 SKIPPED, 0 FAILED
`,
  );
  t.is(r.code, 0);
  t.is((await selftests([...deny, "--no-denylist", "-t", "fail_eq"])).code, 1);
  const missing = await selftests(["--tests-dir", join(FIXTURES, "basic"), "--denylist", join(TMP, "nope")]);
  t.is(missing.code, EXIT_ERR_SETUP_INFRA);
  t.is(missing.err, `Failed to open '${join(TMP, "nope")}': -2\n`);
  t.is(missing.out, "");
});

test.serial("--check-denylist runs only denylisted tests and flags entries that pass", async (t) => {
  const base = ["--tests-dir", join(FIXTURES, "basic"), "--check-denylist"];
  const r = await selftests([...base, "--denylist", join(FIXTURES, "DENYLIST.fixtures")]);
  t.true(r.out.startsWith("test_fail_eq:FAIL:five unexpected five: actual 5 != expected 7\n#4       fail_eq:FAIL\n"));
  t.false(r.out.includes("zeta_pass"));
  t.false(r.out.includes("fail_subtest/good"));
  t.true(
    r.out.endsWith(
      "\nDenylist check (DENYLIST.fixtures):\n" +
        `${"fail_eq".padEnd(48)} still fails\n` +
        `${"fail_subtest/bad".padEnd(48)} still fails\n` +
        `${"throws".padEnd(48)} still fails\n` +
        "Summary: 0/0 PASSED, 0 SKIPPED, 3 FAILED\n",
    ),
  );
  t.is(r.code, 0);
  const stale = join(TMP, "DENYLIST.stale");
  writeFileSync(stale, "zeta_pass   # fixed long ago\nfail_subtest/bad\nnot_a_test\n");
  const s = await selftests([...base, "--denylist", stale]);
  t.true(
    s.out.includes(
      `${"zeta_pass".padEnd(48)} NOW PASSES: remove it from DENYLIST.stale\n` +
        `${"fail_subtest/bad".padEnd(48)} still fails\n` +
        `${"not_a_test".padEnd(48)} NO MATCH: remove it from DENYLIST.stale\n`,
    ),
  );
  t.is(s.code, 1);
});

test.serial("-l lists and -c counts the selected tests without running them", async (t) => {
  const l = await selftests([...BASIC, "-l", "-t", "fail"]);
  t.is(l.out, "fail_eq\nfail_subtest\n");
  t.is(l.code, 0);
  const c = await selftests([...BASIC, "-c", "-d", "*_pass"]);
  t.is(c.out, "6\n");
  t.is(c.code, 0);
  const none = await selftests([...BASIC, "-c", "-t", "nothing_matches"]);
  t.is(none.out, "0\n");
  t.is(none.code, EXIT_NO_TEST);
  t.is((await selftests([...BASIC, "-l", "-t", "nothing_matches"])).code, EXIT_NO_TEST);
});

test.serial("exit codes: 0 passed, 2 nothing ran, 3 setup errors, 64 usage", async (t) => {
  const ok = await selftests([...BASIC, "-t", "zeta"]);
  t.is(ok.out, "#1       zeta_pass:OK\nSummary: 1/0 PASSED, 0 SKIPPED, 0 FAILED\n");
  t.is(ok.code, 0);
  const none = await selftests([...BASIC, "-t", "nothing_matches"]);
  t.is(none.out, "Summary: 0/0 PASSED, 0 SKIPPED, 0 FAILED\n");
  t.is(none.code, EXIT_NO_TEST);
  t.is((await selftests(["--tests-dir", join(FIXTURES, "empty"), "--no-denylist"])).code, EXIT_NO_TEST);
  const broken = await selftests(["--tests-dir", join(FIXTURES, "broken"), "--no-denylist"]);
  t.is(broken.code, EXIT_ERR_SETUP_INFRA);
  t.is(broken.err, "failed to import test module a_broken.ts: fixture module fails to import\n");
  t.is((await selftests(["--tests-dir", join(FIXTURES, "conflict"), "--no-denylist"])).code, EXIT_ERR_SETUP_INFRA);
  t.is((await selftests([...BASIC, "-d", `@${join(TMP, "missing")}`])).code, EXIT_ERR_SETUP_INFRA);
  const usage = await selftests(["--bogus"]);
  t.is(usage.code, EXIT_USAGE);
  t.is(
    usage.err,
    "a64bpf selftests: unrecognized option '--bogus'\nTry 'a64bpf selftests --help' for more information.\n",
  );
  const help = await selftests(["--help"]);
  t.is(help.code, 0);
  t.true(help.out.startsWith("Usage: a64bpf selftests [OPTION...]\n"));
});

test.serial("-J and --junit write their files", async (t) => {
  const json = join(TMP, "out.json");
  const xml = join(TMP, "out.xml");
  const r = await selftests([...BASIC, "-J", json, "--junit", xml]);
  t.is(r.code, 1);
  const doc = JSON.parse(readFileSync(json, "utf8"));
  t.deepEqual(doc, {
    success: 6,
    success_subtest: 3,
    skipped: 2,
    failed: 3,
    results: [
      {
        name: "fail_eq",
        number: 4,
        message: "test_fail_eq:FAIL:five unexpected five: actual 5 != expected 7\n",
        failed: true,
        subtests: [],
      },
      {
        name: "fail_subtest",
        number: 5,
        message: "",
        failed: true,
        subtests: [
          {
            name: "bad",
            number: 2,
            message:
              "before the failing assert\ntest_fail_subtest:FAIL:bad_attach unexpected error: -524 (errno 524)\n",
            failed: true,
          },
        ],
      },
      {
        name: "throws",
        number: 7,
        message: "test_throws:FAIL:exception NotSupportedError (ENOTSUPP): argument 9 of f: struct of 24 bytes\n",
        failed: true,
        subtests: [],
      },
    ],
  });
  const x = readFileSync(xml, "utf8");
  t.regex(x, /<testsuites name="test_progs" tests="14" failures="4" errors="0" skipped="2" time="[\d.]+">/);
  t.is((x.match(/<testcase /g) ?? []).length, 14);
  const bad = await selftests([...BASIC, "-J", join(TMP, "no_dir", "x.json")]);
  t.is(bad.code, EXIT_ERR_SETUP_INFRA);
  t.regex(bad.err, /^Failed to open json summary file: /);
});

test.serial("--debug adds the stack to exception reports", async (t) => {
  const r = await selftests([...BASIC, "--debug", "-t", "throws"]);
  t.regex(
    r.out,
    /^test_throws:FAIL:exception NotSupportedError \(ENOTSUPP\): argument 9 of f: struct of 24 bytes\n {4}at test_throws \(.*b_fail\.ts:\d+:\d+\)\n/,
  );
  t.is(r.code, 1);
});

test.serial("the watchdog kills a hung test, keeps its log, and the run goes on", async (t) => {
  const r = await selftests(["--tests-dir", join(FIXTURES, "hang"), "--no-denylist", "-w", "1"], true);
  t.is(
    r.out,
    `#1       before:OK
#2/1     spin/quick:OK
about to spin
WATCHDOG: test case spin/spinning executes for 1 seconds, terminating with SIGKILL
#2/2     spin/spinning:FAIL
#2       spin:FAIL
#3       after:OK
exiting the worker
test_progs: worker 0 exited unexpectedly (exit code 7) while running exit_worker
#4       exit_worker:FAIL
#5       after_crash:OK

All error logs:
about to spin
WATCHDOG: test case spin/spinning executes for 1 seconds, terminating with SIGKILL
#2/2     spin/spinning:FAIL
#2       spin:FAIL
exiting the worker
test_progs: worker 0 exited unexpectedly (exit code 7) while running exit_worker
#4       exit_worker:FAIL
Summary: 3/1 PASSED, 0 SKIPPED, 2 FAILED
`,
  );
  t.is(r.err, "WATCHDOG: test case spin/spinning executes for 1 seconds, terminating with SIGKILL\n");
  t.is(r.code, 1);
});

test.serial("errors escaping a test asynchronously fail that test only", async (t) => {
  const r = await selftests(["--tests-dir", join(FIXTURES, "async_errors"), "--no-denylist"], true);
  t.true(
    r.out.startsWith(
      "test_unhandled_rejection:FAIL:exception Error: nobody awaited this\n#1       unhandled_rejection:FAIL\n" +
        "test_timer_throws:FAIL:exception RangeError: thrown from a timer\n#2       timer_throws:FAIL\n" +
        "#3       still_runs:OK\n",
    ),
  );
  t.true(r.out.endsWith("Summary: 1/0 PASSED, 0 SKIPPED, 2 FAILED\n"));
  t.is(r.code, 1);
});
