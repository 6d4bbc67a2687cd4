/**
 * The interpreter beyond ALU/JMP (interp_alu.test.ts): loads and stores of
 * every size, sign-extending loads, all atomics, bpf-to-bpf calls and their
 * frames, helpers, kfuncs, tail calls, the budget, and faults with their
 * exact messages.
 */
import test from "ava";
import { PhysMemory, PROT_RW } from "../machine/memory.js";
import * as B from "./builder.js";
import type { Insn } from "./insn.js";
import { InsnError } from "./insn_error.js";
import { BudgetExceededError, bpfInterp, INTERP_STACK_SIZE, prepareProg, type BpfCall } from "./interp.js";
import { FlatMemory, physMemoryBpf } from "./interp_mem.js";
import { le32, le64, runCaseInterp, SCRATCH_BASE, STACK_TOP, type BpfCase } from "./interp_test_util.js";
import * as O from "./opcodes.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_6: R6, BPF_REG_10: R10 } = O;
const { BPF_REG_4: R4, BPF_REG_5: R5, BPF_REG_7: R7, BPF_REG_8: R8, BPF_REG_9: R9 } = O;
const EXIT = B.BPF_EXIT_INSN();
const MINUS1 = 0xffffffffffffffffn;
const BYTES_1_8 = [1, 2, 3, 4, 5, 6, 7, 8];

function check(t: import("ava").ExecutionContext, cases: BpfCase[]): void {
  for (const c of cases) {
    const run = runCaseInterp(c);
    t.is(run.result.r0, c.r0, c.name);
    if (c.dataAfter) t.deepEqual([...run.data], Array.from(c.dataAfter), `${c.name}: memory`);
  }
}

test("LDX/STX/ST: every size, little-endian, truncating stores", (t) => {
  check(t, [
    {
      name: "LDX_MEM_DW",
      data: BYTES_1_8,
      insns: B.prog(B.BPF_LDX_MEM(O.BPF_DW, R0, R1, 0), EXIT),
      r0: 0x0807060504030201n,
    },
    { name: "LDX_MEM_W +4", data: BYTES_1_8, insns: B.prog(B.BPF_LDX_MEM(O.BPF_W, R0, R1, 4), EXIT), r0: 0x08070605n },
    { name: "LDX_MEM_H +6", data: BYTES_1_8, insns: B.prog(B.BPF_LDX_MEM(O.BPF_H, R0, R1, 6), EXIT), r0: 0x0807n },
    { name: "LDX_MEM_B +7", data: BYTES_1_8, insns: B.prog(B.BPF_LDX_MEM(O.BPF_B, R0, R1, 7), EXIT), r0: 8n },
    {
      name: "LDX_MEM_W unaligned, negative offset",
      data: BYTES_1_8,
      insns: B.prog(B.BPF_ALU64_IMM(O.BPF_ADD, R1, 4), B.BPF_LDX_MEM(O.BPF_W, R0, R1, -3), EXIT),
      r0: 0x05040302n,
    },
    {
      name: "LDX_MEM_DW: r2 is the buffer length",
      data: BYTES_1_8,
      insns: B.prog(B.BPF_MOV64_REG(R0, R2), EXIT),
      r0: 8n,
    },
    {
      name: "STX_MEM_B/H/W/DW truncate the register",
      data: new Array(16).fill(0),
      insns: B.prog(
        B.BPF_LD_IMM64(R3, 0x1122334455667788n),
        B.BPF_STX_MEM(O.BPF_B, R1, R3, 0),
        B.BPF_STX_MEM(O.BPF_H, R1, R3, 2),
        B.BPF_STX_MEM(O.BPF_W, R1, R3, 4),
        B.BPF_STX_MEM(O.BPF_DW, R1, R3, 8),
        B.BPF_MOV64_IMM(R0, 0),
        EXIT,
      ),
      r0: 0n,
      dataAfter: [0x88, 0, 0x88, 0x77, 0x88, 0x77, 0x66, 0x55, ...le64(0x1122334455667788n)],
    },
    {
      name: "ST_MEM: imm sign-extended to the access width",
      data: new Array(16).fill(0xaa),
      insns: B.prog(
        B.BPF_ST_MEM(O.BPF_DW, R1, 8, -2),
        B.BPF_ST_MEM(O.BPF_W, R1, 0, -1),
        B.BPF_ST_MEM(O.BPF_H, R1, 4, 0x1234),
        B.BPF_ST_MEM(O.BPF_B, R1, 6, 0x1ff - 0x200),
        B.BPF_LDX_MEM(O.BPF_DW, R0, R1, 8),
        EXIT,
      ),
      r0: 0xfffffffffffffffen,
      dataAfter: [0xff, 0xff, 0xff, 0xff, 0x34, 0x12, 0xff, 0xaa, ...le64(-2n)],
    },
    {
      name: "stack: r10-relative store and load",
      insns: B.prog(
        B.BPF_ST_MEM(O.BPF_DW, R10, -8, 0x7eadbeef),
        B.BPF_STX_MEM(O.BPF_W, R10, R10, -512),
        B.BPF_LDX_MEM(O.BPF_DW, R0, R10, -8),
        EXIT,
      ),
      r0: 0x7eadbeefn,
    },
  ]);
});

test("LDX_MEMSX: sign-extending loads of 8, 16 and 32 bits", (t) => {
  const data = [0x80, 0x7f, 0x01, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80];
  check(t, [
    { name: "LDSX_B 0x80", data, insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_B, R0, R1, 0), EXIT), r0: 0xffffffffffffff80n },
    { name: "LDSX_B 0x7f", data, insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_B, R0, R1, 1), EXIT), r0: 0x7fn },
    { name: "LDSX_H 0x8001", data, insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_H, R0, R1, 2), EXIT), r0: 0xffffffffffff8001n },
    { name: "LDSX_H 0x7fff", data, insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_H, R0, R1, 4), EXIT), r0: 0x7fffn },
    {
      name: "LDSX_W 0x80000000",
      data,
      insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_W, R0, R1, 8), EXIT),
      r0: 0xffffffff80000000n,
    },
    { name: "LDSX_W 0x00007fff", data, insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_W, R0, R1, 4), EXIT), r0: 0x7fffn },
    { name: "LDX_MEM_B 0x80 (no extension)", data, insns: B.prog(B.BPF_LDX_MEM(O.BPF_B, R0, R1, 0), EXIT), r0: 0x80n },
  ]);
});

/** mem = init; r2 = src; r0 = r0init; atomic op on *(size *)(r1 + off); r0 = r0 ^ ... returned as described. */
function atomicCase(
  name: string,
  size: number,
  op: number,
  setup: { mem: number[]; src: bigint; r0?: bigint },
  expect: { r0: bigint; src?: bigint; mem: number[] },
): BpfCase[] {
  const insns = B.prog(
    B.BPF_LD_IMM64(R2, setup.src),
    B.BPF_LD_IMM64(R0, setup.r0 ?? 0n),
    B.BPF_ATOMIC_OP(size, op, R1, R2, 8),
    EXIT,
  );
  const out: BpfCase[] = [
    {
      name: `${name}: r0`,
      insns,
      data: [...BYTES_1_8, ...setup.mem],
      r0: expect.r0,
      dataAfter: [...BYTES_1_8, ...expect.mem],
    },
  ];
  if (expect.src !== undefined) {
    out.push({
      name: `${name}: src register`,
      insns: B.prog(insns.slice(0, -1), B.BPF_MOV64_REG(R0, R2), EXIT),
      data: [...BYTES_1_8, ...setup.mem],
      r0: expect.src,
    });
  }
  return out;
}

test("atomics: add/and/or/xor with and without fetch, xchg, cmpxchg, 32 and 64 bits", (t) => {
  const { BPF_W: W, BPF_DW: DW, BPF_FETCH: FETCH } = O;
  const m64 = (v: bigint): number[] => le64(v);
  const m32 = (v: number, next = 0x11111111): number[] => [...le32(v), ...le32(next)];
  check(t, [
    ...atomicCase(
      "ATOMIC_DW_ADD",
      DW,
      O.BPF_ADD,
      { mem: m64(0x0fffffffffffffffn), src: 1n, r0: 5n },
      { r0: 5n, src: 1n, mem: m64(0x1000000000000000n) },
    ),
    ...atomicCase(
      "ATOMIC_W_ADD: wraps in 32 bits, next word intact",
      W,
      O.BPF_ADD,
      { mem: m32(0xffffffff), src: 0x100000001n },
      { r0: 0n, src: 0x100000001n, mem: m32(0) },
    ),
    ...atomicCase(
      "ATOMIC_DW_ADD_FETCH: src = old",
      DW,
      O.BPF_ADD | FETCH,
      { mem: m64(40n), src: 2n },
      { r0: 0n, src: 40n, mem: m64(42n) },
    ),
    ...atomicCase(
      "ATOMIC_W_ADD_FETCH: old zero-extended",
      W,
      O.BPF_ADD | FETCH,
      { mem: m32(0xfffffffe), src: 0xffffffff00000003n },
      { r0: 0n, src: 0xfffffffen, mem: m32(1) },
    ),
    ...atomicCase(
      "ATOMIC_DW_AND",
      DW,
      O.BPF_AND,
      { mem: m64(0xff00ff00ff00ff00n), src: 0x0ff00ff00ff00ff0n },
      { r0: 0n, src: 0x0ff00ff00ff00ff0n, mem: m64(0x0f000f000f000f00n) },
    ),
    ...atomicCase(
      "ATOMIC_W_AND_FETCH",
      W,
      O.BPF_AND | FETCH,
      { mem: m32(0xf0f0f0f0), src: 0x0ff0n },
      { r0: 0n, src: 0xf0f0f0f0n, mem: m32(0xf0) },
    ),
    ...atomicCase(
      "ATOMIC_DW_OR_FETCH",
      DW,
      O.BPF_OR | FETCH,
      { mem: m64(0x8000000000000000n), src: 1n },
      { r0: 0n, src: 0x8000000000000000n, mem: m64(0x8000000000000001n) },
    ),
    ...atomicCase(
      "ATOMIC_W_OR",
      W,
      O.BPF_OR,
      { mem: m32(0x80000000), src: 0xffffffff00000001n },
      { r0: 0n, src: 0xffffffff00000001n, mem: m32(0x80000001) },
    ),
    ...atomicCase(
      "ATOMIC_DW_XOR",
      DW,
      O.BPF_XOR,
      { mem: m64(MINUS1), src: 0xffn },
      { r0: 0n, src: 0xffn, mem: m64(0xffffffffffffff00n) },
    ),
    ...atomicCase(
      "ATOMIC_W_XOR_FETCH",
      W,
      O.BPF_XOR | FETCH,
      { mem: m32(0x0000ffff), src: 0xffffffffn },
      { r0: 0n, src: 0xffffn, mem: m32(0xffff0000) },
    ),
    ...atomicCase(
      "ATOMIC_DW_XCHG",
      DW,
      O.BPF_XCHG,
      { mem: m64(0x1122334455667788n), src: 9n },
      { r0: 0n, src: 0x1122334455667788n, mem: m64(9n) },
    ),
    ...atomicCase(
      "ATOMIC_W_XCHG: old zero-extended, low half stored",
      W,
      O.BPF_XCHG,
      { mem: m32(0x80000000), src: 0xaaaaaaaa00000007n },
      { r0: 0n, src: 0x80000000n, mem: m32(7) },
    ),
    ...atomicCase(
      "ATOMIC_DW_CMPXCHG: match stores src",
      DW,
      O.BPF_CMPXCHG,
      { mem: m64(5n), src: 6n, r0: 5n },
      { r0: 5n, src: 6n, mem: m64(6n) },
    ),
    ...atomicCase(
      "ATOMIC_DW_CMPXCHG: mismatch leaves memory",
      DW,
      O.BPF_CMPXCHG,
      { mem: m64(5n), src: 6n, r0: 0x100000005n },
      { r0: 5n, src: 6n, mem: m64(5n) },
    ),
    ...atomicCase(
      "ATOMIC_W_CMPXCHG: compares the low half of r0",
      W,
      O.BPF_CMPXCHG,
      { mem: m32(5), src: 0x1234567800000006n, r0: 0xffffffff00000005n },
      { r0: 5n, src: 0x1234567800000006n, mem: m32(6) },
    ),
    ...atomicCase(
      "ATOMIC_W_CMPXCHG: mismatch, old zero-extended into r0",
      W,
      O.BPF_CMPXCHG,
      { mem: m32(0xfffffff0), src: 6n, r0: 5n },
      { r0: 0xfffffff0n, mem: m32(0xfffffff0) },
    ),
  ]);
});

test("atomics: misaligned address is a fault naming the instruction", (t) => {
  const err = t.throws(
    () =>
      runCaseInterp({
        data: new Array(16).fill(0),
        insns: B.prog(B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_ADD, R1, R2, 4), EXIT),
      }),
    { instanceOf: InsnError },
  );
  t.is(err?.message, "misaligned atomic access: 0x20000004: insn 0: (db) lock *(u64 *)(r1 +4) += r2");
  t.is(err?.errno, 14);
});

test("memory faults name the address, width and instruction (EFAULT)", (t) => {
  const load = t.throws(
    () => runCaseInterp({ insns: B.prog(B.BPF_MOV64_IMM(R1, 0), B.BPF_LDX_MEM(O.BPF_DW, R0, R1, 0), EXIT) }),
    { instanceOf: InsnError },
  );
  t.is(load?.message, "invalid read of 8 bytes at 0x0: insn 1: (79) r0 = *(u64 *)(r1 +0)");
  t.is(load?.errno, 14);
  t.is(load?.index, 1);
  const store = t.throws(() => runCaseInterp({ data: [0, 0], insns: B.prog(B.BPF_ST_MEM(O.BPF_W, R1, 0, 1), EXIT) }), {
    instanceOf: InsnError,
  });
  t.is(store?.message, "invalid write of 4 bytes at 0x20000000: insn 0: (62) *(u32 *)(r1 +0) = 1");
  const stack = t.throws(() => runCaseInterp({ insns: B.prog(B.BPF_LDX_MEM(O.BPF_B, R0, R10, 0), EXIT) }), {
    instanceOf: InsnError,
  });
  t.is(stack?.message, "invalid read of 1 bytes at 0x10000000: insn 0: (71) r0 = *(u8 *)(r10 +0)");
});

test("helpers: r1..r5 in, r0 out, r1..r5 and r6..r9 untouched by the interpreter", (t) => {
  const seen: { id: number; call: BpfCall }[] = [];
  const insns = B.prog(
    B.BPF_MOV64_IMM(R1, 11),
    B.BPF_MOV64_IMM(R2, -2),
    B.BPF_MOV64_IMM(R3, 13),
    B.BPF_MOV64_IMM(R4, 14),
    B.BPF_MOV64_IMM(R5, 15),
    B.BPF_MOV64_IMM(R6, 16),
    B.BPF_EMIT_CALL(5), // bpf_ktime_get_ns#5
    B.BPF_ALU64_REG(O.BPF_ADD, R0, R6),
    EXIT,
  );
  const run = runCaseInterp({
    insns,
    opts: {
      helper: (id, call) => {
        seen.push({ id, call });
        return -1n; // truncated to u64
      },
    },
  });
  t.is(seen.length, 1);
  t.is(seen[0].id, 5);
  t.deepEqual(seen[0].call.args, [11n, 0xfffffffffffffffen, 13n, 14n, 15n]);
  t.is(seen[0].call.index, 6);
  t.is(seen[0].call.frame, 0);
  t.is(seen[0].call.fp, STACK_TOP);
  t.is(run.result.r0, 15n); // -1 + 16
  t.deepEqual(run.result.regs.slice(1, 7), [11n, 0xfffffffffffffffen, 13n, 14n, 15n, 16n]);
});

test("helpers: a missing callback is ENOTSUPP naming the helper; callback errors get the insn", (t) => {
  const insns = B.prog(B.BPF_EMIT_CALL(1), EXIT);
  const err = t.throws(() => runCaseInterp({ insns }), { instanceOf: InsnError });
  t.is(err?.message, "no callback for helper bpf_map_lookup_elem#1: insn 0: (85) call bpf_map_lookup_elem#1");
  t.is(err?.errno, 524);
  const thrown = t.throws(
    () =>
      runCaseInterp({
        insns,
        opts: {
          helper: () => {
            throw new Error("map not found");
          },
        },
      }),
    { instanceOf: InsnError },
  );
  t.is(thrown?.message, "map not found: insn 0: (85) call bpf_map_lookup_elem#1");
});

test("helpers: requestExit ends the run after the call (conformance unwind)", (t) => {
  const insns = B.prog(B.BPF_MOV64_IMM(R1, 0), B.BPF_EMIT_CALL(5), B.BPF_MOV64_IMM(R0, 99), EXIT);
  const run = runCaseInterp({
    insns,
    opts: {
      helper: (_id, call) => {
        if (call.args[0] === 0n) call.requestExit();
        return 7n;
      },
    },
  });
  t.is(run.result.r0, 7n);
  t.is(run.result.insnCount, 2);
});

test("kfuncs: BTF id and BTF fd index (off) reach the callback", (t) => {
  const calls: [number, number, bigint][] = [];
  const run = runCaseInterp({
    insns: B.prog(B.BPF_MOV64_IMM(R1, 41), B.BPF_CALL_KFUNC(2, 777), EXIT),
    opts: {
      kfunc: (id, call) => {
        calls.push([id, call.off, call.args[0]]);
        return call.args[0] + 1n;
      },
    },
  });
  t.deepEqual(calls, [[777, 2, 41n]]);
  t.is(run.result.r0, 42n);
});

test("bpf-to-bpf calls: own 512-byte frame, r6-r9 restored, r0 returned", (t) => {
  const insns = B.prog(
    // main
    B.BPF_MOV64_IMM(R6, 6),
    B.BPF_MOV64_IMM(R7, 7),
    B.BPF_MOV64_IMM(R8, 8),
    B.BPF_MOV64_IMM(R9, 9),
    B.BPF_ST_MEM(O.BPF_DW, R10, -8, 100),
    B.BPF_MOV64_IMM(R1, 5),
    B.BPF_CALL_REL(10), // slot 6 -> 17
    // r0 = callee's fp; check caller fp - callee fp == 512 and the caller's slot survived
    B.BPF_MOV64_REG(R2, R10),
    B.BPF_ALU64_REG(O.BPF_SUB, R2, R0), // 512
    B.BPF_LDX_MEM(O.BPF_DW, R3, R10, -8), // 100
    B.BPF_ALU64_REG(O.BPF_ADD, R2, R3), // 612
    B.BPF_ALU64_REG(O.BPF_ADD, R2, R6), // + 6 + 7 + 8 + 9 = 642
    B.BPF_ALU64_REG(O.BPF_ADD, R2, R7),
    B.BPF_ALU64_REG(O.BPF_ADD, R2, R8),
    B.BPF_ALU64_REG(O.BPF_ADD, R2, R9),
    B.BPF_MOV64_REG(R0, R2),
    EXIT,
    // subprog at 17: clobber r6-r9 and its own stack slot, return its fp
    B.BPF_MOV64_IMM(R6, -1),
    B.BPF_MOV64_IMM(R7, -1),
    B.BPF_MOV64_IMM(R8, -1),
    B.BPF_MOV64_IMM(R9, -1),
    B.BPF_STX_MEM(O.BPF_DW, R10, R1, -8),
    B.BPF_MOV64_REG(R0, R10),
    EXIT,
  );
  const run = runCaseInterp({ insns });
  t.is(run.result.r0, 642n);
  t.is(run.result.regs[10], STACK_TOP);
});

/** main: r1 = depth; call f; exit.   f(n): if n == 0 return 0; return f(n - 1) + 1 */
function recursion(depth: number): Insn[] {
  return B.prog(
    B.BPF_MOV64_IMM(R1, depth),
    B.BPF_CALL_REL(1), // -> 3
    EXIT,
    B.BPF_JMP_IMM(O.BPF_JEQ, R1, 0, 4), // 3 -> 8
    B.BPF_ALU64_IMM(O.BPF_SUB, R1, 1),
    B.BPF_CALL_REL(-3), // 5 -> 3
    B.BPF_ALU64_IMM(O.BPF_ADD, R0, 1),
    EXIT,
    B.BPF_MOV64_IMM(R0, 0), // 8
    EXIT,
  );
}

test("bpf-to-bpf calls: MAX_CALL_FRAMES (8) frames deep is fine, 9 is E2BIG", (t) => {
  t.is(runCaseInterp({ insns: recursion(6) }).result.r0, 6n); // main + 7 frames of f
  const err = t.throws(() => runCaseInterp({ insns: recursion(7) }), { instanceOf: InsnError });
  t.is(err?.message, "call stack too deep: 9 frames (max 8): insn 5: (85) call pc-3");
  t.is(err?.errno, 7);
});

test("tail calls: MAX_TAIL_CALL_CNT (33) jumps, then the call falls through", (t) => {
  // Each run counts itself in data[0] and tail-calls slot 0 of "map" 1 (itself).
  const self = B.prog(
    B.BPF_MOV64_REG(R6, R1),
    B.BPF_MOV64_IMM(R2, 1),
    B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_ADD, R6, R2, 0),
    B.BPF_MOV64_REG(R1, R6),
    B.BPF_MOV64_IMM(R2, 1),
    B.BPF_MOV64_IMM(R3, 0),
    B.BPF_EMIT_CALL(12),
    B.BPF_MOV64_IMM(R0, 7),
    EXIT,
  );
  const lookups: [bigint, bigint][] = [];
  const run = runCaseInterp({
    insns: self,
    data: new Array(8).fill(0),
    opts: {
      tailCall: (map, index) => {
        lookups.push([map, index]);
        return { kind: "prog", prog: self };
      },
    },
  });
  t.is(run.result.r0, 7n);
  t.is(run.result.tailCalls, 33);
  t.deepEqual([...run.data], le64(34n)); // the first run plus 33 tail calls
  t.is(lookups.length, 34);
  t.deepEqual(lookups[0], [1n, 0n]);
});

test("tail calls: out-of-range does not take the count, an empty slot does", (t) => {
  const insns = B.prog(
    B.BPF_MOV64_IMM(R0, 3),
    B.BPF_MOV64_IMM(R3, 5),
    B.BPF_EMIT_CALL(12), // out of range
    B.BPF_MOV64_IMM(R3, 1),
    B.BPF_EMIT_CALL(12), // empty
    B.BPF_EMIT_CALL(12), // target: r0 = 40 + r0 left by the caller
    EXIT,
  );
  const target = B.prog(B.BPF_ALU64_IMM(O.BPF_ADD, R0, 40), EXIT);
  let n = 0;
  const run = runCaseInterp({
    insns,
    opts: {
      tailCall: (_map, index) => {
        n++;
        if (index >= 4n) return { kind: "out-of-range" };
        return n === 2 ? { kind: "empty" } : { kind: "prog", prog: prepareProg(target) };
      },
    },
  });
  t.is(run.result.r0, 43n);
  t.is(run.result.tailCalls, 2);
});

test("ld_imm64 pseudo sources go through the resolver; without one it is ENOTSUPP", (t) => {
  const insns = B.prog(B.BPF_LD_MAP_VALUE(R0, 3, 16), EXIT);
  const run = runCaseInterp({
    insns,
    opts: { pseudoLd: (first, second) => 0xffff000000000000n + BigInt(first.imm * 0x100 + second.imm) },
  });
  t.is(run.result.r0, 0xffff000000000310n);
  const err = t.throws(() => runCaseInterp({ insns }), { instanceOf: InsnError });
  t.is(err?.message, "no resolver for ld_imm64 source 2: insn 0: (18) r0 = map[fd:3][0]+16");
  t.is(err?.errno, 524);
});

test("legacy packet access is ENOTSUPP", (t) => {
  const err = t.throws(() => runCaseInterp({ insns: B.prog(B.BPF_LD_ABS(O.BPF_W, 0), EXIT) }), {
    instanceOf: InsnError,
  });
  t.is(err?.message, "legacy packet access is not supported: insn 0: (20) r0 = *(u32 *)skb[0]");
});

test("budget: an endless loop stops with BudgetExceededError (E2BIG) naming the next insn", (t) => {
  const insns = B.prog(B.BPF_MOV64_IMM(R0, 0), B.BPF_ALU64_IMM(O.BPF_ADD, R0, 1), B.BPF_JMP_A(-2));
  const err = t.throws(() => runCaseInterp({ insns, opts: { budget: 1000 } }), { instanceOf: BudgetExceededError });
  t.is(err?.message, "instruction budget exceeded: 1000 insns: insn 2: (05) goto pc-2");
  t.is(err?.errno, 7);
});

test("insnCount counts executed instructions, ld_imm64 once", (t) => {
  const run = runCaseInterp({ insns: B.prog(B.BPF_LD_IMM64(R0, 1n), B.BPF_JMP_A(1), EXIT, EXIT) });
  t.is(run.result.insnCount, 3);
  // exactly at the budget is allowed
  t.is(runCaseInterp({ insns: B.prog(B.BPF_LD_IMM64(R0, 1n), EXIT), opts: { budget: 2 } }).result.r0, 1n);
});

test("invalid programs are rejected before running", (t) => {
  t.throws(() => bpfInterp([B.BPF_MOV64_IMM(R0, 0)], { mem: new FlatMemory(), stack: STACK_TOP }), {
    message: "last insn is not an exit or jmp: insn 0: (b7) r0 = 0",
  });
});

test("PhysMemory adapter: the interpreter runs over the emulator's memory", (t) => {
  const phys = new PhysMemory();
  try {
    phys.add({ name: "bpf stack", base: 0x400000n, size: INTERP_STACK_SIZE, perms: PROT_RW });
    phys.add({ name: "data", base: 0x500000n, size: 0x1000, perms: PROT_RW });
    phys.write64(0x500008n, 0x1122334455667788n);
    const insns = B.prog(
      B.BPF_LDX_MEM(O.BPF_DW, R2, R1, 8),
      B.BPF_STX_MEM(O.BPF_W, R10, R2, -4),
      B.BPF_LDX_MEMSX(O.BPF_H, R0, R10, -2),
      B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_XOR, R1, R2, 8),
      EXIT,
    );
    const res = bpfInterp(insns, {
      mem: physMemoryBpf(phys),
      stack: 0x400000n + BigInt(INTERP_STACK_SIZE),
      args: [0x500000n],
    });
    t.is(res.r0, 0x5566n);
    t.is(phys.read64(0x500008n), 0n);
    t.is(phys.read32(0x400000n + BigInt(INTERP_STACK_SIZE) - 4n), 0x55667788);
    const err = t.throws(
      () =>
        bpfInterp(B.prog(B.BPF_LDX_MEM(O.BPF_B, R0, R1, 0), EXIT), {
          mem: physMemoryBpf(phys),
          stack: 0x401000n,
          args: [0x600000n],
        }),
      {
        instanceOf: InsnError,
      },
    );
    t.is(err?.message, "host access outside mapped memory: 0x600000 (1 bytes): insn 0: (71) r0 = *(u8 *)(r1 +0)");
    t.is(err?.errno, 14);
  } finally {
    phys.freeAll();
  }
});

test("scratch layout of the test runner: r1 = SCRATCH_BASE", (t) => {
  t.is(runCaseInterp({ insns: B.prog(B.BPF_MOV64_REG(R0, R1), EXIT) }).result.r0, SCRATCH_BASE);
});
