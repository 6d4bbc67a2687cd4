/**
 * Running one test function in this process.
 *
 * Models run_one_test() of tools/testing/selftests/bpf/test_progs.c: make
 * the test current, capture stdout/stderr into its log (stdio_hijack),
 * call it, finalize the last subtest, restore stdio.
 *
 * a64bpf additions: the test may be async; a test that throws, rejects, or
 * leaves an uncaught exception or unhandled rejection behind while it runs
 * is reported as FAIL with the error (fault reports included) in its log,
 * and the run continues. Errors that surface after the test ended go to
 * stderr. There is no watchdog here: the parent process
 * enforces it by killing the worker (pool.ts).
 */
import { BpfError } from "../../runtime/errors.js";
import { env, setCurrentTest, type TestContext } from "./context.js";
import type { Selection } from "./selector.js";
import { applyTestEvent, newTestState, type TestEvent, type TestState } from "./state.js";

/** What the runner needs to know about a test. */
export interface RunnableTest {
  name: string;
  num: number;
  /** The exported function's name (test_x or serial_test_x): the `<func>` of exception lines. */
  exportName: string;
}

/** Options of {@link runOneTest}. */
export interface RunOneOptions {
  selection: Selection;
  /** Route process.stdout/stderr writes into the log while the test runs. */
  captureStdio: boolean;
  /** Add stacks to exception reports. */
  debug: boolean;
  /** Monotonic clock in ms (for subtest durations). */
  now?: () => number;
}

/** "Name: message" of a thrown value. */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * The log line for an exception that escaped a test:
 * "<func>:FAIL:exception <Name> (<ERRNO>): <message>", plus the stack when
 * `debug` is set.
 */
export function formatException(func: string, err: unknown, debug: boolean): string {
  let head: string;
  if (err instanceof BpfError) head = `${err.name} (${err.errnoName}): ${err.message}`;
  else head = describeError(err);
  let text = `${func}:FAIL:exception ${head}\n`;
  if (debug && err instanceof Error && err.stack) {
    const frames = err.stack.split("\n").filter((l) => /^\s+at /.test(l));
    if (frames.length) text += `${frames.join("\n")}\n`;
  }
  return text;
}

type StreamWrite = typeof process.stdout.write;

function hijackStdio(ctx: TestContext): () => void {
  const out = process.stdout.write;
  const err = process.stderr.write;
  const capture = ((chunk: string | Uint8Array, encOrCb?: unknown, cb?: unknown): boolean => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    ctx.emit({ type: "log", text });
    const done = typeof encOrCb === "function" ? encOrCb : cb;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  }) as StreamWrite;
  process.stdout.write = capture;
  process.stderr.write = capture;
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
}

/** Resolves never; rejects with the first uncaught exception or unhandled rejection. */
function crashWatch(): { promise: Promise<never>; stop: () => void } {
  let reject!: (e: unknown) => void;
  const promise = new Promise<never>((_, rej) => (reject = rej));
  promise.catch(() => {});
  const onError = (e: unknown): void => reject(e);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  return {
    promise,
    stop: () => {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    },
  };
}

/**
 * Run `fn` as test `test`: every step is folded into the returned state
 * and passed to `sink` (the worker forwards it to the parent).
 */
export async function runOneTest(
  test: RunnableTest,
  fn: () => unknown,
  opts: RunOneOptions & { sink: (ev: TestEvent) => void },
): Promise<TestState> {
  const now = opts.now ?? (() => performance.now());
  const state = newTestState();
  const ctx: TestContext = {
    name: test.name,
    num: test.num,
    state,
    selection: opts.selection,
    emit(ev) {
      applyTestEvent(state, ev, { nowMs: now() });
      opts.sink(ev);
    },
  };
  const start = now();
  setCurrentTest(ctx);
  const restore = opts.captureStdio ? hijackStdio(ctx) : () => {};
  const crash = crashWatch();
  let ended = false;
  const run = Promise.resolve().then(fn);
  // A test that ended early (an escaped error) may still reject later: report it, do not crash.
  run.catch((err: unknown) => {
    if (ended) process.stderr.write(`${test.name}: error after the test ended: ${describeError(err)}\n`);
  });
  try {
    await Promise.race([run, crash.promise]);
  } catch (err) {
    ctx.emit({ type: "fail" });
    ctx.emit({ type: "log", text: formatException(test.exportName, err, opts.debug || env.debug) });
  } finally {
    ended = true;
    crash.stop();
    restore();
    ctx.emit({ type: "test_end" });
    state.durationMs = now() - start;
    setCurrentTest(undefined);
  }
  return state;
}
