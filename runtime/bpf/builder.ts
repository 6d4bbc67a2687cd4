/**
 * Builder DSL named after the kernel's instruction macros
 * (include/linux/filter.h, tools/include/linux/filter.h), so ported tests
 * read like the kernel's:
 *
 *   prog(
 *     BPF_MOV64_IMM(BPF_REG_0, 0),
 *     BPF_LD_IMM64(BPF_REG_1, 0x1122334455667788n),   // two slots
 *     BPF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 1),
 *     BPF_ALU64_IMM(BPF_ADD, BPF_REG_0, 1),
 *     BPF_EXIT_INSN(),
 *   )
 *
 * Each macro returns one Insn (ld_imm64 forms return both slots as an array);
 * prog() flattens. Like the C macros, the builders take the kernel's
 * positional arguments (an exception to the two-positional-parameter rule,
 * on purpose) and fill unused fields with 0.
 *
 * Checks: registers must be r0–r10 ("invalid register: r11"), except that
 * the base of BPF_LDX_MEM / BPF_STX_MEM / BPF_ST_MEM may be r12
 * (BPF_REG_STACK_ARG_BASE, stack arguments: stack_arg.ts); off must fit
 * s16, imm must fit 32 bits (values up to 0xffffffff wrap to s32 as the C
 * assignment to `__s32 imm` does). BPF_RAW_INSN only checks field widths
 * (registers 0..15), for tests that build invalid instructions on purpose.
 */
import { EINVAL } from "../errno.js";
import type { Insn } from "./insn.js";
import { InsnError } from "./insn_error.js";
import {
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOV,
  BPF_OP,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  BPF_SIZE,
  BPF_SRC,
  BPF_ST,
  BPF_STX,
  BPF_TO_LE,
  BPF_X,
  BPF_REG_STACK_ARG_BASE,
  MAX_BPF_REG,
} from "./opcodes.js";

function fail(message: string): never {
  throw new InsnError(message, { errno: EINVAL });
}

function reg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r >= MAX_BPF_REG) fail(`invalid register: r${r}`);
  return r;
}

function off16(off: number): number {
  if (!Number.isInteger(off) || off < -0x8000 || off > 0x7fff) fail(`invalid off: ${off} (must fit in s16)`);
  return off;
}

function imm32(imm: number): number {
  if (!Number.isInteger(imm) || imm < -0x80000000 || imm > 0xffffffff) {
    fail(`invalid imm: ${imm} (must fit in 32 bits)`);
  }
  return imm | 0;
}

/** A load or store base: r0–r10, or r12 (BPF_REG_STACK_ARG_BASE, stack_arg.ts). */
function baseReg(r: number): number {
  return r === BPF_REG_STACK_ARG_BASE ? r : reg(r);
}

function make(code: number, dst: number, src: number, off: number, imm: number): Insn {
  return { code, dst: reg(dst), src: reg(src), off: off16(off), imm: imm32(imm) };
}

/** A load or store whose base (src of a load, dst of a store) may be r12. */
function makeMem(
  code: number,
  regs: { dst: number; src: number; base: "dst" | "src" },
  off: number,
  imm: number,
): Insn {
  const dst = regs.base === "dst" ? baseReg(regs.dst) : reg(regs.dst);
  const src = regs.base === "src" ? baseReg(regs.src) : reg(regs.src);
  return { code, dst, src, off: off16(off), imm: imm32(imm) };
}

/** Concatenate instructions and instruction arrays (ld_imm64 pairs) into one program. */
export function prog(...items: readonly (Insn | readonly Insn[])[]): Insn[] {
  const out: Insn[] = [];
  for (const item of items) {
    if (Array.isArray(item)) out.push(...(item as readonly Insn[]));
    else out.push(item as Insn);
  }
  return out;
}

/** Any instruction, fields checked only for width (code u8, registers 0..15, off s16, imm 32 bits). */
export function BPF_RAW_INSN(code: number, dst: number, src: number, off: number, imm: number): Insn {
  if (!Number.isInteger(code) || code < 0 || code > 0xff) fail(`invalid code: ${code} (must fit in u8)`);
  for (const r of [dst, src]) if (!Number.isInteger(r) || r < 0 || r > 15) fail(`invalid register: r${r}`);
  return { code, dst, src, off: off16(off), imm: imm32(imm) };
}

// ---- ALU ----

/** `dst op= src` (64-bit) with an explicit off (1 selects sdiv/smod). */
export function BPF_ALU64_REG_OFF(op: number, dst: number, src: number, off: number): Insn {
  return make(BPF_ALU64 | BPF_OP(op) | BPF_X, dst, src, off, 0);
}

/** `dst op= src` (64-bit). */
export function BPF_ALU64_REG(op: number, dst: number, src: number): Insn {
  return BPF_ALU64_REG_OFF(op, dst, src, 0);
}

/** `wdst op= wsrc` (32-bit) with an explicit off (1 selects sdiv/smod). */
export function BPF_ALU32_REG_OFF(op: number, dst: number, src: number, off: number): Insn {
  return make(BPF_ALU | BPF_OP(op) | BPF_X, dst, src, off, 0);
}

/** `wdst op= wsrc` (32-bit). */
export function BPF_ALU32_REG(op: number, dst: number, src: number): Insn {
  return BPF_ALU32_REG_OFF(op, dst, src, 0);
}

/** `dst op= imm` (64-bit, imm sign-extended) with an explicit off. */
export function BPF_ALU64_IMM_OFF(op: number, dst: number, imm: number, off: number): Insn {
  return make(BPF_ALU64 | BPF_OP(op) | BPF_K, dst, 0, off, imm);
}

/** `dst op= imm` (64-bit, imm sign-extended). */
export function BPF_ALU64_IMM(op: number, dst: number, imm: number): Insn {
  return BPF_ALU64_IMM_OFF(op, dst, imm, 0);
}

/** `wdst op= imm` (32-bit) with an explicit off. */
export function BPF_ALU32_IMM_OFF(op: number, dst: number, imm: number, off: number): Insn {
  return make(BPF_ALU | BPF_OP(op) | BPF_K, dst, 0, off, imm);
}

/** `wdst op= imm` (32-bit). */
export function BPF_ALU32_IMM(op: number, dst: number, imm: number): Insn {
  return BPF_ALU32_IMM_OFF(op, dst, imm, 0);
}

/** `dst = le<len> dst` / `be<len>` (type BPF_TO_LE or BPF_TO_BE, len 16/32/64). */
export function BPF_ENDIAN(type: number, dst: number, len: number): Insn {
  return make(BPF_ALU | BPF_END | BPF_SRC(type), dst, 0, 0, len);
}

/** `dst = bswap<len> dst` (ALU64 BPF_END, cpu v4). */
export function BPF_BSWAP(dst: number, len: number): Insn {
  return make(BPF_ALU64 | BPF_END | BPF_SRC(BPF_TO_LE), dst, 0, 0, len);
}

/** `dst = src` (64-bit). */
export function BPF_MOV64_REG(dst: number, src: number): Insn {
  return make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

/** `wdst = wsrc` (32-bit, upper half zeroed). */
export function BPF_MOV32_REG(dst: number, src: number): Insn {
  return make(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}

/** `dst = imm` (sign-extended to 64 bits). */
export function BPF_MOV64_IMM(dst: number, imm: number): Insn {
  return make(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

/** `wdst = imm` (upper half zeroed). */
export function BPF_MOV32_IMM(dst: number, imm: number): Insn {
  return make(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

/** `dst = (s<off>)src` (off 8, 16 or 32; cpu v4). */
export function BPF_MOVSX64_REG(dst: number, src: number, off: number): Insn {
  return make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, off, 0);
}

/** `wdst = (s<off>)wsrc` (off 8 or 16; cpu v4). */
export function BPF_MOVSX32_REG(dst: number, src: number, off: number): Insn {
  return make(BPF_ALU | BPF_MOV | BPF_X, dst, src, off, 0);
}

// ---- ld_imm64 ----

function u64(imm: bigint | number): bigint {
  if (typeof imm === "number" && !Number.isSafeInteger(imm)) fail(`invalid imm64: ${imm} (not a safe integer)`);
  const v = BigInt(imm);
  if (v < -(1n << 63n) || v >= 1n << 64n) fail(`invalid imm64: ${v} (must fit in 64 bits)`);
  return BigInt.asUintN(64, v);
}

/** Both slots of a ld_imm64 with every field given (kernel BPF_LD_IMM64_RAW_FULL). */
export function BPF_LD_IMM64_RAW_FULL(
  dst: number,
  src: number,
  off1: number,
  off2: number,
  imm1: number,
  imm2: number,
): [Insn, Insn] {
  return [make(BPF_LD | BPF_DW | BPF_IMM, dst, src, off1, imm1), make(0, 0, 0, off2, imm2)];
}

/** `dst = imm` as two slots, with src_reg as the pseudo source (0 for a constant). */
export function BPF_LD_IMM64_RAW(dst: number, src: number, imm: bigint | number): [Insn, Insn] {
  const v = u64(imm);
  return BPF_LD_IMM64_RAW_FULL(dst, src, 0, 0, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0);
}

/** `dst = imm ll` (a 64-bit constant, two slots). */
export function BPF_LD_IMM64(dst: number, imm: bigint | number): [Insn, Insn] {
  return BPF_LD_IMM64_RAW(dst, 0, imm);
}

/** `dst = map_by_fd(fd)` (BPF_PSEUDO_MAP_FD, two slots). */
export function BPF_LD_MAP_FD(dst: number, mapFd: number): [Insn, Insn] {
  return BPF_LD_IMM64_RAW_FULL(dst, BPF_PSEUDO_MAP_FD, 0, 0, mapFd, 0);
}

/** `dst = &value[0] + off` of the map with fd `mapFd` (BPF_PSEUDO_MAP_VALUE, two slots). */
export function BPF_LD_MAP_VALUE(dst: number, mapFd: number, valueOff: number): [Insn, Insn] {
  return BPF_LD_IMM64_RAW_FULL(dst, BPF_PSEUDO_MAP_VALUE, 0, 0, mapFd, valueOff);
}

// ---- legacy packet access ----

/** `r0 = *(size *)skb[imm]` (deprecated BPF_ABS). */
export function BPF_LD_ABS(size: number, imm: number): Insn {
  return make(BPF_LD | BPF_SIZE(size) | BPF_ABS, 0, 0, 0, imm);
}

/** `r0 = *(size *)skb[src + imm]` (deprecated BPF_IND). */
export function BPF_LD_IND(size: number, src: number, imm: number): Insn {
  return make(BPF_LD | BPF_SIZE(size) | BPF_IND, 0, src, 0, imm);
}

// ---- memory ----

/** `dst = *(size *)(src + off)`, zero-extended; src may be r12 (a stack argument). */
export function BPF_LDX_MEM(size: number, dst: number, src: number, off: number): Insn {
  return makeMem(BPF_LDX | BPF_SIZE(size) | BPF_MEM, { dst, src, base: "src" }, off, 0);
}

/** `dst = *(s<size> *)(src + off)`, sign-extended (cpu v4; B, H or W). */
export function BPF_LDX_MEMSX(size: number, dst: number, src: number, off: number): Insn {
  return make(BPF_LDX | BPF_SIZE(size) | BPF_MEMSX, dst, src, off, 0);
}

/** `*(size *)(dst + off) = src`; dst may be r12 (a stack argument). */
export function BPF_STX_MEM(size: number, dst: number, src: number, off: number): Insn {
  return makeMem(BPF_STX | BPF_SIZE(size) | BPF_MEM, { dst, src, base: "dst" }, off, 0);
}

/** `*(size *)(dst + off) = imm`; dst may be r12 (a stack argument). */
export function BPF_ST_MEM(size: number, dst: number, off: number, imm: number): Insn {
  return makeMem(BPF_ST | BPF_SIZE(size) | BPF_MEM, { dst, src: 0, base: "dst" }, off, imm);
}

/** Atomic `op` (BPF_ADD, BPF_AND | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG, ...) on `*(size *)(dst + off)` with src. */
export function BPF_ATOMIC_OP(size: number, op: number, dst: number, src: number, off: number): Insn {
  return make(BPF_STX | BPF_SIZE(size) | BPF_ATOMIC, dst, src, off, op);
}

/** Legacy `lock *(size *)(dst + off) += src`. */
export function BPF_STX_XADD(size: number, dst: number, src: number, off: number): Insn {
  return BPF_ATOMIC_OP(size, BPF_ADD, dst, src, off);
}

// ---- jumps and calls ----

/** `if dst op src goto pc+off` (64-bit compare). */
export function BPF_JMP_REG(op: number, dst: number, src: number, off: number): Insn {
  return make(BPF_JMP | BPF_OP(op) | BPF_X, dst, src, off, 0);
}

/** `if dst op imm goto pc+off` (64-bit compare, imm sign-extended). */
export function BPF_JMP_IMM(op: number, dst: number, imm: number, off: number): Insn {
  return make(BPF_JMP | BPF_OP(op) | BPF_K, dst, 0, off, imm);
}

/** `if wdst op wsrc goto pc+off` (32-bit compare). */
export function BPF_JMP32_REG(op: number, dst: number, src: number, off: number): Insn {
  return make(BPF_JMP32 | BPF_OP(op) | BPF_X, dst, src, off, 0);
}

/** `if wdst op imm goto pc+off` (32-bit compare). */
export function BPF_JMP32_IMM(op: number, dst: number, imm: number, off: number): Insn {
  return make(BPF_JMP32 | BPF_OP(op) | BPF_K, dst, 0, off, imm);
}

/** `goto pc+off`. */
export function BPF_JMP_A(off: number): Insn {
  return make(BPF_JMP | BPF_JA, 0, 0, off, 0);
}

/** `gotol pc+imm` (JMP32 | JA, 32-bit offset; cpu v4). */
export function BPF_JMP32_A(imm: number): Insn {
  return make(BPF_JMP32 | BPF_JA, 0, 0, 0, imm);
}

/** `call <helper>` by helper id (enum bpf_func_id), as tools/include/linux/filter.h encodes it. */
export function BPF_EMIT_CALL(helperId: number): Insn {
  return make(BPF_JMP | BPF_CALL, 0, 0, 0, helperId);
}

/** `call pc+imm`: bpf-to-bpf call (BPF_PSEUDO_CALL). */
export function BPF_CALL_REL(imm: number): Insn {
  return make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, imm);
}

/** kfunc call: imm = BTF id, off = index of the BTF fd in fd_array (0: vmlinux). */
export function BPF_CALL_KFUNC(off: number, imm: number): Insn {
  return make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, off, imm);
}

/** `exit`. */
export function BPF_EXIT_INSN(): Insn {
  return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}
