/**
 * Test support for the interpreter and, later, the JIT: a test_bpf-style
 * case (kernel lib/test_bpf.c: `{ name, insns, data, expected result }`) and
 * a runner over FlatMemory with the conventional layout
 *
 *   SCRATCH_BASE   the case's data buffer (r1 = its address, r2 = its length)
 *   STACK_TOP      r10 of the main frame; INTERP_STACK_SIZE bytes mapped below
 *
 * The JIT's differential tests can run the same cases on the other engine.
 */
import type { Insn } from "./insn.js";
import { bpfInterp, INTERP_STACK_SIZE, type InterpOptions, type InterpResult } from "./interp.js";
import { FlatMemory } from "./interp_mem.js";

/** Address of the scratch buffer in test runs (8-byte aligned). */
export const SCRATCH_BASE = 0x2000_0000n;
/** r10 of the main frame in test runs. */
export const STACK_TOP = 0x1000_0000n;

/** One table case. */
export interface BpfCase {
  /** Spec-like name ("ALU64_SDIV_X: INT64_MIN s/ -1 = INT64_MIN"). */
  name: string;
  insns: readonly Insn[];
  /** Initial scratch buffer (r1 = address, r2 = length), copied; default empty. */
  data?: ArrayLike<number>;
  /** Expected r0 at exit. */
  r0: bigint;
  /** Expected scratch buffer after the run, when the case checks memory. */
  dataAfter?: ArrayLike<number>;
  /** Extra options (helpers, tail calls, budget ...). */
  opts?: Partial<InterpOptions>;
}

/** Outcome of running a case: the result and the final scratch bytes. */
export interface CaseRun {
  result: InterpResult;
  data: Uint8Array;
  mem: FlatMemory;
}

/** Run a case's program on the interpreter with the conventional layout. */
export function runCaseInterp(c: Pick<BpfCase, "insns" | "data" | "opts">): CaseRun {
  const mem = new FlatMemory();
  mem.map(STACK_TOP - BigInt(INTERP_STACK_SIZE), new Uint8Array(INTERP_STACK_SIZE), { name: "stack" });
  const data = mem.map(SCRATCH_BASE, Uint8Array.from(c.data ?? []), { name: "scratch" });
  const result = bpfInterp(c.insns, {
    mem,
    stack: STACK_TOP,
    args: [SCRATCH_BASE, BigInt(data.length)],
    ...c.opts,
  });
  return { result, data, mem };
}

/** Little-endian bytes of a u64 (table helper). */
export function le64(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 0n; i < 64n; i += 8n) out.push(Number((BigInt.asUintN(64, v) >> i) & 0xffn));
  return out;
}

/** Little-endian bytes of a u32 (table helper). */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
