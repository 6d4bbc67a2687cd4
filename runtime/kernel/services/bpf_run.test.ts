/**
 * __bpf_prog_enter_recur / __bpf_prog_exit_recur: a nested entry of the same
 * program on the same CPU is a recursion — it returns 0 (the trampoline
 * skips the program) and counts a miss; the exits bring prog->active back.
 */
import test from "ava";
import { initAssembler } from "../../a64/asm.js";
import { Kernel } from "../kernel.js";
import { asmFunction } from "../testing.js";

test.before(async () => {
  await initAssembler();
});

/** enter, enter again (nested), exit, exit; returns (start1 != 0) | (start2 == 0) << 1. */
const NESTED = [
  "mov x19, x0",
  "mov x20, x1",
  "call __bpf_prog_enter_recur",
  "str x0, [sp, #-16]!",
  "mov x0, x19",
  "mov x1, x20",
  "call __bpf_prog_enter_recur",
  "str x0, [sp, #8]",
  "mov x0, x19",
  "ldr x1, [sp, #8]",
  "mov x2, x20",
  "call __bpf_prog_exit_recur",
  "mov x0, x19",
  "ldr x1, [sp]",
  "mov x2, x20",
  "call __bpf_prog_exit_recur",
  "ldp x0, x1, [sp], #16",
  "cmp x0, #0",
  "cset x0, ne",
  "cmp x1, #0",
  "cset x1, eq",
  "orr x0, x0, x1, lsl #1",
  "ret",
].join("\n");

test("a nested __bpf_prog_enter_recur of the same program is a miss: returns 0, misses++, active restored", (t) => {
  const k = new Kernel({ cpus: 2 });
  try {
    const progAddr = k.slab.kzalloc(64);
    const runCtx = k.slab.kzalloc(64);
    const prog = k.bpfRun.registerProg({ addr: progAddr, name: "p", sleepable: false });
    const f = asmFunction(k, "nested_enter", NESTED);
    t.is(k.call(f, [progAddr, runCtx]), 3n, "the first entry runs the program, the nested one does not");
    t.is(prog.misses, 1);
    t.deepEqual([...prog.active], [0, 0], "prog->active is back to 0 on every CPU");
    // Again: one more miss, nothing left behind.
    t.is(k.call(f, [progAddr, runCtx]), 3n);
    t.is(prog.misses, 2);
    t.deepEqual([...prog.active], [0, 0]);
    t.deepEqual(k.oopses, []);
    t.is(k.bugs.reports.length, 0);
  } finally {
    k.close();
  }
});
