/**
 * The builder DSL against an independent oracle: LLVM's BPF assembler
 * (llvm-mc-19 -mcpu=v4, a project dependency). Every valid opcode of RFC
 * 9669 is built once with the kernel-named macros and assembled once from
 * LLVM's syntax; the bytes must be identical.
 */
import test from "ava";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as B from "./builder.js";
import { encodeInsns } from "./codec.js";
import type { Insn } from "./insn.js";
import * as O from "./opcodes.js";

interface Case {
  asm: string;
  insns: Insn | Insn[];
}

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_4: R4, BPF_REG_10: R10 } = O;

const ALU_OPS: [number, string][] = [
  [O.BPF_ADD, "+="],
  [O.BPF_SUB, "-="],
  [O.BPF_MUL, "*="],
  [O.BPF_DIV, "/="],
  [O.BPF_OR, "|="],
  [O.BPF_AND, "&="],
  [O.BPF_LSH, "<<="],
  [O.BPF_RSH, ">>="],
  [O.BPF_MOD, "%="],
  [O.BPF_XOR, "^="],
  [O.BPF_MOV, "="],
  [O.BPF_ARSH, "s>>="],
];

const JMP_OPS: [number, string][] = [
  [O.BPF_JEQ, "=="],
  [O.BPF_JGT, ">"],
  [O.BPF_JGE, ">="],
  [O.BPF_JSET, "&"],
  [O.BPF_JNE, "!="],
  [O.BPF_JSGT, "s>"],
  [O.BPF_JSGE, "s>="],
  [O.BPF_JLT, "<"],
  [O.BPF_JLE, "<="],
  [O.BPF_JSLT, "s<"],
  [O.BPF_JSLE, "s<="],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [op, s] of ALU_OPS) {
    out.push({ asm: `r3 ${s} 7`, insns: B.BPF_ALU64_IMM(op, R3, 7) });
    out.push({ asm: `r3 ${s} r4`, insns: B.BPF_ALU64_REG(op, R3, R4) });
    out.push({ asm: `w3 ${s} 7`, insns: B.BPF_ALU32_IMM(op, R3, 7) });
    out.push({ asm: `w3 ${s} w4`, insns: B.BPF_ALU32_REG(op, R3, R4) });
  }
  out.push(
    { asm: "r3 = -r3", insns: B.BPF_ALU64_IMM(O.BPF_NEG, R3, 0) },
    { asm: "w3 = -w3", insns: B.BPF_ALU32_IMM(O.BPF_NEG, R3, 0) },
    { asm: "r0 = -1", insns: B.BPF_MOV64_IMM(R0, -1) },
    { asm: "w0 = -1", insns: B.BPF_MOV32_IMM(R0, 0xffffffff) },
    { asm: "r1 = r2", insns: B.BPF_MOV64_REG(R1, R2) },
    { asm: "w1 = w2", insns: B.BPF_MOV32_REG(R1, R2) },
    { asm: "r1 = (s8)r2", insns: B.BPF_MOVSX64_REG(R1, R2, 8) },
    { asm: "r1 = (s16)r2", insns: B.BPF_MOVSX64_REG(R1, R2, 16) },
    { asm: "r1 = (s32)r2", insns: B.BPF_MOVSX64_REG(R1, R2, 32) },
    { asm: "w1 = (s8)w2", insns: B.BPF_MOVSX32_REG(R1, R2, 8) },
    { asm: "w1 = (s16)w2", insns: B.BPF_MOVSX32_REG(R1, R2, 16) },
    { asm: "r1 s/= r2", insns: B.BPF_ALU64_REG_OFF(O.BPF_DIV, R1, R2, 1) },
    { asm: "r1 s%= -7", insns: B.BPF_ALU64_IMM_OFF(O.BPF_MOD, R1, -7, 1) },
    { asm: "w1 s/= 3", insns: B.BPF_ALU32_IMM_OFF(O.BPF_DIV, R1, 3, 1) },
    { asm: "w1 s%= w2", insns: B.BPF_ALU32_REG_OFF(O.BPF_MOD, R1, R2, 1) },
    { asm: "r1 = le16 r1", insns: B.BPF_ENDIAN(O.BPF_TO_LE, R1, 16) },
    { asm: "r1 = le32 r1", insns: B.BPF_ENDIAN(O.BPF_TO_LE, R1, 32) },
    { asm: "r1 = be64 r1", insns: B.BPF_ENDIAN(O.BPF_TO_BE, R1, 64) },
    { asm: "r1 = bswap16 r1", insns: B.BPF_BSWAP(R1, 16) },
    { asm: "r1 = bswap32 r1", insns: B.BPF_BSWAP(R1, 32) },
    { asm: "r1 = bswap64 r1", insns: B.BPF_BSWAP(R1, 64) },
  );
  for (const [op, s] of JMP_OPS) {
    out.push({ asm: `if r3 ${s} -5 goto +1`, insns: B.BPF_JMP_IMM(op, R3, -5, 1) });
    out.push({ asm: `if r3 ${s} r4 goto -1`, insns: B.BPF_JMP_REG(op, R3, R4, -1) });
    out.push({ asm: `if w3 ${s} 9 goto +0`, insns: B.BPF_JMP32_IMM(op, R3, 9, 0) });
    out.push({ asm: `if w3 ${s} w4 goto +2`, insns: B.BPF_JMP32_REG(op, R3, R4, 2) });
  }
  out.push(
    { asm: "goto -1", insns: B.BPF_JMP_A(-1) },
    { asm: "call 1", insns: B.BPF_EMIT_CALL(1) },
    { asm: "exit", insns: B.BPF_EXIT_INSN() },
    { asm: "r1 = 0x1122334455667788 ll", insns: B.BPF_LD_IMM64(R1, 0x1122334455667788n) },
    { asm: "r2 = -2 ll", insns: B.BPF_LD_IMM64(R2, -2n) },
    { asm: "r0 = *(u8 *)skb[4]", insns: B.BPF_LD_ABS(O.BPF_B, 4) },
    { asm: "r0 = *(u16 *)skb[6]", insns: B.BPF_LD_ABS(O.BPF_H, 6) },
    { asm: "r0 = *(u32 *)skb[8]", insns: B.BPF_LD_ABS(O.BPF_W, 8) },
    { asm: "r0 = *(u8 *)skb[r1]", insns: B.BPF_LD_IND(O.BPF_B, R1, 0) },
    { asm: "r0 = *(u16 *)skb[r1]", insns: B.BPF_LD_IND(O.BPF_H, R1, 0) },
    { asm: "r0 = *(u32 *)skb[r1]", insns: B.BPF_LD_IND(O.BPF_W, R1, 0) },
  );
  const sizes: [number, string][] = [
    [O.BPF_B, "8"],
    [O.BPF_H, "16"],
    [O.BPF_W, "32"],
    [O.BPF_DW, "64"],
  ];
  for (const [size, bits] of sizes) {
    out.push({ asm: `r1 = *(u${bits} *)(r10 - 8)`, insns: B.BPF_LDX_MEM(size, R1, R10, -8) });
    out.push({ asm: `*(u${bits} *)(r1 + 32767) = r2`, insns: B.BPF_STX_MEM(size, R1, R2, 32767) });
    out.push({ asm: `*(u${bits} *)(r10 - 512) = -3`, insns: B.BPF_ST_MEM(size, R10, -512, -3) });
    if (size !== O.BPF_DW) {
      out.push({ asm: `r1 = *(s${bits} *)(r2 - 32768)`, insns: B.BPF_LDX_MEMSX(size, R1, R2, -32768) });
    }
  }
  const atomics: [number, string, string][] = [
    [O.BPF_ADD, "lock *(u64 *)(r1 + 8) += r2", "lock *(u32 *)(r1 + 8) += w2"],
    [O.BPF_AND, "lock *(u64 *)(r1 + 8) &= r2", "lock *(u32 *)(r1 + 8) &= w2"],
    [O.BPF_OR, "lock *(u64 *)(r1 + 8) |= r2", "lock *(u32 *)(r1 + 8) |= w2"],
    [O.BPF_XOR, "lock *(u64 *)(r1 + 8) ^= r2", "lock *(u32 *)(r1 + 8) ^= w2"],
    [
      O.BPF_ADD | O.BPF_FETCH,
      "r2 = atomic_fetch_add((u64 *)(r1 + 8), r2)",
      "w2 = atomic_fetch_add((u32 *)(r1 + 8), w2)",
    ],
    [
      O.BPF_AND | O.BPF_FETCH,
      "r2 = atomic_fetch_and((u64 *)(r1 + 8), r2)",
      "w2 = atomic_fetch_and((u32 *)(r1 + 8), w2)",
    ],
    [O.BPF_OR | O.BPF_FETCH, "r2 = atomic_fetch_or((u64 *)(r1 + 8), r2)", "w2 = atomic_fetch_or((u32 *)(r1 + 8), w2)"],
    [
      O.BPF_XOR | O.BPF_FETCH,
      "r2 = atomic_fetch_xor((u64 *)(r1 + 8), r2)",
      "w2 = atomic_fetch_xor((u32 *)(r1 + 8), w2)",
    ],
    [O.BPF_XCHG, "r2 = xchg_64(r1 + 8, r2)", "w2 = xchg32_32(r1 + 8, w2)"],
    [O.BPF_CMPXCHG, "r0 = cmpxchg_64(r1 + 8, r0, r2)", "w0 = cmpxchg32_32(r1 + 8, w0, w2)"],
  ];
  for (const [op, asm64, asm32] of atomics) {
    out.push({ asm: asm64, insns: B.BPF_ATOMIC_OP(O.BPF_DW, op, R1, R2, 8) });
    out.push({ asm: asm32, insns: B.BPF_ATOMIC_OP(O.BPF_W, op, R1, R2, 8) });
  }
  return out;
}

/** Assemble LLVM BPF syntax into .text bytes (labels resolved by the assembler). */
function llvmAssemble(source: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-llvm-"));
  try {
    writeFileSync(join(dir, "t.s"), source);
    execFileSync("llvm-mc-19", [
      "-triple=bpfel",
      "-mcpu=v4",
      "-filetype=obj",
      "-o",
      join(dir, "t.o"),
      join(dir, "t.s"),
    ]);
    execFileSync("llvm-objcopy-19", ["-O", "binary", "-j", ".text", join(dir, "t.o"), join(dir, "t.bin")]);
    return new Uint8Array(readFileSync(join(dir, "t.bin")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

test("every RFC 9669 opcode: builder bytes equal llvm-mc's", (t) => {
  const table = cases();
  const bytes = llvmAssemble(table.map((c) => c.asm).join("\n") + "\n");
  let off = 0;
  for (const c of table) {
    const mine = encodeInsns(Array.isArray(c.insns) ? c.insns : [c.insns]);
    t.is(hex(mine), hex(bytes.subarray(off, off + mine.length)), c.asm);
    off += mine.length;
  }
  t.is(off, bytes.length, "llvm produced exactly the table's slots");
  // The table covers every valid opcode byte, and nothing else.
  const covered = new Set(table.map((c) => (Array.isArray(c.insns) ? c.insns[0] : c.insns).code));
  covered.add(O.BPF_JMP32 | O.BPF_JA); // gotol needs a label: checked in the next test
  const valid = Array.from({ length: 256 }, (_, code) => code).filter((code) => O.opInfo(code).kind !== "invalid");
  t.deepEqual(
    [...covered].sort((a, b) => a - b),
    valid,
  );
  t.is(valid.length, 125);
});

test("pseudo call and gotol: builder bytes equal llvm-mc's label fixups", (t) => {
  const bytes = llvmAssemble("call F\ngotol L\nexit\nF:\nexit\nL:\nexit\n");
  const mine = encodeInsns([B.BPF_CALL_REL(2), B.BPF_JMP32_A(2), ...Array(3).fill(B.BPF_EXIT_INSN())]);
  t.is(hex(mine), hex(bytes));
});

test("ld_imm64 pseudo forms are the kernel's BPF_LD_IMM64_RAW_FULL layouts", (t) => {
  t.deepEqual(B.BPF_LD_MAP_FD(R1, 7), [
    { code: 0x18, dst: 1, src: O.BPF_PSEUDO_MAP_FD, off: 0, imm: 7 },
    { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
  ]);
  t.deepEqual(B.BPF_LD_MAP_VALUE(R2, 3, 16), [
    { code: 0x18, dst: 2, src: O.BPF_PSEUDO_MAP_VALUE, off: 0, imm: 3 },
    { code: 0, dst: 0, src: 0, off: 0, imm: 16 },
  ]);
  t.deepEqual(B.BPF_LD_IMM64(R0, 0xffffffff80000000n), [
    { code: 0x18, dst: 0, src: 0, off: 0, imm: -0x80000000 },
    { code: 0, dst: 0, src: 0, off: 0, imm: -1 },
  ]);
  t.deepEqual(B.BPF_CALL_KFUNC(1, 12345), { code: 0x85, dst: 0, src: O.BPF_PSEUDO_KFUNC_CALL, off: 1, imm: 12345 });
});

test("prog() flattens ld_imm64 pairs in order", (t) => {
  const p = B.prog(B.BPF_MOV64_IMM(R0, 1), B.BPF_LD_IMM64(R1, 5n), B.BPF_EXIT_INSN());
  t.deepEqual(
    p.map((i) => i.code),
    [0xb7, 0x18, 0x00, 0x95],
  );
});

test("builders reject out-of-range operands with typed errors", (t) => {
  const bad: [() => unknown, string][] = [
    [() => B.BPF_MOV64_REG(11, 1), "invalid register: r11"],
    [() => B.BPF_MOV64_REG(1, -1), "invalid register: r-1"],
    [() => B.BPF_JMP_A(40000), "invalid off: 40000 (must fit in s16)"],
    [() => B.BPF_MOV64_IMM(0, 0x100000000), "invalid imm: 4294967296 (must fit in 32 bits)"],
    [() => B.BPF_MOV64_IMM(0, 1.5), "invalid imm: 1.5 (must fit in 32 bits)"],
    [() => B.BPF_LD_IMM64(0, 1n << 64n), "invalid imm64: 18446744073709551616 (must fit in 64 bits)"],
    [() => B.BPF_LD_IMM64(0, 2 ** 60), "invalid imm64: 1152921504606847000 (not a safe integer)"],
    [() => B.BPF_RAW_INSN(0x100, 0, 0, 0, 0), "invalid code: 256 (must fit in u8)"],
    [() => B.BPF_RAW_INSN(0x07, 16, 0, 0, 0), "invalid register: r16"],
  ];
  for (const [fn, message] of bad) {
    const err = t.throws(fn, { message });
    t.is(err?.name, "InsnError");
    t.is((err as { errno?: number }).errno, 22);
  }
  // Raw instructions may name r11..r15 (tests of the validator build them).
  t.deepEqual(B.BPF_RAW_INSN(0x07, 12, 0, 0, 1), { code: 0x07, dst: 12, src: 0, off: 0, imm: 1 });
});
