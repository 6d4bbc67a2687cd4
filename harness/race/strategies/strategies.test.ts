import test from "ava";
import type { ChoicePoint } from "../../../runtime/kernel/chooser.js";
import { boundedStrategy, DeviationChooser } from "./bounded.js";
import { DefaultModel, deviationStats, LoggingChooser, ScriptChooser, type LoggedChoice } from "./choice_log.js";
import { createStrategy } from "./index.js";
import { PctChooser, pctBound, pctStrategy, pidOfLabel } from "./pct.js";
import { randomStrategy } from "./random.js";
import { scheduleSeed, type TaskView } from "./types.js";

const NO_VIEW: TaskView = { runnable: () => [], current: () => undefined };

test("defaults: the previous CPU goes on, FIFO task, largest quantum, a tick that does not preempt", (t) => {
  const m = new DefaultModel();
  const cpu: ChoicePoint = { kind: "cpu", options: ["cpu0:5", "cpu1:6"] };
  t.is(m.defaultOf(cpu), 0, "no previous CPU: the first");
  m.observe(cpu, 1);
  t.is(m.defaultOf(cpu), 1, "CPU 1 took the last step");
  t.is(m.defaultOf({ kind: "cpu", options: ["cpu0:5", "cpu2:idle"] }), 0, "CPU 1 cannot go on");
  t.is(m.defaultOf({ kind: "task", options: ["a/1", "b/2"] }), 0);
  t.is(m.defaultOf({ kind: "quantum", options: ["2000", "5"] }), 0);
  t.is(m.defaultOf({ kind: "irq", options: ["none", "tick"] }), 1);
  t.is(m.defaultOf({ kind: "preempt", options: ["stay", "switch"] }), 0);
});

test("deviations and preemption points of a log", (t) => {
  const log: LoggedChoice[] = [
    { kind: "cpu", n: 2, index: 1, def: 0 },
    { kind: "quantum", n: 5, index: 3, def: 0 },
    { kind: "irq", n: 2, index: 1, def: 1 },
    { kind: "preempt", n: 2, index: 1, def: 0 },
    { kind: "task", n: 2, index: 1, def: 0 },
  ];
  t.deepEqual(deviationStats(log), { deviations: 4, preemptions: 2 });
});

test("a script replays its indices, falls back to defaults past its end or where an index does not fit", (t) => {
  const s = new ScriptChooser([1, 4, 1]);
  t.is(s.choose({ kind: "cpu", options: ["cpu0:1", "cpu1:2"] }), 1);
  t.is(s.choose({ kind: "quantum", options: ["9", "1"] }), 0, "4 does not fit two options");
  t.is(s.mismatches, 1);
  t.is(s.choose({ kind: "preempt", options: ["stay", "switch"] }), 1);
  t.is(s.choose({ kind: "cpu", options: ["cpu0:1", "cpu1:2"] }), 1, "past the end: default = the previous CPU");
  t.is(s.choose({ kind: "irq", options: ["none", "tick"] }), 1);
  t.is(s.consumed, 5);
});

test("the logging chooser records kind, option count, answer and default", (t) => {
  const l = new LoggingChooser({ choose: (p) => p.options.length - 1 });
  l.choose({ kind: "cpu", options: ["cpu0:1", "cpu1:2"] });
  l.choose({ kind: "irq", options: ["none", "tick"] });
  t.deepEqual(l.log, [
    { kind: "cpu", n: 2, index: 1, def: 0 },
    { kind: "irq", n: 2, index: 1, def: 1 },
  ]);
});

test("PCT picks the highest-priority task and CPU; a change point demotes the task that takes that step", (t) => {
  // With depth 1 there are no change points: the same task keeps winning.
  const c = new PctChooser(3, { depth: 1, k: 10, view: NO_VIEW });
  const first = c.choose({ kind: "task", options: ["a/1", "b/2", "c/3"] });
  for (let i = 0; i < 5; i++) t.is(c.choose({ kind: "task", options: ["a/1", "b/2", "c/3"] }), first);
  const label = ["a/1", "b/2", "c/3"][first];
  const cpu = c.choose({ kind: "cpu", options: ["cpu0:9", `cpu1:${pidOfLabel(label)}`] });
  t.true(cpu === 1 || c.choose({ kind: "task", options: ["x/9", label] }) === 0, "consistent priorities");

  // Depth 2, k = 1: the change point is step 1: the task on the chosen CPU drops below the other.
  const d = new PctChooser(5, { depth: 2, k: 1, view: NO_VIEW });
  const step1 = d.choose({ kind: "cpu", options: ["cpu0:1", "cpu1:2"] });
  const step2 = d.choose({ kind: "cpu", options: ["cpu0:1", "cpu1:2"] });
  t.not(step2, step1, "after the change point the other task wins");
  t.is(d.steps, 2);
});

test("PCT preempts only for a runnable task of higher priority, always ticks", (t) => {
  let runnable: number[] = [];
  const view: TaskView = { runnable: () => runnable, current: () => 1 };
  const c = new PctChooser(11, { depth: 1, k: 5, view });
  const win = c.choose({ kind: "task", options: ["a/1", "b/2"] }) === 0 ? 1 : 2;
  // Pid 1 is on the CPU, pid 2 waits: preempt exactly when pid 2 has the higher priority.
  runnable = [2];
  t.is(c.choose({ kind: "preempt", options: ["stay", "switch"], cpu: 0 }), win === 2 ? 1 : 0);
  runnable = [];
  t.is(c.choose({ kind: "preempt", options: ["stay", "switch"], cpu: 0 }), 0, "nobody waits");
  t.is(c.choose({ kind: "irq", options: ["none", "tick"] }), 1);
});

test("the PCT bound is 1/(n*k^(d-1))", (t) => {
  t.is(pctBound({ n: 4, k: 10, d: 3 }), 1 / 400);
  t.is(pctBound({ n: 6, k: 50, d: 1 }), 1 / 6);
  const s = pctStrategy({ seed: 1, depth: 3, view: NO_VIEW });
  s.next(0);
  s.done(0, { log: Array.from({ length: 20 }, () => ({ kind: "cpu" as const, n: 2, index: 0, def: 0 })), tasks: 4 });
  t.regex(s.summary(), /n=4 tasks, k=20 steps: .* = 6\.25e-4/);
});

test("pidOfLabel reads task and CPU labels", (t) => {
  t.is(pidOfLabel("caller0/5"), 5);
  t.is(pidOfLabel("kworker/0:0/4"), 4);
  t.is(pidOfLabel("cpu1:12"), 12);
  t.is(pidOfLabel("cpu0:idle"), undefined);
});

/** Drive a strategy over a fixed decision tree: three binary points whose default is 0. */
function enumerate(bound: number): number[][] {
  const s = boundedStrategy({ depth: bound });
  const seen: number[][] = [];
  for (let i = 0; ; i++) {
    const chooser = s.next(i);
    if (!chooser) break;
    const log = new LoggingChooser(chooser);
    for (let p = 0; p < 3; p++) log.choose({ kind: "preempt", options: ["stay", "switch"] });
    seen.push(log.log.map((c) => c.index));
    s.done(i, { log: log.log, tasks: 1 });
  }
  return seen;
}

test("bounded enumerates every schedule with at most `bound` deviations, fewest first, each once", (t) => {
  t.deepEqual(enumerate(0), [[0, 0, 0]]);
  t.deepEqual(enumerate(1), [
    [0, 0, 0],
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  const two = enumerate(2);
  t.is(two.length, 1 + 3 + 3);
  t.is(new Set(two.map(String)).size, two.length, "no schedule twice");
  t.true(two.slice(4).every((s) => s.filter((x) => x === 1).length === 2));
  t.is(enumerate(3).length, 8, "bound 3 covers all 2^3");
});

test("a deviation chooser takes defaults except at its forced positions", (t) => {
  const c = new DeviationChooser([{ pos: 1, index: 1 }]);
  t.is(c.choose({ kind: "irq", options: ["none", "tick"] }), 1);
  t.is(c.choose({ kind: "irq", options: ["none", "tick"] }), 1);
  t.is(c.choose({ kind: "preempt", options: ["stay", "switch"] }), 0);
});

test("random schedules differ by seed and index, and repeat exactly", (t) => {
  const pts: ChoicePoint[] = Array.from({ length: 40 }, () => ({ kind: "quantum", options: ["1", "2", "3", "4"] }));
  const run = (seed: number, i: number) => {
    const c = randomStrategy({ seed }).next(i);
    return pts.map((p) => c?.choose(p));
  };
  t.deepEqual(run(1, 0), run(1, 0));
  t.notDeepEqual(run(1, 0), run(1, 1));
  t.notDeepEqual(run(1, 0), run(2, 0));
  t.not(scheduleSeed(1, 0), scheduleSeed(0, 1));
});

test("createStrategy refuses unknown names and bad depths", (t) => {
  t.throws(() => createStrategy("dfs", { seed: 1, view: NO_VIEW }), {
    message: /unknown strategy: dfs \(known: random, pct, bounded\)/,
  });
  t.throws(() => createStrategy("pct", { seed: 1, depth: 0, view: NO_VIEW }), { message: /invalid PCT depth: 0/ });
  t.throws(() => createStrategy("bounded", { seed: 1, depth: -1, view: NO_VIEW }), {
    message: /invalid deviation bound/,
  });
});
