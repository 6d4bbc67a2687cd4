/**
 * Differential tests beyond the tables (diff.test.ts): helper calls, the
 * stack dump that makes stack-only effects comparable, and seeded random
 * programs (runtime/bpf/random_prog.ts) that must agree on r0, the scratch
 * buffer and the main frame's stack, with LSE atomics and with LDXR/STXR
 * loops (and BTI/PAC).
 */
import test, { type ExecutionContext } from "ava";
import * as B from "../bpf/builder.js";
import * as O from "../bpf/opcodes.js";
import { randomProg } from "../bpf/random_prog.js";
import { compareResults, createDiffEnv, diffRun, withStackDump, type DiffEnv } from "./diff.js";
import type { JitOptions } from "./jit.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_6: R6, BPF_REG_10: R10 } = O;
const EXIT = B.BPF_EXIT_INSN();

let env: DiffEnv;
test.before(() => {
  env = createDiffEnv();
});
test.after.always(() => env?.k.close());

test("a helper call clobbers nothing the program may read, and r0 takes the result", (t) => {
  const henv = createDiffEnv({
    helpers: { 1000: { name: "test_mul_add", fn: ([a, b, c]) => a * b + c } },
  });
  try {
    const insns = B.prog(
      B.BPF_MOV64_IMM(R6, 100),
      B.BPF_MOV64_IMM(R1, 6),
      B.BPF_MOV64_IMM(R2, 7),
      B.BPF_MOV64_IMM(R3, 8),
      B.BPF_EMIT_CALL(1000),
      B.BPF_ALU64_REG(O.BPF_ADD, R0, R6),
      EXIT,
    );
    const r = diffRun(henv, { insns });
    t.true(r.agree, r.why);
    t.deepEqual(r.jit.kind === "ok" ? r.jit.r0 : undefined, 150n);
  } finally {
    henv.k.close();
  }
});

test("the stack dump makes stack-only effects visible to the comparison", (t) => {
  // The program writes its stack and returns 0: only the dump shows the values.
  const insns = B.prog(
    B.BPF_MOV64_REG(R6, R1),
    B.BPF_ST_MEM(O.BPF_DW, R10, -16, 0x0102),
    B.BPF_ST_MEM(O.BPF_DW, R10, -8, -3),
    B.BPF_MOV64_IMM(R0, 0),
    EXIT,
  );
  const dumped = withStackDump(insns, { depth: 16, at: 8 });
  t.is(dumped.length, insns.length + 4);
  const r = diffRun(env, { insns, data: new Array(8).fill(0xee), extra: 16, stackDump: { depth: 16, at: 8 } });
  t.true(r.agree, r.why);
  t.deepEqual(
    r.jit.kind === "ok" ? [...r.jit.data] : [],
    [
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff,
    ],
  );
  // And a difference in any byte or in r0 is reported.
  const ok = { kind: "ok" as const, r0: 1n, data: new Uint8Array([1, 2, 3]) };
  t.is(compareResults(ok, { ...ok, r0: 2n }), "r0 0x1 != 0x2");
  t.is(compareResults(ok, { ...ok, data: new Uint8Array([1, 2, 4]) }), "scratch byte 2: 0x3 != 0x4");
  t.is(compareResults(ok, { kind: "fault", message: "x" }), "jit ok != interp fault");
});

function randomAgree(t: ExecutionContext, seeds: number[], jit: JitOptions): void {
  let checked = 0;
  for (const seed of seeds) {
    const p = randomProg(seed, { length: 8 + (seed % 64) });
    const r = diffRun(env, {
      insns: p.insns,
      data: p.scratch,
      extra: 64,
      stackDump: { depth: 64, at: p.scratch.length },
      jit,
    });
    if (!r.agree) {
      t.fail(`seed ${seed}: ${r.why}`);
      return;
    }
    t.is(r.jit.kind, "ok", `seed ${seed}`);
    checked++;
  }
  t.is(checked, seeds.length);
}

test("random programs agree: 300 seeds, LSE atomics", (t) => {
  randomAgree(
    t,
    Array.from({ length: 300 }, (_, i) => i + 1),
    { lse: true },
  );
});

test("random programs agree: 100 seeds, LL/SC atomics, BTI and PAC", (t) => {
  randomAgree(
    t,
    Array.from({ length: 100 }, (_, i) => 5000 + i),
    { lse: false, bti: true, pac: true },
  );
});
