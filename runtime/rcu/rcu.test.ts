/**
 * Grace periods of the three RCU flavours against readers that sleep: a
 * preemptible-RCU reader and a tasks-trace reader hold their grace periods
 * until they unlock; RCU-tasks does not wait for a task that blocked
 * voluntarily (msleep is a quiescent state for it).
 */
import test from "ava";
import { initAssembler } from "../a64/asm.js";
import { Kernel } from "../kernel/kernel.js";
import type { KGen } from "../kernel/task.js";
import { asmFunction } from "../kernel/testing.js";

test.before(async () => {
  await initAssembler();
});

/** A reader: lock, note the time, sleep `us` µs, unlock, note the time. */
function reader(k: Kernel, name: string, lock: string, unlock: string): bigint {
  return asmFunction(
    k,
    name,
    [
      `call ${lock}`,
      "call ktime_get_ns",
      "mov x19, x0",
      "mov x0, #2",
      "call msleep",
      `call ${unlock}`,
      "call ktime_get_ns",
      "ret",
    ].join("\n"),
  );
}

type Flavour = "rcu" | "rcuTasks" | "rcuTasksTrace";

/** Start a grace period once `task` is asleep inside its section; return [start, end] of the GP. */
function gpAroundSleepingReader(k: Kernel, fn: bigint, flavour: Flavour): { gp: [bigint, bigint]; unlockAt: bigint } {
  const task = k.sched.spawnCall("reader", fn);
  let gp: [bigint, bigint] = [-1n, -1n];
  const ctl = k.sched.spawnKthread(
    "control",
    (function* (): KGen<void> {
      while (task.state !== "sleeping") {
        if (task.state === "dead") throw new Error("the reader never slept");
        yield { op: "yield", voluntary: true };
      }
      const start = k.sched.now;
      yield* k[flavour].synchronize();
      gp = [start, k.sched.now];
    })(),
  );
  k.sched.runUntil(() => ctl.state === "dead" && task.state === "dead", { maxSteps: 1_000_000 });
  if (task.oops) throw new Error(k.formatFault(task.oops));
  return { gp, unlockAt: task.exitValue ?? -1n };
}

test("preemptible RCU waits for a reader sleeping in rcu_read_lock()", (t) => {
  const k = new Kernel({ cpus: 2 });
  try {
    const { gp, unlockAt } = gpAroundSleepingReader(
      k,
      reader(k, "rcu_reader", "__rcu_read_lock", "__rcu_read_unlock"),
      "rcu",
    );
    t.true(gp[0] > 0n && unlockAt > gp[0], "the GP started while the reader slept");
    t.true(gp[1] >= unlockAt, `GP ended at ${gp[1]}, before the reader unlocked at ${unlockAt}`);
  } finally {
    k.close();
  }
});

test("RCU Tasks Trace waits for a sleeping rcu_read_lock_trace() reader", (t) => {
  const k = new Kernel({ cpus: 2 });
  try {
    const fn = reader(k, "trace_reader", "rcu_read_lock_trace", "rcu_read_unlock_trace");
    const { gp, unlockAt } = gpAroundSleepingReader(k, fn, "rcuTasksTrace");
    t.true(unlockAt > gp[0]);
    t.true(gp[1] >= unlockAt, `GP ended at ${gp[1]}, before the reader unlocked at ${unlockAt}`);
  } finally {
    k.close();
  }
});

test("RCU Tasks does not wait for a task that slept voluntarily, even inside rcu_read_lock_trace()", (t) => {
  const k = new Kernel({ cpus: 2 });
  try {
    const fn = reader(k, "trace_reader", "rcu_read_lock_trace", "rcu_read_unlock_trace");
    const { gp, unlockAt } = gpAroundSleepingReader(k, fn, "rcuTasks");
    t.true(gp[1] > gp[0]);
    t.true(gp[1] < unlockAt, `RCU-tasks GP ended at ${gp[1]}, only after the sleeper woke at ${unlockAt}`);
  } finally {
    k.close();
  }
});

test("an unbalanced rcu_read_unlock() is a WARNING (rcu_read_unlock underflow); the task goes on", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const f = asmFunction(k, "bad_unlock", "call __rcu_read_unlock\nmov x0, #7\nret");
    t.is(k.call(f), 7n);
    t.is(k.oopses.length, 0);
    t.is(k.bugs.reports.length, 1);
    t.is(k.bugs.reports[0].kind, "WARNING");
    t.regex(k.bugs.format(k.bugs.reports[0]), /rcu_read_unlock\(\) without rcu_read_lock\(\)/);
  } finally {
    k.close();
  }
});
