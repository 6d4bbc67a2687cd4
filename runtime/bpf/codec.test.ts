import test from "ava";
import * as B from "./builder.js";
import { BPF_INSN_SIZE, decodeInsns, encodeInsns, validateInsns } from "./codec.js";
import type { Insn } from "./insn.js";
import { InsnError } from "./insn_error.js";
import * as O from "./opcodes.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2 } = O;
const EXIT = B.BPF_EXIT_INSN();

test("wire layout: code, src<<4|dst, LE s16 off, LE s32 imm", (t) => {
  const bytes = encodeInsns([B.BPF_RAW_INSN(0x61, 3, 10, -8, -2)]);
  t.deepEqual([...bytes], [0x61, 0xa3, 0xf8, 0xff, 0xfe, 0xff, 0xff, 0xff]);
  t.deepEqual(decodeInsns(bytes, { validate: false }), [{ code: 0x61, dst: 3, src: 10, off: -8, imm: -2 }]);
});

test("decode(encode(p)) is p for every field value pattern", (t) => {
  // Deterministic sweep over field extremes (validation off: the layout alone is tested).
  const codes = [0, 1, 0x18, 0x7f, 0x80, 0xff];
  const regs = [0, 1, 10, 15];
  const offs = [-0x8000, -1, 0, 1, 0x7fff];
  const imms = [-0x80000000, -1, 0, 1, 0x7fffffff];
  const insns: Insn[] = [];
  for (const code of codes)
    for (const dst of regs)
      for (const src of regs) for (const off of offs) for (const imm of imms) insns.push({ code, dst, src, off, imm });
  const bytes = encodeInsns(insns);
  t.is(bytes.length, insns.length * BPF_INSN_SIZE);
  t.deepEqual(decodeInsns(bytes, { validate: false }), insns);
});

test("decoding works on a subarray view (byteOffset honoured)", (t) => {
  const p = B.prog(B.BPF_LD_IMM64(R0, 0x0102030405060708n), EXIT);
  const raw = encodeInsns(p);
  const padded = new Uint8Array(raw.length + 3);
  padded.set(raw, 3);
  t.deepEqual(decodeInsns(padded.subarray(3)), p);
});

test("encode rejects fields outside their width, naming the slot", (t) => {
  const err = t.throws(() => encodeInsns([EXIT, { code: 0x07, dst: 1, src: 0, off: 0, imm: 2 ** 31 }]), {
    instanceOf: InsnError,
  });
  t.is(err?.message, "field out of range: code=7 dst=1 src=0 off=0 imm=2147483648: insn 1: (07) r1 += 2147483648");
  t.is(err?.index, 1);
});

function rejects(t: import("ava").ExecutionContext, insns: Insn[], message: string, errno = 22): InsnError {
  const err = t.throws(() => validateInsns(insns), { instanceOf: InsnError }) as InsnError;
  t.is(err.message, message);
  t.is(err.errno, errno);
  // The wire path reports the same error.
  t.throws(() => decodeInsns(encodeInsns(insns)), { message });
  return err;
}

test("bad input: unknown opcodes", (t) => {
  const err = rejects(
    t,
    [B.BPF_MOV64_IMM(R0, 0), B.BPF_RAW_INSN(0x8f, 1, 2, 0, 0), EXIT],
    "unknown opcode 8f: insn 1: (8f) BUG_alu64_8f",
  );
  t.is(err.index, 1);
  t.is(err.insnText, "(8f) BUG_alu64_8f");
  t.is(err.reason, "unknown opcode 8f");
  rejects(t, [B.BPF_RAW_INSN(0xdf, 1, 0, 0, 16), EXIT], "unknown opcode df: insn 0: (df) BUG_alu64_df");
  rejects(t, [B.BPF_RAW_INSN(0x86, 0, 0, 0, 0), EXIT], "unknown opcode 86: insn 0: (86) BUG_jmp32_86");
  rejects(t, [B.BPF_RAW_INSN(0x99, 0, 0, 0, 0), EXIT], "unknown opcode 99: insn 0: (99) BUG_ldx_99");
  rejects(t, [B.BPF_RAW_INSN(0xd3, 1, 2, 0, 0), EXIT], "unknown opcode d3: insn 0: (d3) BUG_stx_d3");
  // A lone second slot is opcode 0x00.
  rejects(t, [{ code: 0, dst: 0, src: 0, off: 0, imm: 5 }, EXIT], "unknown opcode 00: insn 0: (00) BUG_ld_00");
});

test("bad input: registers beyond r10", (t) => {
  rejects(t, [B.BPF_RAW_INSN(0xb7, 11, 0, 0, 1), EXIT], "invalid register: r11: insn 0: (b7) r11 = 1");
  rejects(t, [B.BPF_RAW_INSN(0xbf, 1, 12, 0, 0), EXIT], "invalid register: r12: insn 0: (bf) r1 = r12");
  rejects(t, [B.BPF_RAW_INSN(0x79, 1, 15, 0, 0), EXIT], "invalid register: r15: insn 0: (79) r1 = *(u64 *)(r15 +0)");
});

test("bad input: reserved fields set", (t) => {
  rejects(t, [B.BPF_RAW_INSN(0x07, 1, 2, 0, 1), EXIT], "reserved field set: src=2: insn 0: (07) r1 += 1");
  rejects(t, [B.BPF_RAW_INSN(0x0f, 1, 2, 0, 7), EXIT], "reserved field set: imm=7: insn 0: (0f) r1 += r2");
  rejects(t, [B.BPF_RAW_INSN(0x0f, 1, 2, 1, 0), EXIT], "reserved field set: off=1: insn 0: (0f) r1 += r2");
  rejects(t, [B.BPF_RAW_INSN(0x87, 1, 0, 0, 3), EXIT], "reserved field set: imm=3: insn 0: (87) r1 = -r1");
  rejects(t, [B.BPF_RAW_INSN(0xb7, 1, 0, 8, 3), EXIT], "reserved field set: off=8: insn 0: (b7) r1 = 3");
  rejects(t, [B.BPF_RAW_INSN(0x95, 0, 0, 0, 1)], "reserved field set: imm=1: insn 0: (95) exit");
  rejects(t, [B.BPF_RAW_INSN(0x05, 0, 0, 0, 1), EXIT], "reserved field set: imm=1: insn 0: (05) goto pc+0");
  rejects(t, [B.BPF_RAW_INSN(0x06, 0, 0, 1, 0), EXIT], "reserved field set: off=1: insn 0: (06) gotol pc+0");
  rejects(
    t,
    [B.BPF_RAW_INSN(0x85, 0, 0, 2, 1), EXIT],
    "reserved field set: off=2: insn 0: (85) call bpf_map_lookup_elem#1",
  );
  rejects(
    t,
    [B.BPF_RAW_INSN(0x85, 1, 0, 0, 1), EXIT],
    "reserved field set: dst=1: insn 0: (85) call bpf_map_lookup_elem#1",
  );
  rejects(
    t,
    [B.BPF_RAW_INSN(0x62, 10, 1, -4, 0), EXIT],
    "reserved field set: src=1: insn 0: (62) *(u32 *)(r10 -4) = 0",
  );
  rejects(
    t,
    [B.BPF_RAW_INSN(0x63, 10, 1, -4, 9), EXIT],
    "reserved field set: imm=9: insn 0: (63) *(u32 *)(r10 -4) = r1",
  );
  rejects(
    t,
    [B.BPF_RAW_INSN(0x61, 1, 10, -4, 9), EXIT],
    "reserved field set: imm=9: insn 0: (61) r1 = *(u32 *)(r10 -4)",
  );
  rejects(
    t,
    [B.BPF_RAW_INSN(0x15, 1, 2, 0, 0), EXIT],
    "reserved field set: src=2: insn 0: (15) if r1 == 0x0 goto pc+0",
  );
  rejects(t, [B.BPF_RAW_INSN(0xdc, 1, 0, 1, 16), EXIT], "reserved field set: off=1: insn 0: (dc) r1 = be16 r1");
  rejects(t, [B.BPF_RAW_INSN(0x20, 1, 0, 0, 4), EXIT], "reserved field set: dst=1: insn 0: (20) r0 = *(u32 *)skb[4]");
});

test("bad input: END widths, div/mod and movsx offsets, atomic ops, call sources", (t) => {
  rejects(t, [B.BPF_ENDIAN(O.BPF_TO_BE, R1, 24), EXIT], "invalid byte swap width: 24: insn 0: (dc) r1 = be24 r1");
  rejects(t, [B.BPF_BSWAP(R1, 8), EXIT], "invalid byte swap width: 8: insn 0: (d7) r1 = bswap8 r1");
  rejects(
    t,
    [B.BPF_ALU64_REG_OFF(O.BPF_DIV, R1, R2, 2), EXIT],
    "invalid div/mod offset: 2 (must be 0 or 1): insn 0: (3f) r1 /= r2",
  );
  rejects(t, [B.BPF_ALU64_IMM_OFF(O.BPF_ADD, R1, 3, 1), EXIT], "reserved field set: off=1: insn 0: (07) r1 += 3");
  rejects(
    t,
    [B.BPF_MOVSX64_REG(R1, R2, 24), EXIT],
    "invalid movsx offset: 24 (must be 0, 8, 16 or 32): insn 0: (bf) r1 = r2",
  );
  rejects(
    t,
    [B.BPF_MOVSX32_REG(R1, R2, 32), EXIT],
    "invalid movsx offset: 32 (must be 0, 8 or 16): insn 0: (bc) w1 = (s32)w2",
  );
  rejects(
    t,
    [B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_SUB, R1, R2, 0), EXIT],
    "invalid atomic operation: 0x10: insn 0: (db) BUG_stx_db",
  );
  rejects(
    t,
    [B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_XCHG & ~O.BPF_FETCH, R1, R2, 0), EXIT],
    "invalid atomic operation: 0xe0: insn 0: (c3) BUG_stx_c3",
  );
  rejects(t, [B.BPF_RAW_INSN(0x85, 0, 3, 0, 1), EXIT], "invalid call source: 3: insn 0: (85) call unknown#1");
});

test("bad input: ld_imm64 without or with a bad second slot", (t) => {
  const [lo, hi] = B.BPF_LD_IMM64(R1, 0x100000002n);
  rejects(t, [EXIT, lo], "ld_imm64 without its second slot: insn 1: (18) r1 = <truncated ld_imm64>");
  rejects(
    t,
    [lo, { ...hi, code: 0x07 }, EXIT],
    "reserved field set in ld_imm64 second slot: code=7: insn 0: (18) r1 = 0x100000002",
  );
  rejects(
    t,
    [lo, { ...hi, dst: 2 }, EXIT],
    "reserved field set in ld_imm64 second slot: dst=2: insn 0: (18) r1 = 0x100000002",
  );
  rejects(t, [{ ...lo, off: 1 }, hi, EXIT], "reserved field set: off=1: insn 0: (18) r1 = 0x100000002");
  rejects(t, [{ ...lo, src: 7 }, hi, EXIT], "invalid ld_imm64 source: 7: insn 0: (18) r1 = 0x100000002");
  const [mlo, mhi] = B.BPF_LD_MAP_FD(R1, 3);
  rejects(
    t,
    [mlo, { ...mhi, imm: 4 }, EXIT],
    "reserved field set in ld_imm64 second slot: imm=4: insn 0: (18) r1 = map[fd:3]",
  );
});

test("bad input: jumps out of range, into ld_imm64, across subprograms", (t) => {
  rejects(t, [B.BPF_JMP_A(5), EXIT], "jump out of range: target 6: insn 0: (05) goto pc+5");
  rejects(
    t,
    [B.BPF_JMP_IMM(O.BPF_JEQ, R1, 0, -2), EXIT],
    "jump out of range: target -1: insn 0: (15) if r1 == 0x0 goto pc-2",
  );
  rejects(t, [B.BPF_JMP32_A(-3), EXIT], "jump out of range: target -2: insn 0: (06) gotol pc-3");
  rejects(
    t,
    B.prog(B.BPF_JMP_A(1), B.BPF_LD_IMM64(R0, 1n), EXIT),
    "jump into the middle of ld_imm64: target 2: insn 0: (05) goto pc+1",
  );
  // main: 0..2, subprog at 3; insn 1 jumps into the subprogram.
  rejects(
    t,
    B.prog(B.BPF_CALL_REL(2), B.BPF_JMP_A(1), EXIT, B.BPF_MOV64_IMM(R0, 1), EXIT),
    "jump out of range: target 3 (outside the subprogram at insn 0): insn 1: (05) goto pc+1",
  );
  rejects(t, [B.BPF_CALL_REL(5), EXIT], "call target out of range: 6: insn 0: (85) call pc+5");
  rejects(
    t,
    B.prog(B.BPF_CALL_REL(1), B.BPF_LD_IMM64(R0, 1n), EXIT),
    "call into the middle of ld_imm64: target 2: insn 0: (85) call pc+1",
  );
  rejects(
    t,
    B.prog(B.BPF_LD_IMM64_RAW_FULL(R1, O.BPF_PSEUDO_FUNC, 0, 0, 9, 0), EXIT),
    "call target out of range: 10: insn 0: (18) r1 = subprog[+9]",
  );
});

test("bad input: programs that do not end in exit or jmp", (t) => {
  rejects(t, [B.BPF_MOV64_IMM(R0, 0)], "last insn is not an exit or jmp: insn 0: (b7) r0 = 0");
  // The main program falls through into its subprogram.
  rejects(t, [B.BPF_CALL_REL(1), B.BPF_MOV64_IMM(R0, 0), EXIT], "last insn is not an exit or jmp: insn 1: (b7) r0 = 0");
  rejects(
    t,
    B.prog(B.BPF_MOV64_IMM(R0, 0), EXIT, B.BPF_LD_IMM64(R0, 1n)),
    "last insn is not an exit or jmp: insn 2: (18) r0 = 0x1",
  );
});

test("bad input: empty, too large, truncated bytes", (t) => {
  t.throws(() => validateInsns([]), { instanceOf: InsnError, message: "empty program" });
  const big = new Array<Insn>(O.BPF_COMPLEXITY_LIMIT_INSNS + 1).fill(EXIT);
  const err = t.throws(() => validateInsns(big), { message: "program too large: 1000001 insns (max 1000000)" });
  t.is((err as InsnError).errno, 7); // E2BIG
  t.is((err as InsnError).index, undefined);
  t.throws(() => decodeInsns(new Uint8Array(13)), { message: "truncated program: 13 bytes is not a multiple of 8" });
});

test("valid programs: layout lists subprograms; a trailing goto is a valid end", (t) => {
  const p = B.prog(
    B.BPF_CALL_REL(3), // -> 4
    B.BPF_LD_IMM64_RAW_FULL(R1, O.BPF_PSEUDO_FUNC, 0, 0, 4, 0), // -> 1+1+4 = 6
    EXIT,
    B.BPF_MOV64_IMM(R0, 1), // 4 (subprog 1)
    B.BPF_JMP_A(-2), // 5: goto 4
    EXIT, // 6 (subprog 2)
  );
  // Fix up: slot indexes are 0 call, 1-2 ld_imm64, 3 exit, 4 mov, 5 ja, 6 exit.
  t.deepEqual(validateInsns(p).subprogs, [0, 4, 6]);
  t.deepEqual(validateInsns([B.BPF_MOV64_IMM(R0, 0), B.BPF_JMP_A(-2)]).subprogs, [0]);
  // Immediate shifts beyond the width and division by an immediate 0 are RFC 9669-defined: accepted.
  t.notThrows(() =>
    validateInsns([
      B.BPF_ALU64_IMM(O.BPF_ARSH, R1, 124),
      B.BPF_ALU32_IMM(O.BPF_LSH, R1, 32),
      B.BPF_ALU64_IMM(O.BPF_DIV, R1, 0),
      EXIT,
    ]),
  );
});
