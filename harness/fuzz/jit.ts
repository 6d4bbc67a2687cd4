/**
 * `a64bpf fuzz jit [--cases N] [--seed S] [--length L] [--quiet]`: seeded
 * random programs (runtime/bpf/random_prog.ts) on the JIT and on the
 * reference interpreter (runtime/jit/diff.ts); r0, the scratch buffer and
 * the main frame's stack must agree. Case i uses seed S + i, so any case
 * can be replayed alone (`--seed S+i --cases 1`). The JIT build varies with
 * the case: LSE atomics or LDXR/STXR loops, BTI/PAC on or off.
 *
 * The first divergence is shrunk (shrink.ts) and printed as a minimal
 * program in the kernel's syntax with both engines' results; the command
 * then exits 1. A run without divergence prints a summary and exits 0.
 */
import { parseArgs } from "node:util";
import { formatProg } from "../../runtime/bpf/format.js";
import type { Insn } from "../../runtime/bpf/insn.js";
import { randomProg } from "../../runtime/bpf/random_prog.js";
import { createDiffEnv, diffRun, type DiffEnv, type DiffResult, type EngineResult } from "../../runtime/jit/diff.js";
import type { JitOptions } from "../../runtime/jit/jit.js";
import { shrinkInsns } from "./shrink.js";

/** Where the fuzzer writes. */
export interface FuzzIo {
  out(text: string): void;
  err(text: string): void;
}

/** Bytes of stack the generated main programs initialise and use (random_prog.ts). */
const MAIN_STACK = 64;
/**
 * Cases per kernel: a fresh kernel every so often bounds what one Machine
 * accumulates (Unicorn's translation cache of thousands of freed images,
 * the scheduler's list of exited tasks). Measured: one Unicorn instance
 * running ~17,000 JIT/run/free cycles of these programs died with SIGSEGV
 * (RSS ~1.4 GB); 2,000 per kernel stays far below that.
 */
const CASES_PER_KERNEL = 2000;

/** The JIT build a case runs with (a function of its seed, so a case replays alone). */
export function caseJitOptions(seed: number): JitOptions {
  return { lse: seed % 2 === 0, bti: seed % 4 === 3, pac: seed % 4 === 3 };
}

/** One generated case. */
export interface FuzzCase {
  seed: number;
  insns: readonly Insn[];
  scratch: Uint8Array;
  jit: JitOptions;
}

function run(env: DiffEnv, c: FuzzCase, insns: readonly Insn[] = c.insns): DiffResult {
  return diffRun(env, {
    insns,
    data: c.scratch,
    extra: MAIN_STACK,
    stackDump: { depth: MAIN_STACK, at: c.scratch.length },
    jit: c.jit,
  });
}

/** One comparison: whether the engines agree, why not, and their results. */
export interface FuzzCheck {
  agree: boolean;
  why: string;
  r?: DiffResult;
}

/** Test seam: replaces the comparison of a program (tests inject divergences with it). */
export type FuzzCompare = (env: DiffEnv, c: FuzzCase, insns: readonly Insn[]) => FuzzCheck;

/** diffRun, with a JIT refusal of a valid program counted as a divergence. */
function check(env: DiffEnv, c: FuzzCase, insns: readonly Insn[] = c.insns): FuzzCheck {
  try {
    const r = run(env, c, insns);
    return { agree: r.agree, why: r.why, r };
  } catch (err) {
    return { agree: false, why: `jit refused: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function describe(e: EngineResult, scratchLen: number): string {
  if (e.kind !== "ok") return `${e.kind}: ${e.message}`;
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
  return `r0 = 0x${e.r0.toString(16)}\n    scratch: ${hex(e.data.subarray(0, scratchLen))}\n    stack:   ${hex(e.data.subarray(scratchLen))}`;
}

/** The kind of a divergence ("r0", "scratch", "jit", ...): shrinking keeps it. */
function category(why: string): string {
  return why.split(/[ :]/)[0];
}

/** Run the jit fuzzer; returns the exit code. */
export function fuzzJit(argv: readonly string[], io: FuzzIo, compare: FuzzCompare = check): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        cases: { type: "string", default: "1000" },
        seed: { type: "string", default: "1" },
        length: { type: "string" },
        quiet: { type: "boolean", default: false },
      },
    }));
  } catch (err) {
    // node:util parseArgs: unknown options, missing or ambiguous values.
    io.err(
      `a64bpf fuzz: ${(err as Error).message}\nusage: a64bpf fuzz jit [--cases N] [--seed S] [--length L] [--quiet]\n`,
    );
    return 2;
  }
  const cases = Number(values.cases);
  const seed0 = Number(values.seed);
  const badLength =
    values.length !== undefined && !(Number.isInteger(Number(values.length)) && Number(values.length) > 0);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed0) || seed0 < 0 || badLength) {
    io.err("usage: a64bpf fuzz jit [--cases N] [--seed S] [--length L] [--quiet]\n");
    return 2;
  }
  let env = createDiffEnv();
  const started = Date.now();
  let insnsTotal = 0;
  try {
    for (let i = 0; i < cases; i++) {
      if (i > 0 && i % CASES_PER_KERNEL === 0) {
        env.k.close();
        env = createDiffEnv();
      }
      const seed = (seed0 + i) >>> 0;
      const length = values.length !== undefined ? Number(values.length) : 8 + (seed % 120);
      const p = randomProg(seed, { length });
      const c: FuzzCase = { seed, insns: p.insns, scratch: p.scratch, jit: caseJitOptions(seed) };
      insnsTotal += p.insns.length;
      const res = compare(env, c, c.insns);
      if (!res.agree) {
        reportDivergence(env, c, res.why, io, i, compare);
        return 1;
      }
      if (!values.quiet && (i + 1) % 1000 === 0) {
        io.err(`fuzz jit: ${i + 1}/${cases} cases, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      }
    }
  } finally {
    env.k.close();
  }
  const secs = (Date.now() - started) / 1000;
  io.out(
    `fuzz jit: ${cases} cases (seeds ${seed0}..${seed0 + cases - 1}, ${insnsTotal} BPF instructions) agree; ${secs.toFixed(1)} s\n`,
  );
  return 0;
}

function reportDivergence(
  env: DiffEnv,
  c: FuzzCase,
  why: string,
  io: FuzzIo,
  index: number,
  compare: FuzzCompare,
): void {
  const cat = category(why);
  const minimal = shrinkInsns(c.insns, (cand) => {
    const r = compare(env, c, cand);
    return !r.agree && category(r.why) === cat;
  });
  const final = compare(env, c, minimal);
  const lines = [
    `fuzz jit: divergence in case ${index} (seed ${c.seed}, jit ${JSON.stringify(c.jit)}): ${why}`,
    `replay: a64bpf fuzz jit --seed ${c.seed} --cases 1`,
    `minimal program (${minimal.length} of ${c.insns.length} slots; the stack dump before exit is added by the harness):`,
    formatProg(minimal).trimEnd(),
    `still diverges: ${final.why}`,
  ];
  if (final.r) {
    lines.push(`  jit:    ${describe(final.r.jit, c.scratch.length)}`);
    lines.push(`  interp: ${describe(final.r.interp, c.scratch.length)}`);
  }
  io.out(`${lines.join("\n")}\n`);
}
