/**
 * Differential tests, test_bpf style: each case `{name, insns, data, r0,
 * dataAfter}` runs on the JIT (emulated CPU) and on the reference
 * interpreter over the same memory; both must give the expected r0 (worked
 * out by hand from RFC 9669) and the same memory. Random programs and the
 * helper/stack-dump checks are in diff_random.test.ts.
 */
import test, { type ExecutionContext } from "ava";
import * as B from "../bpf/builder.js";
import type { Insn } from "../bpf/insn.js";
import * as O from "../bpf/opcodes.js";
import { createDiffEnv, diffRun, type DiffEnv } from "./diff.js";
import type { JitOptions } from "./jit.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_4: R4 } = O;
const { BPF_REG_5: R5, BPF_REG_6: R6, BPF_REG_7: R7, BPF_REG_8: R8, BPF_REG_9: R9, BPF_REG_10: R10 } = O;
const EXIT = B.BPF_EXIT_INSN();
const M64 = 0xffff_ffff_ffff_ffffn;
const ld = B.BPF_LD_IMM64;

interface Case {
  name: string;
  insns: Insn[];
  data?: number[];
  r0: bigint;
  dataAfter?: number[];
}

let env: DiffEnv;
test.before(() => {
  env = createDiffEnv();
});
test.after.always(() => env?.k.close());

function check(t: ExecutionContext, cases: Case[], jit: JitOptions = {}): void {
  for (const c of cases) {
    const r = diffRun(env, { insns: c.insns, data: c.data, jit });
    t.true(r.agree, `${c.name}: ${r.why}`);
    t.is(r.jit.kind, "ok", `${c.name}: ${"message" in r.jit ? r.jit.message : ""}`);
    if (r.jit.kind !== "ok" || r.interp.kind !== "ok") continue;
    t.is(r.jit.r0, c.r0, `${c.name}: JIT r0`);
    t.is(r.interp.r0, c.r0, `${c.name}: interpreter r0`);
    if (c.dataAfter) t.deepEqual([...r.jit.data], c.dataAfter, `${c.name}: memory`);
  }
}

/** r0 = a (64-bit constant), r1 = b, then `op`, exit. */
function bin64(op: number, a: bigint, b: bigint, off = 0): Insn[] {
  return B.prog(ld(R0, a), ld(R1, b), B.BPF_ALU64_REG_OFF(op, R0, R1, off), EXIT);
}
function bin32(op: number, a: bigint, b: bigint, off = 0): Insn[] {
  return B.prog(ld(R0, a), ld(R1, b), B.BPF_ALU32_REG_OFF(op, R0, R1, off), EXIT);
}
function imm64(op: number, a: bigint, imm: number, off = 0): Insn[] {
  return B.prog(ld(R0, a), B.BPF_ALU64_IMM_OFF(op, R0, imm, off), EXIT);
}
function imm32(op: number, a: bigint, imm: number, off = 0): Insn[] {
  return B.prog(ld(R0, a), B.BPF_ALU32_IMM_OFF(op, R0, imm, off), EXIT);
}

const ALU: Case[] = [
  { name: "ALU_MOV_K: w0 = -1 zero-extends", insns: imm32(O.BPF_MOV, M64, -1), r0: 0xffff_ffffn },
  { name: "ALU64_MOV_K: r0 = -2 sign-extends", insns: imm64(O.BPF_MOV, 0n, -2), r0: M64 - 1n },
  { name: "ALU64_MOV_K: 0x7fffffff", insns: imm64(O.BPF_MOV, 0n, 0x7fffffff), r0: 0x7fff_ffffn },
  { name: "ALU64_MOV_K: 0x12340000 (one movz)", insns: imm64(O.BPF_MOV, 0n, 0x12340000), r0: 0x1234_0000n },
  { name: "ALU64_MOV_K: -0x12345 (movn + movk)", insns: imm64(O.BPF_MOV, 0n, -0x12345), r0: M64 - 0x12344n },
  { name: "ALU_ADD_X: 0xffffffff + 2 wraps to 1", insns: bin32(O.BPF_ADD, 0xffff_ffffn, 2n), r0: 1n },
  { name: "ALU64_ADD_K: -1 + 0xfff000 (shifted imm12)", insns: imm64(O.BPF_ADD, M64, 0xfff000), r0: 0xfff000n - 1n },
  { name: "ALU64_ADD_K: 1 + -4096 (sub #0x1000)", insns: imm64(O.BPF_ADD, 1n, -4096), r0: M64 - 4094n },
  { name: "ALU64_ADD_K: 5 + 0x12345 (through x10)", insns: imm64(O.BPF_ADD, 5n, 0x12345), r0: 0x1234an },
  { name: "ALU64_SUB_K: 0 - -1 = 1", insns: imm64(O.BPF_SUB, 0n, -1), r0: 1n },
  { name: "ALU_SUB_X: 0 - 1 = 0xffffffff", insns: bin32(O.BPF_SUB, 0n, 1n), r0: 0xffff_ffffn },
  {
    name: "ALU64_MUL_X: (2^32+1)^2 wraps",
    insns: bin64(O.BPF_MUL, 0x1_0000_0001n, 0x1_0000_0001n),
    r0: 0x2_0000_0001n,
  },
  { name: "ALU_MUL_K: 0x10000 * 0x10001", insns: imm32(O.BPF_MUL, 0x10000n, 0x10001), r0: 0x10000n },
  { name: "ALU64_DIV_X: u64 max / 3", insns: bin64(O.BPF_DIV, M64, 3n), r0: 0x5555_5555_5555_5555n },
  { name: "ALU64_DIV_X: x / 0 = 0", insns: bin64(O.BPF_DIV, 1234n, 0n), r0: 0n },
  { name: "ALU_DIV_X: x / 0 = 0, upper half cleared", insns: bin32(O.BPF_DIV, M64, 0n), r0: 0n },
  { name: "ALU64_DIV_K: unsigned with imm -1 (sign-extended divisor)", insns: imm64(O.BPF_DIV, M64, -1), r0: 1n },
  { name: "ALU_DIV_K: 0xffffffff / 0x10", insns: imm32(O.BPF_DIV, 0xffff_ffffn, 0x10), r0: 0x0fff_ffffn },
  { name: "ALU64_MOD_X: x % 0 = x", insns: bin64(O.BPF_MOD, 0x1234_5678_9abc_def0n, 0n), r0: 0x1234_5678_9abc_def0n },
  {
    name: "ALU_MOD_X: x % 0 = x, upper half cleared",
    insns: bin32(O.BPF_MOD, 0xdead_beef_0000_0007n, 0n),
    r0: 7n,
  },
  { name: "ALU_MOD_K: 100 % 7", insns: imm32(O.BPF_MOD, 100n, 7), r0: 2n },
  { name: "ALU64_MOD_K: 2^63 % 0x12345", insns: imm64(O.BPF_MOD, 1n << 63n, 0x12345), r0: (1n << 63n) % 0x12345n },
  {
    name: "ALU64_SDIV_X: INT64_MIN s/ -1 = INT64_MIN",
    insns: bin64(O.BPF_DIV, 1n << 63n, M64, 1),
    r0: 1n << 63n,
  },
  { name: "ALU64_SDIV_X: -7 s/ 2 = -3 (truncates)", insns: bin64(O.BPF_DIV, M64 - 6n, 2n, 1), r0: M64 - 2n },
  { name: "ALU64_SDIV_K: -7 s/ 0 = 0", insns: imm64(O.BPF_DIV, M64 - 6n, 0, 1), r0: 0n },
  { name: "ALU_SDIV_K: INT32_MIN s/ -1 = INT32_MIN", insns: imm32(O.BPF_DIV, 0x8000_0000n, -1, 1), r0: 0x8000_0000n },
  { name: "ALU_SDIV_X: -8 s/ 3 = -2", insns: bin32(O.BPF_DIV, 0xffff_fff8n, 3n, 1), r0: 0xffff_fffen },
  { name: "ALU64_SMOD_X: INT64_MIN s% -1 = 0", insns: bin64(O.BPF_MOD, 1n << 63n, M64, 1), r0: 0n },
  { name: "ALU64_SMOD_X: -13 s% 3 = -1", insns: bin64(O.BPF_MOD, M64 - 12n, 3n, 1), r0: M64 },
  { name: "ALU64_SMOD_K: 13 s% -3 = 1", insns: imm64(O.BPF_MOD, 13n, -3, 1), r0: 1n },
  { name: "ALU_SMOD_X: -13 s% 0 = -13 (32-bit)", insns: bin32(O.BPF_MOD, M64 - 12n, 0n, 1), r0: 0xffff_fff3n },
  { name: "ALU_SMOD_K: INT32_MIN s% -1 = 0", insns: imm32(O.BPF_MOD, 0x8000_0000n, -1, 1), r0: 0n },
  { name: "ALU64_AND_K: bitmask imm 0xff00", insns: imm64(O.BPF_AND, M64, 0xff00), r0: 0xff00n },
  { name: "ALU64_AND_K: -16 keeps the high half", insns: imm64(O.BPF_AND, M64, -16), r0: M64 - 15n },
  { name: "ALU_AND_K: -16 (32-bit, through x10)", insns: imm32(O.BPF_AND, M64, -16), r0: 0xffff_fff0n },
  {
    name: "ALU64_OR_K: 0x12345 (not a bitmask imm)",
    insns: imm64(O.BPF_OR, 0x1_0000_0000n, 0x12345),
    r0: 0x1_0001_2345n,
  },
  { name: "ALU_XOR_X: upper half cleared", insns: bin32(O.BPF_XOR, M64, 0xf0f0n), r0: 0xffff_0f0fn },
  { name: "ALU64_XOR_K: -1 inverts", insns: imm64(O.BPF_XOR, 0x00ff_00ff_00ff_00ffn, -1), r0: 0xff00_ff00_ff00_ff00n },
  { name: "ALU64_LSH_K: 1 << 63", insns: imm64(O.BPF_LSH, 1n, 63), r0: 1n << 63n },
  { name: "ALU64_LSH_X: amount 65 is masked to 1", insns: bin64(O.BPF_LSH, 3n, 65n), r0: 6n },
  { name: "ALU_LSH_X: amount 33 is masked to 1", insns: bin32(O.BPF_LSH, 0x8000_0001n, 33n), r0: 2n },
  { name: "ALU_RSH_K: 0x80000000 >> 31", insns: imm32(O.BPF_RSH, 0xffff_ffff_8000_0000n, 31), r0: 1n },
  { name: "ALU64_RSH_X: logical", insns: bin64(O.BPF_RSH, 1n << 63n, 62n), r0: 2n },
  { name: "ALU64_ARSH_K: sign fills", insns: imm64(O.BPF_ARSH, 1n << 63n, 62), r0: M64 - 1n },
  { name: "ALU_ARSH_X: 32-bit sign fill", insns: bin32(O.BPF_ARSH, 0x8000_0000n, 4n), r0: 0xf800_0000n },
  { name: "ALU_ARSH_K: amount 36 is masked to 4", insns: imm32(O.BPF_ARSH, 0x8000_0000n, 36), r0: 0xf800_0000n },
  {
    name: "ALU64_NEG: -(1) = -1",
    insns: B.prog(B.BPF_MOV64_IMM(R0, 1), B.BPF_ALU64_IMM(O.BPF_NEG, R0, 0), EXIT),
    r0: M64,
  },
  { name: "ALU_NEG: -(1) = 0xffffffff", insns: imm32(O.BPF_NEG, 1n, 0), r0: 0xffff_ffffn },
  {
    name: "ALU64_MOVSX: s8, s16, s32",
    insns: B.prog(
      ld(R1, 0x1234_5678_8765_4380n),
      B.BPF_MOVSX64_REG(R2, R1, 8),
      B.BPF_MOVSX64_REG(R3, R1, 16),
      B.BPF_MOVSX64_REG(R4, R1, 32),
      B.BPF_MOV64_REG(R0, R2),
      B.BPF_ALU64_REG(O.BPF_XOR, R0, R3),
      B.BPF_ALU64_REG(O.BPF_XOR, R0, R4),
      EXIT,
    ),
    // 0xffffffffffffff80 ^ 0x0000000000004380 ^ 0xffffffff87654380
    r0: 0xffff_ffff_ffff_ff80n ^ 0x4380n ^ 0xffff_ffff_8765_4380n,
  },
  {
    name: "ALU_MOVSX: s16 into w0 zero-extends",
    insns: B.prog(ld(R1, 0xffff_0000_0000_8001n), B.BPF_MOVSX32_REG(R0, R1, 16), EXIT),
    r0: 0xffff_8001n,
  },
  {
    name: "ALU_END_TO_LE 16",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_ENDIAN(O.BPF_TO_LE, R0, 16), EXIT),
    r0: 0x7788n,
  },
  {
    name: "ALU_END_TO_LE 32",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_ENDIAN(O.BPF_TO_LE, R0, 32), EXIT),
    r0: 0x5566_7788n,
  },
  {
    name: "ALU_END_TO_LE 64 (no instruction)",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_ENDIAN(O.BPF_TO_LE, R0, 64), EXIT),
    r0: 0x1122_3344_5566_7788n,
  },
  {
    name: "ALU_END_TO_BE 16",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_ENDIAN(O.BPF_TO_BE, R0, 16), EXIT),
    r0: 0x8877n,
  },
  {
    name: "ALU_END_TO_BE 32",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_ENDIAN(O.BPF_TO_BE, R0, 32), EXIT),
    r0: 0x8877_6655n,
  },
  {
    name: "ALU_END_TO_BE 64",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_ENDIAN(O.BPF_TO_BE, R0, 64), EXIT),
    r0: 0x8877_6655_4433_2211n,
  },
  { name: "ALU64_BSWAP 16", insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_BSWAP(R0, 16), EXIT), r0: 0x8877n },
  {
    name: "ALU64_BSWAP 32",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_BSWAP(R0, 32), EXIT),
    r0: 0x8877_6655n,
  },
  {
    name: "ALU64_BSWAP 64",
    insns: B.prog(ld(R0, 0x1122_3344_5566_7788n), B.BPF_BSWAP(R0, 64), EXIT),
    r0: 0x8877_6655_4433_2211n,
  },
  {
    name: "LD_IMM64: 0x8000000000000001",
    insns: B.prog(ld(R0, 0x8000_0000_0000_0001n), EXIT),
    r0: 0x8000_0000_0000_0001n,
  },
  {
    name: "LD_IMM64: 0xffffffff00001234 (movn form)",
    insns: B.prog(ld(R0, 0xffff_ffff_0000_1234n), EXIT),
    r0: 0xffff_ffff_0000_1234n,
  },
  { name: "LD_IMM64: all ones", insns: B.prog(ld(R0, M64), EXIT), r0: M64 },
  { name: "LD_IMM64: 0x1_0000_0000", insns: B.prog(ld(R0, 0x1_0000_0000n), EXIT), r0: 0x1_0000_0000n },
];

test("ALU, ALU64, END, MOVSX and LD_IMM64 agree with each other and with RFC 9669", (t) => {
  check(t, ALU);
});

/** r0 = 1 if `cond` jumps, else 0. */
function jmpCase(name: string, cond: Insn, setup: readonly (Insn | readonly Insn[])[], taken: boolean): Case {
  return {
    name,
    insns: B.prog(...setup, B.BPF_MOV64_IMM(R0, 0), { ...cond, off: 1 }, EXIT, B.BPF_MOV64_IMM(R0, 1), EXIT),
    r0: taken ? 1n : 0n,
  };
}

const NEG1: (Insn | readonly Insn[])[] = [ld(R1, M64), B.BPF_MOV64_IMM(R2, 1)];
const HIGH: (Insn | readonly Insn[])[] = [ld(R1, 0x1_0000_0005n), B.BPF_MOV64_IMM(R2, 5)];

const JMP: Case[] = [
  jmpCase("JMP_JGT_X: -1 > 1 unsigned", B.BPF_JMP_REG(O.BPF_JGT, R1, R2, 0), NEG1, true),
  jmpCase("JMP_JSGT_X: -1 s> 1 is false", B.BPF_JMP_REG(O.BPF_JSGT, R1, R2, 0), NEG1, false),
  jmpCase("JMP_JSLT_X: -1 s< 1", B.BPF_JMP_REG(O.BPF_JSLT, R1, R2, 0), NEG1, true),
  jmpCase("JMP_JLT_X: -1 < 1 is false", B.BPF_JMP_REG(O.BPF_JLT, R1, R2, 0), NEG1, false),
  jmpCase("JMP_JGE_K: 1 >= 1", B.BPF_JMP_IMM(O.BPF_JGE, R2, 1, 0), NEG1, true),
  jmpCase("JMP_JLE_K: -1 <= -1 (imm sign-extends)", B.BPF_JMP_IMM(O.BPF_JLE, R1, -1, 0), NEG1, true),
  jmpCase("JMP_JSGE_K: -1 s>= -1", B.BPF_JMP_IMM(O.BPF_JSGE, R1, -1, 0), NEG1, true),
  jmpCase("JMP_JSLE_K: 1 s<= -5 is false", B.BPF_JMP_IMM(O.BPF_JSLE, R2, -5, 0), NEG1, false),
  jmpCase("JMP_JEQ_K: imm 0x12345 (through x10)", B.BPF_JMP_IMM(O.BPF_JEQ, R1, 0x12345, 0), [ld(R1, 0x12345n)], true),
  jmpCase("JMP_JNE_K: -0x1000 (cmn)", B.BPF_JMP_IMM(O.BPF_JNE, R1, -0x1000, 0), [ld(R1, M64 - 0xfffn)], false),
  jmpCase("JMP_JEQ_X: 64-bit compare sees the high half", B.BPF_JMP_REG(O.BPF_JEQ, R1, R2, 0), HIGH, false),
  jmpCase("JMP32_JEQ_X: 32-bit compare ignores it", B.BPF_JMP32_REG(O.BPF_JEQ, R1, R2, 0), HIGH, true),
  jmpCase(
    "JMP32_JSGT_K: 0x80000000 s> 0 is false",
    B.BPF_JMP32_IMM(O.BPF_JSGT, R1, 0, 0),
    [ld(R1, 0x8000_0000n)],
    false,
  ),
  jmpCase("JMP32_JGT_K: 0x80000000 > 0", B.BPF_JMP32_IMM(O.BPF_JGT, R1, 0, 0), [ld(R1, 0x8000_0000n)], true),
  jmpCase(
    "JMP32_JSLT_X",
    B.BPF_JMP32_REG(O.BPF_JSLT, R1, R2, 0),
    [ld(R1, 0x1_ffff_fffen), B.BPF_MOV64_IMM(R2, 0)],
    true,
  ),
  jmpCase(
    "JMP32_JGE_X",
    B.BPF_JMP32_REG(O.BPF_JGE, R1, R2, 0),
    [ld(R1, 0x1_0000_0000n), B.BPF_MOV64_IMM(R2, 1)],
    false,
  ),
  jmpCase("JMP32_JLE_K: -1 <= -1", B.BPF_JMP32_IMM(O.BPF_JLE, R1, -1, 0), [ld(R1, 0xffff_ffffn)], true),
  jmpCase(
    "JMP32_JSGE_X",
    B.BPF_JMP32_REG(O.BPF_JSGE, R1, R2, 0),
    [B.BPF_MOV64_IMM(R1, -1), B.BPF_MOV64_IMM(R2, -1)],
    true,
  ),
  jmpCase(
    "JMP32_JSLE_K: 0 s<= INT32_MIN is false",
    B.BPF_JMP32_IMM(O.BPF_JSLE, R1, -0x8000_0000, 0),
    [B.BPF_MOV64_IMM(R1, 0)],
    false,
  ),
  jmpCase(
    "JMP32_JLT_X",
    B.BPF_JMP32_REG(O.BPF_JLT, R1, R2, 0),
    [ld(R1, 0xff_0000_0001n), B.BPF_MOV64_IMM(R2, 2)],
    true,
  ),
  jmpCase("JMP32_JNE_K", B.BPF_JMP32_IMM(O.BPF_JNE, R1, 5, 0), HIGH, false),
  jmpCase("JMP_JSET_K: bitmask imm", B.BPF_JMP_IMM(O.BPF_JSET, R1, 0x10, 0), [B.BPF_MOV64_IMM(R1, 0x30)], true),
  jmpCase(
    "JMP_JSET_K: 0x12345 (through x10)",
    B.BPF_JMP_IMM(O.BPF_JSET, R1, 0x12345, 0),
    [B.BPF_MOV64_IMM(R1, 0x20000)],
    false,
  ),
  jmpCase("JMP_JSET_K: -1 tests the high half", B.BPF_JMP_IMM(O.BPF_JSET, R1, -1, 0), [ld(R1, 1n << 40n)], true),
  jmpCase("JMP32_JSET_K: -1 ignores the high half", B.BPF_JMP32_IMM(O.BPF_JSET, R1, -1, 0), [ld(R1, 1n << 40n)], false),
  jmpCase("JMP_JSET_X", B.BPF_JMP_REG(O.BPF_JSET, R1, R2, 0), [ld(R1, 1n << 63n), ld(R2, 1n << 63n)], true),
  jmpCase("JMP32_JSET_X", B.BPF_JMP32_REG(O.BPF_JSET, R1, R2, 0), [ld(R1, 1n << 63n), ld(R2, 1n << 63n)], false),
  {
    name: "JMP_JA and JMP32_JA (gotol), backward loop",
    insns: B.prog(
      B.BPF_MOV64_IMM(R0, 0),
      B.BPF_MOV64_IMM(R1, 10),
      B.BPF_JMP32_A(2), // → the loop body
      B.BPF_MOV64_IMM(R0, -1),
      EXIT,
      B.BPF_ALU64_IMM(O.BPF_ADD, R0, 3),
      B.BPF_ALU64_IMM(O.BPF_SUB, R1, 1),
      B.BPF_JMP_IMM(O.BPF_JNE, R1, 0, -3),
      B.BPF_JMP_A(0),
      EXIT,
    ),
    r0: 30n,
  },
  {
    name: "JMP_EXIT: exit in the middle branches to the epilogue",
    insns: B.prog(B.BPF_MOV64_IMM(R0, 2), B.BPF_JMP_IMM(O.BPF_JEQ, R1, 0, 1), EXIT, B.BPF_MOV64_IMM(R0, 3), EXIT),
    r0: 2n,
  },
];

test("JMP and JMP32: every condition, signed and unsigned, K and X, goto and gotol", (t) => {
  check(t, JMP);
});

const BYTES = [0x01, 0x82, 0x03, 0x84, 0x05, 0x86, 0x07, 0x88, 0, 0, 0, 0, 0, 0, 0, 0];

const MEM: Case[] = [
  { name: "LDX_MEM_B", data: BYTES, insns: B.prog(B.BPF_LDX_MEM(O.BPF_B, R0, R1, 1), EXIT), r0: 0x82n },
  { name: "LDX_MEM_H", data: BYTES, insns: B.prog(B.BPF_LDX_MEM(O.BPF_H, R0, R1, 2), EXIT), r0: 0x8403n },
  { name: "LDX_MEM_W", data: BYTES, insns: B.prog(B.BPF_LDX_MEM(O.BPF_W, R0, R1, 4), EXIT), r0: 0x8807_8605n },
  {
    name: "LDX_MEM_DW",
    data: BYTES,
    insns: B.prog(B.BPF_LDX_MEM(O.BPF_DW, R0, R1, 0), EXIT),
    r0: 0x8807_8605_8403_8201n,
  },
  { name: "LDX_MEMSX_B", data: BYTES, insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_B, R0, R1, 1), EXIT), r0: M64 - 0x7dn },
  {
    name: "LDX_MEMSX_H",
    data: BYTES,
    insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_H, R0, R1, 2), EXIT),
    r0: 0xffff_ffff_ffff_8403n,
  },
  {
    name: "LDX_MEMSX_W",
    data: BYTES,
    insns: B.prog(B.BPF_LDX_MEMSX(O.BPF_W, R0, R1, 4), EXIT),
    r0: 0xffff_ffff_8807_8605n,
  },
  {
    name: "LDX_MEM_H: unaligned, odd offset (register-offset form)",
    data: BYTES,
    insns: B.prog(B.BPF_LDX_MEM(O.BPF_H, R0, R1, 3), EXIT),
    r0: 0x0584n,
  },
  {
    name: "LDX_MEM_W: negative offset (register-offset form)",
    data: BYTES,
    insns: B.prog(B.BPF_ALU64_IMM(O.BPF_ADD, R1, 8), B.BPF_LDX_MEM(O.BPF_W, R0, R1, -8), EXIT),
    r0: 0x8403_8201n,
  },
  {
    name: "ST_MEM_B/H/W/DW store the immediate's low bytes",
    data: new Array(16).fill(0),
    insns: B.prog(
      B.BPF_ST_MEM(O.BPF_B, R1, 0, 0x1ff),
      B.BPF_ST_MEM(O.BPF_H, R1, 2, -2),
      B.BPF_ST_MEM(O.BPF_W, R1, 4, 0x11223344),
      B.BPF_ST_MEM(O.BPF_DW, R1, 8, -1),
      B.BPF_MOV64_IMM(R0, 0),
      EXIT,
    ),
    r0: 0n,
    dataAfter: [0xff, 0, 0xfe, 0xff, 0x44, 0x33, 0x22, 0x11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  },
  {
    name: "STX_MEM truncates; the stack keeps values (fp-relative, SP-based)",
    data: new Array(16).fill(0),
    insns: B.prog(
      ld(R2, 0x1122_3344_5566_7788n),
      B.BPF_STX_MEM(O.BPF_DW, R10, R2, -8),
      B.BPF_STX_MEM(O.BPF_W, R10, R2, -12),
      B.BPF_STX_MEM(O.BPF_H, R10, R2, -14),
      B.BPF_STX_MEM(O.BPF_B, R10, R2, -15),
      B.BPF_LDX_MEM(O.BPF_DW, R3, R10, -16),
      B.BPF_STX_MEM(O.BPF_DW, R1, R3, 0),
      B.BPF_LDX_MEM(O.BPF_DW, R0, R10, -8),
      EXIT,
    ),
    r0: 0x1122_3344_5566_7788n,
    // r10-16 holds: byte -16 unwritten (0 on a fresh stack is not guaranteed: it is not loaded alone),
    // so compare only r0 and let the engines agree on the rest.
  },
  {
    name: "STX_MEM at off 32767 and -32768 (register-offset forms)",
    data: new Array(16).fill(0),
    insns: B.prog(
      B.BPF_MOV64_REG(R3, R1),
      B.BPF_ALU64_IMM(O.BPF_SUB, R3, 32767),
      B.BPF_ST_MEM(O.BPF_B, R3, 32767, 0x5a),
      B.BPF_ALU64_IMM(O.BPF_ADD, R3, 32767 + 32768 + 1),
      B.BPF_ST_MEM(O.BPF_B, R3, -32768, 0xa5),
      B.BPF_LDX_MEM(O.BPF_H, R0, R1, 0),
      EXIT,
    ),
    r0: 0xa55an,
    dataAfter: [0x5a, 0xa5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  },
];

test("loads and stores of every size, sign-extending loads, far and unaligned offsets", (t) => {
  check(t, MEM);
});

function atomicCase(name: string, size: number, op: number, init: bigint, src: bigint, r0Src: boolean): Case {
  const data = [...new Uint8Array(new BigUint64Array([init]).buffer)];
  return {
    name,
    data,
    insns: B.prog(
      ld(R2, src),
      ld(R0, 0x5555n),
      B.BPF_ATOMIC_OP(size, op, R1, R2, 0),
      ...(r0Src ? [B.BPF_MOV64_REG(R0, R2)] : []),
      B.BPF_LDX_MEM(O.BPF_DW, R3, R1, 0),
      B.BPF_ALU64_IMM(O.BPF_LSH, R0, 32),
      B.BPF_ALU64_REG(O.BPF_XOR, R0, R3),
      EXIT,
    ),
    r0: 0n, // filled in below
  };
}

/** Expected results of the atomic cases: [final memory, fetched value (r2) or r0]. */
const ATOMICS: [Case, bigint, bigint][] = [
  [atomicCase("ATOMIC_DW_ADD", O.BPF_DW, O.BPF_ADD, 5n, 7n, false), 12n, 0x5555n],
  [
    atomicCase("ATOMIC_W_ADD: carry stays in the word", O.BPF_W, O.BPF_ADD, 0x1_ffff_ffffn, 1n, false),
    0x1_0000_0000n,
    0x5555n,
  ],
  [atomicCase("ATOMIC_DW_AND", O.BPF_DW, O.BPF_AND, 0xff0fn, 0x0ff0n, false), 0x0f00n, 0x5555n],
  [atomicCase("ATOMIC_DW_OR", O.BPF_DW, O.BPF_OR, 0xf000n, 0x000fn, false), 0xf00fn, 0x5555n],
  [atomicCase("ATOMIC_W_XOR", O.BPF_W, O.BPF_XOR, 0xffn, 0xf0f0n, false), 0xf00fn, 0x5555n],
  [atomicCase("ATOMIC_DW_FETCH_ADD", O.BPF_DW, O.BPF_ADD | O.BPF_FETCH, 5n, 7n, true), 12n, 5n],
  [
    atomicCase(
      "ATOMIC_W_FETCH_AND: fetched value zero-extended",
      O.BPF_W,
      O.BPF_AND | O.BPF_FETCH,
      0xffff_ffffn,
      M64 - 1n,
      true,
    ),
    0xffff_fffen,
    0xffff_ffffn,
  ],
  [atomicCase("ATOMIC_DW_FETCH_OR", O.BPF_DW, O.BPF_OR | O.BPF_FETCH, 1n, 2n, true), 3n, 1n],
  [atomicCase("ATOMIC_W_FETCH_XOR", O.BPF_W, O.BPF_XOR | O.BPF_FETCH, 0x0f0fn, 0xffffn, true), 0xf0f0n, 0x0f0fn],
  [atomicCase("ATOMIC_DW_XCHG", O.BPF_DW, O.BPF_XCHG, 0x1111n, 0x2222n, true), 0x2222n, 0x1111n],
  [atomicCase("ATOMIC_W_XCHG", O.BPF_W, O.BPF_XCHG, 0x9_0000_1111n, 0x2222n, true), 0x9_0000_2222n, 0x1111n],
  [
    atomicCase("ATOMIC_DW_CMPXCHG: mismatch, r0 = old", O.BPF_DW, O.BPF_CMPXCHG, 0x1234n, 0x9999n, false),
    0x1234n,
    0x1234n,
  ],
  [
    atomicCase("ATOMIC_DW_CMPXCHG: match stores src", O.BPF_DW, O.BPF_CMPXCHG, 0x5555n, 0x9999n, false),
    0x9999n,
    0x5555n,
  ],
  [
    atomicCase("ATOMIC_W_CMPXCHG: 32-bit compare", O.BPF_W, O.BPF_CMPXCHG, 0x7_0000_5555n, 0x9999n, false),
    0x7_0000_9999n,
    0x5555n,
  ],
];
for (const [c, mem, fetched] of ATOMICS) c.r0 = (fetched << 32n) ^ mem;

test("atomics with LSE: every operation, 32 and 64 bit", (t) => {
  check(
    t,
    ATOMICS.map(([c]) => c),
    { lse: true },
  );
});

test("atomics with LDXR/STXR loops: every operation, 32 and 64 bit", (t) => {
  check(
    t,
    ATOMICS.map(([c]) => c),
    { lse: false },
  );
});

test("bpf-to-bpf calls: arguments, r6-r9 preserved, separate stacks, nested and recursive calls", (t) => {
  check(t, [
    {
      name: "CALL: r1-r5 in, r0 out, callee-saved and stack preserved (call_local)",
      insns: B.prog(
        B.BPF_MOV64_IMM(R1, 1),
        B.BPF_MOV64_IMM(R2, 2),
        B.BPF_MOV64_IMM(R3, 3),
        B.BPF_MOV64_IMM(R4, 4),
        B.BPF_MOV64_IMM(R5, 5),
        B.BPF_MOV64_IMM(R6, 6),
        B.BPF_MOV64_IMM(R7, 7),
        B.BPF_MOV64_IMM(R8, 8),
        B.BPF_MOV64_IMM(R9, 9),
        B.BPF_ST_MEM(O.BPF_DW, R10, -8, 0x1234),
        B.BPF_CALL_REL(5), // → slot 16
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R6),
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R9),
        B.BPF_LDX_MEM(O.BPF_DW, R1, R10, -8),
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R1),
        B.BPF_EXIT_INSN(),
        // callee, slot 16
        B.BPF_MOV64_REG(R0, R1),
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R2),
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R3),
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R4),
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R5),
        B.BPF_ST_MEM(O.BPF_DW, R10, -8, 0x7777),
        B.BPF_MOV64_IMM(R6, 0),
        B.BPF_MOV64_IMM(R9, 0),
        EXIT,
      ),
      r0: 15n + 6n + 9n + 0x1234n,
    },
    {
      name: "CALL: recursion to depth 5 (fib-like sum)",
      insns: B.prog(
        B.BPF_MOV64_IMM(R1, 5),
        B.BPF_CALL_REL(1),
        EXIT,
        // f(n) = n == 0 ? 0 : n + f(n - 1), keeping n in r6
        B.BPF_MOV64_IMM(R0, 0),
        B.BPF_JMP_IMM(O.BPF_JEQ, R1, 0, 5),
        B.BPF_MOV64_REG(R6, R1),
        B.BPF_ALU64_IMM(O.BPF_SUB, R1, 1),
        B.BPF_CALL_REL(-5),
        B.BPF_ALU64_REG(O.BPF_ADD, R0, R6),
        B.BPF_JMP_A(0),
        EXIT,
      ),
      r0: 15n,
    },
  ]);
});
