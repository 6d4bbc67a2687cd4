/**
 * Messages between the runner and its worker processes (over the
 * child_process IPC channel, structured-clone serialization).
 *
 * Models `enum msg_type` / `struct msg` of
 * tools/testing/selftests/bpf/test_progs.h (MSG_DO_TEST, MSG_TEST_DONE,
 * MSG_TEST_LOG, MSG_SUBTEST_DONE, MSG_EXIT), streamed instead: the worker
 * sends each test event as it happens so that the parent still has the log
 * and the finished subtests of a test it must kill.
 *
 *   parent                                worker
 *     ── init {env, selection} ─────────────►
 *     ◄──────────────────────────── ready ──
 *     ── do_test {num, file, export} ───────►
 *     ◄─────────────────────── started {num} ──   (watchdog and clock start here)
 *     ◄──────────── event {TestEvent} ... ──   (log, subtest_start, fail, ...)
 *     ◄───────────────────────── done {num} ──
 *     ── exit ──────────────────────────────►
 */
import type { VerbosityLevel } from "./options.js";
import type { TestSelectorData } from "./selector.js";
import type { TestEvent } from "./state.js";

/** A selector pair as plain data. */
export interface SelectorPairData {
  test: TestSelectorData;
  subtest: TestSelectorData;
}

/** First message: the worker's `env` and the selection (for subtests). */
export interface InitMsg {
  type: "init";
  workerId: number;
  workers: number;
  verbosity: VerbosityLevel;
  extraProgLoadLogFlags: number;
  verifierStats: boolean;
  debug: boolean;
  selection: SelectorPairData[];
}

/** MSG_DO_TEST. */
export interface DoTestMsg {
  type: "do_test";
  num: number;
  name: string;
  file: string;
  exportName: string;
}

/** MSG_EXIT. */
export interface ExitMsg {
  type: "exit";
}

/** Parent → worker. */
export type ToWorkerMsg = InitMsg | DoTestMsg | ExitMsg;

/** Worker → parent. */
export type FromWorkerMsg =
  | { type: "ready" }
  | { type: "started"; num: number }
  | { type: "event"; num: number; ev: TestEvent }
  | { type: "done"; num: number };
