import test from "ava";
import { FaultError, formatFault, type Fault } from "../../runtime/machine/fault.js";
import { NotSupportedError } from "../../runtime/errors.js";
import { maybeCurrentTest } from "./context.js";
import { describeError, formatException, runOneTest } from "./run_one.js";
import type { TestEvent } from "./state.js";
import { testLog, testStartSubtest } from "./test_progs.js";

const FAULT: Fault = {
  cpu: 1,
  pc: 0xffff800008010040n,
  lr: 0xffff800008010010n,
  sp: 0xffff800009003f00n,
  fp: 0xffff800009003f10n,
  kind: "break_fault",
  detail: "use-after-free of bpf_trampoline_6442",
  task: { pid: 42, comm: "test_progs" },
  backtrace: [{ pc: 0xffff800008010040n, fp: 0xffff800009003f10n, symbol: "bpf_trampoline_6442+0x40/0x200" }],
};

test("a fault report keeps its oops text and backtrace in the exception line", (t) => {
  const err = new FaultError(FAULT);
  const text = formatException("test_fexit_test", err, false);
  t.is(text, `test_fexit_test:FAIL:exception FaultError (EFAULT): ${formatFault(FAULT)}\n`);
  t.true(text.includes("Call trace:"));
  t.true(text.includes("bpf_trampoline_6442+0x40/0x200"));
});

test("exception lines: errno names for BpfErrors, stacks only when asked", (t) => {
  t.is(
    formatException("test_x", new NotSupportedError("argument 9 of f"), false),
    "test_x:FAIL:exception NotSupportedError (ENOTSUPP): argument 9 of f\n",
  );
  t.is(formatException("test_x", "a string", false), "test_x:FAIL:exception a string\n");
  const withStack = formatException("test_x", new TypeError("boom"), true).split("\n");
  t.is(withStack[0], "test_x:FAIL:exception TypeError: boom");
  t.regex(withStack[1], /^\s+at /);
  t.is(describeError(new RangeError("r")), "RangeError: r");
  t.is(describeError(42), "42");
});

test.serial("stdout and stderr are captured into the log while the test runs, then restored", async (t) => {
  const events: TestEvent[] = [];
  const write = process.stdout.write;
  const state = await runOneTest(
    { name: "cap", num: 1, exportName: "test_cap" },
    () => {
      console.log("to stdout");
      console.error("to stderr");
      process.stdout.write(Buffer.from("bytes\n"));
      testLog("%s=%d\n", "x", 3);
    },
    { selection: [], captureStdio: true, debug: false, sink: (ev) => events.push(ev) },
  );
  t.is(process.stdout.write, write);
  t.is(state.logBuf, "to stdout\nto stderr\nbytes\nx=3\n");
  t.deepEqual(events[events.length - 1], { type: "test_end" });
  t.is(maybeCurrentTest(), undefined);
});

test.serial("an exception inside a subtest fails that subtest and the test", async (t) => {
  const state = await runOneTest(
    { name: "sub_throw", num: 3, exportName: "test_sub_throw" },
    () => {
      if (testStartSubtest("ok")) testLog("fine\n");
      if (testStartSubtest("boom")) throw new NotSupportedError("nope");
    },
    { selection: [], captureStdio: false, debug: false, sink: () => {} },
  );
  t.is(state.subtestStates[0].errorCnt, 0);
  t.is(state.subtestStates[1].errorCnt, 1);
  t.is(state.subtestStates[1].logBuf, "test_sub_throw:FAIL:exception NotSupportedError (ENOTSUPP): nope\n");
  t.is(state.errorCnt, 1);
  t.is(state.subSuccCnt, 1);
  t.true(state.tested);
});
