/**
 * Section `baseline`: the raw speed of Unicorn on this machine.
 *
 * A bare Unicorn instance (no hooks, no Machine, no instruction budget) runs
 *
 *   0x1000: subs x0, x0, #1
 *   0x1004: b.ne 0x1000
 *   0x1008: ret                 lr = until = 0x10000 (a page of its own)
 *
 * with x0 = N, i.e. exactly 2N + 1 instructions, in one uc_emu_start. Every
 * other emulated-speed number of the run is also shown as a fraction of this
 * one (`baseline.loop`), so that results from different hosts can be read
 * relative to what Unicorn itself does there.
 *
 * The `until` address sits in its own page, as the Machine's sentinel does:
 * measured on Unicorn 2.0.1, an `until` right behind the loop (0x1008) keeps
 * the loop's translation block from chaining to itself, and the loop runs
 * about 4× slower (≈ 400 instead of ≈ 1700 MIPS on an EPYC host).
 */
import { EFAULT } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { hostAlloc, hostFree, Unicorn, UnicornError, type HostBlock } from "../../../runtime/machine/unicorn.js";
import {
  UC_ARM64_REG_PC,
  UC_ARM64_REG_X0,
  UC_ARM64_REG_X30,
  UC_ERR_OK,
  UC_PROT_EXEC,
  UC_PROT_READ,
} from "../../../runtime/machine/unicorn_consts.js";
import type { Section } from "../types.js";
import { MIPS } from "../units.js";
import { LOOP_INSNS_PER_ITER, rawLoopWords, ret, wordsToBytes } from "./code.js";

const TEXT = 0x1000n;
const UNTIL = 0x10000n;
/** Iterations per timed run: 200M instructions (about 0.12 s at 1700 MIPS, 0.5 s at 400). */
const ITERATIONS = 100_000_000;
const QUICK_ITERATIONS = 5_000_000;

/** A bare Unicorn instance with the loop at TEXT and an empty page at UNTIL. */
export function rawLoopUnicorn(): { uc: Unicorn; close: () => void } {
  const blocks: HostBlock[] = [];
  const uc = new Unicorn();
  try {
    for (const base of [TEXT, UNTIL]) {
      const b = hostAlloc(4096);
      blocks.push(b);
      uc.memMapPtr(base, UC_PROT_READ | UC_PROT_EXEC, b);
    }
    blocks[0].bytes.set(wordsToBytes([...rawLoopWords(), ret()]), 0);
  } catch (err) {
    uc.close();
    for (const b of blocks) hostFree(b);
    throw err;
  }
  return {
    uc,
    close: () => {
      uc.close();
      for (const b of blocks) hostFree(b);
    },
  };
}

/** Run the raw loop `iterations` times on `uc` (from {@link rawLoopUnicorn}); returns the instructions executed. */
export function runRawLoop(uc: Unicorn, iterations: number): number {
  uc.regWrite(UC_ARM64_REG_X0, BigInt(iterations));
  uc.regWrite(UC_ARM64_REG_X30, UNTIL);
  const rc = uc.emuStart(TEXT, UNTIL, 0);
  if (rc !== UC_ERR_OK) throw new UnicornError("uc_emu_start", rc, "baseline loop");
  const left = uc.regRead(UC_ARM64_REG_X0);
  const pc = uc.regRead(UC_ARM64_REG_PC);
  if (left !== 0n || pc !== UNTIL) {
    throw new BpfError(EFAULT, `baseline loop stopped early: x0 = ${left}, pc = 0x${pc.toString(16)}`);
  }
  return iterations * LOOP_INSNS_PER_ITER + 1;
}

/** The `baseline` section. */
export const section: Section = {
  name: "baseline",
  description: "raw Unicorn loop speed on this machine (subs/b.ne, no hooks, no instruction budget)",
  budgetSeconds: 10,
  repeats: 7,
  async run(ctx) {
    const n = ctx.quick ? QUICK_ITERATIONS : ITERATIONS;
    const { uc, close } = rawLoopUnicorn();
    try {
      await ctx.measure("loop", () => runRawLoop(uc, n), {
        label: "raw Unicorn loop, no hooks",
        unit: MIPS,
        note: `${n / 1e6}M iterations of subs/b.ne in one uc_emu_start`,
      });
    } finally {
      close();
    }
  },
};
