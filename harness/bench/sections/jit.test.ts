/**
 * The jit bench section's workloads: the outer loop multiplies the work of
 * a generated program exactly (checked on the interpreter), and the ALU
 * loop's instruction-count model matches what the interpreter counts.
 */
import test from "ava";
import { bpfInterp } from "../../../runtime/bpf/interp.js";
import { FlatMemory } from "../../../runtime/bpf/interp_mem.js";
import { validateInsns } from "../../../runtime/bpf/codec.js";
import type { Insn } from "../../../runtime/bpf/insn.js";
import { randomProg } from "../../../runtime/bpf/random_prog.js";
import { alignAccesses, aluCount, aluLoop, withOuterLoop } from "./jit.js";

function interp(insns: readonly Insn[], scratch: Uint8Array): { r0: bigint; count: number } {
  const mem = new FlatMemory();
  mem.map(0x1000_0000n, Uint8Array.from(scratch));
  mem.map(0x2000_0000n - 4096n, new Uint8Array(4096));
  const r = bpfInterp(insns, { mem, stack: 0x2000_0000n, args: [0x1000_0000n, BigInt(scratch.length)], budget: 1e8 });
  return { r0: r.r0, count: r.insnCount };
}

test("withOuterLoop wraps the body in a counted loop", (t) => {
  const p = randomProg(90_001, { length: 80, calls: false });
  const one = withOuterLoop(p.insns, 1);
  t.notThrows(() => validateInsns(one));
  const base = interp(p.insns, p.scratch);
  const c1 = interp(one, p.scratch);
  // One iteration: the original run plus the counter set-up (1) and the latch (4).
  t.is(c1.count, base.count + 5);
  t.is(c1.r0, base.r0);
  const c2 = interp(withOuterLoop(p.insns, 2), p.scratch).count;
  const c5 = interp(withOuterLoop(p.insns, 5), p.scratch).count;
  t.true(c1.count < c2 && c2 < c5);
});

test("aluCount models the ALU loop's instruction count", (t) => {
  for (const n of [1, 7, 1000]) t.is(interp(aluLoop(n), new Uint8Array(8)).count, aluCount(n), `${n} iterations`);
});

test("alignAccesses rounds r6/r10 offsets down to the access size and keeps the program valid", (t) => {
  const p = randomProg(90_002, { length: 80, calls: false });
  const a = alignAccesses(p.insns);
  t.notThrows(() => validateInsns(a));
  let changed = 0;
  a.forEach((insn, i) => {
    const before = p.insns[i];
    if (insn.off !== before.off) changed++;
    const size = ({ 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 } as Record<number, number>)[insn.code & 0x18];
    const cls = insn.code & 7;
    if (
      (cls === 1 && (insn.src === 6 || insn.src === 10)) ||
      ((cls === 2 || cls === 3) && (insn.dst === 6 || insn.dst === 10))
    ) {
      if ((insn.code & 0xe0) !== 0xc0) t.is(((insn.off % size) + size) % size, 0, `slot ${i}`);
    }
  });
  t.true(changed > 0, "the generator produces unaligned accesses for the transform to fix");
  // Aligned programs still run to the end on the interpreter.
  t.true(interp(withOuterLoop(a, 2), p.scratch).count > 0);
});
