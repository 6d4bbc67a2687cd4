/**
 * Formatter goldens: exact kernel verifier-log strings (kernel/bpf/disasm.c
 * print_bpf_insn() formats, written out by hand from its format strings).
 */
import test from "ava";
import * as B from "./builder.js";
import { formatInsn, formatInsnWithCode, formatProg } from "./format.js";
import type { Insn } from "./insn.js";
import * as O from "./opcodes.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_10: R10 } = O;

function one(insn: Insn | Insn[]): string {
  return formatInsnWithCode(Array.isArray(insn) ? insn : [insn], 0);
}

const GOLDEN: [Insn | Insn[], string][] = [
  // ALU
  [B.BPF_MOV64_IMM(R0, 1), "(b7) r0 = 1"],
  [B.BPF_MOV32_IMM(R0, -1), "(b4) w0 = -1"],
  [B.BPF_ALU32_REG(O.BPF_ADD, R0, R1), "(0c) w0 += w1"],
  [B.BPF_ALU64_IMM(O.BPF_ADD, R0, -1), "(07) r0 += -1"],
  [B.BPF_ALU64_IMM(O.BPF_SUB, R1, 2), "(17) r1 -= 2"],
  [B.BPF_ALU64_REG(O.BPF_MUL, R1, R2), "(2f) r1 *= r2"],
  [B.BPF_ALU64_REG(O.BPF_DIV, R1, R2), "(3f) r1 /= r2"],
  [B.BPF_ALU32_IMM(O.BPF_OR, R1, 0x10), "(44) w1 |= 16"],
  [B.BPF_ALU64_IMM(O.BPF_AND, R1, 0xff), "(57) r1 &= 255"],
  [B.BPF_ALU64_IMM(O.BPF_LSH, R1, 63), "(67) r1 <<= 63"],
  [B.BPF_ALU32_REG(O.BPF_RSH, R1, R2), "(7c) w1 >>= w2"],
  [B.BPF_ALU64_IMM(O.BPF_NEG, R1, 0), "(87) r1 = -r1"],
  [B.BPF_ALU32_IMM(O.BPF_NEG, R3, 0), "(84) w3 = -w3"],
  [B.BPF_ALU64_REG(O.BPF_MOD, R1, R2), "(9f) r1 %= r2"],
  [B.BPF_ALU64_REG(O.BPF_XOR, R1, R1), "(af) r1 ^= r1"],
  [B.BPF_MOV64_REG(R1, R10), "(bf) r1 = r10"],
  [B.BPF_MOV32_REG(R1, R2), "(bc) w1 = w2"],
  [B.BPF_ALU64_IMM(O.BPF_ARSH, R1, 4), "(c7) r1 s>>= 4"],
  [B.BPF_ALU64_REG_OFF(O.BPF_DIV, R1, R2, 1), "(3f) r1 s/= r2"],
  [B.BPF_ALU64_REG_OFF(O.BPF_MOD, R1, R2, 1), "(9f) r1 s%= r2"],
  [B.BPF_ALU32_IMM_OFF(O.BPF_DIV, R1, -3, 1), "(34) w1 s/= -3"],
  [B.BPF_ALU32_REG_OFF(O.BPF_MOD, R1, R2, 1), "(9c) w1 s%= w2"],
  [B.BPF_MOVSX64_REG(R1, R2, 8), "(bf) r1 = (s8)r2"],
  [B.BPF_MOVSX64_REG(R1, R2, 16), "(bf) r1 = (s16)r2"],
  [B.BPF_MOVSX64_REG(R1, R2, 32), "(bf) r1 = (s32)r2"],
  [B.BPF_MOVSX32_REG(R1, R2, 8), "(bc) w1 = (s8)w2"],
  [B.BPF_ENDIAN(O.BPF_TO_BE, R1, 16), "(dc) r1 = be16 r1"],
  [B.BPF_ENDIAN(O.BPF_TO_LE, R1, 32), "(d4) r1 = le32 r1"],
  [B.BPF_BSWAP(R1, 16), "(d7) r1 = bswap16 r1"],
  [B.BPF_BSWAP(R1, 64), "(d7) r1 = bswap64 r1"],
  // loads and stores
  [B.BPF_LDX_MEM(O.BPF_DW, R1, R10, -8), "(79) r1 = *(u64 *)(r10 -8)"],
  [B.BPF_LDX_MEM(O.BPF_B, R0, R1, 0), "(71) r0 = *(u8 *)(r1 +0)"],
  [B.BPF_LDX_MEMSX(O.BPF_W, R1, R2, 0), "(81) r1 = *(s32 *)(r2 +0)"],
  [B.BPF_LDX_MEMSX(O.BPF_H, R1, R2, 6), "(89) r1 = *(s16 *)(r2 +6)"],
  [B.BPF_LDX_MEMSX(O.BPF_B, R1, R2, -1), "(91) r1 = *(s8 *)(r2 -1)"],
  [B.BPF_STX_MEM(O.BPF_W, R1, R2, 4), "(63) *(u32 *)(r1 +4) = r2"],
  [B.BPF_STX_MEM(O.BPF_H, R10, R2, -2), "(6b) *(u16 *)(r10 -2) = r2"],
  [B.BPF_ST_MEM(O.BPF_B, R10, -1, 5), "(72) *(u8 *)(r10 -1) = 5"],
  [B.BPF_ST_MEM(O.BPF_DW, R10, -16, -1), "(7a) *(u64 *)(r10 -16) = -1"],
  [B.BPF_LD_ABS(O.BPF_W, 12), "(20) r0 = *(u32 *)skb[12]"],
  [B.BPF_LD_IND(O.BPF_H, R1, 2), "(48) r0 = *(u16 *)skb[r1 + 2]"],
  // atomics
  [B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_ADD, R1, R2, 0), "(db) lock *(u64 *)(r1 +0) += r2"],
  [B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_AND, R1, R2, 8), "(c3) lock *(u32 *)(r1 +8) &= r2"],
  [B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_OR, R1, R2, -8), "(db) lock *(u64 *)(r1 -8) |= r2"],
  [B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_XOR, R1, R2, 0), "(c3) lock *(u32 *)(r1 +0) ^= r2"],
  [B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_ADD | O.BPF_FETCH, R1, R0, 0), "(db) r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)"],
  [B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_AND | O.BPF_FETCH, R1, R2, 4), "(c3) r2 = atomic_fetch_and((u32 *)(r1 +4), r2)"],
  [B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_OR | O.BPF_FETCH, R1, R2, 0), "(db) r2 = atomic64_fetch_or((u64 *)(r1 +0), r2)"],
  [B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_XOR | O.BPF_FETCH, R1, R2, 0), "(c3) r2 = atomic_fetch_xor((u32 *)(r1 +0), r2)"],
  [B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_XCHG, R1, R2, 0), "(db) r2 = atomic64_xchg((u64 *)(r1 +0), r2)"],
  [B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_XCHG, R1, R2, 0), "(c3) r2 = atomic_xchg((u32 *)(r1 +0), r2)"],
  [B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_CMPXCHG, R1, R2, 0), "(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)"],
  [B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_CMPXCHG, R1, R2, 16), "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +16), r0, r2)"],
  [B.BPF_ATOMIC_OP(O.BPF_DW, 0x10, R1, R2, 0), "(db) BUG_stx_db"],
  // jumps and calls
  [B.BPF_JMP_IMM(O.BPF_JGT, R1, 5, 3), "(25) if r1 > 0x5 goto pc+3"],
  [B.BPF_JMP_IMM(O.BPF_JEQ, R1, -1, 0), "(15) if r1 == 0xffffffff goto pc+0"],
  [B.BPF_JMP32_REG(O.BPF_JSLT, R1, R2, -2), "(ce) if w1 s< w2 goto pc-2"],
  [B.BPF_JMP_REG(O.BPF_JSET, R1, R2, 1), "(4d) if r1 & r2 goto pc+1"],
  [B.BPF_JMP_REG(O.BPF_JNE, R1, R2, 1), "(5d) if r1 != r2 goto pc+1"],
  [B.BPF_JMP32_IMM(O.BPF_JSGE, R1, 0x7fffffff, 1), "(76) if w1 s>= 0x7fffffff goto pc+1"],
  [B.BPF_JMP_IMM(O.BPF_JLE, R1, 0, 1), "(b5) if r1 <= 0x0 goto pc+1"],
  [B.BPF_JMP_IMM(O.BPF_JSLE, R1, 0, 1), "(d5) if r1 s<= 0x0 goto pc+1"],
  [B.BPF_JMP_A(1), "(05) goto pc+1"],
  [B.BPF_JMP_A(-1), "(05) goto pc-1"],
  [B.BPF_JMP32_A(70000), "(06) gotol pc+70000"],
  [B.BPF_EMIT_CALL(1), "(85) call bpf_map_lookup_elem#1"],
  [B.BPF_EMIT_CALL(12), "(85) call bpf_tail_call#12"],
  [B.BPF_EMIT_CALL(211), "(85) call bpf_cgrp_storage_delete#211"],
  [B.BPF_EMIT_CALL(212), "(85) call unknown#212"],
  [B.BPF_CALL_REL(5), "(85) call pc+5"],
  [B.BPF_CALL_REL(-3), "(85) call pc-3"],
  [B.BPF_CALL_KFUNC(0, 12345), "(85) call kernel-function#12345"],
  [B.BPF_EXIT_INSN(), "(95) exit"],
  // ld_imm64
  [B.BPF_LD_IMM64(R1, 0x1234n), "(18) r1 = 0x1234"],
  [B.BPF_LD_IMM64(R1, -1n), "(18) r1 = 0xffffffffffffffff"],
  [B.BPF_LD_IMM64(R2, 0n), "(18) r2 = 0x0"],
  [B.BPF_LD_MAP_FD(R1, 4), "(18) r1 = map[fd:4]"],
  [B.BPF_LD_MAP_VALUE(R1, 4, 8), "(18) r1 = map[fd:4][0]+8"],
  [B.BPF_LD_IMM64_RAW_FULL(R1, O.BPF_PSEUDO_MAP_IDX, 0, 0, 2, 0), "(18) r1 = map[idx:2]"],
  [B.BPF_LD_IMM64_RAW_FULL(R1, O.BPF_PSEUDO_MAP_IDX_VALUE, 0, 0, 2, 16), "(18) r1 = map[idx:2]+16"],
  [B.BPF_LD_IMM64_RAW_FULL(R1, O.BPF_PSEUDO_FUNC, 0, 0, 7, 0), "(18) r1 = subprog[+7]"],
  [B.BPF_LD_IMM64_RAW_FULL(R1, O.BPF_PSEUDO_BTF_ID, 0, 0, 99, 0), "(18) r1 = ksym[btf_id:99]"],
  // opcodes no instruction has
  [B.BPF_RAW_INSN(0x8f, 1, 2, 0, 0), "(8f) BUG_alu64_8f"],
  [B.BPF_RAW_INSN(0xe7, 1, 0, 0, 0), "(e7) BUG_alu64_e7"],
  [B.BPF_RAW_INSN(0x8e, 0, 0, 0, 0), "(8e) BUG_jmp32_8e"],
  [B.BPF_RAW_INSN(0x00, 0, 0, 0, 0), "(00) BUG_ld_00"],
  [B.BPF_RAW_INSN(0x99, 0, 0, 0, 0), "(99) BUG_ldx_99"],
  [B.BPF_RAW_INSN(0xc2, 0, 0, 0, 0), "(c2) BUG_st_c2"],
];

test("every instruction kind formats exactly as kernel/bpf/disasm.c prints it", (t) => {
  for (const [insn, text] of GOLDEN) t.is(one(insn), text);
});

test("formatInsn gives the text without the opcode", (t) => {
  t.is(formatInsn([B.BPF_MOV64_IMM(R0, 1)], 0), "r0 = 1");
});

test("callbacks name kfuncs and ld_imm64 operands (cb_call, cb_imm)", (t) => {
  const opts = {
    kfuncName: (insn: Insn) => (insn.imm === 12345 ? "bpf_throw" : undefined),
    immName: (insn: Insn, full: bigint) => (insn.src === O.BPF_PSEUDO_MAP_FD ? `map[id:${insn.imm + 100}]` : undefined),
  };
  t.is(formatInsn([B.BPF_CALL_KFUNC(0, 12345)], 0, opts), "call bpf_throw#12345");
  t.is(formatInsn([B.BPF_CALL_KFUNC(0, 1)], 0, opts), "call kernel-function#1");
  t.is(formatInsn(B.BPF_LD_MAP_FD(R1, 4), 0, opts), "r1 = map[id:104]");
  t.is(formatInsn(B.BPF_LD_IMM64(R1, 42n), 0, opts), "r1 = 0x2a");
});

test("a truncated ld_imm64 still formats", (t) => {
  t.is(formatInsn([B.BPF_LD_IMM64(R1, 1n)[0]], 0), "r1 = <truncated ld_imm64>");
});

test("formatProg numbers slots and skips ld_imm64 second halves", (t) => {
  const p = B.prog(
    B.BPF_MOV64_IMM(R0, 1),
    B.BPF_LD_IMM64(R1, 0x1234n),
    B.BPF_LDX_MEM(O.BPF_DW, R2, R10, -8),
    B.BPF_JMP_REG(O.BPF_JGT, R1, R2, 1),
    B.BPF_EMIT_CALL(5),
    B.BPF_EXIT_INSN(),
  );
  t.is(
    formatProg(p),
    [
      "0: (b7) r0 = 1",
      "1: (18) r1 = 0x1234",
      "3: (79) r2 = *(u64 *)(r10 -8)",
      "4: (2d) if r1 > r2 goto pc+1",
      "5: (85) call bpf_ktime_get_ns#5",
      "6: (95) exit",
      "",
    ].join("\n"),
  );
});
