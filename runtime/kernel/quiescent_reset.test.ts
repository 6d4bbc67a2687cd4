/**
 * The reset hooks the race explorer uses to bring a kernel back to a
 * quiescent point between schedules (harness/race/checkpoint.ts):
 * Scheduler.quiescentState/restoreQuiescent/taskContext, Slab, TextAllocator
 * and StackAllocator checkpoint/restore. After a restore, the same requests
 * get the same answers as after the checkpoint.
 */
import test from "ava";
import { initAssembler } from "../a64/asm.js";
import { EBUSY } from "../errno.js";
import { CTX_PC } from "../machine/cpu.js";
import { Kernel } from "./kernel.js";
import { asmFunction } from "./testing.js";

test.before(async () => {
  await initAssembler();
});

function withKernel(fn: (k: Kernel) => void, cpus = 1): void {
  const k = new Kernel({ cpus });
  try {
    fn(k);
  } finally {
    k.close();
  }
}

test("slab: after restore, kmalloc hands out the same addresses and freed objects are live again", (t) => {
  withKernel((k) => {
    const a = k.slab.kmalloc(32);
    const cp = k.slab.checkpoint();
    const brk = k.slab.brk;
    const c = k.slab.kmalloc(32);
    const big = k.slab.kmalloc(3 * 4096);
    k.slab.kfree(a);
    t.is(k.slab.ksize(a), undefined);
    t.true(k.slab.brk > brk);
    k.slab.restore(cp);
    t.is(k.slab.brk, brk);
    t.is(k.slab.ksize(a), 32, "a is live again");
    t.is(k.slab.ksize(c), undefined, "c was never allocated");
    t.is(k.slab.kmalloc(32), c, "the same address as after the checkpoint");
    t.is(k.slab.kmalloc(3 * 4096), big);
    k.slab.restore(cp);
    t.notThrows(() => k.slab.kfree(a));
  });
});

test("text allocator: restore gives the same addresses, live list, freed list and high water", (t) => {
  withKernel((k) => {
    const pool = k.bpfText;
    const x = pool.alloc(100, "x");
    const cp = pool.checkpoint();
    const high = pool.highWater;
    const counts = { allocs: pool.allocs, frees: pool.frees };
    const y = pool.alloc(300, "y");
    pool.free(x.addr);
    t.is(pool.findFreed(x.addr)?.name, "x");
    t.true(pool.highWater > high);
    pool.restore(cp);
    t.deepEqual(
      pool.live().map((a) => a.name),
      cp.live.map((a) => a.name),
    );
    t.is(pool.findLive(x.addr)?.name, "x");
    t.is(pool.findFreed(x.addr), undefined);
    t.is(pool.highWater, high);
    t.deepEqual({ allocs: pool.allocs, frees: pool.frees }, counts);
    t.is(pool.alloc(300, "y again").addr, y.addr);
  });
});

test("task stacks: restore hands out the checkpoint's free stacks first, then those mapped since, lowest first", (t) => {
  withKernel((k) => {
    const s = k.stacks;
    const a = s.alloc();
    const b = s.alloc();
    s.free(b);
    s.free(a);
    const cp = s.checkpoint();
    t.deepEqual(
      cp.free.map((x) => x.base),
      [b.base, a.base],
    );
    const first = [s.alloc(), s.alloc(), s.alloc(), s.alloc()];
    t.deepEqual(
      first.slice(0, 2).map((x) => x.base),
      [b.base, a.base],
    );
    const fresh = first.slice(2);
    t.true(fresh[0].base < fresh[1].base);
    const busy = first[3];
    for (const x of first.slice(0, 3)) s.free(x);
    const err = t.throws(() => s.restore(cp));
    t.is((err as { errno?: number }).errno, EBUSY, "a stack mapped since is still in use");
    s.free(busy);
    // Freed in an order that differs from the checkpoint's.
    s.restore(cp);
    t.deepEqual(
      [s.alloc(), s.alloc(), s.alloc(), s.alloc()].map((x) => x.base),
      [b.base, a.base, fresh[0].base, fresh[1].base],
    );
  });
});

test("scheduler: restoreQuiescent gives the same pids and clock; a busy scheduler is refused", (t) => {
  withKernel((k) => {
    k.sched.runUntil(() => k.sched.liveTasks().every((x) => x.state === "blocked"));
    const state = k.sched.quiescentState();
    const f = asmFunction(k, "ret7", "mov x0, #7\nret");
    const first = k.sched.spawnCall("ret7", f);
    const e1 = t.throws(() => k.sched.quiescentState());
    t.is((e1 as { errno?: number }).errno, EBUSY);
    t.throws(() => k.sched.restoreQuiescent(state), { message: /not quiescent/ });
    k.runTask(first);
    t.true(k.sched.now > state.now);
    k.sched.restoreQuiescent(state);
    t.is(k.sched.now, state.now);
    t.false(k.sched.tasks.includes(first), "dead tasks are reaped");
    const again = k.sched.spawnCall("ret7", f);
    t.is(again.pid, first.pid, "the same pid as after the checkpoint");
    k.runTask(again);
    t.is(again.exitValue, 7n);
  });
});

test("scheduler: taskContext reads a running task's registers from its CPU, a switched-out task's from its frame", (t) => {
  const k = new Kernel({ cpus: 1, quanta: [50] });
  try {
    const spin = asmFunction(k, "spin", "spin_loop: add x0, x0, #1\nb spin_loop\nret");
    const task = k.sched.spawnCall("spin", spin);
    t.is(k.sched.taskContext(task)?.[CTX_PC], spin, "not run yet: the frame's context");
    k.sched.runUntil(() => k.sched.curr[0] === task && task.frames[0].kind === "emu" && k.machine.cpu(0).x(0) > 0n, {
      maxSteps: 100,
    });
    const frame = task.frames[0];
    if (frame.kind !== "emu") return t.fail("expected an emulated frame");
    const live = k.sched.taskContext(task);
    t.is(live?.[0], k.machine.cpu(0).x(0), "x0 comes from the CPU");
    t.not(live?.[0], frame.ctx[0], "the saved frame is older");
    t.is(k.sched.taskContext(k.sched.liveTasks().find((x) => x.kind === "kthread")!), undefined);
  } finally {
    k.close();
  }
});
