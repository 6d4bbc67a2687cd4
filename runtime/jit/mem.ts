/**
 * Loads and stores (arch/arm64/net/bpf_jit_comp.c: the BPF_LDX, BPF_ST and
 * BPF_STX | BPF_MEM cases of build_insn, is_lsi_offset,
 * add_exception_handler).
 *
 *   ldx  dst = *(u|s<size> *)(src + off)   ldr{b,h,,}/ldrs{b,h,w} [Xs, #off]
 *   st   *(size *)(dst + off) = imm        mov x10, imm; str{b,h,,} w|x10, [Xd, #off]
 *   stx  *(size *)(dst + off) = src        str{b,h,,} [Xd, #off]
 *
 * The scaled unsigned 12-bit offset form is used when off is a
 * non-negative multiple of the size within range; otherwise the offset
 * goes into a temporary and the register-offset form is used. Accesses
 * through r10 use SP instead (off + stack_size), so that the common
 * negative frame offsets still take one instruction.
 *
 * BPF_PROBE_MEM (a load the verifier marks as possibly faulting) gets an
 * exception-table entry: if it faults, the destination register is zeroed
 * and execution resumes with the next instruction (ex_handler_bpf).
 */
import {
  a64Ldr32,
  a64Ldr32I,
  a64Ldr64,
  a64Ldr64I,
  a64Ldrb,
  a64LdrbI,
  a64Ldrh,
  a64LdrhI,
  a64Ldrsb,
  a64LdrsbI,
  a64Ldrsh,
  a64LdrshI,
  a64Ldrsw,
  a64LdrswI,
  a64Str32,
  a64Str32I,
  a64Str64,
  a64Str64I,
  a64Strb,
  a64StrbI,
  a64Strh,
  a64StrhI,
} from "../a64/jit_macros.js";
import { A64_SP } from "../a64/regs.js";
import type { AccessSize } from "../bpf/opcodes.js";
import { emitA64MovI } from "./alu.js";
import { emit, type JitCtx } from "./ctx.js";
import { A64_BPF_FP, A64_TMP1, A64_TMP2, BPF2A64 } from "./regs.js";

/** is_lsi_offset(): offset fits the scaled unsigned imm12 form of an access of 2^scale bytes. */
export function isLsiOffset(offset: number, scale: number): boolean {
  if (offset < 0) return false;
  if (offset > 0xfff << scale) return false;
  return (offset & ((1 << scale) - 1)) === 0;
}

const SCALE: Record<AccessSize, number> = { 1: 0, 2: 1, 4: 2, 8: 3 };

type RegForm = (rt: number, rn: number, rm: number) => number;
type ImmForm = (rt: number, rn: number, imm: number) => number;

const LOAD_REG: Record<AccessSize, RegForm> = { 1: a64Ldrb, 2: a64Ldrh, 4: a64Ldr32, 8: a64Ldr64 };
const LOAD_IMM: Record<AccessSize, ImmForm> = { 1: a64LdrbI, 2: a64LdrhI, 4: a64Ldr32I, 8: a64Ldr64I };
const LOADSX_REG: Record<1 | 2 | 4, RegForm> = { 1: a64Ldrsb, 2: a64Ldrsh, 4: a64Ldrsw };
const LOADSX_IMM: Record<1 | 2 | 4, ImmForm> = { 1: a64LdrsbI, 2: a64LdrshI, 4: a64LdrswI };
const STORE_REG: Record<AccessSize, RegForm> = { 1: a64Strb, 2: a64Strh, 4: a64Str32, 8: a64Str64 };
const STORE_IMM: Record<AccessSize, ImmForm> = { 1: a64StrbI, 2: a64StrhI, 4: a64Str32I, 8: a64Str64I };

/** The base register and offset to use: SP-relative for r10 (off + stack_size + the stack-argument area). */
function adjust(ctx: JitCtx, base: number, off: number): [number, number] {
  return base === A64_BPF_FP ? [A64_SP, off + ctx.stackSize + ctx.stackArgSize] : [base, off];
}

/** BPF_LDX | BPF_MEM / BPF_MEMSX at whole-program slot `slot`. */
export function emitLdx(ctx: JitCtx, slot: number, info: { size: AccessSize; signed: boolean }): void {
  const insn = ctx.func.insns[slot];
  const dst = BPF2A64[insn.dst];
  const src = BPF2A64[insn.src];
  const { size } = info;
  const signed = info.signed && size !== 8;
  const [srcAdj, offAdj] = adjust(ctx, src, insn.off);
  if (isLsiOffset(offAdj, SCALE[size])) {
    const form = signed ? LOADSX_IMM[size as 1 | 2 | 4] : LOAD_IMM[size];
    emit(ctx, form(dst, srcAdj, offAdj));
  } else {
    emitA64MovI(ctx, true, A64_TMP1, insn.off);
    const form = signed ? LOADSX_REG[size as 1 | 2 | 4] : LOAD_REG[size];
    emit(ctx, form(dst, src, A64_TMP1));
  }
  if (ctx.func.probeMem.has(slot)) addExceptionHandler(ctx, dst);
}

/** BPF_ST | BPF_MEM: store an immediate (through x10). */
export function emitSt(ctx: JitCtx, slot: number, size: AccessSize): void {
  const insn = ctx.func.insns[slot];
  const dst = BPF2A64[insn.dst];
  const [dstAdj, offAdj] = adjust(ctx, dst, insn.off);
  emitA64MovI(ctx, true, A64_TMP1, insn.imm);
  if (isLsiOffset(offAdj, SCALE[size])) {
    emit(ctx, STORE_IMM[size](A64_TMP1, dstAdj, offAdj));
  } else {
    emitA64MovI(ctx, true, A64_TMP2, insn.off);
    emit(ctx, STORE_REG[size](A64_TMP1, dst, A64_TMP2));
  }
}

/** BPF_STX | BPF_MEM: store a register. */
export function emitStx(ctx: JitCtx, slot: number, size: AccessSize): void {
  const insn = ctx.func.insns[slot];
  const dst = BPF2A64[insn.dst];
  const src = BPF2A64[insn.src];
  const [dstAdj, offAdj] = adjust(ctx, dst, insn.off);
  if (isLsiOffset(offAdj, SCALE[size])) {
    emit(ctx, STORE_IMM[size](src, dstAdj, offAdj));
  } else {
    emitA64MovI(ctx, true, A64_TMP1, insn.off);
    emit(ctx, STORE_REG[size](src, dst, A64_TMP1));
  }
}

/**
 * add_exception_handler(): the load just emitted (at idx - 1) may fault;
 * on a fault `dstReg` is zeroed and execution resumes after it.
 */
export function addExceptionHandler(ctx: JitCtx, dstReg: number): void {
  ctx.exentries.push({ idx: ctx.idx - 1, dstReg });
}
