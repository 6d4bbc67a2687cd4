/**
 * Section `jit`: the BPF→A64 JIT (runtime/jit) — how fast it compiles, and
 * how fast its code runs on the emulated CPU compared with the reference
 * interpreter running the same programs, all from one run.
 *
 *   compile.large   BPF instructions JITed per second: large single-function
 *                   random programs (~48k instructions each), the three
 *                   passes plus allocation, copy into BPF text and free
 *   compile.small   programs JITed per second: typical ~300-instruction
 *                   random programs with two subprograms (extra pass)
 *   exec.interp     BPF instructions per second on the interpreter (bpfInterp
 *                   over the emulated memory)
 *   exec.jit        the same programs JITed and run through Kernel.call on
 *                   the emulated CPU; BPF instructions counted by the
 *                   interpreter's run of the same program — shown as a
 *                   ratio to exec.interp
 *   exec.aligned.*  the same programs with every load/store offset rounded
 *                   down to a multiple of its size (naturally aligned, as
 *                   most verified programs are)
 *   exec.alu.*      the same comparison for a register-only loop
 *                   (xorshift64 + multiply-add): the JIT's ceiling. Stores
 *                   are what holds the random programs back: measured on a
 *                   bare Unicorn 2.0.1 instance (no hooks, no budget), a
 *                   loop with one `str` runs at ~22 MIPS against ~700 for
 *                   one `ldr` and ~800-1000 for register arithmetic, and
 *                   an unaligned `str` at ~2 MIPS (loads, even unaligned,
 *                   stay above 100)
 *
 * The execution programs are random programs (no subprograms) whose body is
 * wrapped in a counted outer loop (counter in a stack slot of its own), so
 * that a run lasts long enough for the per-call cost to vanish. Every timed
 * run checks its result: both engines must return the r0 computed once up
 * front, so a broken engine throws instead of reporting a speed.
 */
import { EFAULT } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import * as B from "../../../runtime/bpf/builder.js";
import type { Insn } from "../../../runtime/bpf/insn.js";
import {
  BPF_ADD,
  BPF_DW,
  BPF_JNE,
  BPF_LSH,
  BPF_MUL,
  BPF_RSH,
  BPF_SUB,
  BPF_XOR,
  opInfo,
} from "../../../runtime/bpf/opcodes.js";
import { randomProg } from "../../../runtime/bpf/random_prog.js";
import { createDiffEnv, runInterp, type DiffEnv } from "../../../runtime/jit/diff.js";
import { insertInsns } from "../../../runtime/jit/insn_patch.js";
import { bpfIntJitCompile, bpfJitFree } from "../../../runtime/jit/jit.js";
import type { BenchContext, Section } from "../types.js";
import { MIPS, perSecond } from "../units.js";

/** Workloads: [full, --quick]. */
const SIZES = {
  largeProgs: [6, 2],
  largeLength: [20_000, 5_000],
  smallProgs: [200, 40],
  execProgs: [8, 3],
  interpIters: [40, 10],
  jitIters: [4000, 400],
  aluInterpIters: [100_000, 20_000],
  aluJitIters: [20_000_000, 2_000_000],
} as const;

/** Stack slot of the outer loop counter: below the 64 bytes the generated main programs use. */
const COUNTER_OFF = -72;

function fail(what: string): never {
  throw new BpfError(EFAULT, `jit bench: ${what}`);
}

/**
 * `insns` (a generated program without subprograms) with its body in an
 * outer loop of `iters` iterations: the counter is set after `r6 = r1` and
 * the loop latch sits before the final exit.
 */
export function withOuterLoop(insns: readonly Insn[], iters: number): Insn[] {
  const init = [B.BPF_ST_MEM(BPF_DW, 10, COUNTER_OFF, iters)];
  const withInit = insertInsns(insns, { at: 1, insns: init });
  const exit = withInit.length - 1;
  const head = 1 + init.length;
  const latch = [
    B.BPF_LDX_MEM(BPF_DW, 1, 10, COUNTER_OFF),
    B.BPF_ALU64_IMM(BPF_SUB, 1, 1),
    B.BPF_STX_MEM(BPF_DW, 10, 1, COUNTER_OFF),
  ];
  // The backward jump goes to `head`: from slot exit + latch.length, offset head - (that + 1).
  latch.push(B.BPF_JMP_IMM(BPF_JNE, 1, 0, head - (exit + latch.length + 1)));
  return insertInsns(withInit, { at: exit, insns: latch });
}

interface ExecProg {
  insns: Insn[];
  scratch: Uint8Array;
  /** r0 both engines must return. */
  r0: bigint;
  /** BPF instructions one run executes (the interpreter's count). */
  count: number;
}

/**
 * The program with every load and store offset from r6 (the scratch base,
 * 8-byte aligned) or r10 rounded down to a multiple of its size: the same
 * program shape with naturally aligned accesses only. The generated offsets
 * stay inside their range ([0, scratch) and [-64, 0)) when rounded down.
 */
export function alignAccesses(insns: readonly Insn[]): Insn[] {
  return insns.map((insn) => {
    const info = opInfo(insn.code);
    if (info.kind !== "ldx" && info.kind !== "st" && info.kind !== "stx") return insn;
    const base = info.kind === "ldx" ? insn.src : insn.dst;
    if (base !== 6 && base !== 10) return insn;
    return { ...insn, off: Math.floor(insn.off / info.size) * info.size };
  });
}

function execProgs(env: DiffEnv, n: number, opts: { iters: number; aligned: boolean }): ExecProg[] {
  const out: ExecProg[] = [];
  for (let seed = 1; out.length < n; seed++) {
    const p = randomProg(90_000 + seed, { length: 80, calls: false });
    const insns = withOuterLoop(opts.aligned ? alignAccesses(p.insns) : p.insns, opts.iters);
    const r = runInterpCounted(env, insns, p.scratch);
    if (r === undefined) continue;
    out.push({ insns, scratch: p.scratch, r0: r.r0, count: r.count });
  }
  return out;
}

function runInterpCounted(
  env: DiffEnv,
  insns: readonly Insn[],
  data: Uint8Array,
): { r0: bigint; count: number } | undefined {
  const r = runInterp(env, { insns, data, budget: 100_000_000 });
  return r.kind === "ok" && r.insnCount !== undefined ? { r0: r.r0, count: r.insnCount } : undefined;
}

async function measureCompile(ctx: BenchContext, env: DiffEnv, size: (k: keyof typeof SIZES) => number) {
  const large = Array.from({ length: size("largeProgs") }, (_, i) =>
    randomProg(10_000 + i, { length: size("largeLength"), calls: false }),
  );
  const largeInsns = large.reduce((n, p) => n + p.insns.length, 0);
  await ctx.measure(
    "compile.large",
    () => {
      for (const p of large) bpfJitFree(bpfIntJitCompile({ insns: p.insns }, env.jitEnv), env.jitEnv);
      return largeInsns;
    },
    {
      label: "JIT compile, large programs",
      unit: perSecond("BPF insns"),
      note: `${large.length} programs of ~${Math.round(largeInsns / large.length / 1000)}k BPF instructions: 3 passes, alloc, copy, free`,
    },
  );
  const small = Array.from({ length: size("smallProgs") }, (_, i) => randomProg(20_000 + i));
  const smallInsns = small.reduce((n, p) => n + p.insns.length, 0);
  await ctx.measure(
    "compile.small",
    () => {
      for (const p of small) bpfJitFree(bpfIntJitCompile({ insns: p.insns }, env.jitEnv), env.jitEnv);
      return small.length;
    },
    {
      label: "JIT compile, small programs with subprograms",
      unit: perSecond("programs"),
      note: `${small.length} programs, ${Math.round(smallInsns / small.length)} BPF instructions and 3 functions on average (extra pass)`,
    },
  );
}

async function measureExec(
  ctx: BenchContext,
  env: DiffEnv,
  w: { size: (k: keyof typeof SIZES) => number; aligned: boolean },
) {
  const { size, aligned } = w;
  const key = aligned ? "exec.aligned" : "exec";
  const what = aligned ? "random programs, aligned accesses only, in a loop" : "random programs in a loop";
  const nProgs = size("execProgs");
  const interpProgs = execProgs(env, nProgs, { iters: size("interpIters"), aligned });
  const jitProgs = execProgs(env, nProgs, { iters: size("jitIters"), aligned });
  const interpCount = interpProgs.reduce((n, p) => n + p.count, 0);
  await ctx.measure(
    `${key}.interp`,
    () => {
      for (const p of interpProgs) {
        const r = runInterp(env, { insns: p.insns, data: p.scratch, budget: 100_000_000 });
        if (r.kind !== "ok" || r.r0 !== p.r0) fail(`interpreter result changed: ${r.kind}`);
      }
      return interpCount;
    },
    {
      label: `interpreter, ${what}`,
      unit: perSecond("BPF insns"),
      note: `${nProgs} programs × ${size("interpIters")} iterations, ${(interpCount / 1e6).toFixed(2)}M BPF instructions`,
    },
  );
  const jitCount = jitProgs.reduce((n, p) => n + p.count, 0);
  const jited = jitProgs.map((p) => bpfIntJitCompile({ insns: p.insns }, env.jitEnv));
  try {
    await ctx.measure(
      `${key}.jit`,
      () => {
        const mem = env.k.machine.memory;
        jitProgs.forEach((p, i) => {
          mem.writeBytes(env.scratch, p.scratch);
          const r0 = env.k.call(jited[i].bpfFunc, [env.scratch, BigInt(p.scratch.length)], { comm: "bench" });
          if (r0 !== p.r0) fail(`JITed result 0x${r0.toString(16)} != interpreter's 0x${p.r0.toString(16)}`);
        });
        return jitCount;
      },
      {
        label: `JITed code on the emulated CPU, ${what}`,
        unit: perSecond("BPF insns"),
        baseline: `${key}.interp`,
        note: `${nProgs} programs × ${size("jitIters")} iterations, ${(jitCount / 1e6).toFixed(1)}M BPF instructions, Kernel.call each`,
      },
    );
  } finally {
    for (const j of jited) bpfJitFree(j, env.jitEnv);
  }
}

/** xorshift64 and a multiply-add per iteration, all in registers: `iters` iterations. */
export function aluLoop(iters: number): Insn[] {
  return B.prog(
    B.BPF_LD_IMM64(0, 0x9e37_79b9_7f4a_7c15n),
    B.BPF_MOV64_IMM(1, 0),
    B.BPF_LD_IMM64(2, BigInt(iters)),
    B.BPF_MOV64_REG(3, 0),
    B.BPF_ALU64_IMM(BPF_LSH, 3, 13),
    B.BPF_ALU64_REG(BPF_XOR, 0, 3),
    B.BPF_MOV64_REG(3, 0),
    B.BPF_ALU64_IMM(BPF_RSH, 3, 7),
    B.BPF_ALU64_REG(BPF_XOR, 0, 3),
    B.BPF_MOV64_REG(3, 0),
    B.BPF_ALU64_IMM(BPF_LSH, 3, 17),
    B.BPF_ALU64_REG(BPF_XOR, 0, 3),
    B.BPF_ALU64_REG(BPF_ADD, 1, 0),
    B.BPF_ALU64_IMM(BPF_MUL, 1, 0x1f3),
    B.BPF_ALU64_IMM(BPF_SUB, 2, 1),
    B.BPF_JMP_IMM(BPF_JNE, 2, 0, -13),
    B.BPF_ALU64_REG(BPF_XOR, 0, 1),
    B.BPF_EXIT_INSN(),
  );
}

/** BPF slot of aluLoop's loop head (after two ld_imm64 and a mov) and the slot after its back branch. */
const ALU_LOOP_HEAD = 5;
const ALU_LOOP_END = 18;

/** Instructions one run of aluLoop(iters) executes: 3 to set up (a ld_imm64 counts once), 13 per iteration, 2 after. */
export function aluCount(iters: number): number {
  return 3 + 13 * iters + 2;
}

async function measureAlu(ctx: BenchContext, env: DiffEnv, size: (k: keyof typeof SIZES) => number) {
  const run = (iters: number): ExecProg => {
    const insns = aluLoop(iters);
    const r = runInterpCounted(env, insns, new Uint8Array(8));
    if (!r) fail("ALU loop did not finish on the interpreter");
    return { insns, scratch: new Uint8Array(8), r0: r.r0, count: r.count };
  };
  const interp = run(size("aluInterpIters"));
  await ctx.measure(
    "exec.alu.interp",
    () => {
      const r = runInterp(env, { insns: interp.insns, data: interp.scratch, budget: 1e9 });
      if (r.kind !== "ok" || r.r0 !== interp.r0) fail("interpreter ALU result changed");
      return interp.count;
    },
    {
      label: "interpreter, register-only loop",
      unit: perSecond("BPF insns"),
      note: `xorshift64 + multiply-add, ${(interp.count / 1e6).toFixed(2)}M BPF instructions`,
    },
  );
  // The JIT's count: the same loop body, so instructions scale with the iteration count.
  const iters = size("aluJitIters");
  const count = aluCount(iters);
  const insns = aluLoop(iters);
  const want = runInterpCounted(env, aluLoop(1000), new Uint8Array(8));
  if (!want || aluCount(1000) !== want.count) fail(`ALU loop instruction count model is wrong: ${want?.count}`);
  const jited = bpfIntJitCompile({ insns }, env.jitEnv);
  try {
    const expect = env.k.call(jited.bpfFunc, [env.scratch, 8n], { comm: "bench" });
    const jitRun = await ctx.measure(
      "exec.alu.jit",
      () => {
        const r0 = env.k.call(jited.bpfFunc, [env.scratch, 8n], { comm: "bench" });
        if (r0 !== expect) fail("JITed ALU result changed");
        return count;
      },
      {
        label: "JITed code, register-only loop",
        unit: perSecond("BPF insns"),
        baseline: "exec.alu.interp",
        note: `the same loop, ${(count / 1e6).toFixed(0)}M BPF instructions per run`,
      },
    );
    // The same runs in A64 instructions, so that they compare with the raw
    // Unicorn loop: A64 instructions of one iteration (loop head, slot 5, to
    // the slot after the back branch) × iterations; setup and epilogue (a few
    // dozen instructions per run) are left out.
    const f = jited.subprogs[0];
    const a64PerIter = f.offsets[ALU_LOOP_END] - f.offsets[ALU_LOOP_HEAD];
    const a64PerBpf = (a64PerIter * iters) / count;
    ctx.record(
      "exec.alu.jit.a64",
      jitRun.values.map((v) => v * a64PerBpf),
      {
        label: "JITed code, register-only loop, in A64 instructions",
        unit: MIPS,
        note: `${a64PerIter} A64 instructions per iteration for 13 BPF ones: the exec.alu.jit runs, converted`,
      },
    );
    // Both engines compute the same value for the same iteration count.
    const check = run(1000);
    const j1 = bpfIntJitCompile({ insns: check.insns }, env.jitEnv);
    const r1 = env.k.call(j1.bpfFunc, [env.scratch, 8n]);
    bpfJitFree(j1, env.jitEnv);
    if (r1 !== check.r0) fail(`JITed ALU loop 0x${r1.toString(16)} != interpreter 0x${check.r0.toString(16)}`);
  } finally {
    bpfJitFree(jited, env.jitEnv);
  }
}

/** The `jit` section. */
export const section: Section = {
  name: "jit",
  description: "runtime/jit: JIT throughput (BPF insns/s, programs/s) and JITed vs interpreted execution speed",
  requires: ["baseline"],
  budgetSeconds: 60,
  repeats: 5,
  async run(ctx) {
    const size = (k: keyof typeof SIZES): number => SIZES[k][ctx.quick ? 1 : 0];
    const env = createDiffEnv();
    try {
      await measureCompile(ctx, env, size);
      await measureExec(ctx, env, { size, aligned: false });
      await measureExec(ctx, env, { size, aligned: true });
      await measureAlu(ctx, env, size);
    } finally {
      env.k.close();
    }
  },
};
