import test from "ava";
import { EBUSY } from "../../runtime/errno.js";
import { AARCH64_BREAK_FAULT } from "../../runtime/kernel/text_alloc.js";
import { isQuiescent, kernelCheckpoint, kernelRestore } from "./checkpoint.js";
import { fentryDetach } from "./scenarios/fentry_detach.js";
import { RaceWorld } from "./world.js";

test("restore puts back memory, allocators, clock, pids and report lists", (t) => {
  const w = RaceWorld.create(fentryDetach);
  const k = w.k;
  try {
    t.true(isQuiescent(k));
    const cp = kernelCheckpoint(k);
    const calls = k.symbolAddress("race_calls");
    const before = {
      now: k.sched.now,
      brk: k.slab.brk,
      high: k.bpfText.highWater,
      calls: k.machine.memory.read64(calls),
    };
    const heapObj = k.slab.kmalloc(64);
    const text = k.bpfText.alloc(256, "scratch_text");
    k.machine.memory.write64(calls, 1234n);
    k.machine.memory.write64(heapObj, 0x1122n);
    k.bugs.report({ kind: "WARNING", message: "scribble", cpu: 0, backtrace: "", t: 0n });
    const task = k.sched.spawnCall("ret", k.symbolAddress("race_target"), [0n, 20n]);
    k.runTask(task);
    t.is(task.exitValue, 41n);
    t.true(k.sched.now > before.now);
    const stats = kernelRestore(cp);
    t.true(stats.pages >= 2, `${stats.pages} dirty pages copied back`);
    t.is(k.machine.memory.read64(calls), before.calls, "module data");
    t.is(k.slab.brk, before.brk);
    t.is(k.slab.ksize(heapObj), undefined, "the heap object was never allocated");
    t.is(k.bpfText.findLive(text.addr), undefined);
    t.true(k.bpfText.highWater <= before.high);
    // Text allocated after the checkpoint was never used at the checkpoint: zero again, not the fill word.
    t.not(k.machine.memory.read32(text.addr), AARCH64_BREAK_FAULT);
    t.is(k.machine.memory.read32(text.addr), 0);
    t.is(k.sched.now, before.now);
    t.false(k.bugs.reports.some((r) => r.message === "scribble"));
    const again = k.sched.spawnCall("ret", k.symbolAddress("race_target"), [0n, 1n]);
    t.is(again.pid, task.pid, "the same pid again");
    k.runTask(again);
  } finally {
    w.close();
  }
});

test("a kernel that is not quiescent is refused with EBUSY", (t) => {
  const w = RaceWorld.create(fentryDetach);
  try {
    const cp = kernelCheckpoint(w.k);
    w.k.sched.spawnCall("busy", w.k.symbolAddress("race_target"), [0n, 1n]);
    t.false(isQuiescent(w.k));
    const e1 = t.throws(() => kernelCheckpoint(w.k), {
      message: /checkpoint: the kernel is not quiescent: busy\/\d+ runnable/,
    });
    t.is((e1 as { errno?: number }).errno, EBUSY);
    const e2 = t.throws(() => kernelRestore(cp), { message: /restore: the kernel is not quiescent/ });
    t.is((e2 as { errno?: number }).errno, EBUSY);
  } finally {
    w.close();
  }
});
