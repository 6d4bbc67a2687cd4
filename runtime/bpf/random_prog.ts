/**
 * Seeded random BPF programs for differential testing (interpreter against
 * JIT-on-Unicorn), in the spirit of the kernel's test_bpf "random" cases and
 * of fuzzers that compare two engines. Same seed, same program and data.
 *
 *   entry     r1 = scratch buffer address (8-byte aligned), r2 = its length
 *   result    r0 and the final scratch bytes; they never depend on an address
 *
 *   layout    main ─ exit │ sub1 ─ exit │ sub2 ─ exit
 *
 *   register roles (main and subprograms alike)
 *     r6        scratch base (copied from r1), only ever a memory base
 *     r10       frame pointer, only ever a memory base; 64 (main) / 32 (sub)
 *               bytes below it are initialised before use
 *     r9        loop counter, written only by loop headers and latches
 *     r0–r5,    data: always initialised, so every read is defined; after a
 *     r7, r8    call r1–r5 are re-initialised (the JIT clobbers them)
 *
 * Programs mix ALU/ALU64 (all operations, K and X, sdiv/smod, movsx, neg,
 * le/be/bswap, shift amounts beyond the width, division by zero), ld_imm64,
 * loads of every size including sign-extending ones, ST/STX, every atomic
 * (32 and 64 bit, aligned), forward conditional jumps of both classes,
 * forward goto/gotol, bounded loops closed by backward jumps (conditional,
 * goto and gotol), and bpf-to-bpf calls to one or two subprograms that
 * clobber r6–r9 (callee-saved) and their own stack.
 */
import { validateInsns } from "./codec.js";
import * as B from "./builder.js";
import type { Insn } from "./insn.js";
import {
  ATOMIC_OPS,
  BPF_ADD,
  BPF_AND,
  BPF_ARSH,
  BPF_B,
  BPF_CALL,
  BPF_DIV,
  BPF_DW,
  BPF_H,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JMP,
  BPF_JNE,
  BPF_JSET,
  BPF_JSGE,
  BPF_JSGT,
  BPF_JSLE,
  BPF_JSLT,
  BPF_LSH,
  BPF_MOD,
  BPF_MOV,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_PSEUDO_CALL,
  BPF_RSH,
  BPF_SUB,
  BPF_TO_BE,
  BPF_TO_LE,
  BPF_W,
  BPF_XOR,
} from "./opcodes.js";

/** Options of {@link randomProg}. */
export interface RandomProgOptions {
  /** Items (instructions or small groups) in the main body (default 48). */
  length?: number;
  /** Scratch buffer size in bytes: a multiple of 8, at least 64 (default 128). */
  scratchSize?: number;
  /** Generate subprograms and calls (default true). */
  calls?: boolean;
  /** Generate bounded loops (default true). */
  loops?: boolean;
}

/** A generated program and the scratch buffer it expects. */
export interface RandomProg {
  readonly seed: number;
  readonly insns: Insn[];
  /** Initial scratch contents (r1 points at a copy, r2 = its length). */
  readonly scratch: Uint8Array;
}

/** mulberry32: a tiny seeded PRNG (deterministic across platforms). */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  u32(): number {
    let z = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

const DATA_REGS = [0, 1, 2, 3, 4, 5, 7, 8];
const R6 = 6;
const R9 = 9;
const R10 = 10;
const ALU_OPS = [
  BPF_ADD,
  BPF_SUB,
  BPF_MUL,
  BPF_DIV,
  BPF_OR,
  BPF_AND,
  BPF_LSH,
  BPF_RSH,
  BPF_MOD,
  BPF_XOR,
  BPF_MOV,
  BPF_ARSH,
];
const JCONDS = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT, BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE];
const SIZES = [BPF_B, BPF_H, BPF_W, BPF_DW];
const SIZE_BYTES: Record<number, number> = { [BPF_B]: 1, [BPF_H]: 2, [BPF_W]: 4, [BPF_DW]: 8 };
/** imm placeholders of calls, patched once the layout is known. */
const CALL_SUB1 = 0x7ff0_0001;
const CALL_SUB2 = 0x7ff0_0002;

const IMM32 = [0, 1, -1, 2, 7, 8, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000];
const IMM64 = [0n, 1n, -1n, 0x8000000000000000n, 0x7fffffffffffffffn, 0xffffffffn, 0x100000000n, 0x80000000n];

interface Ctx {
  rng: Rng;
  scratchSize: number;
  /** Bytes of initialised stack below r10. */
  stackSize: number;
  inLoop: boolean;
  /** Subprogram a call may target (undefined: no calls here). */
  callTarget: number | undefined;
  loops: boolean;
}

function imm32(rng: Rng): number {
  return rng.chance(0.6) ? rng.pick(IMM32) : rng.u32() | 0;
}

function imm64(rng: Rng): bigint {
  if (rng.chance(0.5)) return rng.pick(IMM64);
  return (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
}

function dataReg(rng: Rng): number {
  return rng.pick(DATA_REGS);
}

function genAlu(ctx: Ctx): Insn[] {
  const { rng } = ctx;
  const dst = dataReg(rng);
  const is64 = rng.chance(0.55);
  const roll = rng.below(20);
  if (roll === 0) return [is64 ? B.BPF_ALU64_IMM(BPF_NEG, dst, 0) : B.BPF_ALU32_IMM(BPF_NEG, dst, 0)];
  if (roll === 1) {
    const width = rng.pick([16, 32, 64]);
    if (rng.chance(0.4)) return [B.BPF_BSWAP(dst, width)];
    return [B.BPF_ENDIAN(rng.chance(0.5) ? BPF_TO_LE : BPF_TO_BE, dst, width)];
  }
  if (roll === 2) {
    const src = dataReg(rng);
    return [is64 ? B.BPF_MOVSX64_REG(dst, src, rng.pick([8, 16, 32])) : B.BPF_MOVSX32_REG(dst, src, rng.pick([8, 16]))];
  }
  if (roll === 3) return B.BPF_LD_IMM64(dst, imm64(rng));
  const op = rng.pick(ALU_OPS);
  const signed = (op === BPF_DIV || op === BPF_MOD) && rng.chance(0.5) ? 1 : 0;
  if (rng.chance(0.5)) {
    const src = dataReg(rng);
    return [is64 ? B.BPF_ALU64_REG_OFF(op, dst, src, signed) : B.BPF_ALU32_REG_OFF(op, dst, src, signed)];
  }
  let imm = imm32(rng);
  if (op === BPF_LSH || op === BPF_RSH || op === BPF_ARSH) {
    // Mostly in range; sometimes beyond the width (RFC 9669 masks the amount).
    imm = rng.chance(0.85) ? rng.below(is64 ? 64 : 32) : rng.below(256);
  }
  return [is64 ? B.BPF_ALU64_IMM_OFF(op, dst, imm, signed) : B.BPF_ALU32_IMM_OFF(op, dst, imm, signed)];
}

/** Any offset of a `bytes`-wide access inside [lo, hi) relative to the base (possibly unaligned). */
function anyOff(rng: Rng, lo: number, hi: number, bytes: number): number {
  return lo + rng.below(hi - lo - bytes + 1);
}

/** A naturally aligned offset of a `bytes`-wide access inside [lo, hi). */
function alignedOff(rng: Rng, lo: number, hi: number, bytes: number): number {
  const slots = Math.floor((hi - lo) / bytes);
  return lo + rng.below(slots) * bytes;
}

function genMem(ctx: Ctx): Insn[] {
  const { rng } = ctx;
  const onStack = rng.chance(0.35);
  const base = onStack ? R10 : R6;
  const [lo, hi] = onStack ? [-ctx.stackSize, 0] : [0, ctx.scratchSize];
  const size = rng.pick(SIZES);
  const bytes = SIZE_BYTES[size];
  const off = rng.chance(0.8) ? alignedOff(rng, lo, hi, bytes) : anyOff(rng, lo, hi, bytes);
  switch (rng.below(6)) {
    case 0:
      return [B.BPF_LDX_MEM(size, dataReg(rng), base, off)];
    case 1:
      return [
        size === BPF_DW ? B.BPF_LDX_MEM(size, dataReg(rng), base, off) : B.BPF_LDX_MEMSX(size, dataReg(rng), base, off),
      ];
    case 2:
      return [B.BPF_STX_MEM(size, base, dataReg(rng), off)];
    case 3:
      return [B.BPF_ST_MEM(size, base, off, imm32(rng))];
    default: {
      const asize = rng.chance(0.5) ? BPF_W : BPF_DW;
      return [
        B.BPF_ATOMIC_OP(asize, rng.pick(ATOMIC_OPS), base, dataReg(rng), alignedOff(rng, lo, hi, SIZE_BYTES[asize])),
      ];
    }
  }
}

function genJcond(rng: Rng, off: number): Insn {
  const op = rng.pick(JCONDS);
  const dst = dataReg(rng);
  const is64 = rng.chance(0.5);
  if (rng.chance(0.5)) {
    const src = dataReg(rng);
    return is64 ? B.BPF_JMP_REG(op, dst, src, off) : B.BPF_JMP32_REG(op, dst, src, off);
  }
  const imm = imm32(rng);
  return is64 ? B.BPF_JMP_IMM(op, dst, imm, off) : B.BPF_JMP32_IMM(op, dst, imm, off);
}

/** r1 = r6, r2..r5 stay data; call; then r1..r5 are re-initialised. */
function genCall(ctx: Ctx): Insn[] {
  const { rng } = ctx;
  const out: Insn[] = [B.BPF_MOV64_REG(1, R6), B.BPF_CALL_REL(ctx.callTarget!)];
  for (let r = 1; r <= 5; r++)
    out.push(rng.chance(0.8) ? B.BPF_MOV64_IMM(r, imm32(rng)) : B.BPF_MOV32_IMM(r, imm32(rng)));
  return out;
}

/** r9 = n; L: body; r9 -= 1; <backward jump to L while r9 != 0>. */
function genLoop(ctx: Ctx, depth: number): Insn[] {
  const { rng } = ctx;
  const body = genSeq({ ...ctx, inLoop: true }, 2 + rng.below(6), depth + 1);
  const out: Insn[] = [B.BPF_MOV64_IMM(R9, 1 + rng.below(6)), ...body];
  out.push(rng.chance(0.5) ? B.BPF_ALU64_IMM(BPF_SUB, R9, 1) : B.BPF_ALU32_IMM(BPF_ADD, R9, -1));
  const back = (extra: number): number => -(body.length + 1 + extra + 1); // to the first body slot
  switch (rng.below(5)) {
    case 0:
      out.push(B.BPF_JMP_IMM(BPF_JNE, R9, 0, back(0)));
      break;
    case 1:
      out.push(B.BPF_JMP32_IMM(BPF_JGT, R9, 0, back(0)));
      break;
    case 2:
      out.push(B.BPF_JMP_IMM(BPF_JSGT, R9, 0, back(0)));
      break;
    case 3:
      out.push(B.BPF_JMP_IMM(BPF_JEQ, R9, 0, 1), B.BPF_JMP_A(back(1)));
      break;
    default:
      out.push(B.BPF_JMP32_IMM(BPF_JEQ, R9, 0, 1), B.BPF_JMP32_A(back(1)));
  }
  return out;
}

/** A self-contained sequence of `n` items: every jump in it lands inside it or at its end. */
function genSeq(ctx: Ctx, n: number, depth = 0): Insn[] {
  const { rng } = ctx;
  const out: Insn[] = [];
  for (let i = 0; i < n; i++) {
    const roll = rng.below(100);
    if (roll < 40) out.push(...genAlu(ctx));
    else if (roll < 70) out.push(...genMem(ctx));
    else if (roll < 84 && depth < 3) {
      const skipped = genSeq(ctx, 1 + rng.below(4), depth + 1);
      out.push(genJcond(rng, skipped.length), ...skipped);
    } else if (roll < 87 && depth < 3) {
      const skipped = genSeq(ctx, 1 + rng.below(2), depth + 1);
      out.push(rng.chance(0.5) ? B.BPF_JMP_A(skipped.length) : B.BPF_JMP32_A(skipped.length), ...skipped);
    } else if (roll < 93 && ctx.loops && !ctx.inLoop && depth < 2) {
      out.push(...genLoop(ctx, depth));
    } else if (roll < 97 && ctx.callTarget !== undefined) {
      out.push(...genCall(ctx));
    } else {
      out.push(...genAlu(ctx));
    }
  }
  return out;
}

/** Initialise data registers and `stackSize` bytes of stack. */
function prologue(ctx: Ctx, regs: readonly number[]): Insn[] {
  const { rng } = ctx;
  const out: Insn[] = [B.BPF_MOV64_REG(R6, 1)];
  for (const r of regs)
    out.push(...(rng.chance(0.3) ? B.BPF_LD_IMM64(r, imm64(rng)) : [B.BPF_MOV64_IMM(r, imm32(rng))]));
  for (let off = -ctx.stackSize; off < 0; off += 8) {
    out.push(
      rng.chance(0.5) ? B.BPF_ST_MEM(BPF_DW, R10, off, imm32(rng)) : B.BPF_STX_MEM(BPF_DW, R10, dataReg(rng), off),
    );
  }
  return out;
}

/** Fold data registers and some stack into r0, then exit. */
function epilogue(ctx: Ctx): Insn[] {
  const { rng } = ctx;
  const out: Insn[] = [];
  for (const r of [1, 2, 3, 4, 5, 7, 8]) {
    if (rng.chance(0.6)) out.push(B.BPF_ALU64_REG(rng.pick([BPF_XOR, BPF_ADD, BPF_SUB]), 0, r));
  }
  out.push(B.BPF_LDX_MEM(BPF_DW, 1, R10, -8), B.BPF_ALU64_REG(BPF_XOR, 0, 1));
  out.push(B.BPF_EXIT_INSN());
  return out;
}

function subprog(ctx: Ctx, n: number): Insn[] {
  const { rng } = ctx;
  // r1 is the scratch base on entry; r2..r5 are the caller's data.
  const body = [
    ...prologue(ctx, [0, 1, 7, 8]),
    ...(rng.chance(0.5) ? [B.BPF_MOV64_IMM(R9, imm32(rng))] : []),
    ...genSeq(ctx, n),
  ];
  return [...body, ...epilogue(ctx)];
}

function patchCalls(insns: Insn[], starts: Record<number, number>): void {
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    if (insn.code === (BPF_JMP | BPF_CALL) && insn.src === BPF_PSEUDO_CALL && starts[insn.imm] !== undefined) {
      insns[i] = B.BPF_CALL_REL(starts[insn.imm] - (i + 1));
    }
  }
}

/**
 * A valid random program for `seed` (deterministic), with its scratch
 * buffer. The program is checked with validateInsns() before it is returned.
 */
export function randomProg(seed: number, opts: RandomProgOptions = {}): RandomProg {
  const rng = new Rng(seed);
  const scratchSize = opts.scratchSize ?? 128;
  if (!Number.isInteger(scratchSize) || scratchSize < 64 || scratchSize % 8 !== 0) {
    throw new RangeError(`invalid scratch size: ${scratchSize} (a multiple of 8, at least 64)`);
  }
  const calls = opts.calls ?? true;
  const loops = opts.loops ?? true;
  const scratch = new Uint8Array(scratchSize);
  for (let i = 0; i < scratchSize; i++) scratch[i] = rng.below(256);
  const base = { rng, scratchSize, inLoop: false, loops };
  const sub2 = calls ? subprog({ ...base, stackSize: 32, callTarget: undefined }, 6 + rng.below(10)) : [];
  const sub1 = calls
    ? subprog({ ...base, stackSize: 32, callTarget: rng.chance(0.5) ? CALL_SUB2 : undefined }, 8 + rng.below(12))
    : [];
  const mainCtx: Ctx = {
    ...base,
    stackSize: 64,
    callTarget: calls ? (rng.chance(0.7) ? CALL_SUB1 : CALL_SUB2) : undefined,
  };
  const main = [
    ...prologue(mainCtx, [0, 1, 3, 4, 5, 7, 8]),
    ...genSeq(mainCtx, opts.length ?? 48),
    ...epilogue(mainCtx),
  ];
  const insns = [...main, ...sub1, ...sub2];
  patchCalls(insns, { [CALL_SUB1]: main.length, [CALL_SUB2]: main.length + sub1.length });
  validateInsns(insns);
  return { seed, insns, scratch };
}
