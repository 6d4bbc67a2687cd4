import test from "ava";
import { A64_COND_CS, A64_COND_EQ, A64_COND_LT, A64_COND_NE } from "./cond.js";
import { EXEC_DATA, execMachine, execWords } from "./exec_testutil.js";
import * as M from "./jit_macros.js";
import { A64_SP } from "./regs.js";

const U64 = (v: bigint) => BigInt.asUintN(64, v);
const U32 = (v: bigint) => BigInt.asUintN(32, v);
const S64 = (v: bigint) => BigInt.asIntN(64, v);
const S32 = (v: bigint) => BigInt.asIntN(32, v);

function bswap(v: bigint, bytes: number): bigint {
  let out = 0n;
  for (let i = 0; i < bytes; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return out;
}
/** Swap the bytes inside each `unit`-byte lane of a `bytes`-byte value. */
function revLanes(v: bigint, bytes: number, unit: number): bigint {
  let out = 0n;
  for (let lane = 0; lane < bytes / unit; lane++) {
    const shift = BigInt(8 * unit * lane);
    out |= bswap((v >> shift) & ((1n << BigInt(8 * unit)) - 1n), unit) << shift;
  }
  return out;
}
const rotr = (v: bigint, s: bigint, w: bigint) => ((v >> s) | (v << (w - s))) & ((1n << w) - 1n);

// x2 = A, x3 = B, x5 = 67 (a shift amount above the register size), x6 = -1, x7 = INT64_MIN
const A = 0x8123_4567_89ab_cdefn;
const B = 0x0000_0000_7fff_fff9n;
const MIN = 1n << 63n;

/** [name, code leaving the result in x4, expected x4] — expectations from the Arm ARM pseudocode, in BigInt. */
const CASES: readonly [string, number[], bigint][] = [
  ["rev16 x", [M.a64Rev16(true, 4, 2)], revLanes(A, 8, 2)],
  ["rev16 w", [M.a64Rev16(false, 4, 2)], revLanes(U32(A), 4, 2)],
  ["rev32 x", [M.a64Rev32(true, 4, 2)], revLanes(A, 8, 4)],
  ["rev32 w (rev w)", [M.a64Rev32(false, 4, 2)], bswap(U32(A), 4)],
  ["rev64", [M.a64Rev64(4, 2)], bswap(A, 8)],
  ["uxtb", [M.a64Uxtb(false, 4, 2)], A & 0xffn],
  ["uxth", [M.a64Uxth(false, 4, 2)], A & 0xffffn],
  ["uxtw", [M.a64Uxtw(true, 4, 2)], U32(A)],
  ["sxtb x", [M.a64Sxtb(true, 4, 2)], U64(BigInt.asIntN(8, A))],
  ["sxtb w", [M.a64Sxtb(false, 4, 2)], U32(BigInt.asIntN(8, A))],
  ["sxth x", [M.a64Sxth(true, 4, 2)], U64(BigInt.asIntN(16, A))],
  ["sxtw", [M.a64Sxtw(true, 4, 2)], U64(S32(A))],
  ...[0, 1, 31, 63].flatMap((s): [string, number[], bigint][] => [
    [`lsl x #${s}`, [M.a64Lsl(true, 4, 2, s)], U64(A << BigInt(s))],
    [`lsr x #${s}`, [M.a64Lsr(true, 4, 2, s)], A >> BigInt(s)],
    [`asr x #${s}`, [M.a64Asr(true, 4, 2, s)], U64(S64(A) >> BigInt(s))],
    [`ror x #${s}`, [M.a64Ror(true, 4, 2, s)], rotr(A, BigInt(s), 64n)],
  ]),
  ...[0, 1, 31].flatMap((s): [string, number[], bigint][] => [
    [`lsl w #${s}`, [M.a64Lsl(false, 4, 2, s)], U32(A << BigInt(s))],
    [`lsr w #${s}`, [M.a64Lsr(false, 4, 2, s)], U32(A) >> BigInt(s)],
    [`asr w #${s}`, [M.a64Asr(false, 4, 2, s)], U32(S32(A) >> BigInt(s))],
  ]),
  ["lslv x (67 mod 64)", [M.a64Lslv(true, 4, 2, 5)], U64(A << 3n)],
  ["lsrv w (67 mod 32)", [M.a64Lsrv(false, 4, 2, 5)], U32(A) >> 3n],
  ["asrv x", [M.a64Asrv(true, 4, 2, 5)], U64(S64(A) >> 3n)],
  ["rorv w", [M.a64Rorv(false, 4, 2, 5)], rotr(U32(A), 3n, 32n)],
  ["udiv x", [M.a64Udiv(true, 4, 2, 3)], A / B],
  ["udiv by zero", [M.a64Udiv(true, 4, 2, 31)], 0n],
  ["sdiv x", [M.a64Sdiv(true, 4, 2, 3)], U64(S64(A) / S64(B))],
  ["sdiv INT64_MIN / -1", [M.a64Sdiv(true, 4, 7, 6)], MIN],
  ["sdiv w", [M.a64Sdiv(false, 4, 2, 3)], U32(S32(A) / S32(B))],
  ["madd", [M.a64Madd(true, 4, 2, 3, 5)], U64(A + B * 67n)],
  ["msub", [M.a64Msub(true, 4, 2, 3, 5)], U64(A - B * 67n)],
  ["mul w", [M.a64Mul(false, 4, 2, 3)], U32(A * B)],
  ["mvn", [M.a64Mvn(true, 4, 2)], U64(~A)],
  ["bic", [M.a64Bic(true, 4, 2, 3)], A & U64(~B)],
  ["orn w", [M.a64Orn(false, 4, 2, 3)], U32(A | ~B)],
  ["neg", [M.a64Neg(true, 4, 2)], U64(-A)],
  ["eor", [M.a64Eor(true, 4, 2, 3)], A ^ B],
  ["ubfx", [M.a64Ubfx(true, 4, 2, 60, 4)], A >> 60n],
  ["sbfx", [M.a64Sbfx(true, 4, 2, 60, 4)], U64(S64(A) >> 60n)],
  ["and #-16", [M.a64AndI(true, 4, 2, -16)], A & U64(-16n)],
  ["orr w #0xff00", [M.a64OrrI(false, 4, 2, 0xff00)], U32(A) | 0xff00n],
  ["eor #0x5555555555555555", [M.a64EorI(true, 4, 2, 0x5555_5555_5555_5555n)], A ^ 0x5555_5555_5555_5555n],
  ["add #0x123000", [M.a64AddI(true, 4, 2, 0x123000)], U64(A + 0x123000n)],
  ["sub w #0xfff", [M.a64SubI(false, 4, 2, 0xfff)], U32(A - 0xfffn)],
  ["cmp + cset eq (false)", [M.a64Cmp(true, 2, 3), M.a64Cset(true, 4, A64_COND_EQ)], 0n],
  ["cmp + cset lt (signed)", [M.a64Cmp(true, 2, 3), M.a64Cset(true, 4, A64_COND_LT)], 1n],
  ["cmp #7 w + csel ne", [M.a64CmpI(false, 3, 7), M.a64Csel(true, 4, 2, 3, A64_COND_NE)], A],
  ["adds carry + cset cs", [M.a64Adds(true, 31, 2, 2), M.a64Cset(false, 4, A64_COND_CS)], 1n],
  ["tst #1 + csinc (bit set: ne, so Rm + 1)", [M.a64TstI(true, 2, 1), M.a64Csinc(true, 4, 3, 3, A64_COND_EQ)], B + 1n],
  [
    "mov to and from sp",
    [
      M.a64Mov(true, 4, A64_SP),
      M.a64SubI(true, A64_SP, A64_SP, 16),
      M.a64Mov(true, 8, A64_SP),
      M.a64Sub(true, 4, 4, 8),
      M.a64AddI(true, A64_SP, A64_SP, 16),
    ],
    16n,
  ],
];

test("data-processing macros compute what the Arm ARM says, on Unicorn", (t) => {
  const words: number[] = [];
  CASES.forEach(([, code], i) => {
    words.push(M.a64Movn(true, 4, 0x5a5a, 0), ...code, M.a64Str64I(4, 1, 8 * i));
  });
  const m = execMachine();
  try {
    const regs = { 1: EXEC_DATA, 2: A, 3: B, 5: 67n, 6: U64(-1n), 7: MIN };
    t.deepEqual(execWords(m, words, regs), { kind: "returned" });
    CASES.forEach(([name, , expect], i) => {
      t.is(m.memory.read64(EXEC_DATA + BigInt(8 * i)), expect, name);
    });
  } finally {
    m.close();
  }
});
