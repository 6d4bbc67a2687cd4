/**
 * Arithmetic, byte-swap and compare semantics of RFC 9669 §4 as small pure
 * functions: the reference the interpreter (interp.ts) executes and the JIT
 * is differential-tested against. Kernel counterpart: the ALU and JMP cases
 * of ___bpf_prog_run() in kernel/bpf/core.c.
 *
 *   64-bit values are bigint in 0..2^64-1; 32-bit values are number in 0..2^32-1.
 *
 *   div  by 0  → 0                         sdiv INT_MIN / -1 → INT_MIN
 *   mod  by 0  → dst unchanged             smod INT_MIN % -1 → 0
 *               (ALU: the upper half is zeroed by the caller's zero-extension)
 *   shifts     amount & 63 (ALU64) / & 31 (ALU)
 *   signed %   truncated (C semantics: -13 % 3 == -1)
 *   movsx      off 8/16/32: sign-extend the low off bits of src
 *   K operand  ALU64: imm sign-extended to 64 bits (also for unsigned div/mod);
 *              ALU: imm as u32 (as s32 for sdiv/smod)
 *
 * These run once per executed instruction, so they take their operands
 * positionally (no options object, no allocation), like the kernel's ALU macros.
 */
import * as O from "./opcodes.js";

// Opcode values copied into module constants: imported bindings are slower in the hot
// switch statements under some loaders (tsx compiles them to getters).
const BPF_ADD = O.BPF_ADD;
const BPF_AND = O.BPF_AND;
const BPF_ARSH = O.BPF_ARSH;
const BPF_DIV = O.BPF_DIV;
const BPF_JEQ = O.BPF_JEQ;
const BPF_JGE = O.BPF_JGE;
const BPF_JGT = O.BPF_JGT;
const BPF_JLE = O.BPF_JLE;
const BPF_JLT = O.BPF_JLT;
const BPF_JNE = O.BPF_JNE;
const BPF_JSET = O.BPF_JSET;
const BPF_JSGE = O.BPF_JSGE;
const BPF_JSGT = O.BPF_JSGT;
const BPF_JSLE = O.BPF_JSLE;
const BPF_JSLT = O.BPF_JSLT;
const BPF_LSH = O.BPF_LSH;
const BPF_MOD = O.BPF_MOD;
const BPF_MOV = O.BPF_MOV;
const BPF_MUL = O.BPF_MUL;
const BPF_NEG = O.BPF_NEG;
const BPF_OR = O.BPF_OR;
const BPF_RSH = O.BPF_RSH;
const BPF_SUB = O.BPF_SUB;
const BPF_XOR = O.BPF_XOR;

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const S64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/**
 * `dst op src` on 64-bit operands (ALU64). `off` is 1 for sdiv/smod and the
 * source width (8/16/32) for movsx, else 0. NEG ignores `src`.
 */
export function alu64(op: number, dst: bigint, src: bigint, off: number): bigint {
  switch (op) {
    case BPF_ADD:
      return U64(dst + src);
    case BPF_SUB:
      return U64(dst - src);
    case BPF_MUL:
      return U64(dst * src);
    case BPF_DIV:
      if (src === 0n) return 0n;
      return off === 1 ? U64(S64(dst) / S64(src)) : dst / src;
    case BPF_MOD:
      if (src === 0n) return dst;
      return off === 1 ? U64(S64(dst) % S64(src)) : dst % src;
    case BPF_OR:
      return dst | src;
    case BPF_AND:
      return dst & src;
    case BPF_XOR:
      return dst ^ src;
    case BPF_LSH:
      return U64(dst << (src & 63n));
    case BPF_RSH:
      return dst >> (src & 63n);
    case BPF_ARSH:
      return U64(S64(dst) >> (src & 63n));
    case BPF_NEG:
      return U64(-dst);
    case BPF_MOV:
      return off === 0 ? src : U64(BigInt.asIntN(off, src));
    default:
      throw new RangeError(`not an ALU operation: 0x${op.toString(16)}`);
  }
}

/**
 * `wdst op wsrc` on 32-bit operands (ALU); the result is a u32 the caller
 * zero-extends. `off` as for alu64 (movsx: 8 or 16).
 */
export function alu32(op: number, dst: number, src: number, off: number): number {
  switch (op) {
    case BPF_ADD:
      return (dst + src) >>> 0;
    case BPF_SUB:
      return (dst - src) >>> 0;
    case BPF_MUL:
      return Math.imul(dst, src) >>> 0;
    case BPF_DIV:
      if (src === 0) return 0;
      return off === 1 ? Math.trunc((dst | 0) / (src | 0)) >>> 0 : Math.floor(dst / src);
    case BPF_MOD:
      if (src === 0) return dst;
      return off === 1 ? ((dst | 0) % (src | 0)) >>> 0 : dst % src;
    case BPF_OR:
      return (dst | src) >>> 0;
    case BPF_AND:
      return (dst & src) >>> 0;
    case BPF_XOR:
      return (dst ^ src) >>> 0;
    case BPF_LSH:
      return (dst << (src & 31)) >>> 0;
    case BPF_RSH:
      return dst >>> (src & 31);
    case BPF_ARSH:
      return ((dst | 0) >> (src & 31)) >>> 0;
    case BPF_NEG:
      return -dst >>> 0;
    case BPF_MOV:
      if (off === 8) return ((src << 24) >> 24) >>> 0;
      if (off === 16) return ((src << 16) >> 16) >>> 0;
      return src;
    default:
      throw new RangeError(`not an ALU operation: 0x${op.toString(16)}`);
  }
}

/** bswap16 of the low 16 bits. */
export function bswap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

/** bswap32 of a u32. */
export function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** bswap64 of a u64. */
export function bswap64(v: bigint): bigint {
  const lo = Number(v & 0xffffffffn);
  const hi = Number(v >> 32n);
  return (BigInt(bswap32(lo)) << 32n) | BigInt(bswap32(hi));
}

/**
 * BPF_END on a little-endian machine: `le` truncates to the width (htole is
 * the identity), `be` and `swap` (ALU64 bswap) reverse the low `width` bits;
 * every result is zero-extended to 64 bits.
 */
export function endian(order: "le" | "be" | "swap", width: number, v: bigint): bigint {
  if (order === "le") {
    if (width === 16) return v & 0xffffn;
    if (width === 32) return v & 0xffffffffn;
    return v;
  }
  if (width === 16) return BigInt(bswap16(Number(v & 0xffffn)));
  if (width === 32) return BigInt(bswap32(Number(v & 0xffffffffn)));
  return bswap64(v);
}

/** The condition of a 64-bit conditional jump (JMP class), operands as u64. */
export function jcond64(op: number, dst: bigint, src: bigint): boolean {
  switch (op) {
    case BPF_JEQ:
      return dst === src;
    case BPF_JNE:
      return dst !== src;
    case BPF_JGT:
      return dst > src;
    case BPF_JGE:
      return dst >= src;
    case BPF_JLT:
      return dst < src;
    case BPF_JLE:
      return dst <= src;
    case BPF_JSET:
      return (dst & src) !== 0n;
    case BPF_JSGT:
      return S64(dst) > S64(src);
    case BPF_JSGE:
      return S64(dst) >= S64(src);
    case BPF_JSLT:
      return S64(dst) < S64(src);
    case BPF_JSLE:
      return S64(dst) <= S64(src);
    default:
      throw new RangeError(`not a conditional jump: 0x${op.toString(16)}`);
  }
}

/** The condition of a 32-bit conditional jump (JMP32 class), operands as u32. */
export function jcond32(op: number, dst: number, src: number): boolean {
  switch (op) {
    case BPF_JEQ:
      return dst === src;
    case BPF_JNE:
      return dst !== src;
    case BPF_JGT:
      return dst > src;
    case BPF_JGE:
      return dst >= src;
    case BPF_JLT:
      return dst < src;
    case BPF_JLE:
      return dst <= src;
    case BPF_JSET:
      return (dst & src) !== 0;
    case BPF_JSGT:
      return (dst | 0) > (src | 0);
    case BPF_JSGE:
      return (dst | 0) >= (src | 0);
    case BPF_JSLT:
      return (dst | 0) < (src | 0);
    case BPF_JSLE:
      return (dst | 0) <= (src | 0);
    default:
      throw new RangeError(`not a conditional jump: 0x${op.toString(16)}`);
  }
}
