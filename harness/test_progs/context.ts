/**
 * The process-wide state a running test sees: the kernel's `struct test_env
 * env` (verbosity, worker id, ...) and the current test.
 *
 * Models the globals of tools/testing/selftests/bpf/test_progs.c
 * (`env.test`, `env.test_state`, `env.subtest_state`). One test runs at a
 * time per process, as in test_progs; the worker (or the in-process runner)
 * installs the current test with {@link setCurrentTest} and removes it when
 * the test ends.
 */
import { availableParallelism } from "node:os";
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { Verbosity, type VerbosityLevel } from "./options.js";
import type { Selection } from "./selector.js";
import type { TestEvent, TestState } from "./state.js";

/** The kernel's `struct test_env`, reduced to what tests read. */
export interface TestEnv {
  verbosity: VerbosityLevel;
  /** Verifier log level added to every program load (-vv: 1, -vvv: 2). */
  extraProgLoadLogFlags: number;
  /** -s given: print verifier statistics where available. */
  verifierStats: boolean;
  debug: boolean;
  /** -jN: number of workers; 0 without -j. */
  workers: number;
  /** This worker's id with -j (0..N-1); -1 otherwise, like test_progs' main process. */
  workerId: number;
  /** Host CPUs. */
  nrCpus: number;
  /** The running test, if any. */
  test?: { name: string; num: number };
  /** The running subtest's name, if any. */
  subtestName?: string;
}

/**
 * Process-wide state, kept on globalThis so that a second copy of this
 * module (a test module loaded through another loader path, e.g. as
 * CommonJS) still sees the running test.
 */
interface Shared {
  env: TestEnv;
  current: TestContext | undefined;
}

const SHARED_KEY = Symbol.for("a64bpf.test_progs.context");
const holder = globalThis as unknown as Record<symbol, Shared | undefined>;
const shared: Shared = (holder[SHARED_KEY] ??= {
  env: {
    verbosity: Verbosity.NONE,
    extraProgLoadLogFlags: 0,
    verifierStats: false,
    debug: false,
    workers: 0,
    workerId: -1,
    nrCpus: availableParallelism(),
  },
  current: undefined,
});

/** The shared environment (the kernel's global `env`). */
export const env: TestEnv = shared.env;

/** Everything the test API needs about the running test. */
export interface TestContext {
  name: string;
  num: number;
  state: TestState;
  selection: Selection;
  /** Fold an event into `state` and forward it to the parent. */
  emit(ev: TestEvent): void;
}

/** Install (or, with undefined, remove) the running test. */
export function setCurrentTest(ctx: TestContext | undefined): void {
  shared.current = ctx;
  env.test = ctx ? { name: ctx.name, num: ctx.num } : undefined;
  env.subtestName = undefined;
}

/** The running test; throws (EINVAL) when called outside a test. */
export function currentTest(what: string): TestContext {
  if (!shared.current) throw new BpfError(EINVAL, `${what} called outside a running test`);
  return shared.current;
}

/** The running test, or undefined. */
export function maybeCurrentTest(): TestContext | undefined {
  return shared.current;
}

/** Settings of {@link configureEnv} (from the command line or the worker's init message). */
export interface EnvSettings {
  workerId: number;
  workers: number;
  verbosity: VerbosityLevel;
  extraProgLoadLogFlags: number;
  verifierStats: boolean;
  debug: boolean;
}

/** Set up `env` for this process (worker start, or the in-process runner). */
export function configureEnv(s: EnvSettings): void {
  env.workerId = s.workerId;
  env.workers = s.workers;
  env.verbosity = s.verbosity;
  env.extraProgLoadLogFlags = s.extraProgLoadLogFlags;
  env.verifierStats = s.verifierStats;
  env.debug = s.debug;
  if (s.verbosity > Verbosity.NONE) process.env.SELFTESTS_VERBOSE = "1";
}
