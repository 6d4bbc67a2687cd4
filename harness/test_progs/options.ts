/**
 * The test_progs command line.
 *
 * Models the argp options of tools/testing/selftests/bpf/test_progs.c
 * (parse_arg()), parsed by hand because test_progs' syntax has optional
 * attached values (`-j`, `-j4`, `-vv`, `--workers=4`, `--verbose=v`) that
 * common parsers treat differently. Like getopt: short flags group
 * (`-lc`), a required value is attached or the next word (`-t x`, `-tx`,
 * `--name x`, `--name=x`), an optional value only attached (`-j 4` is `-j`
 * plus a stray argument, which is an error), long options accept unique
 * prefixes (`--verb`).
 *
 *   test_progs:  -n/--num NUM[/SUBNUMS]  -t/--name NAMES  -b/--name-blacklist NAMES
 *                -a/--allow NAMES  -d/--deny NAMES  -s/--verifier-stats  -v[v[v]]/--verbose[=LEVEL]
 *                -c/--count  -l/--list  -j[N]/--workers[=N]  -J/--json-summary FILE
 *                -w/--watchdog-timeout SECONDS  --debug
 *   a64bpf:      --junit FILE  --no-denylist  --check-denylist  --denylist FILE  --tests-dir DIR
 *
 * Simplifications: `--verbose=1|2|3` is accepted besides the kernel's `v`/`vv`;
 * `-j` and `-w` need a plain non-negative decimal number (the kernel uses atoi).
 * NAMES arguments are kept in order and resolved (with their `@file` reads)
 * by {@link resolveUserSelection}.
 */
import { availableParallelism } from "node:os";
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { newSelectorPair, type SelectorPair } from "./selector.js";
import { parseNumList, parseTestList, parseTestListFile, TestListError } from "./test_list.js";

/** The kernel's `enum verbosity`. */
export const Verbosity = { NONE: 0, NORMAL: 1, VERY: 2, SUPER: 3 } as const;
/** One of {@link Verbosity}'s values. */
export type VerbosityLevel = (typeof Verbosity)[keyof typeof Verbosity];

/** A -t/-b/-a/-d argument, in command-line order. */
export interface NameArg {
  /** allow: -t/-a (whitelist); deny: -b/-d (blacklist). */
  list: "allow" | "deny";
  /** true for -a/-d (globs), false for -t/-b (substrings). */
  glob: boolean;
  /** A comma list or `@file`. */
  value: string;
}

/** Everything the command line says. */
export interface Options {
  nameArgs: NameArg[];
  /** -n: selected test numbers, or null. */
  testNums: Set<number> | null;
  /** -n NUM/SUBNUMS: selected subtest numbers, or null. */
  subtestNums: Set<number> | null;
  verbosity: VerbosityLevel;
  /** Verifier log level added to every load (-vv: 1, -vvv: 2), the kernel's extra_prog_load_log_flags. */
  extraProgLoadLogFlags: number;
  count: boolean;
  list: boolean;
  verifierStats: boolean;
  debug: boolean;
  /** 0 without -j. */
  workers: number;
  jsonSummary?: string;
  junit?: string;
  /** -w: seconds before a test is killed; 0 disables the watchdog. */
  watchdogSecs: number;
  /** Apply the default DENYLIST (false with --no-denylist). */
  denylist: boolean;
  /** --denylist FILE: the default denylist file instead of DENYLIST.aarch64. */
  denylistFile?: string;
  checkDenylist: boolean;
  testsDir?: string;
  help: boolean;
}

/** A malformed command line; the runner exits with EX_USAGE (64) as argp does. */
export class UsageError extends BpfError {
  constructor(message: string) {
    super(EINVAL, message);
  }
}

/** Default -w (seconds), as test_progs. */
export const DEFAULT_WATCHDOG_SECS = 120;

type ArgMode = "none" | "required" | "optional";

interface OptionSpec {
  long: string;
  short?: string;
  arg: ArgMode;
  apply: (opts: Options, value: string | undefined, shown: string) => void;
}

function nameArg(list: "allow" | "deny", glob: boolean): OptionSpec["apply"] {
  return (opts, value) => opts.nameArgs.push({ list, glob, value: value ?? "" });
}

function parseVerbose(opts: Options, value: string | undefined): void {
  const levels: Record<string, [VerbosityLevel, number]> = {
    v: [Verbosity.VERY, 1],
    vv: [Verbosity.SUPER, 2],
    "1": [Verbosity.NORMAL, 0],
    "2": [Verbosity.VERY, 1],
    "3": [Verbosity.SUPER, 2],
  };
  if (value === undefined) {
    opts.verbosity = Verbosity.NORMAL;
    return;
  }
  const level = levels[value];
  if (!level) throw new UsageError(`Unrecognized verbosity setting ('${value}'), only -v and -vv are supported`);
  [opts.verbosity, opts.extraProgLoadLogFlags] = level;
}

function parseNum(opts: Options, value: string | undefined): void {
  const arg = value ?? "";
  const slash = arg.indexOf("/");
  try {
    if (slash >= 0) {
      try {
        opts.subtestNums = parseNumList(arg.slice(slash + 1));
      } catch (err) {
        if (err instanceof TestListError) throw new UsageError("Failed to parse subtest numbers.");
        throw err;
      }
    }
    opts.testNums = parseNumList(slash >= 0 ? arg.slice(0, slash) : arg);
  } catch (err) {
    if (err instanceof TestListError) throw new UsageError("Failed to parse test numbers.");
    throw err;
  }
}

const DECIMAL = /^\d+$/;

const SPECS: OptionSpec[] = [
  { long: "num", short: "n", arg: "required", apply: parseNum },
  { long: "name", short: "t", arg: "required", apply: nameArg("allow", false) },
  { long: "name-blacklist", short: "b", arg: "required", apply: nameArg("deny", false) },
  { long: "verifier-stats", short: "s", arg: "none", apply: (o) => void (o.verifierStats = true) },
  { long: "verbose", short: "v", arg: "optional", apply: parseVerbose },
  { long: "count", short: "c", arg: "none", apply: (o) => void (o.count = true) },
  { long: "list", short: "l", arg: "none", apply: (o) => void (o.list = true) },
  { long: "allow", short: "a", arg: "required", apply: nameArg("allow", true) },
  { long: "deny", short: "d", arg: "required", apply: nameArg("deny", true) },
  {
    long: "workers",
    short: "j",
    arg: "optional",
    apply: (o, v) => {
      if (v === undefined) o.workers = availableParallelism();
      else if (DECIMAL.test(v) && Number(v) > 0) o.workers = Number(v);
      else throw new UsageError(`Invalid number of worker: ${v}.`);
    },
  },
  { long: "debug", arg: "none", apply: (o) => void (o.debug = true) },
  { long: "json-summary", short: "J", arg: "required", apply: (o, v) => void (o.jsonSummary = v) },
  {
    long: "watchdog-timeout",
    short: "w",
    arg: "required",
    apply: (o, v) => {
      if (v === undefined || !DECIMAL.test(v)) throw new UsageError(`Invalid watchdog timeout: ${v ?? ""}.`);
      o.watchdogSecs = Number(v);
    },
  },
  { long: "junit", arg: "required", apply: (o, v) => void (o.junit = v) },
  { long: "no-denylist", arg: "none", apply: (o) => void (o.denylist = false) },
  { long: "check-denylist", arg: "none", apply: (o) => void (o.checkDenylist = true) },
  { long: "denylist", arg: "required", apply: (o, v) => void (o.denylistFile = v) },
  { long: "tests-dir", arg: "required", apply: (o, v) => void (o.testsDir = v) },
  { long: "help", short: "h", arg: "none", apply: (o) => void (o.help = true) },
];

/** Options with test_progs' defaults. */
export function defaultOptions(): Options {
  return {
    nameArgs: [],
    testNums: null,
    subtestNums: null,
    verbosity: Verbosity.NONE,
    extraProgLoadLogFlags: 0,
    count: false,
    list: false,
    verifierStats: false,
    debug: false,
    workers: 0,
    watchdogSecs: DEFAULT_WATCHDOG_SECS,
    denylist: true,
    checkDenylist: false,
    help: false,
  };
}

function findLong(name: string): OptionSpec {
  const exact = SPECS.find((s) => s.long === name);
  if (exact) return exact;
  const prefixed = SPECS.filter((s) => s.long.startsWith(name));
  if (prefixed.length === 1) return prefixed[0];
  if (prefixed.length > 1) throw new UsageError(`option '--${name}' is ambiguous`);
  throw new UsageError(`unrecognized option '--${name}'`);
}

/**
 * Parse a test_progs command line (without the program name). Throws
 * {@link UsageError} with argp-style messages.
 */
export function parseOptions(argv: readonly string[]): Options {
  const opts = defaultOptions();
  let i = 0;
  const next = (shown: string): string => {
    if (i >= argv.length) throw new UsageError(`option requires an argument -- '${shown}'`);
    return argv[i++];
  };
  while (i < argv.length) {
    const word = argv[i++];
    if (word === "--") {
      if (i < argv.length) throw new UsageError(`unexpected argument: ${argv[i]}`);
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const spec = findLong(name);
      let value = eq < 0 ? undefined : word.slice(eq + 1);
      if (spec.arg === "none" && value !== undefined) {
        throw new UsageError(`option '--${spec.long}' doesn't allow an argument`);
      }
      if (spec.arg === "required" && value === undefined) value = next(spec.long);
      spec.apply(opts, value, `--${spec.long}`);
    } else if (word.startsWith("-") && word.length > 1) {
      for (let k = 1; k < word.length; k++) {
        const ch = word[k];
        const spec = SPECS.find((s) => s.short === ch);
        if (!spec) throw new UsageError(`invalid option -- '${ch}'`);
        const attached = word.slice(k + 1);
        if (spec.arg === "none") {
          spec.apply(opts, undefined, `-${ch}`);
          continue;
        }
        const value = attached.length > 0 ? attached : spec.arg === "required" ? next(ch) : undefined;
        spec.apply(opts, value, `-${ch}`);
        break;
      }
    } else {
      throw new UsageError(`unexpected argument: ${word}`);
    }
  }
  return opts;
}

/**
 * The user's selection from -t/-b/-a/-d/-n, reading `@file` lists. Throws
 * {@link TestListError} when a list file cannot be read.
 */
export function resolveUserSelection(opts: Options): SelectorPair {
  const pair = newSelectorPair();
  for (const arg of opts.nameArgs) {
    const set = arg.list === "allow" ? pair.test.whitelist : pair.test.blacklist;
    if (arg.value.startsWith("@")) parseTestListFile(arg.value.slice(1), set, { glob: arg.glob });
    else parseTestList(arg.value, set, { glob: arg.glob });
  }
  pair.test.numSet = opts.testNums;
  pair.subtest.numSet = opts.subtestNums;
  return pair;
}

/** The --help text. */
export function usageText(): string {
  return `Usage: a64bpf selftests [OPTION...]
BPF selftests test runner (test_progs-compatible)

  -a, --allow=NAMES          Run tests with name matching the pattern (supports '*' wildcard).
  -b, --name-blacklist=NAMES Don't run tests with names containing any string from NAMES list
  -c, --count                Get number of selected top-level tests
  -d, --deny=NAMES           Don't run tests with name matching the pattern (supports '*' wildcard).
      --debug                Run the tests in this process (no workers, no watchdog), print stacks
  -j, --workers[=WORKERS]    Number of workers to run in parallel, default to number of cpus.
  -J, --json-summary=FILE    Write report in json format to this file.
  -l, --list                 List test names that would run (without running them)
  -n, --num=NUM              Run test number NUM only
  -s, --verifier-stats       Output verifier statistics
  -t, --name=NAMES           Run tests with names containing any string from NAMES list
  -v, --verbose[=LEVEL]      Verbose output (use -vv or -vvv for progressively verbose output)
  -w, --watchdog-timeout=SECONDS
                             Kill a test that makes no progress for SECONDS (default 120, 0: never).
      --junit=FILE           Write a JUnit XML report to FILE.
      --no-denylist          Do not apply DENYLIST.aarch64.
      --check-denylist       Run only the denylisted tests; report entries that now pass.
      --denylist=FILE        Use FILE as the default denylist.
      --tests-dir=DIR        Discover tests in DIR instead of selftests/prog_tests.
  -h, --help                 Give this help list

Options accepting the NAMES parameter take either a comma-separated list
of test names, or a filename prefixed with @. The file contains one name
(or wildcard pattern) per line, and comments beginning with # are ignored.

These options can be passed repeatedly to read multiple files.
`;
}
