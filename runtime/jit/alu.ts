/**
 * ALU, ALU64 and BPF_END instructions, and the constant loaders
 * (arch/arm64/net/bpf_jit_comp.c: emit_a64_mov_i, emit_a64_mov_i64,
 * emit_addr_mov_i64, is_addsub_imm, emit_a64_add_i and the ALU cases of
 * build_insn).
 *
 *   class  width  K operand (imm s32)                        X operand
 *   ALU64  64     sign-extended to 64 bits (mov/add/... x)   x registers
 *   ALU    32     as a u32 in a w register                   w registers
 *
 * Every 32-bit operation writes a w register, which zero-extends into the
 * x register: BPF's zero-extension of ALU results is free on arm64.
 *
 * Division and modulo (RFC 9669 §4.1) need no checks on arm64: udiv and
 * sdiv give 0 for x/0 and sdiv gives INT_MIN for INT_MIN/-1; modulo is
 * `udiv/sdiv tmp, dst, src; msub dst, tmp, src, dst`, so x%0 = x - 0·0 = x
 * (and, for ALU, zero-extended) and INT_MIN%-1 = INT_MIN - INT_MIN = 0.
 *
 * Shifts by an immediate take the amount modulo the width (RFC 9669: the
 * amount is masked with 63 or 31), as the register forms do in hardware;
 * the kernel's verifier rejects such immediates before the JIT sees them.
 */
import {
  a64AddI,
  a64Add,
  a64And,
  a64AndI,
  a64Asr,
  a64Asrv,
  a64Eor,
  a64EorI,
  a64Lsl,
  a64Lslv,
  a64Lsr,
  a64Lsrv,
  a64Mov,
  a64Movk,
  a64Movn,
  a64Movz,
  a64Msub,
  a64Mul,
  a64Neg,
  a64Orr,
  a64OrrI,
  a64Rev16,
  a64Rev32,
  a64Rev64,
  a64Sdiv,
  a64Sub,
  a64SubI,
  a64Sxtb,
  a64Sxth,
  a64Sxtw,
  a64Udiv,
  a64Uxth,
  a64Uxtw,
} from "../a64/jit_macros.js";
import { isValidBitmaskImm } from "../a64/bitmask.js";
import type { Insn } from "../bpf/insn.js";
import {
  BPF_ADD,
  BPF_AND,
  BPF_ARSH,
  BPF_DIV,
  BPF_LSH,
  BPF_MOD,
  BPF_MOV,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RSH,
  BPF_SUB,
  BPF_XOR,
} from "../bpf/opcodes.js";
import { emit, type JitCtx } from "./ctx.js";
import { A64_TMP1, A64_TMP2, BPF2A64 } from "./regs.js";

/**
 * emit_a64_mov_i(): a 32-bit immediate into `reg` (as w when !is64, as the
 * sign-extended x value when is64), movz/movn + at most one movk.
 */
export function emitA64MovI(ctx: JitCtx, is64: boolean, reg: number, val: number): void {
  const hi = (val >>> 16) & 0xffff;
  const lo = val & 0xffff;
  if (hi & 0x8000) {
    if (hi === 0xffff) {
      emit(ctx, a64Movn(is64, reg, ~lo & 0xffff, 0));
    } else {
      emit(ctx, a64Movn(is64, reg, ~hi & 0xffff, 16));
      if (lo !== 0xffff) emit(ctx, a64Movk(is64, reg, lo, 0));
    }
  } else {
    emit(ctx, a64Movz(is64, reg, lo, 0));
    if (hi) emit(ctx, a64Movk(is64, reg, hi, 16));
  }
}

/** i64_i16_blocks(): 16-bit chunks of (hi:lo) that differ from 0 (or from 0xffff when inverse). */
function i16Blocks(hi: number, lo: number, inverse: boolean): number {
  const skip = inverse ? 0xffff : 0;
  return (
    Number((lo & 0xffff) !== skip) +
    Number(lo >>> 16 !== skip) +
    Number((hi & 0xffff) !== skip) +
    Number(hi >>> 16 !== skip)
  );
}

/** 16-bit chunk at `shift` (0, 16, 32, 48) of hi:lo. */
function chunk(hi: number, lo: number, shift: number): number {
  return shift >= 32 ? (hi >>> (shift - 32)) & 0xffff : (lo >>> shift) & 0xffff;
}

/**
 * emit_a64_mov_i64(): a 64-bit constant, movz (or movn when more chunks are
 * 0xffff) from the highest chunk that needs it, then movk for each chunk
 * that differs from the filler. Values below 2^32 take emitA64MovI.
 */
export function emitA64MovI64(ctx: JitCtx, reg: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  const hi = Number(v >> 32n);
  const lo = Number(v & 0xffff_ffffn);
  if (hi === 0) return emitA64MovI(ctx, false, reg, lo | 0);
  const inverse = i16Blocks(hi, lo, true) < i16Blocks(hi, lo, false);
  // fls64 of the value (or its inverse) minus 1, rounded down to a chunk.
  const top = inverse ? ~hi >>> 0 : hi; // hi != 0 here, and ~hi != 0 whenever inverse is chosen
  let shift = top !== 0 ? 32 + ((31 - Math.clz32(top)) & ~15) : (31 - Math.clz32(inverse ? ~lo >>> 0 : lo)) & ~15;
  if (shift < 0) shift = 0;
  const first = chunk(hi, lo, shift);
  emit(ctx, inverse ? a64Movn(true, reg, ~first & 0xffff, shift) : a64Movz(true, reg, first, shift));
  const filler = inverse ? 0xffff : 0;
  for (shift -= 16; shift >= 0; shift -= 16) {
    const c = chunk(hi, lo, shift);
    if (c !== filler) emit(ctx, a64Movk(true, reg, c, shift));
  }
}

/**
 * emit_addr_mov_i64() for this machine: an address in a fixed four
 * instructions (movz + 3 movk), so a call's or a function pointer's length
 * does not depend on the address — the extra pass of multi-function
 * programs rewrites them in place. (The kernel's version is movn + 3 movk,
 * relying on kernel VAs having their top 16 bits set; our addresses are
 * physical, below 2^32.)
 */
export function emitAddrMovI64(ctx: JitCtx, reg: number, addr: bigint): void {
  const v = BigInt.asUintN(64, addr);
  const hi = Number(v >> 32n);
  const lo = Number(v & 0xffff_ffffn);
  emit(ctx, a64Movz(true, reg, lo & 0xffff, 0));
  emit(ctx, a64Movk(true, reg, lo >>> 16, 16));
  emit(ctx, a64Movk(true, reg, hi & 0xffff, 32));
  emit(ctx, a64Movk(true, reg, hi >>> 16, 48));
}

/** is_addsub_imm(): imm12, or imm12 << 12. */
export function isAddsubImm(imm: number): boolean {
  const u = imm >>> 0;
  return (u & ~0xfff) === 0 || (u & ~0xfff000) === 0;
}

/** emit_a64_add_i(): dst = src + imm, by add/sub #imm or through tmp. */
export function emitA64AddI(ctx: JitCtx, is64: boolean, dst: number, src: number, tmp: number, imm: number): void {
  if (isAddsubImm(imm)) {
    emit(ctx, a64AddI(is64, dst, src, imm >>> 0));
  } else if (isAddsubImm(-imm)) {
    emit(ctx, a64SubI(is64, dst, src, -imm >>> 0));
  } else {
    emitA64MovI(ctx, is64, tmp, imm);
    emit(ctx, a64Add(is64, dst, src, tmp));
  }
}

/**
 * The bitmask-immediate operand the kernel's A64_AND_I/A64_TST_I would
 * encode for BPF imm `imm`, or undefined when it falls back to a register:
 * the s32 reaches the encoder as a sign-extended u64, so for a 32-bit
 * operation a negative imm is wider than the register and never encodable.
 */
export function logicalImmOperand(is64: boolean, imm: number): bigint | number | undefined {
  if (!is64 && imm < 0) return undefined;
  const v = is64 ? BigInt.asUintN(64, BigInt(imm)) : imm >>> 0;
  return isValidBitmaskImm(is64, v) ? v : undefined;
}

/** The A64 and-/orr-/eor-immediate encoding of `op`, or undefined when imm is not a bitmask immediate. */
function logicalImmInsn(op: number, is64: boolean, dst: number, imm: number): number | undefined {
  const v = logicalImmOperand(is64, imm);
  if (v === undefined) return undefined;
  if (op === BPF_AND) return a64AndI(is64, dst, dst, v);
  if (op === BPF_OR) return a64OrrI(is64, dst, dst, v);
  return a64EorI(is64, dst, dst, v);
}

/** BPF_MOV | BPF_X, with movsx (off 8/16/32). */
function emitMovX(ctx: JitCtx, is64: boolean, dst: number, src: number, off: number): void {
  switch (off) {
    case 8:
      return emit(ctx, a64Sxtb(is64, dst, src));
    case 16:
      return emit(ctx, a64Sxth(is64, dst, src));
    case 32:
      return emit(ctx, a64Sxtw(is64, dst, src));
    default:
      return emit(ctx, a64Mov(is64, dst, src));
  }
}

/** dst = dst <op> src for a register operand (`src` is an A64 register). */
function emitAluX(ctx: JitCtx, op: number, is64: boolean, dst: number, src: number, signed: boolean): void {
  const tmp = A64_TMP1;
  switch (op) {
    case BPF_ADD:
      return emit(ctx, a64Add(is64, dst, dst, src));
    case BPF_SUB:
      return emit(ctx, a64Sub(is64, dst, dst, src));
    case BPF_AND:
      return emit(ctx, a64And(is64, dst, dst, src));
    case BPF_OR:
      return emit(ctx, a64Orr(is64, dst, dst, src));
    case BPF_XOR:
      return emit(ctx, a64Eor(is64, dst, dst, src));
    case BPF_MUL:
      return emit(ctx, a64Mul(is64, dst, dst, src));
    case BPF_DIV:
      return emit(ctx, signed ? a64Sdiv(is64, dst, dst, src) : a64Udiv(is64, dst, dst, src));
    case BPF_MOD:
      emit(ctx, signed ? a64Sdiv(is64, tmp, dst, src) : a64Udiv(is64, tmp, dst, src));
      return emit(ctx, a64Msub(is64, dst, dst, tmp, src));
    case BPF_LSH:
      return emit(ctx, a64Lslv(is64, dst, dst, src));
    case BPF_RSH:
      return emit(ctx, a64Lsrv(is64, dst, dst, src));
    case BPF_ARSH:
      return emit(ctx, a64Asrv(is64, dst, dst, src));
  }
}

/** dst = dst <op> imm. */
function emitAluK(ctx: JitCtx, op: number, is64: boolean, dst: number, imm: number, signed: boolean): void {
  const tmp = A64_TMP1;
  const tmp2 = A64_TMP2;
  switch (op) {
    case BPF_MOV:
      return emitA64MovI(ctx, is64, dst, imm);
    case BPF_ADD:
      return emitA64AddI(ctx, is64, dst, dst, tmp, imm);
    case BPF_SUB:
      if (isAddsubImm(imm)) {
        emit(ctx, a64SubI(is64, dst, dst, imm >>> 0));
      } else if (isAddsubImm(-imm)) {
        emit(ctx, a64AddI(is64, dst, dst, -imm >>> 0));
      } else {
        emitA64MovI(ctx, is64, tmp, imm);
        emit(ctx, a64Sub(is64, dst, dst, tmp));
      }
      return;
    case BPF_AND:
    case BPF_OR:
    case BPF_XOR: {
      const word = logicalImmInsn(op, is64, dst, imm);
      if (word !== undefined) return emit(ctx, word);
      emitA64MovI(ctx, is64, tmp, imm);
      return emitAluX(ctx, op, is64, dst, tmp, false);
    }
    case BPF_MUL:
      emitA64MovI(ctx, is64, tmp, imm);
      return emit(ctx, a64Mul(is64, dst, dst, tmp));
    case BPF_DIV:
      emitA64MovI(ctx, is64, tmp, imm);
      return emit(ctx, signed ? a64Sdiv(is64, dst, dst, tmp) : a64Udiv(is64, dst, dst, tmp));
    case BPF_MOD:
      emitA64MovI(ctx, is64, tmp2, imm);
      emit(ctx, signed ? a64Sdiv(is64, tmp, dst, tmp2) : a64Udiv(is64, tmp, dst, tmp2));
      return emit(ctx, a64Msub(is64, dst, dst, tmp, tmp2));
    case BPF_LSH:
      return emit(ctx, a64Lsl(is64, dst, dst, imm & (is64 ? 63 : 31)));
    case BPF_RSH:
      return emit(ctx, a64Lsr(is64, dst, dst, imm & (is64 ? 63 : 31)));
    case BPF_ARSH:
      return emit(ctx, a64Asr(is64, dst, dst, imm & (is64 ? 63 : 31)));
  }
}

/** An ALU or ALU64 instruction other than BPF_END (whole-program slot `slot`). */
export function emitAlu(ctx: JitCtx, slot: number, info: { width: 32 | 64; op: number; x: boolean }): void {
  const insn: Insn = ctx.func.insns[slot];
  const is64 = info.width === 64;
  const dst = BPF2A64[insn.dst];
  const op = info.op;
  if (op === BPF_NEG) return emit(ctx, a64Neg(is64, dst, dst));
  if (info.x) {
    const src = BPF2A64[insn.src];
    if (op === BPF_MOV) return emitMovX(ctx, is64, dst, src, insn.off);
    return emitAluX(ctx, op, is64, dst, src, insn.off === 1);
  }
  emitAluK(ctx, op, is64, dst, insn.imm, insn.off === 1);
}

/**
 * BPF_END: `le` on this little-endian CPU only truncates (uxth/uxtw, 64: no
 * instruction at all); `be` and ALU64 `bswap` reverse the bytes (rev16 +
 * uxth, rev w, rev x). Results are zero-extended.
 */
export function emitEndian(ctx: JitCtx, slot: number, order: "le" | "be" | "swap"): void {
  const insn = ctx.func.insns[slot];
  const dst = BPF2A64[insn.dst];
  const is64 = order === "swap";
  if (order === "le") {
    if (insn.imm === 16) emit(ctx, a64Uxth(false, dst, dst));
    else if (insn.imm === 32) emit(ctx, a64Uxtw(false, dst, dst));
    return;
  }
  switch (insn.imm) {
    case 16:
      emit(ctx, a64Rev16(is64, dst, dst));
      return emit(ctx, a64Uxth(is64, dst, dst));
    case 32:
      return emit(ctx, a64Rev32(false, dst, dst));
    case 64:
      return emit(ctx, a64Rev64(dst, dst));
  }
}
