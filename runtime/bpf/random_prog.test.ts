import test from "ava";
import type { Insn } from "./insn.js";
import { bpfInterp, INTERP_STACK_SIZE, type InterpResult } from "./interp.js";
import { FlatMemory } from "./interp_mem.js";
import * as O from "./opcodes.js";
import { randomProg, type RandomProg } from "./random_prog.js";

const SEEDS = Array.from({ length: 300 }, (_, i) => 0x5eed0000 + i);

/** Run with the scratch buffer and the stack at the given addresses. */
function run(p: RandomProg, at: { scratch: bigint; stack: bigint }): { result: InterpResult; data: Uint8Array } {
  const mem = new FlatMemory();
  mem.map(at.stack - BigInt(INTERP_STACK_SIZE), new Uint8Array(INTERP_STACK_SIZE), { name: "stack" });
  const data = mem.map(at.scratch, p.scratch.slice(), { name: "scratch" });
  const result = bpfInterp(p.insns, {
    mem,
    stack: at.stack,
    args: [at.scratch, BigInt(data.length)],
    budget: 1_000_000,
  });
  return { result, data };
}

const A = { scratch: 0x2000_0000n, stack: 0x1000_0000n };
const B = { scratch: 0x7fff_1234_5670n, stack: 0xffff_0000_8000n };

test("same seed, same program and data; other seeds differ", (t) => {
  const a = randomProg(42);
  const b = randomProg(42);
  t.deepEqual(a.insns, b.insns);
  t.deepEqual(a.scratch, b.scratch);
  t.notDeepEqual(randomProg(43).insns, a.insns);
  t.is(randomProg(7, { scratchSize: 256 }).scratch.length, 256);
  t.throws(() => randomProg(1, { scratchSize: 60 }), {
    message: "invalid scratch size: 60 (a multiple of 8, at least 64)",
  });
});

test("300 generated programs run to completion, deterministically and independently of addresses", (t) => {
  const r0s = new Set<bigint>();
  let executed = 0;
  let longerThanStatic = 0;
  for (const seed of SEEDS) {
    const p = randomProg(seed);
    const first = run(p, A);
    const again = run(randomProg(seed), A);
    const moved = run(p, B);
    t.is(again.result.r0, first.result.r0, `seed ${seed}: r0 repeatable`);
    t.deepEqual(again.data, first.data, `seed ${seed}: memory repeatable`);
    t.is(moved.result.r0, first.result.r0, `seed ${seed}: r0 independent of addresses`);
    t.deepEqual(moved.data, first.data, `seed ${seed}: memory independent of addresses`);
    r0s.add(first.result.r0);
    executed += first.result.insnCount;
    if (first.result.insnCount > p.insns.length) longerThanStatic++;
  }
  // The programs compute different things and do loop/call (more insns run than exist).
  t.true(r0s.size > 290, `distinct r0 values: ${r0s.size}`);
  t.true(longerThanStatic > 100, `programs executing more insns than their length: ${longerThanStatic}`);
  t.log(`executed ${executed} insns in ${SEEDS.length} programs`);
});

function codesOf(insns: readonly Insn[]): Insn[] {
  const out: Insn[] = [];
  for (let i = 0; i < insns.length; i++) {
    out.push(insns[i]);
    if (O.opInfo(insns[i].code).kind === "ldimm64") i++;
  }
  return out;
}

test("the generator covers every RFC 9669 opcode except legacy packet access, and the edge cases", (t) => {
  const all = SEEDS.flatMap((s) => codesOf(randomProg(s).insns));
  const codes = new Set(all.map((i) => i.code));
  const expected = Array.from({ length: 256 }, (_, c) => c).filter((c) => {
    const kind = O.opInfo(c).kind;
    return kind !== "invalid" && kind !== "ldpkt";
  });
  t.deepEqual(
    expected.filter((c) => !codes.has(c)),
    [],
  );
  const has = (pred: (i: Insn) => boolean): boolean => all.some(pred);
  const atomic = (size: number, op: number): boolean =>
    has((i) => i.code === (O.BPF_STX | size | O.BPF_ATOMIC) && i.imm === op);
  for (const op of O.ATOMIC_OPS) {
    t.true(atomic(O.BPF_W, op), `32-bit atomic 0x${op.toString(16)}`);
    t.true(atomic(O.BPF_DW, op), `64-bit atomic 0x${op.toString(16)}`);
  }
  for (const off of [8, 16, 32])
    t.true(
      has((i) => i.code === 0xbf && i.off === off),
      `movsx64 s${off}`,
    );
  for (const off of [8, 16])
    t.true(
      has((i) => i.code === 0xbc && i.off === off),
      `movsx32 s${off}`,
    );
  for (const code of [0xd4, 0xdc, 0xd7]) {
    for (const w of [16, 32, 64])
      t.true(
        has((i) => i.code === code && i.imm === w),
        `end 0x${code.toString(16)}/${w}`,
      );
  }
  for (const code of [0x3f, 0x9f, 0x3c, 0x9c, 0x37, 0x97, 0x34, 0x94]) {
    t.true(
      has((i) => i.code === code && i.off === 1),
      `signed div/mod 0x${code.toString(16)}`,
    );
  }
  t.true(
    has((i) => (i.code === 0x37 || i.code === 0x34 || i.code === 0x97 || i.code === 0x94) && i.imm === 0),
    "div/mod by imm 0",
  );
  t.true(
    has((i) => i.code === 0x67 && i.imm >= 64),
    "64-bit shift by imm beyond the width",
  );
  t.true(
    has((i) => i.code === 0x64 && i.imm >= 32),
    "32-bit shift by imm beyond the width",
  );
  t.true(
    has((i) => i.code === 0x05 && i.off < 0),
    "backward goto",
  );
  t.true(
    has((i) => i.code === 0x06 && i.imm < 0),
    "backward gotol",
  );
  t.true(
    has((i) => O.opInfo(i.code).kind === "jcond" && i.off < 0),
    "backward conditional jump",
  );
  t.true(
    has((i) => i.code === 0x85 && i.src === O.BPF_PSEUDO_CALL),
    "bpf-to-bpf call",
  );
  t.true(
    has((i) => O.opInfo(i.code).kind === "stx" && i.dst === O.BPF_REG_10 && i.off % 8 !== 0 && i.off % 4 !== 0),
    "unaligned stack store",
  );
});

test("options: no calls, no loops", (t) => {
  for (let seed = 0; seed < 50; seed++) {
    const p = randomProg(seed, { calls: false, loops: false, length: 30 });
    t.false(
      p.insns.some((i) => i.code === 0x85),
      "no calls",
    );
    t.false(
      p.insns.some((i, k) => {
        const kind = O.opInfo(i.code).kind;
        return (kind === "jcond" && i.off < 0) || (kind === "ja" && (i.code === 0x05 ? i.off : i.imm) < 0) || k < 0;
      }),
      "no backward jumps",
    );
    const r = run(p, A);
    t.true(r.result.insnCount <= p.insns.length, "straight-line and forward jumps only");
  }
});
