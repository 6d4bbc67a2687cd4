import test from "ava";
import { initAssembler } from "../a64/asm.js";
import { EDEADLK } from "../errno.js";
import { FaultError } from "../machine/fault.js";
import { PercpuRef, PercpuRefError } from "../rcu/percpu_ref.js";
import { RandomChooser } from "./chooser.js";
import { Kernel } from "./kernel.js";
import { mutexLock, mutexUnlock } from "./mutex.js";
import { SchedStallError, type SchedEvent } from "./sched.js";
import type { KGen } from "./task.js";
import { asmFunction, asmRaw } from "./testing.js";

test.before(async () => {
  await initAssembler();
});

const SEEDS = [1, 2, 3, 4, 5];

test("kernel.call runs an emulated function on a fresh task and returns x0", (t) => {
  const k = new Kernel({ cpus: 2 });
  try {
    const f = asmFunction(k, "add3", "add x0, x0, x1\nadd x0, x0, x2\nret");
    t.is(k.call(f, [1n, 2n, 3n]), 6n);
    // Arguments past the eighth go on the stack (AAPCS64).
    const g = asmFunction(k, "tenth", "ldr x0, [x29, #32+8]\nret");
    t.is(k.call(g, [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 99n]), 99n);
    t.is(k.call("raw_smp_processor_id") < 2n, true);
  } finally {
    k.close();
  }
});

test("msleep blocks on virtual time and cond_resched is a voluntary switch", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const f = asmFunction(
      k,
      "sleeper",
      ["mov x0, #5", "call msleep", "call cond_resched", "call ktime_get_ns", "ret"].join("\n"),
    );
    const task = k.sched.spawnCall("sleeper", f);
    k.runTask(task);
    t.true(task.exitValue !== undefined && task.exitValue >= 5_000_000n, `woke at ${task.exitValue}`);
    t.true(task.nvcsw >= 2, "msleep and cond_resched count as voluntary switches");
  } finally {
    k.close();
  }
});

for (const seed of SEEDS) {
  test(`RCU-tasks: a preempted task delays the grace period, an msleep one does not (seed ${seed})`, (t) => {
    const k = new Kernel({
      cpus: 2,
      quanta: [200, 1000],
      chooser: new RandomChooser(seed, { pIrq: 1, pPreempt: 1 }),
    });
    try {
      // A: a long busy loop (no voluntary switch), then schedule().
      const busy = asmFunction(
        k,
        "busy",
        ["movz x19, #0x4000", "loop:", "subs x19, x19, #1", "b.ne loop", "call schedule", "ret"].join("\n"),
      );
      const sleeper = asmFunction(k, "napper", ["mov x0, #1000", "call msleep", "ret"].join("\n"));
      // Other runnable tasks, so that ticks really preempt A.
      const spin = asmFunction(
        k,
        "spin",
        ["movz x19, #0x2000", "loop:", "subs x19, x19, #1", "b.ne loop", "ret"].join("\n"),
      );
      const events: SchedEvent[] = [];
      k.sched.trace = (e) => events.push(e);
      const a = k.sched.spawnCall("busy", busy);
      const b = k.sched.spawnCall("napper", sleeper);
      k.sched.spawnCall("spin1", spin);
      k.sched.spawnCall("spin2", spin);
      let gpStart = -1n;
      let gpEnd = -1n;
      const ctl = k.sched.spawnKthread(
        "control",
        (function* (): KGen<void> {
          // Start the grace period while A is preempted inside its loop and B is asleep.
          while (!(a.preempted && a.state === "runnable" && b.state === "sleeping")) {
            if (a.state === "dead") return;
            yield { op: "yield", voluntary: true };
          }
          gpStart = k.sched.now;
          yield* k.rcuTasks.synchronize();
          gpEnd = k.sched.now;
        })(),
      );
      k.sched.runUntil(() => ctl.state === "dead", { maxSteps: 2_000_000 });
      const aYield = events.find((e) => e.pid === a.pid && e.ev === "yield");
      t.truthy(aYield, "A switched voluntarily");
      t.true(gpStart >= 0n && gpEnd > gpStart);
      if (a.state !== "dead" || aYield!.t >= gpStart) {
        t.true(gpEnd >= aYield!.t, `GP ended at ${gpEnd} before A's voluntary switch at ${aYield!.t}`);
      }
      t.true(
        events.some((e) => e.pid === a.pid && e.ev === "preempt"),
        "A was preempted involuntarily",
      );
      t.true(gpEnd < b.wakeAt, `GP waited for the sleeping task (ended ${gpEnd}, B wakes ${b.wakeAt})`);
    } finally {
      k.close();
    }
  });
}

test("RCU-tasks: a task blocked in msleep does not hold up a grace period", (t) => {
  const k = new Kernel({ cpus: 2, seed: 9 });
  try {
    const napper = asmFunction(k, "napper", ["movz x0, #60000", "call msleep", "ret"].join("\n"));
    const b = k.sched.spawnCall("napper", napper);
    let end = -1n;
    const ctl = k.sched.spawnKthread(
      "control",
      (function* (): KGen<void> {
        while (b.state !== "sleeping") yield { op: "yield", voluntary: true };
        yield* k.rcuTasks.synchronize();
        end = k.sched.now;
      })(),
    );
    k.sched.runUntil(() => ctl.state === "dead");
    t.true(end > 0n && end < 1_000_000_000n, `grace period took ${end} ns while the napper sleeps 60 s`);
    t.is(b.state, "sleeping");
  } finally {
    k.close();
  }
});

for (const seed of SEEDS) {
  test(`percpu_ref: kill + release fires exactly once after the last put, from any CPU (seed ${seed})`, (t) => {
    const k = new Kernel({ cpus: 3, seed });
    try {
      let released = 0;
      let releasedAt = -1n;
      const ref = new PercpuRef("test_ref", {
        ncpus: 3,
        release: () => {
          released++;
          releasedAt = k.sched.now;
        },
        rcu: k.rcu,
      });
      let outstanding = 0;
      const user = (n: number) =>
        function* (): KGen<void> {
          for (let i = 0; i < n; i++) {
            const self = k.sched.curr.findIndex((c) => c?.comm === `user${n}`);
            if (!ref.tryget(self)) return;
            outstanding++;
            yield { op: "yield", voluntary: false };
            yield { op: "sleep", ns: 3000n, reason: "work" };
            const now = k.sched.curr.findIndex((c) => c?.comm === `user${n}`);
            outstanding--;
            ref.put(now);
          }
        };
      const users = [5, 7, 9].map((n) => k.sched.spawnKthread(`user${n}`, user(n)()));
      const killer = k.sched.spawnKthread(
        "killer",
        (function* (): KGen<void> {
          yield { op: "sleep", ns: 10_000n, reason: "wait" };
          ref.kill();
        })(),
      );
      k.sched.runUntil(() => released > 0 && users.every((u) => u.state === "dead") && killer.state === "dead", {
        maxSteps: 1_000_000,
      });
      // Let the machine run on for a millisecond: the release must not fire again.
      const idle = k.sched.spawnKthread(
        "idle_ms",
        (function* (): KGen<void> {
          yield { op: "sleep", ns: 1_000_000n, reason: "wait" };
        })(),
      );
      k.sched.runUntil(() => idle.state === "dead", { maxSteps: 100_000 });
      t.true(k.sched.now > releasedAt + 1_000_000n);
      t.is(released, 1);
      t.is(outstanding, 0, "released only after every reference was put");
      t.is(ref.count(), 0);
      t.throws(() => ref.put(0), { instanceOf: PercpuRefError });
    } finally {
      k.close();
    }
  });
}

test("percpu_ref: a put below zero is reported as a kernel bug", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    let released = 0;
    const ref = new PercpuRef("r", { ncpus: 1, release: () => released++, rcu: k.rcu });
    ref.kill();
    k.sched.runUntil(() => released === 1);
    const err = t.throws(() => ref.put(0), { instanceOf: PercpuRefError });
    t.regex(err?.message ?? "", /percpu_ref_put on released percpu_ref r/);
    const ref2 = new PercpuRef("r2", { ncpus: 1, release: () => {}, rcu: k.rcu });
    ref2.kill();
    t.throws(() => ref2.kill(), { message: /percpu_ref_kill\(\) called more than once on r2/ });
  } finally {
    k.close();
  }
});

/**
 * An emulated task and a kthread each do `iters` non-atomic increments of a
 * shared counter (read; wait; write) — under text_mutex when `locked`.
 */
function incrementRace(seed: number, locked: boolean, iters: number): { count: bigint; expected: bigint; k: Kernel } {
  const k = new Kernel({ cpus: 2, quanta: [3, 7, 20], chooser: new RandomChooser(seed, { pPreempt: 0.5 }) });
  const counter = k.symbolAddress("a64bpf_scratch");
  const lock = locked ? ["adr_sym x0, text_mutex", "call mutex_lock"] : [];
  const unlock = locked ? ["adr_sym x0, text_mutex", "call mutex_unlock"] : [];
  const f = asmFunction(
    k,
    "incr",
    [
      `mov x19, #${iters}`,
      "outer:",
      ...lock,
      "adr_sym x1, a64bpf_scratch",
      "ldr x2, [x1]",
      "mov x3, #20",
      "delay:",
      "subs x3, x3, #1",
      "b.ne delay",
      "add x2, x2, #1",
      "str x2, [x1]",
      ...unlock,
      "subs x19, x19, #1",
      "b.ne outer",
      "ret",
    ].join("\n"),
  );
  const emu = k.sched.spawnCall("incr", f);
  const kt = k.sched.spawnKthread(
    "kincr",
    (function* (): KGen<void> {
      const self = k.sched.tasks.find((x) => x.comm === "kincr")!;
      for (let i = 0; i < iters; i++) {
        if (locked) yield* mutexLock(k.textMutex, self);
        const v = k.machine.memory.read64(counter);
        yield { op: "yield", voluntary: false };
        yield { op: "yield", voluntary: false };
        k.machine.memory.write64(counter, v + 1n);
        if (locked) mutexUnlock(k.textMutex, self);
        yield { op: "yield", voluntary: false };
      }
    })(),
  );
  k.sched.runUntil(() => emu.state === "dead" && kt.state === "dead", { maxSteps: 5_000_000 });
  return { count: k.machine.memory.read64(counter), expected: BigInt(2 * iters), k };
}

for (const seed of SEEDS) {
  test(`text_mutex excludes a TypeScript kthread and an emulated task from each other (seed ${seed})`, (t) => {
    const { count, expected, k } = incrementRace(seed, true, 40);
    try {
      t.is(count, expected);
      t.is(k.bugs.reports.length, 0);
      t.is(k.textMutex.owner, undefined);
    } finally {
      k.close();
    }
  });
}

test("without text_mutex the same increments race (the exclusion test can fail)", (t) => {
  let lost = 0;
  for (const seed of SEEDS) {
    const { count, expected, k } = incrementRace(seed, false, 40);
    if (count < expected) lost++;
    k.close();
  }
  t.true(lost > 0, "at least one seed loses an update without the lock");
});

test("the same seed gives the same interleaving trace twice", (t) => {
  const run = (seed: number): string => {
    const k = new Kernel({ cpus: 2, quanta: [5, 50, 500], chooser: new RandomChooser(seed) });
    try {
      const events: string[] = [];
      k.sched.trace = (e) => events.push(`${e.t}:${e.cpu}:${e.pid}:${e.ev}:${e.detail ?? ""}`);
      const f = asmFunction(
        k,
        "worker",
        [
          "mov x19, #30",
          "loop:",
          "mov x0, #1",
          "call msleep",
          "call cond_resched",
          "subs x19, x19, #1",
          "b.ne loop",
          "ret",
        ].join("\n"),
      );
      const ts = [0, 1, 2].map((i) => k.sched.spawnCall(`w${i}`, f));
      const sync = k.sched.spawnKthread(
        "sync",
        (function* (): KGen<void> {
          yield* k.rcuTasks.synchronize();
          yield* k.rcu.synchronize();
        })(),
      );
      k.sched.runUntil(() => ts.every((x) => x.state === "dead") && sync.state === "dead", { maxSteps: 1_000_000 });
      return events.join("\n");
    } finally {
      k.close();
    }
  };
  const a = run(42);
  const b = run(42);
  const c = run(43);
  t.true(a.length > 1000);
  t.is(a, b);
  t.not(a, c, "a different seed gives a different interleaving");
});

test("executing freed text yields a use-after-free fault naming the freed symbol", (t) => {
  const k = new Kernel({ cpus: 2 });
  try {
    const f = asmFunction(k, "bpf_prog_0123456789abcdef_victim", "mov x0, #7\nret");
    t.is(k.call(f), 7n);
    k.bpfText.free(f);
    const err = t.throws(() => k.call(f), { instanceOf: FaultError });
    t.regex(err?.message ?? "", /use-after-free of bpf_prog_0123456789abcdef_victim/);
    t.is(k.oopses.length, 1);
    t.true(["fetch_prot", "break_fault"].includes(k.oopses[0].kind));
    // The kernel stays usable.
    const g = asmFunction(k, "after", "mov x0, #8\nret");
    t.is(k.call(g), 8n);
  } finally {
    k.close();
  }
});

test("kasanText: a read of freed BPF text is a KASAN use-after-free naming the allocation; without it the read sees brk", (t) => {
  for (const kasan of [true, false]) {
    const k = new Kernel({ cpus: 1, kasanText: kasan });
    try {
      const victim = asmFunction(k, "bpf_prog_0123456789abcdef_victim", "mov x0, #7\nret");
      const reader = asmFunction(k, "reader", "ldr w0, [x0]\nret");
      t.is(k.call(reader, [victim]), 0xa9be7bfdn, "a live program's text reads fine (its first word: stp x29, x30)");
      k.bpfText.free(victim);
      if (!kasan) {
        t.is(k.call(reader, [victim]), 0xd4202000n, "freed text holds brk #0x100, and nothing notices the read");
        continue;
      }
      const err = t.throws(() => k.call(reader, [victim]), { instanceOf: FaultError });
      t.is(k.oopses.length, 1);
      const f = k.oopses[0];
      t.is(f.kind, "kasan");
      t.is(f.address, victim);
      t.regex(f.detail ?? "", /^read of size 4 in freed bpf_prog_0123456789abcdef_victim \(freed at \d+ ns\)$/);
      t.regex(err?.message ?? "", /^BUG: KASAN: use-after-free at virtual address [0-9a-f]{16}: read of size 4/);
      t.regex(err?.message ?? "", /reader\+0x/, "the backtrace names the reading function");
    } finally {
      k.close();
    }
  }
});

test("a task call that returns without x19..x28 or SP intact oopses with an abi fault naming them", (t) => {
  const k = new Kernel({ cpus: 2 });
  try {
    // Saving and restoring a callee-saved register is fine, and so is using x9..x15 freely.
    const good = asmFunction(
      k,
      "keeps_x21",
      "str x21, [sp, #-16]!\nmov x21, #5\nmov x9, #1\nmov x0, x21\nldr x21, [sp], #16\nret",
    );
    t.is(k.call(good), 5n);
    t.is(k.oopses.length, 0);

    const reports: string[] = [];
    const unregister = k.registerDieNotifier((_f, report) => reports.push(report));
    const clobber = asmFunction(k, "loses_x23_x24", "mov x23, #1\nmov x24, #2\nmov x0, #3\nret");
    const err = t.throws(() => k.call(clobber), { instanceOf: FaultError });
    t.is(k.oopses.length, 1);
    const oops = k.oopses[0];
    t.is(oops.kind, "abi");
    t.regex(
      oops.detail ?? "",
      /^loses_x23_x24\+0x0\/0x[0-9a-f]+ returned with x23 = 0x1 \(was 0xa64bc5a0[0-9a-f]{4}0017\), x24 = 0x2 \(was 0xa64bc5a0[0-9a-f]{4}0018\)$/,
    );
    t.regex(err?.message ?? "", /AAPCS64 callee-saved state not preserved/);
    // die(): the report is in dmesg and reaches the die notifier chain.
    t.is(reports.length, 1);
    t.regex(reports[0], /^Internal error: AAPCS64 callee-saved state not preserved: loses_x23_x24/);
    t.true(k.dmesg.includes(reports[0].split("\n")[0]));
    unregister();

    // Two callee-saved registers swapped: each still holds a seed, but not its own.
    const swap = asmFunction(k, "swaps_x25_x26", "mov x9, x25\nmov x25, x26\nmov x26, x9\nret");
    t.throws(() => k.call(swap), { instanceOf: FaultError });
    t.regex(k.oopses[1].detail ?? "", /x25 = .*x26 = /);

    // SP not restored (a raw function with no frame that leaves SP moved).
    const leak = asmRaw(k, "leaks_sp", "sub sp, sp, #16\nmov x0, #1\nret");
    t.throws(() => k.call(leak), { instanceOf: FaultError });
    t.regex(k.oopses[2].detail ?? "", /^leaks_sp\+0x0\/0xc returned with sp = 0x([0-9a-f]+) \(was 0x([0-9a-f]+)\)$/);
    // The kernel goes on.
    t.is(k.call(good), 5n);
  } finally {
    k.close();
  }
});

test("unlocking a mutex one does not hold is a WARNING with a backtrace; the kernel goes on", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const f = asmFunction(
      k,
      "bad_unlocker",
      ["adr_sym x0, text_mutex", "call mutex_unlock", "mov x0, #3", "ret"].join("\n"),
    );
    t.is(k.call(f), 3n);
    t.is(k.bugs.reports.length, 1);
    const r = k.bugs.reports[0];
    t.is(r.kind, "WARNING");
    t.regex(r.message, /bad_unlocker\/\d+ unlocks text_mutex \(not locked\)/);
    const text = k.bugs.format(r);
    t.regex(text, /mutex_unlock\+0x4\/0x8/);
    t.regex(text, /bad_unlocker\+0x/);
  } finally {
    k.close();
  }
});

test("a task blocked forever is reported as a stall naming what it waits on", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const holder = k.sched.spawnKthread(
      "holder",
      (function* (): KGen<void> {
        yield* mutexLock(
          k.textMutex,
          k.sched.tasks.find((x) => x.comm === "holder")!,
        );
      })(),
    );
    k.sched.runUntil(() => holder.state === "dead");
    const f = asmFunction(k, "waiter", ["adr_sym x0, text_mutex", "call mutex_lock", "ret"].join("\n"));
    const err = t.throws(() => k.call(f), { instanceOf: SchedStallError });
    t.is(err?.errno, EDEADLK);
    t.regex(err?.message ?? "", /waiter\/\d+ blocked on text_mutex/);
  } finally {
    k.close();
  }
});

test("a dynamic service is a callable kernel function with a symbol", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const addr = k.registerDynamicService("test_add", (call) => {
      const [a, b] = call.args();
      return a + b;
    });
    t.is(k.symbolAddress("test_add"), addr);
    t.is(k.symbolize(addr + 4n), "test_add+0x4/0x8");
    const f = asmFunction(k, "caller", ["mov x0, #40", "mov x1, #2", "call test_add", "ret"].join("\n"));
    t.is(k.call(f), 42n);
  } finally {
    k.close();
  }
});

test("an exception-table entry turns a faulting load into 0 and resumes after it", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const f = asmFunction(k, "probe_read", ["mov x3, #77", "ldr x3, [x0]", "add x0, x3, #1", "ret"].join("\n"));
    // The load is the 5th instruction: 3 of prologue, then mov.
    const load = f + 16n;
    k.extable.add([{ insn: load, fixup: load + 4n, dstReg: 3 }]);
    t.is(k.call(f, [0xdead_0000n]), 1n, "x3 was cleared, execution resumed");
    t.is(k.oopses.length, 0);
    // Without the entry the same load oopses.
    k.extable.remove([k.extable.search(load)!]);
    t.throws(() => k.call(f, [0xdead_0000n]), { instanceOf: FaultError });
  } finally {
    k.close();
  }
});
