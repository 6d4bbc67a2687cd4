/**
 * Stack arguments in the ISA layers: the r12 offset arithmetic of the v1
 * layout, encoding, validation, the formatter, the builder and the
 * reference interpreter (chain foo(7) → bar(8) → baz(9), two calls with
 * different outgoing depths, a kfunc with 10 arguments, the faults).
 */
import test from "ava";
import { EFAULT, EINVAL } from "../errno.js";
import { Prng } from "../prng.js";
import * as B from "./builder.js";
import { decodeInsns, encodeInsns, validateInsns } from "./codec.js";
import { formatInsn, formatProg } from "./format.js";
import type { Insn } from "./insn.js";
import { InsnError } from "./insn_error.js";
import { bpfInterp, type BpfCall } from "./interp.js";
import { SCRATCH_BASE, runCaseInterp } from "./interp_test_util.js";
import * as O from "./opcodes.js";
import {
  incomingArgOff,
  incomingStackArgDepth,
  outgoingArgOff,
  stackArgAccess,
  stackArgSlot,
  MAX_STACK_ARG_DEPTH,
} from "./stack_arg.js";
import {
  chainProg,
  kfuncProg,
  stackArgInputBytes,
  twoCallsProg,
  STACK_ARG_INPUTS,
  type StackArgProg,
} from "./stack_arg_progs.js";

const R12 = O.BPF_REG_STACK_ARG_BASE;
const { BPF_DW, BPF_W } = O;
const EXIT = B.BPF_EXIT_INSN();

test("BPF_REG_STACK_ARG_BASE is r12 and r11 stays BPF_REG_AX's; 12 arguments at most", (t) => {
  t.is(R12, 12);
  t.is(O.MAX_BPF_REG, 11);
  t.is(O.MAX_BPF_FUNC_ARGS, 12);
  t.is(MAX_STACK_ARG_DEPTH, 56);
});

test("v1 layout: incoming args from r12-8 down, outgoing args past the caller's incoming area", (t) => {
  t.deepEqual([5, 6, 7, 8, 9, 12].map(incomingStackArgDepth), [0, 8, 16, 24, 32, 56]);
  t.deepEqual([6, 7, 12].map(incomingArgOff), [-8, -16, -56]);
  // foo (7 args, incoming 16) calls bar (8 args): the series' drawing.
  t.deepEqual(
    [6, 7, 8].map((k) => outgoingArgOff(k, 16)),
    [-24, -32, -40],
  );
  t.deepEqual(stackArgSlot(-16, 16), { kind: "incoming", arg: 7, index: 1 });
  t.deepEqual(stackArgSlot(-24, 16), { kind: "outgoing", arg: 6, index: 0 });
  t.deepEqual(stackArgSlot(-40, 16), { kind: "outgoing", arg: 8, index: 2 });
  t.deepEqual(stackArgSlot(-72, 16), { kind: "outgoing", arg: 12, index: 6 });
  t.deepEqual(stackArgSlot(-80, 16), { kind: "invalid", reason: "beyond" });
  t.deepEqual(stackArgSlot(-12, 16), { kind: "invalid", reason: "misaligned" });
  t.deepEqual(stackArgSlot(0, 16), { kind: "invalid", reason: "above" });
  t.deepEqual(stackArgSlot(8, 16), { kind: "invalid", reason: "above" });
  // main (no incoming) writes arg 6 at r12-8.
  t.deepEqual(stackArgSlot(-8, 0), { kind: "outgoing", arg: 6, index: 0 });
});

test("wire format of r12 loads and stores: r12 in the 4-bit register fields", (t) => {
  const p = [
    B.BPF_STX_MEM(BPF_DW, R12, 1, -8),
    B.BPF_LDX_MEM(BPF_DW, 1, R12, -8),
    B.BPF_ST_MEM(BPF_DW, R12, -16, 7),
    EXIT,
  ];
  const hex = Buffer.from(encodeInsns(p)).toString("hex");
  // 7b: STX|DW|MEM, regs 0x1c (src r1, dst r12); 79: LDX|DW|MEM, regs 0xc1; 7a: ST|DW|MEM, regs 0x0c.
  t.is(hex, "7b1cf8ff00000000" + "79c1f8ff00000000" + "7a0cf0ff07000000" + "9500000000000000");
  t.deepEqual(decodeInsns(encodeInsns(p)), p);
  t.deepEqual(validateInsns(p).subprogs, [0]);
});

test("format prints r12 accesses in the verifier-log syntax", (t) => {
  const p = [
    B.BPF_STX_MEM(BPF_DW, R12, 1, -8),
    B.BPF_LDX_MEM(BPF_DW, 1, R12, -16),
    B.BPF_ST_MEM(BPF_DW, R12, -24, -3),
    EXIT,
  ];
  t.is(
    formatProg(p),
    "0: (7b) *(u64 *)(r12 -8) = r1\n1: (79) r1 = *(u64 *)(r12 -16)\n2: (7a) *(u64 *)(r12 -24) = -3\n3: (95) exit\n",
  );
  t.is(formatInsn([B.BPF_STX_MEM(BPF_W, R12, 2, -4)], 0), "*(u32 *)(r12 -4) = r2");
});

test("stackArgAccess finds exactly the r12 loads and stores", (t) => {
  t.deepEqual(stackArgAccess(B.BPF_LDX_MEM(BPF_DW, 3, R12, -8)), { write: false, size: 8, off: -8 });
  t.deepEqual(stackArgAccess(B.BPF_STX_MEM(BPF_W, R12, 3, -4)), { write: true, size: 4, off: -4 });
  t.deepEqual(stackArgAccess(B.BPF_ST_MEM(BPF_DW, R12, -8, 1)), { write: true, size: 8, off: -8 });
  t.is(stackArgAccess(B.BPF_LDX_MEM(BPF_DW, 3, 10, -8)), undefined);
  t.is(stackArgAccess(B.BPF_RAW_INSN(O.BPF_LDX | BPF_W | O.BPF_MEMSX, 1, R12, -8, 0)), undefined);
});

function rejects(t: import("ava").ExecutionContext, insns: Insn[], message: string): void {
  const err = t.throws(() => validateInsns(insns), { instanceOf: InsnError }) as InsnError;
  t.is(err.message, message);
  t.is(err.errno, EINVAL);
}

test("validation: r12 only as the base of a BPF_MEM load or store; r11 nowhere", (t) => {
  const raw = B.BPF_RAW_INSN;
  rejects(t, [raw(0xb7, R12, 0, 0, 1), EXIT], "invalid register: r12: insn 0: (b7) r12 = 1");
  rejects(t, [raw(0xbf, 1, R12, 0, 0), EXIT], "invalid register: r12: insn 0: (bf) r1 = r12");
  rejects(t, [raw(0x7b, 1, R12, 0, 0), EXIT], "invalid register: r12: insn 0: (7b) *(u64 *)(r1 +0) = r12");
  rejects(t, [raw(0x79, R12, 1, 0, 0), EXIT], "invalid register: r12: insn 0: (79) r12 = *(u64 *)(r1 +0)");
  rejects(
    t,
    [raw(0xdb, R12, 1, -8, O.BPF_ADD), EXIT],
    "invalid register: r12: insn 0: (db) lock *(u64 *)(r12 -8) += r1",
  );
  rejects(t, [raw(0x91, 1, R12, -8, 0), EXIT], "invalid register: r12: insn 0: (91) r1 = *(s8 *)(r12 -8)");
  rejects(t, [raw(0x1d, R12, 1, 0, 0), EXIT], "invalid register: r12: insn 0: (1d) if r12 == r1 goto pc+0");
  // The merged series' r11 (BPF_REG_PARAMS) is not this ISA's stack-argument register.
  rejects(t, [raw(0x7b, 11, 1, -8, 0), EXIT], "invalid register: r11: insn 0: (7b) *(u64 *)(r11 -8) = r1");
});

test("builder: r12 as the base of LDX_MEM / STX_MEM / ST_MEM, nowhere else", (t) => {
  t.deepEqual(B.BPF_STX_MEM(BPF_DW, R12, 1, -8), { code: 0x7b, dst: 12, src: 1, off: -8, imm: 0 });
  t.deepEqual(B.BPF_LDX_MEM(BPF_DW, 1, R12, -8), { code: 0x79, dst: 1, src: 12, off: -8, imm: 0 });
  t.deepEqual(B.BPF_ST_MEM(BPF_DW, R12, -8, 5), { code: 0x7a, dst: 12, src: 0, off: -8, imm: 5 });
  for (const fn of [
    () => B.BPF_MOV64_REG(R12, 1),
    () => B.BPF_STX_MEM(BPF_DW, 1, R12, 0),
    () => B.BPF_LDX_MEM(BPF_DW, R12, 1, 0),
    () => B.BPF_LDX_MEMSX(BPF_W, 1, R12, -8),
  ]) {
    t.throws(fn, { instanceOf: InsnError, message: "invalid register: r12" });
  }
  t.throws(() => B.BPF_STX_MEM(BPF_DW, 11, 1, -8), { message: "invalid register: r11" });
});

/** incoming_stack_arg_depth by function start, as the verifier computes it. */
function depths(p: StackArgProg): Map<number, number> {
  return new Map(p.funcs.map((f) => [f.start, f.start === 0 ? 0 : incomingStackArgDepth(f.nargs)]));
}

function inputs(prng: Prng): bigint[] {
  return Array.from({ length: STACK_ARG_INPUTS }, () => (BigInt(prng.nextU32()) << 32n) | BigInt(prng.nextU32()));
}

function interp(p: StackArgProg, x: readonly bigint[], opts: { kfunc?: (id: number, c: BpfCall) => bigint } = {}) {
  return runCaseInterp({
    insns: p.insns,
    data: stackArgInputBytes(x),
    opts: { incomingStackArgDepth: depths(p), kfunc: opts.kfunc },
  }).result;
}

test("interpreter: chain foo(7 args) → bar(8 args) → baz(9 args) matches the oracle", (t) => {
  const p = chainProg();
  t.deepEqual(
    p.funcs.map((f) => [f.name, f.nargs]),
    [
      ["main", 1],
      ["foo", 7],
      ["bar", 8],
      ["baz", 9],
    ],
  );
  // By hand: foo(1..7) = bar(1..7, 13) + 7; bar = baz(1..7, 13, 39) - 1;
  // baz = 1+4+9+16+25+36+49 + 8·13 + 9·39 = 140 + 104 + 351 = 595.
  const x = [1n, 2n, 3n, 4n, 5n, 6n, 7n];
  t.is(p.oracle(x), 601n);
  t.is(interp(p, x).r0, 601n);
  const prng = new Prng(10);
  for (let i = 0; i < 20; i++) {
    const v = inputs(prng);
    t.is(interp(p, v).r0, p.oracle(v));
  }
});

test("interpreter: two calls from one frame with outgoing depths 8 and 24", (t) => {
  const p = twoCallsProg();
  const x = [1n, 2n, 3n, 4n, 5n, 6n, 7n];
  // f6 = 1+4+9+16+25 + 6·(-3) = 37; f8 = 11+24+39+56+75 + 16·6 + 17·0x7fffffff + 18·7.
  const f8 = 205n + 96n + 17n * 0x7fffffffn + 126n;
  t.is(p.oracle(x), f8 - 74n);
  t.is(interp(p, x).r0, f8 - 74n);
  const prng = new Prng(11);
  for (let i = 0; i < 20; i++) {
    const v = inputs(prng);
    t.is(interp(p, v).r0, p.oracle(v));
  }
});

test("interpreter: a kfunc sees arguments 6.. in stackArgs", (t) => {
  const p = kfuncProg({ btfId: 77, off: 0 });
  const seen: bigint[][] = [];
  const kfunc = (id: number, c: BpfCall): bigint => {
    t.is(id, 77);
    seen.push([...c.args, ...c.stackArgs]);
    return [...c.args, ...c.stackArgs].reduce((s, v) => s + v, 0n);
  };
  const x = [10n, 20n, 30n, 40n, 50n, 60n, 70n];
  t.is(interp(p, x, { kfunc }).r0, 307n);
  t.is(p.oracle(x), 307n);
  t.deepEqual(seen, [[10n, 20n, 30n, 40n, 50n, 60n, 70n, 8n, 9n, 10n]]);
});

function faults(t: import("ava").ExecutionContext, run: () => unknown, message: string, errno: number): void {
  const err = t.throws(run, { instanceOf: InsnError }) as InsnError;
  t.is(err.message, message);
  t.is(err.errno, errno);
}

test("interpreter faults: no incoming depth, a forgotten outgoing slot, a narrow store, a slot past arg 12", (t) => {
  const chain = chainProg();
  faults(
    t,
    () => runCaseInterp({ insns: chain.insns, data: stackArgInputBytes(inputs(new Prng(1))) }),
    "invalid read from stack arg off -16 depth 0: insn 12: (79) r6 = *(u64 *)(r12 -16)",
    EFAULT,
  );
  // The same from a function alone.
  const read = B.prog(B.BPF_LDX_MEM(BPF_DW, 0, R12, -8), EXIT);
  faults(
    t,
    () => runCaseInterp({ insns: read }),
    "invalid read from stack arg off -8 depth 0: insn 0: (79) r0 = *(u64 *)(r12 -8)",
    EFAULT,
  );
  // The second call finds arg 6 forgotten after the first.
  const twice = B.prog(
    B.BPF_ST_MEM(BPF_DW, R12, -8, 6),
    B.BPF_CALL_REL(2),
    B.BPF_CALL_REL(1),
    EXIT,
    B.BPF_LDX_MEM(BPF_DW, 0, R12, -8),
    EXIT,
  );
  const d = new Map([[4, 8]]);
  faults(
    t,
    () => runCaseInterp({ insns: twice, opts: { incomingStackArgDepth: d } }),
    "stack arg#6 not properly initialized: insn 2: (85) call pc+1",
    EFAULT,
  );
  const narrow = B.prog(B.BPF_STX_MEM(BPF_W, R12, 1, -8), B.BPF_MOV64_IMM(0, 0), EXIT);
  faults(
    t,
    () => runCaseInterp({ insns: narrow }),
    "stack arg write must be 8 bytes, got 4: insn 0: (63) *(u32 *)(r12 -8) = r1",
    EINVAL,
  );
  const beyond = B.prog(B.BPF_ST_MEM(BPF_DW, R12, -64, 1), B.BPF_MOV64_IMM(0, 0), EXIT);
  faults(
    t,
    () => runCaseInterp({ insns: beyond }),
    "stack arg write offset -64 exceeds max 7 stack args: insn 0: (7a) *(u64 *)(r12 -64) = 1",
    EINVAL,
  );
});

test("interpreter: a callee may overwrite its own incoming slot, and its caller's area is untouched", (t) => {
  // main: *(r12-8) = 5; call f.   f(6 args): r0 = arg6; *(r12-8) = 100; r0 += *(r12-8) → 105
  const insns = B.prog(
    B.BPF_ST_MEM(BPF_DW, R12, -8, 5),
    B.BPF_CALL_REL(1),
    EXIT,
    B.BPF_LDX_MEM(BPF_DW, 0, R12, -8),
    B.BPF_ST_MEM(BPF_DW, R12, -8, 100),
    B.BPF_LDX_MEM(BPF_DW, 1, R12, -8),
    B.BPF_ALU64_REG(O.BPF_ADD, 0, 1),
    EXIT,
  );
  const res = bpfInterp(insns, {
    mem: { load: () => 0n, store: () => undefined },
    stack: SCRATCH_BASE,
    incomingStackArgDepth: new Map([[3, 8]]),
  });
  t.is(res.r0, 105n);
});
