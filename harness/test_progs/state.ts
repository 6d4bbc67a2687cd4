/**
 * Per-test results and the events that build them.
 *
 * Models `struct test_state` / `struct subtest_state` of
 * tools/testing/selftests/bpf/test_progs.h and the bookkeeping of
 * test__start_subtest(), test__end_subtest(), test__skip(), test__fail() and
 * test__force_log() in test_progs.c.
 *
 * A test runs in a worker process; every step it takes is an event sent to
 * the parent. Both sides fold the same events with {@link applyTestEvent}, so
 * the parent knows the state up to the last event even when it has to kill a
 * hung worker:
 *
 *   worker                                   parent
 *   ──────                                   ──────
 *   log "f:PASS:x 0 nsec\n" ───────────────► state.logBuf += ...
 *   subtest_start "fentry" ────────────────► new subtest, watchdog re-armed
 *   fail ──────────────────────────────────► subtest.errorCnt++
 *   subtest_end ───────────────────────────► test.errorCnt++ (or sub_succ/skip)
 *   test_end ──────────────────────────────► tested = true, result printed
 *
 * Counting (as the kernel): a subtest that failed adds 1 to the test's
 * errorCnt; one that passed adds to subSuccCnt; one that was skipped adds to
 * skipCnt. test__skip() outside a subtest adds to skipCnt directly.
 */

/** One subtest (the kernel's `struct subtest_state`). */
export interface SubtestState {
  name: string;
  logBuf: string;
  errorCnt: number;
  skipped: boolean;
  /** Not selected: not printed, not counted, but it keeps its number. */
  filtered: boolean;
  /** Wall time in ms, measured by whoever folds the events (0 if unknown). */
  durationMs: number;
}

/** One top-level test (the kernel's `struct test_state`). */
export interface TestState {
  tested: boolean;
  forceLog: boolean;
  errorCnt: number;
  skipCnt: number;
  subSuccCnt: number;
  subtestStates: SubtestState[];
  logBuf: string;
  /** True between a selected subtest's start and its end. */
  inSubtest: boolean;
  /** Clock reading at the current subtest's start. */
  subtestStartMs: number;
  durationMs: number;
}

/** A step of a running test. */
export type TestEvent =
  | { type: "log"; text: string }
  | { type: "subtest_start"; name: string; filtered: boolean }
  | { type: "subtest_end" }
  | { type: "skip" }
  | { type: "fail" }
  | { type: "force_log" }
  | { type: "test_end" };

/** A fresh state, before the test starts. */
export function newTestState(): TestState {
  return {
    tested: false,
    forceLog: false,
    errorCnt: 0,
    skipCnt: 0,
    subSuccCnt: 0,
    subtestStates: [],
    logBuf: "",
    inSubtest: false,
    subtestStartMs: 0,
    durationMs: 0,
  };
}

/** The subtest being run, if any. */
export function currentSubtest(state: TestState): SubtestState | undefined {
  return state.inSubtest ? state.subtestStates[state.subtestStates.length - 1] : undefined;
}

function endSubtest(state: TestState, nowMs: number): void {
  const sub = currentSubtest(state);
  if (!sub) return;
  if (sub.errorCnt) state.errorCnt++;
  else if (!sub.skipped) state.subSuccCnt++;
  else state.skipCnt++;
  sub.durationMs = Math.max(0, nowMs - state.subtestStartMs);
  state.inSubtest = false;
}

/**
 * Fold one event into `state` (mutates it). `opts.nowMs` is a monotonic
 * clock reading used to time subtests.
 */
export function applyTestEvent(state: TestState, ev: TestEvent, opts: { nowMs?: number } = {}): void {
  const nowMs = opts.nowMs ?? 0;
  const sub = currentSubtest(state);
  switch (ev.type) {
    case "log":
      if (sub) sub.logBuf += ev.text;
      else state.logBuf += ev.text;
      break;
    case "subtest_start":
      endSubtest(state, nowMs);
      state.subtestStates.push({
        name: ev.name,
        logBuf: "",
        errorCnt: 0,
        skipped: false,
        filtered: ev.filtered,
        durationMs: 0,
      });
      if (!ev.filtered) {
        state.inSubtest = true;
        state.subtestStartMs = nowMs;
      }
      break;
    case "subtest_end":
      endSubtest(state, nowMs);
      break;
    case "skip":
      if (sub) sub.skipped = true;
      else state.skipCnt++;
      break;
    case "fail":
      if (sub) sub.errorCnt++;
      else state.errorCnt++;
      break;
    case "force_log":
      state.forceLog = true;
      break;
    case "test_end":
      endSubtest(state, nowMs);
      state.tested = true;
      break;
  }
}

/** test_result(): "FAIL", "SKIP" or "OK" for a subtest. */
export function subtestResult(sub: SubtestState): string {
  return sub.errorCnt ? "FAIL" : sub.skipped ? "SKIP" : "OK";
}

/**
 * The result word of print_test_result(): FAIL, OK, SKIP (every subtest
 * skipped, or test__skip() in a test without subtests) or OK (SKIP: x/y).
 * y counts every subtest number handed out, filtered ones included.
 */
export function testResult(state: TestState): string {
  const skipped = state.skipCnt;
  const subtests = state.subtestStates.length;
  if (state.errorCnt) return "FAIL";
  if (!skipped) return "OK";
  if (skipped === subtests || !subtests) return "SKIP";
  return `OK (SKIP: ${skipped}/${subtests})`;
}
