/**
 * `a64bpf selftests` / `npm run selftests`: the test_progs-compatible runner.
 *
 * Models main() of tools/testing/selftests/bpf/test_progs.c:
 *
 *   parse options → selection (+ DENYLIST.aarch64, as `-d @DENYLIST.aarch64`)
 *   → discover and number the whole suite → -c / -l, or run the selected tests
 *   → per-test output → "All error logs" → -J / --junit files → Summary line
 *
 * Exit codes: 0 all passed, 1 a test failed (or, with --check-denylist, an
 * entry now passes or matches nothing), 2 no test ran (EXIT_NO_TEST), 3 setup
 * error (EXIT_ERR_SETUP_INFRA: a module fails to import, a list file cannot
 * be read, a worker cannot start, a report file cannot be written), 64 bad
 * command line (argp's EX_USAGE).
 */
import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_DENYLIST,
  checkDenylist,
  denylistCheckFailed,
  formatDenylistCheck,
  loadDenylist,
  loadDenylistReasons,
} from "./denylist.js";
import { discoverTests, SetupError, type TestDef } from "./discover.js";
import { buildJsonSummary, formatJsonSummary } from "./json_summary.js";
import { formatJunit } from "./junit.js";
import { parseOptions, resolveUserSelection, UsageError, usageText, Verbosity, type Options } from "./options.js";
import type { PoolHooks, WorkerPool } from "./pool.js";
import { dumpTestLog, formatErrorLogs, formatSubtestLine, formatSummary, formatTestLine, summarize } from "./report.js";
import { runInProcess, runOnPool, startPool, WATCHDOG_NOTIFY_SECS, type ExecuteConfig } from "./runner.js";
import { newSelectorPair, selectionRunsTest, type Selection } from "./selector.js";
import { subtestResult, type TestState } from "./state.js";
import { insertTest, TestListError, type TestFilterSet } from "./test_list.js";

/** EXIT_NO_TEST. */
export const EXIT_NO_TEST = 2;
/** EXIT_ERR_SETUP_INFRA. */
export const EXIT_ERR_SETUP_INFRA = 3;
/** argp's exit code for a bad command line (EX_USAGE). */
export const EXIT_USAGE = 64;

/** Where the runner prints. */
export interface SelftestsIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const HERE = fileURLToPath(import.meta.url);
const EXT: ".ts" | ".js" = HERE.endsWith(".ts") ? ".ts" : ".js";

/** The default test directory: selftests/prog_tests next to this module's tree (source or dist/). */
export const DEFAULT_TESTS_DIR: string = join(dirname(HERE), "..", "..", "selftests", "prog_tests");

function processIo(): SelftestsIo {
  // `a64bpf selftests | head`: stop quietly like a C program killed by SIGPIPE (128 + 13).
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(141);
    throw err;
  });
  // Bound now: tests capture process.stdout.write while they run.
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  return { stdout: (t) => void out(t), stderr: (t) => void err(t) };
}

/** The selection: the user's options, plus the denylist as a deny list or (check mode) as the allow list. */
function buildSelection(opts: Options): { selection: Selection; denylist?: TestFilterSet; denyPath: string } {
  const denyPath = opts.denylistFile ?? DEFAULT_DENYLIST;
  const useDeny = opts.denylist || opts.checkDenylist;
  const denylist = useDeny ? loadDenylist(denyPath) : undefined;
  const user = resolveUserSelection(opts);
  if (!denylist) return { selection: [user], denyPath };
  if (opts.checkDenylist) {
    const allow = newSelectorPair();
    allow.test.whitelist = denylist;
    return { selection: [user, allow], denylist, denyPath };
  }
  // As if `-d @DENYLIST.aarch64` came first on the command line.
  const blacklist = { tests: denylist.tests.map((t) => ({ name: t.name, subtests: [...t.subtests] })) };
  for (const t of user.test.blacklist.tests) {
    if (t.subtests.length === 0) insertTest(blacklist, t.name, { glob: true });
    for (const s of t.subtests) insertTest(blacklist, `${t.name}/${s}`, { glob: true });
  }
  user.test.blacklist = blacklist;
  return { selection: [user], denylist, denyPath };
}

/** Open a report file now (test_progs opens -J at parse time), so a bad path fails before the run. */
function openReport(path: string | undefined, what: string): number | undefined {
  if (path === undefined) return undefined;
  try {
    return openSync(path, "w");
  } catch (err) {
    throw new SetupError(`Failed to open ${what} file: ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function writeReport(fd: number | undefined, text: string): void {
  if (fd === undefined) return;
  writeSync(fd, text);
  closeSync(fd);
}

/** Output hooks: per-test dumps, or streaming with -v (without -j). */
function outputHooks(io: SelftestsIo, opts: Options): PoolHooks {
  const verbose = opts.verbosity > Verbosity.NONE;
  const parallel = opts.workers > 0;
  const printed = new Map<number, number>();
  const streaming = (def: TestDef): boolean => verbose && (!parallel || def.serial);
  const flushSubtests = (def: TestDef, state: TestState): void => {
    let next = printed.get(def.num) ?? 0;
    const done = state.inSubtest ? state.subtestStates.length - 1 : state.subtestStates.length;
    for (; next < done; next++) {
      const sub = state.subtestStates[next];
      if (!sub.filtered)
        io.stdout(`${formatSubtestLine(def, { num: next + 1, name: sub.name, result: subtestResult(sub) })}\n`);
    }
    printed.set(def.num, next);
  };
  return {
    onEvent(def, ev, state) {
      if (!streaming(def)) return;
      if (ev.type === "log") io.stdout(ev.text);
      else flushSubtests(def, state);
    },
    onDone(def, state) {
      if (streaming(def)) {
        flushSubtests(def, state);
        io.stdout(`${formatTestLine(def, state)}\n`);
      } else {
        io.stdout(dumpTestLog(def, state, { skipOkSubtests: false, parExecResult: parallel, verbose }));
      }
    },
    onStderr: (text) => io.stderr(text),
  };
}

function executeConfig(opts: Options, selection: Selection): ExecuteConfig {
  const verbose = opts.verbosity > Verbosity.NONE;
  return {
    settings: {
      verbosity: opts.verbosity,
      extraProgLoadLogFlags: opts.extraProgLoadLogFlags,
      verifierStats: opts.verifierStats,
      debug: opts.debug,
    },
    selection,
    workers: opts.workers,
    watchdogSecs: opts.watchdogSecs,
    notifySecs: opts.watchdogSecs < WATCHDOG_NOTIFY_SECS ? 0 : WATCHDOG_NOTIFY_SECS,
    workerPath: join(dirname(HERE), `worker${EXT}`),
    execArgv: process.execArgv,
    env: verbose ? { ...process.env, SELFTESTS_VERBOSE: "1" } : process.env,
  };
}

async function run(argv: readonly string[], io: SelftestsIo): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.help) {
    io.stdout(usageText());
    return 0;
  }
  const { selection, denylist, denyPath } = buildSelection(opts);
  const inProcess = opts.debug || process.env.A64BPF_NO_FORK === "1";
  // Source lines in PRINT_FAIL and stacks; must precede the test modules' import.
  if (inProcess) process.setSourceMapsEnabled(true);
  const listing = opts.count || opts.list;
  const cfg = executeConfig(opts, selection);
  const output = outputHooks(io, opts);
  const states = new Map<number, TestState>();
  const hooks: PoolHooks = {
    ...output,
    onDone(def, state) {
      states.set(def.num, state);
      output.onDone(def, state);
    },
  };
  // Workers boot while this process imports the suite.
  const pool = inProcess || listing ? undefined : startPool(cfg, hooks);
  try {
    // No ported test yet (an absent default directory) is an empty suite, not a setup error.
    const testsDir = opts.testsDir ?? DEFAULT_TESTS_DIR;
    const suite = opts.testsDir === undefined && !existsSync(testsDir) ? [] : await discoverTests(testsDir, EXT);
    const selected = suite.filter((d) => selectionRunsTest(selection, d));
    if (opts.count) {
      io.stdout(`${selected.length}\n`);
      return selected.length ? 0 : EXIT_NO_TEST;
    }
    if (opts.list) {
      for (const d of selected) io.stdout(`${d.name}\n`);
      return selected.length ? 0 : EXIT_NO_TEST;
    }
    const jsonFd = openReport(opts.jsonSummary, "json summary");
    const junitFd = openReport(opts.junit, "junit");
    if (pool) await runOnPool(pool, selected, opts.workers > 0);
    else await runInProcess(cfg, selected, hooks);
    const results = selected.flatMap((d) => {
      const state = states.get(d.num);
      return state ? [{ test: d, state }] : [];
    });
    const summary = summarize(results.map((r) => r.state));
    io.stdout(formatErrorLogs(results, opts.verbosity > Verbosity.NONE));
    writeReport(jsonFd, formatJsonSummary(buildJsonSummary(summary, results)));
    writeReport(junitFd, formatJunit(results));
    let denyFailed = false;
    if (opts.checkDenylist && denylist) {
      const checks = checkDenylist(denylist, { suite, results }, loadDenylistReasons(denyPath));
      io.stdout(formatDenylistCheck(basename(denyPath), checks));
      denyFailed = denylistCheckFailed(checks);
    }
    io.stdout(formatSummary(summary));
    if (summary.succ + summary.fail + summary.skip === 0) return EXIT_NO_TEST;
    if (opts.checkDenylist) return denyFailed ? 1 : 0;
    return summary.fail ? 1 : 0;
  } finally {
    await pool?.close();
  }
}

/**
 * Run the selftests with test_progs options `argv` (without the program
 * name), printing to `io`; resolves to the exit code.
 */
export async function runSelftests(argv: readonly string[], io: SelftestsIo = processIo()): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`a64bpf selftests: ${err.message}\nTry 'a64bpf selftests --help' for more information.\n`);
      return EXIT_USAGE;
    }
    if (err instanceof SetupError || err instanceof TestListError) {
      io.stderr(`${err.message}\n`);
      return EXIT_ERR_SETUP_INFRA;
    }
    throw err;
  }
}

/** The `a64bpf selftests` command. */
export async function main(argv: string[]): Promise<number> {
  return runSelftests(argv);
}
