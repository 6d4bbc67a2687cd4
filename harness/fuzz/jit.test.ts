/**
 * The jit fuzzer: a clean run reports its cases and exits 0; a divergence
 * (injected through the comparison seam, since the real engines agree) is
 * shrunk to a minimal program, printed in kernel syntax with a replay
 * command, and exits 1. The shrinker keeps programs valid and jumps intact.
 */
import test from "ava";
import { validateInsns } from "../../runtime/bpf/codec.js";
import { bpfInterp } from "../../runtime/bpf/interp.js";
import { FlatMemory } from "../../runtime/bpf/interp_mem.js";
import * as O from "../../runtime/bpf/opcodes.js";
import { randomProg } from "../../runtime/bpf/random_prog.js";
import { caseJitOptions, fuzzJit, type FuzzCheck } from "./jit.js";
import { main } from "./main.js";
import { shrinkInsns } from "./shrink.js";

function io() {
  const o = { out: "", err: "" };
  return { o, io: { out: (t: string) => (o.out += t), err: (t: string) => (o.err += t) } };
}

test("a clean run: every case agrees, exit 0, with a summary", (t) => {
  const { o, io: sink } = io();
  const code = fuzzJit(["--cases", "40", "--seed", "7000", "--quiet"], sink);
  t.is(code, 0, o.out + o.err);
  t.regex(o.out, /^fuzz jit: 40 cases \(seeds 7000\.\.7039, \d+ BPF instructions\) agree; [\d.]+ s\n$/);
});

test("a divergence is shrunk to a minimal program and reported with a replay command", (t) => {
  const { o, io: sink } = io();
  // Pretend the JIT gets every 64-bit multiply wrong.
  const hasMul = (insns: readonly { code: number }[]) =>
    insns.some((i) => i.code === (O.BPF_ALU64 | O.BPF_MUL | O.BPF_X) || i.code === (O.BPF_ALU64 | O.BPF_MUL | O.BPF_K));
  const compare = (_e: unknown, _c: unknown, insns: readonly { code: number }[]): FuzzCheck =>
    hasMul(insns) ? { agree: false, why: "r0 0x1 != 0x2" } : { agree: true, why: "" };
  const code = fuzzJit(["--cases", "50", "--seed", "1", "--quiet"], sink, compare);
  t.is(code, 1);
  const m =
    /divergence in case (\d+) \(seed (\d+), jit .*\): r0 0x1 != 0x2\nreplay: a64bpf fuzz jit --seed (\d+) --cases 1\n/.exec(
      o.out,
    );
  t.truthy(m, o.out);
  t.is(m?.[2], m?.[3]);
  // The minimal program keeps the multiply and little else: at most the multiply and an exit... plus what validity needs.
  const prog = /minimal program \((\d+) of (\d+) slots[^\n]*\n([\s\S]*?)\nstill diverges/.exec(o.out);
  t.truthy(prog);
  const kept = Number(prog?.[1]);
  t.true(kept <= 3, `kept ${kept} slots:\n${prog?.[3]}`);
  t.regex(prog?.[3] ?? "", /\*= /);
  t.regex(prog?.[3] ?? "", /exit/);
});

test("the shrinker keeps programs valid and jumps pointing at the same instructions", (t) => {
  const p = randomProg(123, { length: 60 });
  // Failure: r0 at exit, on the interpreter, has bit 0 set... a property that survives removals.
  const run = (insns: readonly import("../../runtime/bpf/insn.js").Insn[]) => {
    const mem = new FlatMemory();
    const scratch = 0x1000_0000n;
    mem.map(scratch, Uint8Array.from(p.scratch));
    mem.map(0x2000_0000n - 4096n, new Uint8Array(4096 + 64));
    try {
      return bpfInterp(insns, { mem, stack: 0x2000_0000n, args: [scratch, BigInt(p.scratch.length)], budget: 100_000 })
        .r0;
    } catch {
      return undefined;
    }
  };
  const stillFails = (c: readonly import("../../runtime/bpf/insn.js").Insn[]) => {
    const r0 = run(c);
    return r0 !== undefined && r0 === run(p.insns);
  };
  t.true(stillFails(p.insns));
  const small = shrinkInsns(p.insns, stillFails);
  t.notThrows(() => validateInsns(small));
  t.true(stillFails(small));
  t.true(small.length < p.insns.length / 2, `${small.length} of ${p.insns.length}`);
  // 1-minimal: removing any single instruction that leaves a valid program loses the failure.
  const again = shrinkInsns(small, stillFails);
  t.deepEqual(again, small);
});

test("case options depend on the seed only, and cover LSE, LL/SC and BTI+PAC", (t) => {
  t.deepEqual(caseJitOptions(2), { lse: true, bti: false, pac: false });
  t.deepEqual(caseJitOptions(3), { lse: false, bti: true, pac: true });
  t.deepEqual(caseJitOptions(5), { lse: false, bti: false, pac: false });
});

test("a64bpf fuzz: unknown targets are a usage error", async (t) => {
  const write = process.stderr.write.bind(process.stderr);
  let err = "";
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    t.is(await main(["nope"]), 2);
  } finally {
    process.stderr.write = write;
  }
  t.regex(err, /unknown target: nope\nusage: a64bpf fuzz <target>/);
});

test("a64bpf fuzz jit: bad counts, seeds and lengths are usage errors", (t) => {
  for (const argv of [
    ["--cases", "0"],
    ["--seed", "-1"],
    ["--length", "abc"],
    ["--length", "0"],
    ["--length", "2.5"],
  ]) {
    let err = "";
    const code = fuzzJit(argv, { out: () => {}, err: (s) => void (err += s) });
    t.is(code, 2, argv.join(" "));
    t.regex(err, /^usage: a64bpf fuzz jit /m);
  }
});
