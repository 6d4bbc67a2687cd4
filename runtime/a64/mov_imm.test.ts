import test from "ava";
import { EncodeError } from "../errors.js";
import { Prng } from "../prng.js";
import { decodeBitmaskImm } from "./bitmask.js";
import { assembleWords } from "./asm.js";
import { disasmWord } from "./disasm.js";
import { EXEC_DATA, execMachine, execWords } from "./exec_testutil.js";
import { a64Movn, a64Str64I } from "./jit_macros.js";
import { mov32Imm, mov64Imm } from "./mov_imm.js";
import { initOracles } from "./oracle_testutil.js";
import { A64_SP } from "./regs.js";

test.before(initOracles);

const M64 = (1n << 64n) - 1n;

function chunks(v: bigint): number[] {
  return [0, 1, 2, 3].map((i) => Number((v >> BigInt(16 * i)) & 0xffffn));
}

/** Every 64-bit bitmask immediate (from the decoder, which bitmask.test.ts checks against capstone). */
const PATTERNS: bigint[] = (() => {
  const out = new Set<bigint>();
  for (let n = 0; n < 2; n++)
    for (let r = 0; r < 64; r++)
      for (let s = 0; s < 64; s++) {
        const v = decodeBitmaskImm(true, n, r, s);
        if (v !== undefined) out.add(v);
      }
  return [...out];
})();
const PATTERN_SET = new Set(PATTERNS);
const PATTERN_CHUNKS = PATTERNS.map(chunks);
const PATTERN32_SET = new Set(
  [...Array(64 * 64).keys()]
    .map((k) => decodeBitmaskImm(false, 0, k >> 6, k & 63))
    .filter((v): v is bigint => v !== undefined),
);

/**
 * The length of the shortest sequence in the family mov64Imm promises
 * (movz/movn + movk, a 32-bit form when the top half is 0, orr #bitmask
 * alone or with movk), found by brute force over all 5334 patterns.
 */
function shortestLength(value: bigint): number {
  const v = BigInt.asUintN(64, value);
  const c = chunks(v);
  const zeros = c.filter((x) => x === 0).length;
  const ones = c.filter((x) => x === 0xffff).length;
  let best = Math.max(1, 4 - zeros);
  best = Math.min(best, Math.max(1, 4 - ones));
  if (PATTERN_SET.has(v)) best = 1;
  if (v >> 32n === 0n) {
    const [c0, c1] = c;
    const one = c0 === 0 || c1 === 0 || c0 === 0xffff || c1 === 0xffff || PATTERN32_SET.has(v);
    best = Math.min(best, one ? 1 : 2);
  }
  for (const pc of PATTERN_CHUNKS) {
    const diff =
      (pc[0] !== c[0] ? 1 : 0) + (pc[1] !== c[1] ? 1 : 0) + (pc[2] !== c[2] ? 1 : 0) + (pc[3] !== c[3] ? 1 : 0);
    if (1 + diff < best) best = 1 + diff;
  }
  return best;
}

/** Values chunk by chunk from {0, 0xffff, a bitmask chunk, random}, to reach every path. */
function structuredValues(seed: number, n: number): bigint[] {
  const rng = new Prng(seed);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const base = rng.pick(PATTERNS);
    let v = 0n;
    for (let k = 0; k < 4; k++) {
      const kind = rng.below(4);
      const chunk =
        kind === 0
          ? 0n
          : kind === 1
            ? 0xffffn
            : kind === 2
              ? (base >> BigInt(16 * k)) & 0xffffn
              : BigInt(rng.below(0x10000));
      v |= chunk << BigInt(16 * k);
    }
    out.push(v);
  }
  return out;
}

const EDGE_VALUES: readonly [bigint, number, string][] = [
  [0n, 1, "mov w0, #0"],
  [M64, 1, "mov x0, #-1"],
  [0xffff0000ffff0000n, 1, "orr x0, xzr, #0xffff0000ffff0000"],
  [0x1234n, 1, "mov w0, #0x1234"],
  [0x1234_0000_0000n, 1, "mov x0, #0x123400000000"],
  [0xffff_ffff_ffff_1234n, 1, "mov x0, #-0xedcc"],
  [0xffff_1234n, 1, "mov w0, #-0xedcc"],
  [0x5555_5555n, 1, "mov w0, #0x55555555"],
  [0x5555_5555_5555_5555n, 1, "orr x0, xzr, #0x5555555555555555"],
  [0xffff_ffff_0000_0000n, 1, "orr x0, xzr, #0xffffffff00000000"],
  [0x1234_5678n, 2, "mov w0, #0x5678; movk w0, #0x1234, lsl #16"],
  [0x1234_0000_5678n, 2, "mov x0, #0x5678; movk x0, #0x1234, lsl #32"],
  [0xffff_1234_ffff_5678n, 2, "mov x0, #-0xa988; movk x0, #0x1234, lsl #32"],
  [0x5555_5555_1234_5555n, 2, "orr x0, xzr, #0x5555555555555555; movk x0, #0x1234, lsl #16"],
  [0x1234_5678_9abcn, 3, "mov x0, #0x9abc; movk x0, #0x5678, lsl #16; movk x0, #0x1234, lsl #32"],
  [
    0x1234_5678_9abc_def0n,
    4,
    "mov x0, #0xdef0; movk x0, #0x9abc, lsl #16; movk x0, #0x5678, lsl #32; movk x0, #0x1234, lsl #48",
  ],
];

test("mov64Imm: edge values give the expected sequences (capstone text)", (t) => {
  for (const [v, n, text] of EDGE_VALUES) {
    const seq = mov64Imm(0, v);
    t.is(seq.length, n, `length for 0x${v.toString(16)}`);
    t.is(seq.map((w) => disasmWord(w)).join("; "), text);
    t.is(shortestLength(v), n, `brute force agrees for 0x${v.toString(16)}`);
  }
  // numbers: negative is two's complement (a sign-extended BPF imm)
  t.deepEqual(mov64Imm(3, -1), mov64Imm(3, M64));
  t.deepEqual(mov64Imm(3, -0x8000_0000), mov64Imm(3, 0xffff_ffff_8000_0000n));
  t.deepEqual(mov64Imm(3, 2 ** 52), mov64Imm(3, 1n << 52n));
});

test("mov64Imm picks the shortest sequence of its family (brute force over all bitmask immediates)", (t) => {
  const rng = new Prng(64);
  const values = [...structuredValues(7, 400), ...Array.from({ length: 100 }, () => rng.nextU64())];
  const histogram = [0, 0, 0, 0, 0];
  for (const v of values) {
    const n = mov64Imm(5, v).length;
    histogram[n]++;
    if (n !== shortestLength(v)) t.fail(`0x${v.toString(16)}: ${n} instructions, ${shortestLength(v)} possible`);
  }
  t.true(
    histogram.slice(1).every((k) => k > 0),
    `every length 1..4 occurs: ${histogram.join(",")}`,
  );
});

test("mov32Imm: 1 or 2 instructions, writing only the W register", (t) => {
  const cases: [number, string][] = [
    [0, "mov w2, #0"],
    [0xffff_ffff, "mov w2, #-1"],
    [-1, "mov w2, #-1"],
    [0xabcd_0000, "mov w2, #-0x54330000"],
    [0x0f0f_0f0f, "mov w2, #0xf0f0f0f"],
    [0x1234_5678, "mov w2, #0x5678; movk w2, #0x1234, lsl #16"],
  ];
  for (const [v, text] of cases)
    t.is(
      mov32Imm(2, v)
        .map((w) => disasmWord(w))
        .join("; "),
      text,
    );
  // capstone prints this movz as "mov w2, #-0xffffffff80000000" (a sign-extension slip in
  // its alias printer), so check the word with keystone instead.
  t.deepEqual(mov32Imm(2, 0x8000_0000), assembleWords("movz w2, #0x8000, lsl #16"));
  t.throws(() => mov32Imm(2, 2 ** 32), {
    instanceOf: EncodeError,
    message: "immediate out of range: 0x100000000 (32-bit: -2^31..2^32-1)",
  });
  t.throws(() => mov64Imm(2, 1n << 64n), {
    message: "immediate out of range: 0x10000000000000000 (64-bit: -2^63..2^64-1)",
  });
  t.throws(() => mov64Imm(2, 2 ** 53), { message: "immediate out of range: 0x20000000000000 (a safe integer)" });
  t.throws(() => mov64Imm(A64_SP, 1n), { message: "invalid register: sp (Rd: x0..x30 or xzr)" });
});

test("mov64Imm and mov32Imm execute to the right value on Unicorn (seeded random and edge values)", (t) => {
  const rng = new Prng(0x5eed);
  const values64 = [
    ...EDGE_VALUES.map(([v]) => v),
    ...structuredValues(11, 300),
    ...Array.from({ length: 300 }, () => rng.nextU64()),
  ];
  const values32 = Array.from({ length: 200 }, (_, i) =>
    i < 100 ? rng.nextU32() : Number(structuredValues(i, 1)[0] & 0xffff_ffffn),
  );
  const all = [...values64.map((v) => ({ v, is64: true })), ...values32.map((v) => ({ v: BigInt(v), is64: false }))];
  t.true(all.length <= 4096, "one scaled-offset store per value");
  const rd = 9;
  const words: number[] = [];
  all.forEach(({ v, is64 }, i) => {
    words.push(a64Movn(true, rd, 0x5a5a, 16)); // garbage in every bit the sequence must overwrite
    words.push(...(is64 ? mov64Imm(rd, v) : mov32Imm(rd, Number(v))));
    words.push(a64Str64I(rd, 1, 8 * i));
  });
  const m = execMachine();
  try {
    t.deepEqual(execWords(m, words, { 1: EXEC_DATA }), { kind: "returned" });
    let wrong = 0;
    all.forEach(({ v }, i) => {
      const got = m.memory.read64(EXEC_DATA + BigInt(8 * i));
      if (got !== v && wrong++ < 5) t.fail(`value ${i}: 0x${v.toString(16)}, register held 0x${got.toString(16)}`);
    });
    t.is(wrong, 0, `${all.length} values`);
  } finally {
    m.close();
  }
});
