import test from "ava";
import { Prng } from "../prng.js";
import { EXEC_DATA, execMachine, execWords } from "./exec_testutil.js";
import {
  A64_LDST_LDRB,
  A64_LDST_LDRH,
  A64_LDST_LDRSB_W,
  A64_LDST_LDRSB_X,
  A64_LDST_LDRSH_W,
  A64_LDST_LDRSH_X,
  A64_LDST_LDRSW,
  A64_LDST_LDR_W,
  A64_LDST_LDR_X,
  A64_MO_ACQ_REL,
  A64_MO_ACQUIRE,
  A64_MO_NONE,
  A64_MO_RELEASE,
  aarch64InsnGenLoadStoreImm,
  aarch64InsnGenLoadStorePost,
  aarch64InsnGenLoadStorePre,
  aarch64InsnGenLoadStoreReg,
  aarch64InsnGenLoadStoreUnscaled,
  type A64LdStKind,
  type A64MemOrder,
} from "./gen_ldst.js";
import * as M from "./jit_macros.js";
import { mov64Imm } from "./mov_imm.js";
import { A64_SP, A64_ZR } from "./regs.js";

const RESULTS = 0x4000; // results area inside the data region, after the operands
const ORDERS: readonly [string, A64MemOrder][] = [
  ["", A64_MO_NONE],
  ["a", A64_MO_ACQUIRE],
  ["l", A64_MO_RELEASE],
  ["al", A64_MO_ACQ_REL],
];
type Op = "ldadd" | "ldclr" | "ldeor" | "ldset" | "swp";
const OPS: readonly [Op, typeof M.a64Ldadd, (m: bigint, s: bigint) => bigint][] = [
  ["ldadd", M.a64Ldadd, (m, s) => m + s],
  ["ldclr", M.a64Ldclr, (m, s) => m & ~s],
  ["ldeor", M.a64Ldeor, (m, s) => m ^ s],
  ["ldset", M.a64Ldset, (m, s) => m | s],
  ["swp", M.a64Swp, (_m, s) => s],
];

test("LSE atomics (every op, 32/64-bit, every ordering) execute with the architectural result", (t) => {
  const rng = new Prng(0x15e);
  const words: number[] = [];
  const cases: { name: string; is64: boolean; mem: bigint; operand: bigint; expectMem: bigint; expectRt: bigint }[] =
    [];
  const slot = (i: number) => 16 * i;
  for (const [op, gen, f] of OPS) {
    for (const is64 of [true, false]) {
      for (const [suffix, order] of ORDERS) {
        const i = cases.length;
        const mem = rng.nextU64();
        const operand = rng.nextU64();
        const w = is64 ? 64 : 32;
        const lo = BigInt.asUintN(w, mem);
        const newLo = BigInt.asUintN(w, f(lo, BigInt.asUintN(w, operand)));
        const expectMem = is64 ? newLo : (mem & ~0xffff_ffffn) | newLo;
        cases.push({ name: `${op}${suffix} ${w}`, is64, mem, operand, expectMem, expectRt: lo });
        words.push(...mov64Imm(2, operand));
        words.push(M.a64AddI(true, 3, 1, slot(i)));
        words.push(M.a64Movn(true, 4, 0, 0)); // x4 = all ones: a 32-bit op must zero the top half
        words.push(gen(is64, 2, 4, 3, order));
        words.push(M.a64Str64I(4, 1, RESULTS + 8 * i));
      }
    }
  }
  const m = execMachine();
  try {
    cases.forEach((c, i) => m.memory.write64(EXEC_DATA + BigInt(slot(i)), c.mem));
    t.deepEqual(execWords(m, words, { 1: EXEC_DATA }), { kind: "returned" });
    cases.forEach((c, i) => {
      t.is(m.memory.read64(EXEC_DATA + BigInt(slot(i))), c.expectMem, `${c.name}: memory`);
      t.is(m.memory.read64(EXEC_DATA + BigInt(RESULTS + 8 * i)), c.expectRt, `${c.name}: Rt = old value`);
    });
    t.is(cases.length, 40);
  } finally {
    m.close();
  }
});

test("stadd (ldadd with Rt = xzr) updates memory and writes no register", (t) => {
  const m = execMachine();
  try {
    m.memory.write64(EXEC_DATA, 40n);
    const r = execWords(m, [M.a64Ldadd(true, 2, A64_ZR, 1, A64_MO_RELEASE)], { 1: EXEC_DATA, 2: 2n });
    t.deepEqual(r, { kind: "returned" });
    t.is(m.memory.read64(EXEC_DATA), 42n);
  } finally {
    m.close();
  }
});

test("cas (32/64-bit, every ordering): stores only on a match, Rs gets the old value", (t) => {
  const words: number[] = [];
  const cases: { name: string; mem: bigint; expectMem: bigint; expectRs: bigint }[] = [];
  for (const is64 of [true, false]) {
    for (const [suffix, order] of ORDERS) {
      for (const match of [true, false]) {
        const i = cases.length;
        const mem = 0x1111_2222_8765_4321n + BigInt(i);
        const w = is64 ? 64 : 32;
        const lo = BigInt.asUintN(w, mem);
        const compare = match ? lo | (is64 ? 0n : 0xdead_0000_0000_0000n) : lo ^ 1n; // 32-bit compares the low word only
        const swap = 0xaaaa_bbbb_cccc_ddddn;
        const newLo = BigInt.asUintN(w, swap);
        const expectMem = match ? (is64 ? newLo : (mem & ~0xffff_ffffn) | newLo) : mem;
        cases.push({ name: `cas${suffix} ${w} ${match ? "match" : "mismatch"}`, mem, expectMem, expectRs: lo });
        words.push(...mov64Imm(2, compare), ...mov64Imm(5, swap));
        words.push(M.a64AddI(true, 3, 1, 16 * i));
        words.push(M.a64Cas(is64, 2, 5, 3, order));
        words.push(M.a64Str64I(2, 1, RESULTS + 8 * i));
      }
    }
  }
  const m = execMachine();
  try {
    cases.forEach((c, i) => m.memory.write64(EXEC_DATA + BigInt(16 * i), c.mem));
    t.deepEqual(execWords(m, words, { 1: EXEC_DATA }), { kind: "returned" });
    cases.forEach((c, i) => {
      t.is(m.memory.read64(EXEC_DATA + BigInt(16 * i)), c.expectMem, `${c.name}: memory`);
      t.is(m.memory.read64(EXEC_DATA + BigInt(RESULTS + 8 * i)), c.expectRs, `${c.name}: Rs`);
    });
  } finally {
    m.close();
  }
});

test("ldxr/stxr and ldaxr/stlxr retry loops perform an atomic add (32 and 64-bit)", (t) => {
  const m = execMachine();
  try {
    // loop: ldxr x4, [x3]; add x4, x4, x2; stxr w5, x4, [x3]; cbnz w5, loop
    const loop = (is64: boolean, acquire: boolean): number[] => [
      acquire ? M.a64Ldaxr(is64, 4, 3) : M.a64Ldxr(is64, 4, 3),
      M.a64Add(is64, 4, 4, 2),
      acquire ? M.a64Stlxr(is64, 4, 3, 5) : M.a64Stxr(is64, 4, 3, 5),
      M.a64Cbnz(false, 5, -3),
    ];
    m.memory.write64(EXEC_DATA, 0xffff_ffff_ffff_fff0n);
    m.memory.write64(EXEC_DATA + 8n, 0x7777_7777_ffff_fff0n);
    const words = [M.a64AddI(true, 3, 1, 0), ...loop(true, false), M.a64AddI(true, 3, 1, 8), ...loop(false, true)];
    t.deepEqual(execWords(m, words, { 1: EXEC_DATA, 2: 0x20n }), { kind: "returned" });
    t.is(m.memory.read64(EXEC_DATA), 0x10n, "64-bit add wraps");
    t.is(m.memory.read64(EXEC_DATA + 8n), 0x7777_7777_0000_0010n, "32-bit add wraps in the low word only");
    t.is(m.cpu(0).x(5), 0n, "status 0: the store succeeded");
  } finally {
    m.close();
  }
});

test("loads of every kind extend as the Arm ARM says, in every addressing form", (t) => {
  // memory: 0x80 at +0, 0x8001 at +8, 0x80000001 at +16, 0x8000000000000001 at +24
  const kinds: [string, A64LdStKind, number, bigint][] = [
    ["ldrb", A64_LDST_LDRB, 0, 0x80n],
    ["ldrsb x", A64_LDST_LDRSB_X, 0, 0xffff_ffff_ffff_ff80n],
    ["ldrsb w", A64_LDST_LDRSB_W, 0, 0xffff_ff80n],
    ["ldrh", A64_LDST_LDRH, 8, 0x8001n],
    ["ldrsh x", A64_LDST_LDRSH_X, 8, 0xffff_ffff_ffff_8001n],
    ["ldrsh w", A64_LDST_LDRSH_W, 8, 0xffff_8001n],
    ["ldr w", A64_LDST_LDR_W, 16, 0x8000_0001n],
    ["ldrsw", A64_LDST_LDRSW, 16, 0xffff_ffff_8000_0001n],
    ["ldr x", A64_LDST_LDR_X, 24, 0x8000_0000_0000_0001n],
  ];
  const m = execMachine();
  try {
    m.memory.write64(EXEC_DATA, 0x80n);
    m.memory.write64(EXEC_DATA + 8n, 0x8001n);
    m.memory.write64(EXEC_DATA + 16n, 0x8000_0001n);
    m.memory.write64(EXEC_DATA + 24n, 0x8000_0000_0000_0001n);
    const forms: [string, (k: A64LdStKind, off: number) => number[]][] = [
      ["unsigned offset", (k, off) => [aarch64InsnGenLoadStoreImm(k, 4, 1, off)]],
      ["unscaled", (k, off) => [M.a64AddI(true, 3, 1, off + 5), aarch64InsnGenLoadStoreUnscaled(k, 4, 3, -5)]],
      ["register", (k, off) => [M.a64Movz(true, 3, off, 0), aarch64InsnGenLoadStoreReg(k, 4, 1, 3)]],
      ["pre-index", (k, off) => [M.a64Mov(true, 3, 1), aarch64InsnGenLoadStorePre(k, 4, 3, off)]],
      ["post-index", (k, off) => [M.a64AddI(true, 3, 1, off), aarch64InsnGenLoadStorePost(k, 4, 3, 255)]],
    ];
    for (const [form, make] of forms) {
      for (const [name, kind, off, expect] of kinds) {
        const words = [M.a64Movn(true, 4, 0, 0), ...make(kind, off)];
        t.deepEqual(execWords(m, words, { 1: EXEC_DATA }), { kind: "returned" });
        t.is(m.cpu(0).x(4), expect, `${name}, ${form}`);
        if (form === "pre-index") t.is(m.cpu(0).x(3), EXEC_DATA + BigInt(off), `${name}: pre-index writeback`);
        if (form === "post-index") t.is(m.cpu(0).x(3), EXEC_DATA + BigInt(off + 255), `${name}: post-index writeback`);
      }
    }
  } finally {
    m.close();
  }
});

test("stores of every size, stp/ldp, push/pop and literal loads", (t) => {
  const m = execMachine();
  try {
    const v = 0x8877_6655_4433_2211n;
    const words = [
      M.a64StrbI(2, 1, 0),
      M.a64StrhI(2, 1, 8),
      M.a64Str32I(2, 1, 16),
      M.a64Str64I(2, 1, 24),
      M.a64Stur64(2, 1, 32),
      M.a64Stp(false, 2, 2, 1, 40),
      M.a64Push(2, 1, A64_SP),
      M.a64Pop(6, 7, A64_SP),
      M.a64AddI(true, 11, 1, 0x100),
      M.a64StpPost(true, 6, 7, 11, 0x50),
      M.a64Ldp(true, 8, 9, 11, -0x50),
      M.a64LdrLiteral(true, 10, 8),
      M.a64B(3),
      0x9abc_def0, // literal, low word
      0x1234_5678, // literal, high word
    ];
    t.deepEqual(execWords(m, words, { 1: EXEC_DATA, 2: v }), { kind: "returned" });
    const rd = (off: number) => m.memory.read64(EXEC_DATA + BigInt(off));
    t.is(rd(0), 0x11n);
    t.is(rd(8), 0x2211n);
    t.is(rd(16), 0x4433_2211n);
    t.is(rd(24), v);
    t.is(rd(32), v);
    t.is(rd(40), 0x4433_2211_4433_2211n);
    t.is(m.cpu(0).x(6), v, "pop gives the first register pushed");
    t.is(m.cpu(0).x(7), EXEC_DATA);
    t.is(m.cpu(0).x(11), EXEC_DATA + 0x150n, "stp post-index writeback");
    t.is(m.cpu(0).x(8), v, "ldp reads back the first register");
    t.is(m.cpu(0).x(9), EXEC_DATA, "and the second");
    t.is(rd(0x108), EXEC_DATA);
    t.is(m.cpu(0).x(10), 0x1234_5678_9abc_def0n, "ldr literal");
  } finally {
    m.close();
  }
});
