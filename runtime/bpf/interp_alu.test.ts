/**
 * ALU, byte-swap and jump semantics (RFC 9669 §4): a test_bpf-style table run
 * through the interpreter, plus the 32-bit number arithmetic of interp_alu.ts
 * checked against an independent BigInt model on edge and random operands.
 */
import test from "ava";
import * as B from "./builder.js";
import type { Insn } from "./insn.js";
import { alu32, jcond32 } from "./interp_alu.js";
import { runCaseInterp, type BpfCase } from "./interp_test_util.js";
import * as O from "./opcodes.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2 } = O;
const EXIT = B.BPF_EXIT_INSN();
const ld = (r: number, v: bigint): Insn[] => B.BPF_LD_IMM64(r, v);
const MINUS1 = 0xffffffffffffffffn;

/** r0 = a; <op> ; exit */
function unary(name: string, a: bigint, op: Insn, r0: bigint): BpfCase {
  return { name, insns: B.prog(ld(R0, a), op, EXIT), r0 };
}

/** r0 = a; r1 = b; <op r0, r1>; exit */
function binary(name: string, a: bigint, b: bigint, op: Insn, r0: bigint): BpfCase {
  return { name, insns: B.prog(ld(R0, a), ld(R1, b), op, EXIT), r0 };
}

const ALU: BpfCase[] = [
  // MOV and sign/zero extension of immediates
  unary("ALU64_MOV_K: imm is sign-extended", 5n, B.BPF_MOV64_IMM(R0, -1), MINUS1),
  unary("ALU_MOV_K: result is zero-extended", MINUS1, B.BPF_MOV32_IMM(R0, -1), 0xffffffffn),
  binary("ALU_MOV_X: upper half zeroed", 0n, 0xaaaaaaaabbbbbbbbn, B.BPF_MOV32_REG(R0, R1), 0xbbbbbbbbn),
  binary("ALU64_MOV_X: all 64 bits", 0n, 0xaaaaaaaabbbbbbbbn, B.BPF_MOV64_REG(R0, R1), 0xaaaaaaaabbbbbbbbn),
  // ADD / SUB / MUL
  binary("ALU64_ADD_X: wraps at 2^64", MINUS1, 2n, B.BPF_ALU64_REG(O.BPF_ADD, R0, R1), 1n),
  unary("ALU_ADD_K: wraps at 2^32 and zeroes the upper half", 0x1ffffffffn, B.BPF_ALU32_IMM(O.BPF_ADD, R0, 1), 0n),
  unary("ALU_ADD_K: upper half of dst ignored", 0xdeadbeef00000001n, B.BPF_ALU32_IMM(O.BPF_ADD, R0, 2), 3n),
  unary("ALU64_ADD_K: negative imm", 10n, B.BPF_ALU64_IMM(O.BPF_ADD, R0, -11), MINUS1),
  unary("ALU64_SUB_K: 0 - 1", 0n, B.BPF_ALU64_IMM(O.BPF_SUB, R0, 1), MINUS1),
  unary("ALU_SUB_K: 0 - 1 in 32 bits", 0n, B.BPF_ALU32_IMM(O.BPF_SUB, R0, 1), 0xffffffffn),
  binary("ALU64_MUL_X: product wraps", 0x100000001n, 0x100000001n, B.BPF_ALU64_REG(O.BPF_MUL, R0, R1), 0x200000001n),
  binary("ALU_MUL_X: 0xffffffff * 0xffffffff", 0xffffffffn, 0xffffffffn, B.BPF_ALU32_REG(O.BPF_MUL, R0, R1), 1n),
  unary("ALU_MUL_K: low 32 bits kept", 0x12345678n, B.BPF_ALU32_IMM(O.BPF_MUL, R0, 0x10), 0x23456780n),
  unary("ALU64_MUL_K: imm sign-extended", 3n, B.BPF_ALU64_IMM(O.BPF_MUL, R0, -2), 0xfffffffffffffffan),
  // unsigned DIV / MOD
  unary("ALU64_DIV_K: -1 / -1 = 1 (imm sign-extended, unsigned)", MINUS1, B.BPF_ALU64_IMM(O.BPF_DIV, R0, -1), 1n),
  unary("ALU64_DIV_K: 10 / -1 = 0 (unsigned)", 10n, B.BPF_ALU64_IMM(O.BPF_DIV, R0, -1), 0n),
  unary("ALU_DIV_K: imm is u32", 0xffffffffn, B.BPF_ALU32_IMM(O.BPF_DIV, R0, -1), 1n),
  unary("ALU_DIV_K: 100 / 7", 100n, B.BPF_ALU32_IMM(O.BPF_DIV, R0, 7), 14n),
  unary("ALU_DIV_K: 0xfffffffe / 0xffffffff = 0", 0xfffffffen, B.BPF_ALU32_IMM(O.BPF_DIV, R0, -1), 0n),
  binary("ALU64_DIV_X: by zero gives 0", 42n, 0n, B.BPF_ALU64_REG(O.BPF_DIV, R0, R1), 0n),
  binary(
    "ALU_DIV_X: by zero (low half 0) gives 0",
    0xffff000000000005n,
    0x100000000n,
    B.BPF_ALU32_REG(O.BPF_DIV, R0, R1),
    0n,
  ),
  unary("ALU64_DIV_K: by imm 0 gives 0", 42n, B.BPF_ALU64_IMM(O.BPF_DIV, R0, 0), 0n),
  binary(
    "ALU64_MOD_X: by zero leaves dst",
    0x123456789abcdef0n,
    0n,
    B.BPF_ALU64_REG(O.BPF_MOD, R0, R1),
    0x123456789abcdef0n,
  ),
  binary(
    "ALU_MOD_X: by zero zeroes the upper half",
    0x123456789abcdef0n,
    0n,
    B.BPF_ALU32_REG(O.BPF_MOD, R0, R1),
    0x9abcdef0n,
  ),
  unary(
    "ALU64_MOD_K: by imm 0 leaves dst",
    0x8877665544332211n,
    B.BPF_ALU64_IMM(O.BPF_MOD, R0, 0),
    0x8877665544332211n,
  ),
  unary(
    "ALU_MOD_K: by imm 0 zeroes the upper half",
    0x8877665544332211n,
    B.BPF_ALU32_IMM(O.BPF_MOD, R0, 0),
    0x44332211n,
  ),
  unary("ALU64_MOD_K: (2^64-13) % 3 = 0 (unsigned)", -13n & MINUS1, B.BPF_ALU64_IMM(O.BPF_MOD, R0, 3), 0n),
  unary("ALU_MOD_K: 0xfffffff3 % 10", 0xfffffff3n, B.BPF_ALU32_IMM(O.BPF_MOD, R0, 10), 3n),
  // signed DIV / MOD (cpu v4, off = 1)
  unary(
    "ALU64_SDIV_K: -13 s/ 3 = -4 (truncated)",
    -13n & MINUS1,
    B.BPF_ALU64_IMM_OFF(O.BPF_DIV, R0, 3, 1),
    -4n & MINUS1,
  ),
  unary("ALU64_SMOD_K: -13 s% 3 = -1", -13n & MINUS1, B.BPF_ALU64_IMM_OFF(O.BPF_MOD, R0, 3, 1), MINUS1),
  unary("ALU64_SMOD_K: 13 s% -3 = 1", 13n, B.BPF_ALU64_IMM_OFF(O.BPF_MOD, R0, -3, 1), 1n),
  unary("ALU64_SDIV_K: 13 s/ -3 = -4", 13n, B.BPF_ALU64_IMM_OFF(O.BPF_DIV, R0, -3, 1), -4n & MINUS1),
  binary(
    "ALU64_SDIV_X: INT64_MIN s/ -1 = INT64_MIN",
    0x8000000000000000n,
    MINUS1,
    B.BPF_ALU64_REG_OFF(O.BPF_DIV, R0, R1, 1),
    0x8000000000000000n,
  ),
  binary(
    "ALU64_SMOD_X: INT64_MIN s% -1 = 0",
    0x8000000000000000n,
    MINUS1,
    B.BPF_ALU64_REG_OFF(O.BPF_MOD, R0, R1, 1),
    0n,
  ),
  binary("ALU64_SDIV_X: by zero gives 0", MINUS1, 0n, B.BPF_ALU64_REG_OFF(O.BPF_DIV, R0, R1, 1), 0n),
  binary("ALU64_SMOD_X: by zero leaves dst", MINUS1, 0n, B.BPF_ALU64_REG_OFF(O.BPF_MOD, R0, R1, 1), MINUS1),
  binary(
    "ALU_SDIV_X: INT32_MIN s/ -1 = INT32_MIN",
    0xffffffff80000000n,
    0xffffffffn,
    B.BPF_ALU32_REG_OFF(O.BPF_DIV, R0, R1, 1),
    0x80000000n,
  ),
  binary(
    "ALU_SMOD_X: INT32_MIN s% -1 = 0",
    0xffffffff80000000n,
    0xffffffffn,
    B.BPF_ALU32_REG_OFF(O.BPF_MOD, R0, R1, 1),
    0n,
  ),
  unary("ALU_SDIV_K: -7 s/ 2 = -3, zero-extended", 0xfffffff9n, B.BPF_ALU32_IMM_OFF(O.BPF_DIV, R0, 2, 1), 0xfffffffdn),
  unary("ALU_SMOD_K: -7 s% 2 = -1, zero-extended", 0xfffffff9n, B.BPF_ALU32_IMM_OFF(O.BPF_MOD, R0, 2, 1), 0xffffffffn),
  unary("ALU_SDIV_K: 7 s/ -2 = -3", 7n, B.BPF_ALU32_IMM_OFF(O.BPF_DIV, R0, -2, 1), 0xfffffffdn),
  binary(
    "ALU_SMOD_X: by zero zeroes the upper half",
    0x11111111fffffff9n,
    0n,
    B.BPF_ALU32_REG_OFF(O.BPF_MOD, R0, R1, 1),
    0xfffffff9n,
  ),
  binary("ALU_SDIV_X: by zero gives 0", 0x11111111fffffff9n, 0n, B.BPF_ALU32_REG_OFF(O.BPF_DIV, R0, R1, 1), 0n),
  // shifts: amounts masked to 63 / 31
  binary("ALU64_LSH_X: by 63", 1n, 63n, B.BPF_ALU64_REG(O.BPF_LSH, R0, R1), 0x8000000000000000n),
  binary("ALU64_LSH_X: by 64 is by 0", 3n, 64n, B.BPF_ALU64_REG(O.BPF_LSH, R0, R1), 3n),
  binary("ALU64_LSH_X: by 65 is by 1", 3n, 65n, B.BPF_ALU64_REG(O.BPF_LSH, R0, R1), 6n),
  binary("ALU_LSH_X: by 31", 3n, 31n, B.BPF_ALU32_REG(O.BPF_LSH, R0, R1), 0x80000000n),
  binary(
    "ALU_LSH_X: by 32 is by 0, upper half zeroed",
    0xffffffff00000001n,
    32n,
    B.BPF_ALU32_REG(O.BPF_LSH, R0, R1),
    1n,
  ),
  unary("ALU_LSH_K: by 32 (RFC mask) is by 0", 0x500000001n, B.BPF_ALU32_IMM(O.BPF_LSH, R0, 32), 1n),
  unary("ALU64_RSH_K: by 63", 0x8000000000000000n, B.BPF_ALU64_IMM(O.BPF_RSH, R0, 63), 1n),
  unary("ALU64_RSH_K: logical", MINUS1, B.BPF_ALU64_IMM(O.BPF_RSH, R0, 4), 0x0fffffffffffffffn),
  unary("ALU_RSH_K: by 31, upper half ignored", 0xffffffff80000000n, B.BPF_ALU32_IMM(O.BPF_RSH, R0, 31), 1n),
  binary("ALU_RSH_X: by 33 is by 1", 0x80000000n, 33n, B.BPF_ALU32_REG(O.BPF_RSH, R0, R1), 0x40000000n),
  binary(
    "ALU64_ARSH_X: by 65 is by 1",
    0x8000000000000000n,
    65n,
    B.BPF_ALU64_REG(O.BPF_ARSH, R0, R1),
    0xc000000000000000n,
  ),
  unary(
    "ALU64_ARSH_K: 124 is masked to 60",
    0x8000000000000000n,
    B.BPF_ALU64_IMM(O.BPF_ARSH, R0, 124),
    0xfffffffffffffff8n,
  ),
  unary("ALU64_ARSH_K: by 63 of a negative", 0x8000000000000001n, B.BPF_ALU64_IMM(O.BPF_ARSH, R0, 63), MINUS1),
  unary("ALU_ARSH_K: 32-bit sign, zero-extended", 0x80000000n, B.BPF_ALU32_IMM(O.BPF_ARSH, R0, 31), 0xffffffffn),
  unary("ALU_ARSH_K: positive", 0xffffffff40000000n, B.BPF_ALU32_IMM(O.BPF_ARSH, R0, 30), 1n),
  // NEG
  unary("ALU64_NEG: -1", 1n, B.BPF_ALU64_IMM(O.BPF_NEG, R0, 0), MINUS1),
  unary(
    "ALU64_NEG: -INT64_MIN = INT64_MIN",
    0x8000000000000000n,
    B.BPF_ALU64_IMM(O.BPF_NEG, R0, 0),
    0x8000000000000000n,
  ),
  unary("ALU_NEG: upper half zeroed", 0x100000001n, B.BPF_ALU32_IMM(O.BPF_NEG, R0, 0), 0xffffffffn),
  unary("ALU_NEG: -0 = 0", 0xffffffff00000000n, B.BPF_ALU32_IMM(O.BPF_NEG, R0, 0), 0n),
  // logic
  unary("ALU64_AND_K: imm sign-extended", MINUS1, B.BPF_ALU64_IMM(O.BPF_AND, R0, 0x7fffffff), 0x7fffffffn),
  unary(
    "ALU64_AND_K: negative imm keeps the upper half",
    0x1234567800000000n | 0xffn,
    B.BPF_ALU64_IMM(O.BPF_AND, R0, -16),
    0x12345678000000f0n,
  ),
  unary("ALU64_OR_K: -2", 0n, B.BPF_ALU64_IMM(O.BPF_OR, R0, -2), 0xfffffffffffffffen),
  unary("ALU_OR_K: upper half zeroed", 0xffffffff00000000n, B.BPF_ALU32_IMM(O.BPF_OR, R0, 1), 1n),
  unary("ALU_XOR_K: -1", 0x100000000n, B.BPF_ALU32_IMM(O.BPF_XOR, R0, -1), 0xffffffffn),
  binary("ALU64_XOR_X", 0xf0f0f0f0f0f0f0f0n, 0xffn, B.BPF_ALU64_REG(O.BPF_XOR, R0, R1), 0xf0f0f0f0f0f0f00fn),
  binary("ALU_AND_X", 0xffffffffffffffffn, 0x12345678_9abcdef0n, B.BPF_ALU32_REG(O.BPF_AND, R0, R1), 0x9abcdef0n),
  // MOVSX (cpu v4)
  binary("ALU64_MOVSX s8: 0x80", 0n, 0x1234567880n, B.BPF_MOVSX64_REG(R0, R1, 8), 0xffffffffffffff80n),
  binary("ALU64_MOVSX s8: 0x7f", 0n, 0xff7fn, B.BPF_MOVSX64_REG(R0, R1, 8), 0x7fn),
  binary("ALU64_MOVSX s16: 0x8000", 0n, 0x8000n, B.BPF_MOVSX64_REG(R0, R1, 16), 0xffffffffffff8000n),
  binary("ALU64_MOVSX s16: 0x7fff", 0n, 0xffff7fffn, B.BPF_MOVSX64_REG(R0, R1, 16), 0x7fffn),
  binary("ALU64_MOVSX s32: 0x80000000", 0n, 0x80000000n, B.BPF_MOVSX64_REG(R0, R1, 32), 0xffffffff80000000n),
  binary(
    "ALU64_MOVSX s32: upper half of src ignored",
    0n,
    0xffffffff7fffffffn,
    B.BPF_MOVSX64_REG(R0, R1, 32),
    0x7fffffffn,
  ),
  binary("ALU_MOVSX s8: zero-extended to 64", 0n, 0xffn, B.BPF_MOVSX32_REG(R0, R1, 8), 0xffffffffn),
  binary("ALU_MOVSX s16: zero-extended to 64", 0n, 0x123458000n, B.BPF_MOVSX32_REG(R0, R1, 16), 0xffff8000n),
  // BPF_END and bswap (little-endian machine)
  ...(
    [
      [B.BPF_ENDIAN(O.BPF_TO_LE, R0, 16), 0x0708n],
      [B.BPF_ENDIAN(O.BPF_TO_LE, R0, 32), 0x05060708n],
      [B.BPF_ENDIAN(O.BPF_TO_LE, R0, 64), 0x0102030405060708n],
      [B.BPF_ENDIAN(O.BPF_TO_BE, R0, 16), 0x0807n],
      [B.BPF_ENDIAN(O.BPF_TO_BE, R0, 32), 0x08070605n],
      [B.BPF_ENDIAN(O.BPF_TO_BE, R0, 64), 0x0807060504030201n],
      [B.BPF_BSWAP(R0, 16), 0x0807n],
      [B.BPF_BSWAP(R0, 32), 0x08070605n],
      [B.BPF_BSWAP(R0, 64), 0x0807060504030201n],
    ] as [Insn, bigint][]
  ).map(([insn, r0]) => {
    const kind = insn.code === 0xd7 ? "BSWAP" : insn.code === 0xdc ? "BE" : "LE";
    return unary(`ALU_END_${kind}${insn.imm}: 0x0102030405060708`, 0x0102030405060708n, insn, r0);
  }),
];

/** r1 = a; r2 = b; r0 = 1; if <cond> goto +1; r0 = 2; exit  — r0 is 1 when taken. */
function jmp(name: string, a: bigint, b: bigint, cond: Insn, taken: boolean): BpfCase {
  return {
    name,
    insns: B.prog(ld(R1, a), ld(R2, b), B.BPF_MOV64_IMM(R0, 1), cond, B.BPF_MOV64_IMM(R0, 2), EXIT),
    r0: taken ? 1n : 2n,
  };
}

const JMP: BpfCase[] = [
  jmp("JMP_JEQ_K: imm -1 is sign-extended", MINUS1, 0n, B.BPF_JMP_IMM(O.BPF_JEQ, R1, -1, 1), true),
  jmp("JMP_JEQ_K: 0xffffffff != sign-extended -1", 0xffffffffn, 0n, B.BPF_JMP_IMM(O.BPF_JEQ, R1, -1, 1), false),
  jmp(
    "JMP32_JEQ_K: 32-bit compare ignores the upper half",
    0x12345678ffffffffn,
    0n,
    B.BPF_JMP32_IMM(O.BPF_JEQ, R1, -1, 1),
    true,
  ),
  jmp("JMP_JNE_X: differ only in the upper half", 0x100000000n, 0n, B.BPF_JMP_REG(O.BPF_JNE, R1, R2, 1), true),
  jmp("JMP32_JNE_X: same lower halves", 0x100000000n, 0n, B.BPF_JMP32_REG(O.BPF_JNE, R1, R2, 1), false),
  jmp("JMP_JGT_K: unsigned -1 > 1", MINUS1, 0n, B.BPF_JMP_IMM(O.BPF_JGT, R1, 1, 1), true),
  jmp("JMP_JSGT_K: signed -1 > 1 is false", MINUS1, 0n, B.BPF_JMP_IMM(O.BPF_JSGT, R1, 1, 1), false),
  jmp("JMP_JGE_X: equal", 7n, 7n, B.BPF_JMP_REG(O.BPF_JGE, R1, R2, 1), true),
  jmp("JMP_JGT_X: equal is false", 7n, 7n, B.BPF_JMP_REG(O.BPF_JGT, R1, R2, 1), false),
  jmp("JMP_JLT_K: 0 < imm -1 (unsigned max)", 0n, 0n, B.BPF_JMP_IMM(O.BPF_JLT, R1, -1, 1), true),
  jmp("JMP_JLE_X: equal", 5n, 5n, B.BPF_JMP_REG(O.BPF_JLE, R1, R2, 1), true),
  jmp("JMP_JLE_X: greater is false", 6n, 5n, B.BPF_JMP_REG(O.BPF_JLE, R1, R2, 1), false),
  jmp("JMP_JSGE_K: INT64_MIN s>= -1 is false", 0x8000000000000000n, 0n, B.BPF_JMP_IMM(O.BPF_JSGE, R1, -1, 1), false),
  jmp("JMP_JSLT_K: INT64_MIN s< 0", 0x8000000000000000n, 0n, B.BPF_JMP_IMM(O.BPF_JSLT, R1, 0, 1), true),
  jmp("JMP_JSLE_X: -2 s<= -2", -2n & MINUS1, -2n & MINUS1, B.BPF_JMP_REG(O.BPF_JSLE, R1, R2, 1), true),
  jmp("JMP_JSLT_X: 1 s< -1 is false", 1n, MINUS1, B.BPF_JMP_REG(O.BPF_JSLT, R1, R2, 1), false),
  jmp("JMP_JSET_X: bit 32", 0x100000000n, 0x100000000n, B.BPF_JMP_REG(O.BPF_JSET, R1, R2, 1), true),
  jmp("JMP32_JSET_X: bit 32 is outside", 0x100000000n, 0x100000000n, B.BPF_JMP32_REG(O.BPF_JSET, R1, R2, 1), false),
  jmp("JMP_JSET_K: imm -1 tests the upper half", 0x100000000n, 0n, B.BPF_JMP_IMM(O.BPF_JSET, R1, -1, 1), true),
  jmp("JMP32_JSLT_K: 0x80000000 s< 0 in 32 bits", 0x80000000n, 0n, B.BPF_JMP32_IMM(O.BPF_JSLT, R1, 0, 1), true),
  jmp("JMP_JSLT_K: 0x80000000 s< 0 is false in 64 bits", 0x80000000n, 0n, B.BPF_JMP_IMM(O.BPF_JSLT, R1, 0, 1), false),
  jmp("JMP32_JLT_K: 0xffffffff < 1 is false", 0xffffffffn, 0n, B.BPF_JMP32_IMM(O.BPF_JLT, R1, 1, 1), false),
  jmp("JMP32_JGT_X: unsigned 32-bit", 0xfffffffe_00000001n, 0xffffffffn, B.BPF_JMP32_REG(O.BPF_JGT, R1, R2, 1), false),
  jmp("JMP32_JSGT_X: 1 s> -1", 1n, 0xffffffffn, B.BPF_JMP32_REG(O.BPF_JSGT, R1, R2, 1), true),
  jmp("JMP32_JSGE_K: -5 s>= -5", 0xfffffffbn, 0n, B.BPF_JMP32_IMM(O.BPF_JSGE, R1, -5, 1), true),
  jmp("JMP32_JSLE_K: 0 s<= -1 is false", 0n, 0n, B.BPF_JMP32_IMM(O.BPF_JSLE, R1, -1, 1), false),
  jmp("JMP32_JGE_K: 0xffffffff >= imm -1", 0xffffffffn, 0n, B.BPF_JMP32_IMM(O.BPF_JGE, R1, -1, 1), true),
  jmp("JMP32_JLE_X: 0 <= 0", 0x700000000n, 0n, B.BPF_JMP32_REG(O.BPF_JLE, R1, R2, 1), true),
  jmp("JMP_JA: always", 0n, 0n, B.BPF_JMP_A(1), true),
  jmp("JMP32_JA (gotol): always", 0n, 0n, B.BPF_JMP32_A(1), true),
  {
    name: "JMP_JA: backward loop sums 1..100",
    insns: B.prog(
      B.BPF_MOV64_IMM(R0, 0),
      B.BPF_MOV64_IMM(R1, 100),
      B.BPF_ALU64_REG(O.BPF_ADD, R0, R1),
      B.BPF_ALU64_IMM(O.BPF_SUB, R1, 1),
      B.BPF_JMP_IMM(O.BPF_JNE, R1, 0, -3),
      EXIT,
    ),
    r0: 5050n,
  },
  {
    name: "JMP32_JA (gotol): forward and backward",
    insns: B.prog(
      B.BPF_MOV64_IMM(R0, 1), // 0
      B.BPF_JMP32_A(2), // 1: -> 4
      B.BPF_ALU64_IMM(O.BPF_ADD, R0, 10), // 2: reached from 5
      EXIT, // 3
      B.BPF_ALU64_IMM(O.BPF_MUL, R0, 3), // 4
      B.BPF_JMP32_A(-4), // 5: -> 2
    ),
    r0: 13n,
  },
  {
    name: "LD_IMM64: both halves",
    insns: B.prog(ld(R0, 0x8000000000000001n), EXIT),
    r0: 0x8000000000000001n,
  },
];

test("ALU and ALU64: every operation and its edge cases", (t) => {
  for (const c of ALU) t.is(runCaseInterp(c).result.r0, c.r0, c.name);
});

test("JMP and JMP32: every condition, signed and unsigned, 32 and 64 bits", (t) => {
  for (const c of JMP) t.is(runCaseInterp(c).result.r0, c.r0, c.name);
});

// ---- the 32-bit number arithmetic against an independent BigInt model ----

const EDGE32 = [
  0, 1, 2, 3, 7, 31, 32, 33, 63, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0x80000001,
  0xfffffffe, 0xffffffff,
];

function s32(v: number): bigint {
  return BigInt(v | 0);
}

/** RFC 9669 32-bit semantics written with BigInt, independently of interp_alu.ts. */
function model32(op: number, a: number, b: number, off: number): number {
  const A = BigInt(a);
  const Bb = BigInt(b);
  const wrap = (v: bigint): number => Number(BigInt.asUintN(32, v));
  switch (op) {
    case O.BPF_ADD:
      return wrap(A + Bb);
    case O.BPF_SUB:
      return wrap(A - Bb);
    case O.BPF_MUL:
      return wrap(A * Bb);
    case O.BPF_DIV:
      if (b === 0) return 0;
      return off ? wrap(s32(a) / s32(b)) : wrap(A / Bb);
    case O.BPF_MOD:
      if (b === 0) return a;
      return off ? wrap(s32(a) % s32(b)) : wrap(A % Bb);
    case O.BPF_OR:
      return wrap(A | Bb);
    case O.BPF_AND:
      return wrap(A & Bb);
    case O.BPF_XOR:
      return wrap(A ^ Bb);
    case O.BPF_LSH:
      return wrap(A << (Bb % 32n));
    case O.BPF_RSH:
      return wrap(A >> (Bb % 32n));
    case O.BPF_ARSH:
      return wrap(s32(a) >> (Bb % 32n));
    case O.BPF_NEG:
      return wrap(-A);
    default:
      return off ? wrap(BigInt.asIntN(off, Bb)) : b;
  }
}

function model32cond(op: number, a: number, b: number): boolean {
  const [A, Bb, SA, SB] = [BigInt(a), BigInt(b), s32(a), s32(b)];
  switch (op) {
    case O.BPF_JEQ:
      return A === Bb;
    case O.BPF_JNE:
      return A !== Bb;
    case O.BPF_JGT:
      return A > Bb;
    case O.BPF_JGE:
      return A >= Bb;
    case O.BPF_JLT:
      return A < Bb;
    case O.BPF_JLE:
      return A <= Bb;
    case O.BPF_JSET:
      return (A & Bb) !== 0n;
    case O.BPF_JSGT:
      return SA > SB;
    case O.BPF_JSGE:
      return SA >= SB;
    case O.BPF_JSLT:
      return SA < SB;
    default:
      return SA <= SB;
  }
}

function operands(): [number, number][] {
  const pairs: [number, number][] = [];
  for (const a of EDGE32) for (const b of EDGE32) pairs.push([a, b]);
  let s = 0x2545f491; // xorshift32, fixed seed
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  for (let i = 0; i < 2000; i++) pairs.push([next(), next() >>> (next() % 32)]);
  return pairs;
}

test("alu32 equals a BigInt model of RFC 9669 on edge and random operands", (t) => {
  const ops: [number, number][] = [
    [O.BPF_ADD, 0],
    [O.BPF_SUB, 0],
    [O.BPF_MUL, 0],
    [O.BPF_DIV, 0],
    [O.BPF_DIV, 1],
    [O.BPF_MOD, 0],
    [O.BPF_MOD, 1],
    [O.BPF_OR, 0],
    [O.BPF_AND, 0],
    [O.BPF_XOR, 0],
    [O.BPF_LSH, 0],
    [O.BPF_RSH, 0],
    [O.BPF_ARSH, 0],
    [O.BPF_NEG, 0],
    [O.BPF_MOV, 0],
    [O.BPF_MOV, 8],
    [O.BPF_MOV, 16],
  ];
  let mismatches = 0;
  let checked = 0;
  for (const [a, b] of operands()) {
    for (const [op, off] of ops) {
      checked++;
      const got = alu32(op, a, b, off);
      const want = model32(op, a, b, off);
      if (got !== want && mismatches++ < 5) t.fail(`op 0x${op.toString(16)} off ${off}: ${a} ${b}: ${got} != ${want}`);
    }
  }
  t.is(mismatches, 0);
  t.true(checked > 30000);
});

test("jcond32 equals a BigInt model on edge and random operands", (t) => {
  const ops = [
    O.BPF_JEQ,
    O.BPF_JNE,
    O.BPF_JGT,
    O.BPF_JGE,
    O.BPF_JLT,
    O.BPF_JLE,
    O.BPF_JSET,
    O.BPF_JSGT,
    O.BPF_JSGE,
    O.BPF_JSLT,
    O.BPF_JSLE,
  ];
  let mismatches = 0;
  for (const [a, b] of operands()) {
    for (const op of ops) if (jcond32(op, a, b) !== model32cond(op, a, b)) mismatches++;
  }
  t.is(mismatches, 0);
});
