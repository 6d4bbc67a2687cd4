import test from "ava";
import * as O from "./opcodes.js";

test("opInfo decodes each family and marks undefined opcodes invalid", (t) => {
  t.deepEqual(O.opInfo(0x07), { kind: "alu", code: 0x07, width: 64, op: O.BPF_ADD, x: false });
  t.deepEqual(O.opInfo(0xcc), { kind: "alu", code: 0xcc, width: 32, op: O.BPF_ARSH, x: true });
  t.deepEqual(O.opInfo(0xd4), { kind: "end", code: 0xd4, order: "le" });
  t.deepEqual(O.opInfo(0xdc), { kind: "end", code: 0xdc, order: "be" });
  t.deepEqual(O.opInfo(0xd7), { kind: "end", code: 0xd7, order: "swap" });
  t.deepEqual(O.opInfo(0x2e), { kind: "jcond", code: 0x2e, width: 32, op: O.BPF_JGT, x: true });
  t.deepEqual(O.opInfo(0x05), { kind: "ja", code: 0x05, width: 64 });
  t.deepEqual(O.opInfo(0x06), { kind: "ja", code: 0x06, width: 32 });
  t.deepEqual(O.opInfo(0x85), { kind: "call", code: 0x85 });
  t.deepEqual(O.opInfo(0x95), { kind: "exit", code: 0x95 });
  t.deepEqual(O.opInfo(0x18), { kind: "ldimm64", code: 0x18 });
  t.deepEqual(O.opInfo(0x50), { kind: "ldpkt", code: 0x50, size: 1, indirect: true });
  t.deepEqual(O.opInfo(0x91), { kind: "ldx", code: 0x91, size: 1, signed: true });
  t.deepEqual(O.opInfo(0x7a), { kind: "st", code: 0x7a, size: 8 });
  t.deepEqual(O.opInfo(0x6b), { kind: "stx", code: 0x6b, size: 2 });
  t.deepEqual(O.opInfo(0xc3), { kind: "atomic", code: 0xc3, size: 4 });
  // No such instruction: NEG with X, ALU64 END with TO_BE, JMP32 CALL/EXIT, MEMSX DW, ATOMIC B/H, ld_imm of W.
  for (const code of [0x8f, 0x8c, 0xdf, 0x86, 0x96, 0x0d, 0x99, 0xd3, 0xcb, 0x00, 0xe7, 0xf4, 0xe5, 0xf5]) {
    t.is(O.opInfo(code).kind, "invalid", `0x${code.toString(16)}`);
  }
});

test("field getters and sizes follow bpf_common.h", (t) => {
  t.is(O.BPF_CLASS(0xdb), O.BPF_STX);
  t.is(O.BPF_SIZE(0xdb), O.BPF_DW);
  t.is(O.BPF_MODE(0xdb), O.BPF_ATOMIC);
  t.is(O.BPF_OP(0x5d), O.BPF_JNE);
  t.is(O.BPF_SRC(0x5d), O.BPF_X);
  t.deepEqual([O.BPF_B, O.BPF_H, O.BPF_W, O.BPF_DW].map(O.bpfSizeBytes), [1, 2, 4, 8]);
  t.deepEqual(([1, 2, 4, 8] as const).map(O.bytesToBpfSize), [O.BPF_B, O.BPF_H, O.BPF_W, O.BPF_DW]);
  t.true(O.isAtomicOp(O.BPF_CMPXCHG));
  t.false(O.isAtomicOp(O.BPF_SUB));
  t.is(O.ATOMIC_OPS.length, 10);
});
