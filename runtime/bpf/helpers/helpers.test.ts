import test from "ava";
import { initAssembler } from "../../a64/asm.js";
import { RandomChooser } from "../../kernel/chooser.js";
import { Kernel } from "../../kernel/kernel.js";
import { asmFunction } from "../../kernel/testing.js";
import { bindBpfHelpers } from "./helpers.js";

test.before(async () => {
  await initAssembler();
});

const ROUNDS = 150;

/**
 * A worker: ROUNDS times { lock; counter = counter + 1 with a delay between
 * the load and the store; unlock } on the struct at x0 = { u32 lock; u32 pad; u64 counter }.
 * With `locked` false the lock calls are left out (the race the lock prevents).
 */
function worker(locked: boolean): string {
  return [
    "mov x20, x0",
    `movz x19, #${ROUNDS}`,
    "outer:",
    ...(locked ? ["mov x0, x20", "call bpf_spin_lock"] : []),
    "ldr x1, [x20, #8]",
    "movz x2, #40",
    "delay:",
    "subs x2, x2, #1",
    "b.ne delay",
    "add x1, x1, #1",
    "str x1, [x20, #8]",
    ...(locked ? ["mov x0, x20", "call bpf_spin_unlock"] : []),
    "subs x19, x19, #1",
    "b.ne outer",
    "ret",
  ].join("\n");
}

/** Two workers on two CPUs with short quanta; returns the final counter and the kernel's bug reports. */
function race(locked: boolean, seed: number): { counter: bigint; bugs: number; lockWord: number } {
  const k = new Kernel({ cpus: 2, quanta: [30, 90], chooser: new RandomChooser(seed, { pIrq: 1, pPreempt: 1 }) });
  try {
    bindBpfHelpers(k);
    const shared = k.slab.kzalloc(16);
    const f = asmFunction(k, locked ? "locked_worker" : "racy_worker", worker(locked));
    const a = k.sched.spawnCall("w1", f, [shared]);
    const b = k.sched.spawnCall("w2", f, [shared]);
    k.sched.runUntil(() => a.state === "dead" && b.state === "dead", { maxSteps: 5_000_000 });
    return {
      counter: k.machine.memory.read64(shared + 8n),
      bugs: k.bugs.reports.length,
      lockWord: k.machine.memory.read32(shared),
    };
  } finally {
    k.close();
  }
}

for (const seed of [1, 2, 3]) {
  test(`bpf_spin_lock excludes the other CPU: no lost update (seed ${seed}); without it updates are lost`, (t) => {
    const locked = race(true, seed);
    t.is(locked.counter, BigInt(2 * ROUNDS));
    t.is(locked.lockWord, 0, "released");
    t.is(locked.bugs, 0);
    const racy = race(false, seed);
    t.true(racy.counter < BigInt(2 * ROUNDS), `the same schedule without the lock loses updates: ${racy.counter}`);
  });
}

test("bpf_spin_unlock of a free lock is a kernel BUG that oopses the task", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    bindBpfHelpers(k);
    const shared = k.slab.kzalloc(8);
    const f = asmFunction(k, "bad_unlock", ["call bpf_spin_unlock", "mov x0, #1", "ret"].join("\n"));
    const err = t.throws(() => k.call(f, [shared]));
    t.regex(err?.message ?? "", /spinlock already unlocked/);
  } finally {
    k.close();
  }
});
