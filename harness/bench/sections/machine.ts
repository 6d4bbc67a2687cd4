/**
 * Section `machine`: what runtime/machine costs on top of raw Unicorn
 * (issue 2's benchmark): loop speed on a Machine CPU, loop speed when the
 * scheduler re-enters the CPU every quantum, hypercall round trips, and
 * context switches.
 *
 * One Machine (2 CPUs, the default) with the bench page of code.ts mapped
 * RX at TEXT; everything runs on CPU 0, the way the scheduler drives a CPU,
 * except the budget-free loop (CPU 1, see loopNoQuantum):
 *
 *   loop             x0 = N; uc_emu_start(LOOP, sentinel, count 0): the
 *                    Machine's interrupt and memory hooks are installed but
 *                    there is no instruction budget
 *   loop.counted     one Cpu.run whose quantum is the whole loop: Unicorn's
 *                    instruction counter without any re-entry
 *   loop.q<Q>        Cpu.run({quantum: Q}) again and again until the loop
 *                    returns; each expiry is a tick (contextSync), as the
 *                    scheduler does it
 *   hypercall        bl → svc #NR_CONTINUE → handler returns "continue" → ret
 *   hypercall.args   the same, the handler reads x0..x7 and writes x0
 *   ctxsw.saveRestore   saveContext(A) + loadContext(B), nothing run
 *   ctxsw.slice      save + load + a 100-instruction slice of the other task
 *   ctxsw.block      task A calls a blocking service (svc #NR_BLOCK → "stop"),
 *                    run() returns, A is saved, contextSync, B is loaded and
 *                    resumed until it blocks in turn: a stop/switch/resume
 *                    round trip
 *
 * Every timed run checks that the emulated work really happened (loop
 * counters, handler call counts, slice counts), so a broken path throws
 * instead of reporting a fast number.
 */
import { EFAULT } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { CTX_PC, newContext, type Cpu, type CpuContext, type StopReason } from "../../../runtime/machine/cpu.js";
import { Machine } from "../../../runtime/machine/machine.js";
import { PAGE_SIZE, PROT_RX } from "../../../runtime/machine/memory.js";
import { UC_ERR_OK } from "../../../runtime/machine/unicorn_consts.js";
import { UnicornError } from "../../../runtime/machine/unicorn.js";
import type { BenchContext, Section } from "../types.js";
import { MIPS, perSecond } from "../units.js";
import {
  benchPrograms,
  BLOCK_OFF,
  HCALL_INSNS_PER_ROUND_TRIP,
  HCALL_OFF,
  LOOP_INSNS_PER_ITER,
  LOOP_OFF,
  NR_BLOCK,
  NR_CONTINUE,
  wordsToBytes,
} from "./code.js";

/** Where the bench page is mapped. */
export const TEXT = 0x4000_0000n;

/** Work per timed run: [full, --quick]. */
const SIZES = {
  loop: [100_000_000, 2_000_000],
  q100k: [40_000_000, 1_000_000],
  q10k: [30_000_000, 1_000_000],
  q1k: [15_000_000, 300_000],
  hypercall: [100_000, 10_000],
  saveRestore: [150_000, 20_000],
  slice: [50_000, 5_000],
  block: [50_000, 5_000],
} as const;

/** Quantum of the hypercall loops (a scheduler tick). */
const HCALL_QUANTUM = 100_000;
/** Slice length of ctxsw.slice, in instructions (an even number: whole loop iterations). */
const SHORT_SLICE = 100;
/** Never reached: the loop counters of tasks that must not finish during a run. */
const FOREVER = 1n << 40n;

function fail(what: string): never {
  throw new BpfError(EFAULT, `machine bench: ${what}`);
}

function describe(r: StopReason): string {
  if (r.kind === "fault") return `fault ${r.fault.kind} at 0x${r.fault.pc.toString(16)}`;
  if (r.kind === "hypercall") return `hypercall ${r.name}`;
  return r.kind;
}

/** Call counts of the bench services; `readArgs` makes the continuing service read x0..x7 and set x0. */
export interface BenchServices {
  continue: number;
  block: number;
  readArgs: boolean;
}

/** A Machine with the bench page and the two bench services. */
export function benchMachine(): { m: Machine; calls: BenchServices } {
  const m = new Machine();
  try {
    m.map({ name: "bench text", base: TEXT, size: PAGE_SIZE, perms: PROT_RX });
    for (const p of benchPrograms()) m.writeText(TEXT + BigInt(p.off), wordsToBytes(p.words), { sync: false });
    m.invalidateText(TEXT, TEXT + BigInt(PAGE_SIZE));
    const calls: BenchServices = { continue: 0, block: 0, readArgs: false };
    m.svc.register(NR_CONTINUE, "bench_continue", (cpu) => {
      calls.continue++;
      if (calls.readArgs) cpu.setX(0, cpu.args()[0] + 1n);
      return "continue";
    });
    m.svc.register(NR_BLOCK, "bench_block", () => {
      calls.block++;
      return "stop";
    });
    return { m, calls };
  } catch (err) {
    m.close();
    throw err;
  }
}

/**
 * The raw loop with the Machine's hooks but no instruction budget, on CPU 1;
 * returns instructions. Not on CPU 0: Unicorn 2.0.1 compiles its instruction
 * counter into each translation block, so blocks translated during a count-0
 * run ignore every later budget on that instance (the quantum loops would
 * never expire).
 */
export function loopNoQuantum(m: Machine, n: number): number {
  const c = m.cpu(1);
  c.setX(0, BigInt(n));
  c.lr = m.sentinel;
  const rc = c.uc.emuStart(TEXT + BigInt(LOOP_OFF), m.sentinel, 0);
  if (rc !== UC_ERR_OK) throw new UnicornError("uc_emu_start", rc, "machine loop");
  if (c.pc !== m.sentinel || c.x(0) !== 0n) fail(`loop did not finish: pc 0x${c.pc.toString(16)}, x0 ${c.x(0)}`);
  return n * LOOP_INSNS_PER_ITER + 1;
}

/** The raw loop re-entered every `quantum` instructions; returns instructions. */
export function loopQuantum(m: Machine, n: number, quantum: number): number {
  const c = m.cpu(0);
  c.setX(0, BigInt(n));
  c.lr = m.sentinel;
  c.pc = TEXT + BigInt(LOOP_OFF);
  const insns = n * LOOP_INSNS_PER_ITER + 1;
  let expired = 0;
  for (;;) {
    const r = c.run({ quantum });
    if (r.kind === "returned") break;
    if (r.kind !== "quantum") fail(`quantum loop stopped: ${describe(r)}`);
    expired++;
    m.contextSync(0);
  }
  const want = Math.ceil(insns / quantum) - 1;
  if (expired !== want) fail(`quantum ${quantum}: ${expired} slices expired, expected ${want}`);
  return insns;
}

/**
 * `n` hypercall round trips (bl, svc, ret); returns round trips. With
 * `readArgs` the handler reads x0..x7 and increments x0, checked at the end.
 */
export function hypercallLoop(m: Machine, calls: BenchServices, n: number, readArgs = false): number {
  const c = m.cpu(0);
  calls.readArgs = readArgs;
  c.setX(0, 0n);
  c.setX(19, BigInt(n));
  c.lr = m.sentinel;
  c.pc = TEXT + BigInt(HCALL_OFF);
  const before = calls.continue;
  for (;;) {
    const r = c.run({ quantum: HCALL_QUANTUM });
    if (r.kind === "returned") break;
    if (r.kind !== "quantum") fail(`hypercall loop stopped: ${describe(r)}`);
    m.contextSync(0);
  }
  if (calls.continue - before !== n) fail(`${calls.continue - before} hypercalls handled, expected ${n}`);
  const x0 = c.x(0);
  if (x0 !== (readArgs ? BigInt(n) : 0n)) fail(`hypercall loop: x0 ${x0} after ${n} round trips`);
  return n;
}

/** Two tasks' contexts at `pc` with `reg` = `count`, seen from CPU `c`. */
function twoTasks(c: Cpu, pc: bigint, reg: number, count: bigint): [CpuContext, CpuContext] {
  const base = c.saveContext();
  const tasks: [CpuContext, CpuContext] = [newContext(), newContext()];
  for (const t of tasks) {
    t.set(base);
    t[reg] = count;
    t[CTX_PC] = pc;
  }
  return tasks;
}

/** `n` switches between two contexts with nothing run in between; returns switches. */
export function saveRestoreOnly(c: Cpu, n: number): number {
  const [a, b] = twoTasks(c, TEXT + BigInt(LOOP_OFF), 0, 0n);
  a[7] = 0xaaaan;
  b[7] = 0xbbbbn;
  c.loadContext(a);
  const tasks = [a, b];
  for (let i = 0; i < n; i++) {
    c.saveContext(tasks[i & 1]);
    c.loadContext(tasks[(i + 1) & 1]);
  }
  const want = n % 2 === 1 ? 0xbbbbn : 0xaaaan;
  if (c.x(7) !== want) fail(`after ${n} switches x7 is 0x${c.x(7).toString(16)}, expected 0x${want.toString(16)}`);
  return n;
}

/** `n` switches, each followed by a SHORT_SLICE-instruction slice of the incoming task; returns switches. */
export function switchWithSlices(m: Machine, n: number): number {
  const c = m.cpu(0);
  const tasks = twoTasks(c, TEXT + BigInt(LOOP_OFF), 0, FOREVER);
  c.loadContext(tasks[0]);
  for (let i = 0; i < n; i++) {
    const r = c.run({ quantum: SHORT_SLICE });
    if (r.kind !== "quantum") fail(`short slice stopped: ${describe(r)}`);
    c.saveContext(tasks[i & 1]);
    m.contextSync(0);
    c.loadContext(tasks[(i + 1) & 1]);
  }
  // Task 0 ran slices 0, 2, 4, …; task 1 ran 1, 3, …: SHORT_SLICE / 2 iterations each.
  const per = BigInt(SHORT_SLICE / LOOP_INSNS_PER_ITER);
  const slices = [Math.ceil(n / 2), Math.floor(n / 2)];
  tasks.forEach((t, i) => {
    const want = FOREVER - per * BigInt(slices[i]);
    if (t[0] !== want) fail(`task ${i}: loop counter ${t[0]}, expected ${want}`);
  });
  return n;
}

/** `n` stop/switch/resume round trips between two tasks blocking in a service; returns switches. */
export function blockSwitchResume(m: Machine, calls: BenchServices, n: number): number {
  const c = m.cpu(0);
  const tasks = twoTasks(c, TEXT + BigInt(BLOCK_OFF), 19, FOREVER);
  for (const t of tasks) t[30] = m.sentinel;
  const before = calls.block;
  c.loadContext(tasks[0]);
  for (let i = 0; i < n; i++) {
    const r = c.run({ quantum: 10_000 });
    if (r.kind !== "hypercall" || r.nr !== NR_BLOCK) fail(`blocking task stopped: ${describe(r)}`);
    c.saveContext(tasks[i & 1]);
    m.contextSync(0);
    c.loadContext(tasks[(i + 1) & 1]);
  }
  if (calls.block - before !== n) fail(`${calls.block - before} blocking calls, expected ${n}`);
  // A task's first slice blocks before its first decrement, every later one decrements once.
  const slices = [Math.ceil(n / 2), Math.floor(n / 2)];
  tasks.forEach((t, i) => {
    const want = FOREVER - BigInt(Math.max(0, slices[i] - 1));
    if (t[19] !== want) fail(`task ${i}: x19 ${t[19]}, expected ${want}`);
  });
  return n;
}

async function measureLoops(ctx: BenchContext, m: Machine, size: (k: keyof typeof SIZES) => number) {
  const n = size("loop");
  await ctx.measure("loop", () => loopNoQuantum(m, n), {
    label: "loop, Machine hooks, no quantum",
    unit: MIPS,
    baseline: "baseline.loop",
    note: `${n / 1e6}M iterations in one uc_emu_start (count 0), CPU 1`,
  });
  const nc = size("q100k");
  await ctx.measure("loop.counted", () => loopQuantum(m, nc, nc * LOOP_INSNS_PER_ITER + 1), {
    label: "loop, one slice with a budget",
    unit: MIPS,
    baseline: "loop",
    note: `${nc / 1e6}M iterations in one Cpu.run whose quantum is the whole loop: the cost of counting alone`,
  });
  const quanta: Array<[keyof typeof SIZES, number, string]> = [
    ["q100k", 100_000, "100k"],
    ["q10k", 10_000, "10k"],
    ["q1k", 1_000, "1k"],
  ];
  for (const [key, q, name] of quanta) {
    const iters = size(key);
    await ctx.measure(`loop.${key}`, () => loopQuantum(m, iters, q), {
      label: `loop, quantum ${name}`,
      unit: MIPS,
      baseline: "loop",
      note: `${iters / 1e6}M iterations, Cpu.run re-entered every ${name} instructions, a tick (contextSync) each`,
    });
  }
}

/** The `machine` section. */
export const section: Section = {
  name: "machine",
  description: "runtime/machine: loop MIPS (no quantum, quanta 100k/10k/1k), hypercall round trips, context switches",
  budgetSeconds: 20,
  repeats: 5,
  requires: ["baseline"],
  async run(ctx) {
    const size = (k: keyof typeof SIZES): number => SIZES[k][ctx.quick ? 1 : 0];
    const { m, calls } = benchMachine();
    try {
      await measureLoops(ctx, m, size);
      const nh = size("hypercall");
      await ctx.measure("hypercall", () => hypercallLoop(m, calls, nh), {
        label: "svc hypercall round trip (handler continues)",
        unit: perSecond("round trips"),
        note: `${nh / 1e3}k × bl/svc/ret, ${HCALL_INSNS_PER_ROUND_TRIP} instructions each, quantum ${HCALL_QUANTUM / 1e3}k`,
      });
      await ctx.measure("hypercall.args", () => hypercallLoop(m, calls, nh, true), {
        label: "svc hypercall round trip, handler reads x0-x7 and sets x0",
        unit: perSecond("round trips"),
        baseline: "hypercall",
        note: "Cpu.args() (one batched read) + setX(0): the cost of a typical service's register access",
      });
      const ns = size("saveRestore");
      await ctx.measure("ctxsw.saveRestore", () => saveRestoreOnly(m.cpu(0), ns), {
        label: "context switch, save+restore only",
        unit: perSecond("switches"),
        note: "saveContext + loadContext (x0-x30, sp, pc, nzcv), nothing run between",
      });
      const nsl = size("slice");
      await ctx.measure("ctxsw.slice", () => switchWithSlices(m, nsl), {
        label: `context switch + ${SHORT_SLICE}-instruction slice`,
        unit: perSecond("switches"),
        baseline: "ctxsw.saveRestore",
        note: "two tasks alternate on CPU 0, each slice ended by its quantum",
      });
      const nb = size("block");
      await ctx.measure("ctxsw.block", () => blockSwitchResume(m, calls, nb), {
        label: "blocking hypercall: stop/switch/resume round trip",
        unit: perSecond("switches"),
        baseline: "ctxsw.saveRestore",
        note: "svc handler returns stop; save, contextSync, load the other task, run until it blocks",
      });
    } finally {
      m.close();
    }
  },
};
