/**
 * BPF opcode constants and the opcode decoder.
 *
 * Models include/uapi/linux/bpf_common.h and include/uapi/linux/bpf.h (the
 * `BPF_*` field values, register numbers, pseudo sources) and the opcode
 * layout of RFC 9669 §3–§5. Names are the uapi names, so a search finds both
 * worlds.
 *
 *   opcode byte, arithmetic and jump classes      load and store classes
 *
 *     7     4   3   2     0                         7   5 4  3 2     0
 *   +--------+-----+-------+                      +-----+----+-------+
 *   |   op   | src | class |                      |mode |size| class |
 *   +--------+-----+-------+                      +-----+----+-------+
 *    BPF_OP    BPF_SRC  BPF_CLASS                   BPF_MODE BPF_SIZE
 *
 * {@link opInfo} decodes an opcode byte into a tagged record once (a 256-entry
 * table), cilium/ebpf style: an opcode that does not exist gives the typed
 * `{ kind: "invalid" }` marker instead of throwing, so the verifier and the JIT
 * can switch on `kind` and report the error with their own context.
 *
 * Simplifications: the kernel-internal opcodes (BPF_PROBE_MEM, BPF_NOSPEC,
 * BPF_TAIL_CALL, BPF_JCOND/may_goto, addr_space_cast, load-acquire and
 * store-release) are not part of RFC 9669 and decode as invalid here.
 */

// ---- instruction classes (BPF_CLASS) ----
/** Class 0: non-standard loads (ld_imm64, legacy packet access). */
export const BPF_LD = 0x00;
/** Class 1: load into a register (`dst = *(size *)(src + off)`). */
export const BPF_LDX = 0x01;
/** Class 2: store an immediate. */
export const BPF_ST = 0x02;
/** Class 3: store a register; also the atomics. */
export const BPF_STX = 0x03;
/** Class 4: 32-bit arithmetic (results zero-extended). */
export const BPF_ALU = 0x04;
/** Class 5: 64-bit jumps, calls, exit. */
export const BPF_JMP = 0x05;
/** Class 6: 32-bit jumps (and gotol). */
export const BPF_JMP32 = 0x06;
/** Class 7: 64-bit arithmetic. */
export const BPF_ALU64 = 0x07;

// ---- load/store size (BPF_SIZE) ----
/** Size: 4 bytes. */
export const BPF_W = 0x00;
/** Size: 2 bytes. */
export const BPF_H = 0x08;
/** Size: 1 byte. */
export const BPF_B = 0x10;
/** Size: 8 bytes. */
export const BPF_DW = 0x18;

// ---- load/store mode (BPF_MODE) ----
/** Mode: 64-bit immediate (ld_imm64). */
export const BPF_IMM = 0x00;
/** Mode: legacy packet access, absolute. */
export const BPF_ABS = 0x20;
/** Mode: legacy packet access, indirect. */
export const BPF_IND = 0x40;
/** Mode: regular load/store. */
export const BPF_MEM = 0x60;
/** Mode: sign-extending load (cpu v4). */
export const BPF_MEMSX = 0x80;
/** Mode: atomic operation, the operation in imm. */
export const BPF_ATOMIC = 0xc0;
/** Legacy name of BPF_ATOMIC (`lock *(u32 *)(...) += r`). */
export const BPF_XADD = 0xc0;

// ---- source operand (BPF_SRC) ----
/** Source: the 32-bit immediate. */
export const BPF_K = 0x00;
/** Source: the src register. */
export const BPF_X = 0x08;

// ---- ALU operations (BPF_OP) ----
/** `dst += src`. */
export const BPF_ADD = 0x00;
/** `dst -= src`. */
export const BPF_SUB = 0x10;
/** `dst *= src`. */
export const BPF_MUL = 0x20;
/** `dst /= src` (unsigned; signed with off 1). */
export const BPF_DIV = 0x30;
/** `dst |= src`. */
export const BPF_OR = 0x40;
/** `dst &= src`. */
export const BPF_AND = 0x50;
/** `dst <<= src`. */
export const BPF_LSH = 0x60;
/** `dst >>= src` (logical). */
export const BPF_RSH = 0x70;
/** `dst = -dst`. */
export const BPF_NEG = 0x80;
/** `dst %= src` (unsigned; signed with off 1). */
export const BPF_MOD = 0x90;
/** `dst ^= src`. */
export const BPF_XOR = 0xa0;
/** `dst = src` (movsx with off 8/16/32). */
export const BPF_MOV = 0xb0;
/** `dst s>>= src` (arithmetic). */
export const BPF_ARSH = 0xc0;
/** Byte swap; width in imm. */
export const BPF_END = 0xd0;

/** BPF_END source bit: convert to little endian (also the ALU64 bswap encoding). */
export const BPF_TO_LE = 0x00;
/** BPF_END source bit: convert to big endian. */
export const BPF_TO_BE = 0x08;
/** Alias of BPF_TO_LE. */
export const BPF_FROM_LE = BPF_TO_LE;
/** Alias of BPF_TO_BE. */
export const BPF_FROM_BE = BPF_TO_BE;

// ---- jump operations (BPF_OP) ----
/** `goto pc+off` (JMP) / `gotol pc+imm` (JMP32). */
export const BPF_JA = 0x00;
/** `if dst == src`. */
export const BPF_JEQ = 0x10;
/** `if dst > src` (unsigned). */
export const BPF_JGT = 0x20;
/** `if dst >= src` (unsigned). */
export const BPF_JGE = 0x30;
/** `if dst & src`. */
export const BPF_JSET = 0x40;
/** `if dst != src`. */
export const BPF_JNE = 0x50;
/** `if dst s> src`. */
export const BPF_JSGT = 0x60;
/** `if dst s>= src`. */
export const BPF_JSGE = 0x70;
/** Helper, bpf-to-bpf or kfunc call (src_reg selects). */
export const BPF_CALL = 0x80;
/** Return r0. */
export const BPF_EXIT = 0x90;
/** `if dst < src` (unsigned). */
export const BPF_JLT = 0xa0;
/** `if dst <= src` (unsigned). */
export const BPF_JLE = 0xb0;
/** `if dst s< src`. */
export const BPF_JSLT = 0xc0;
/** `if dst s<= src`. */
export const BPF_JSLE = 0xd0;

// ---- atomic operations (in imm of BPF_STX | BPF_ATOMIC) ----
/** Modifier: the old value is written back to the source register. */
export const BPF_FETCH = 0x01;
/** Atomic exchange: src = old, memory = src. */
export const BPF_XCHG = 0xe0 | BPF_FETCH;
/** Atomic compare-and-exchange with r0: r0 = old; memory = src if old == r0. */
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;

// ---- src_reg of BPF_LD | BPF_IMM | BPF_DW (ld_imm64) ----
/** imm = map fd; dst = map pointer. */
export const BPF_PSEUDO_MAP_FD = 1;
/** imm = map fd, next imm = offset; dst = address of value 0 + offset. */
export const BPF_PSEUDO_MAP_VALUE = 2;
/** imm = BTF id of a kernel variable (ksym); dst = its address. */
export const BPF_PSEUDO_BTF_ID = 3;
/** imm = instruction offset of a subprogram; dst = its address (callbacks). */
export const BPF_PSEUDO_FUNC = 4;
/** imm = index into the program's fd_array; dst = map pointer. */
export const BPF_PSEUDO_MAP_IDX = 5;
/** imm = index into fd_array, next imm = offset; dst = value address + offset. */
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// ---- src_reg of BPF_JMP | BPF_CALL ----
/** imm = helper id (enum bpf_func_id). Not a uapi name: the helper case is src_reg 0. */
export const BPF_HELPER_CALL = 0;
/** imm = pc-relative offset of a bpf-to-bpf call. */
export const BPF_PSEUDO_CALL = 1;
/** imm = BTF id of a kfunc, off = index of its BTF fd (0: vmlinux). */
export const BPF_PSEUDO_KFUNC_CALL = 2;

// ---- registers ----
/** Return value of calls and of the program. */
export const BPF_REG_0 = 0;
/** Argument 1 (the context at entry). */
export const BPF_REG_1 = 1;
/** Argument 2. */
export const BPF_REG_2 = 2;
/** Argument 3. */
export const BPF_REG_3 = 3;
/** Argument 4. */
export const BPF_REG_4 = 4;
/** Argument 5. */
export const BPF_REG_5 = 5;
/** Callee-saved. */
export const BPF_REG_6 = 6;
/** Callee-saved. */
export const BPF_REG_7 = 7;
/** Callee-saved. */
export const BPF_REG_8 = 8;
/** Callee-saved. */
export const BPF_REG_9 = 9;
/** Frame pointer (read-only). */
export const BPF_REG_10 = 10;
/** Read-only frame pointer (include/linux/filter.h). */
export const BPF_REG_FP = BPF_REG_10;
/** Registers a program may name (r0–r10). */
export const MAX_BPF_REG = 11;
/**
 * The stack-argument base register r12 of the 2026 bpf-next series (v1,
 * "bpf: Introduce bpf register BPF_REG_STACK_ARG_BASE"): only the base of an
 * 8-byte load or store of arguments 6..12 (see stack_arg.ts). r11 stays the
 * kernel-internal BPF_REG_AX.
 */
export const BPF_REG_STACK_ARG_BASE = 12;
/** Arguments of a BPF function or kfunc passed in registers (r1–r5). */
export const MAX_BPF_FUNC_REG_ARGS = 5;
/** Arguments of a BPF function or kfunc, stack arguments included (include/linux/bpf.h). */
export const MAX_BPF_FUNC_ARGS = 12;

// ---- limits ----
/** Stack of one BPF frame, in bytes (include/linux/filter.h MAX_BPF_STACK). */
export const MAX_BPF_STACK = 512;
/** Deepest bpf-to-bpf call chain, main frame included (include/linux/bpf_verifier.h). */
export const MAX_CALL_FRAMES = 8;
/** Tail calls a chain may take (include/linux/bpf.h). */
export const MAX_TAIL_CALL_CNT = 33;
/** Largest program a privileged loader accepts (BPF_COMPLEXITY_LIMIT_INSNS). */
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;

// ---- field getters (bpf_common.h macros) ----

/** BPF_CLASS(code). */
export function BPF_CLASS(code: number): number {
  return code & 0x07;
}

/** BPF_SIZE(code). */
export function BPF_SIZE(code: number): number {
  return code & 0x18;
}

/** BPF_MODE(code). */
export function BPF_MODE(code: number): number {
  return code & 0xe0;
}

/** BPF_OP(code). */
export function BPF_OP(code: number): number {
  return code & 0xf0;
}

/** BPF_SRC(code). */
export function BPF_SRC(code: number): number {
  return code & 0x08;
}

/** Access width in bytes. */
export type AccessSize = 1 | 2 | 4 | 8;

/** Bytes moved by a BPF_SIZE value (BPF_W → 4, BPF_H → 2, BPF_B → 1, BPF_DW → 8). */
export function bpfSizeBytes(size: number): AccessSize {
  switch (size & 0x18) {
    case BPF_W:
      return 4;
    case BPF_H:
      return 2;
    case BPF_B:
      return 1;
    default:
      return 8;
  }
}

/** The BPF_SIZE value of an access width (4 → BPF_W ...). */
export function bytesToBpfSize(bytes: AccessSize): number {
  switch (bytes) {
    case 1:
      return BPF_B;
    case 2:
      return BPF_H;
    case 4:
      return BPF_W;
    case 8:
      return BPF_DW;
  }
}

// ---- decoded opcodes ----

/** Operand width of an arithmetic or jump class. */
export type Width = 32 | 64;

/**
 * An opcode byte decoded once. `kind` says which instruction family it is;
 * `invalid` marks a byte no RFC 9669 instruction uses.
 */
export type OpInfo =
  /** ALU/ALU64 except BPF_END: `op` is BPF_ADD..BPF_ARSH, `x` true for the register source. */
  | { readonly kind: "alu"; readonly code: number; readonly width: Width; readonly op: number; readonly x: boolean }
  /** BPF_END: `le`/`be` for ALU (htole/htobe), `swap` for ALU64 (bswap). */
  | { readonly kind: "end"; readonly code: number; readonly order: "le" | "be" | "swap" }
  /** Conditional jump: `op` is BPF_JEQ..BPF_JSLE. */
  | { readonly kind: "jcond"; readonly code: number; readonly width: Width; readonly op: number; readonly x: boolean }
  /** Unconditional jump: JMP uses off, JMP32 (gotol) uses imm. */
  | { readonly kind: "ja"; readonly code: number; readonly width: Width }
  | { readonly kind: "call"; readonly code: number }
  | { readonly kind: "exit"; readonly code: number }
  /** BPF_LD | BPF_IMM | BPF_DW: first slot of a two-slot ld_imm64. */
  | { readonly kind: "ldimm64"; readonly code: number }
  /** Legacy packet access, BPF_LD | BPF_ABS/BPF_IND (RFC 9669 "packet" group). */
  | { readonly kind: "ldpkt"; readonly code: number; readonly size: AccessSize; readonly indirect: boolean }
  /** BPF_LDX | BPF_MEM / BPF_MEMSX. */
  | { readonly kind: "ldx"; readonly code: number; readonly size: AccessSize; readonly signed: boolean }
  /** BPF_ST | BPF_MEM (store imm). */
  | { readonly kind: "st"; readonly code: number; readonly size: AccessSize }
  /** BPF_STX | BPF_MEM (store register). */
  | { readonly kind: "stx"; readonly code: number; readonly size: AccessSize }
  /** BPF_STX | BPF_ATOMIC, W or DW; the operation is in imm. */
  | { readonly kind: "atomic"; readonly code: number; readonly size: 4 | 8 }
  | { readonly kind: "invalid"; readonly code: number };

/** The kind tags of {@link OpInfo}. */
export type OpKind = OpInfo["kind"];

const ALU_OPS = new Set([
  BPF_ADD,
  BPF_SUB,
  BPF_MUL,
  BPF_DIV,
  BPF_OR,
  BPF_AND,
  BPF_LSH,
  BPF_RSH,
  BPF_NEG,
  BPF_MOD,
  BPF_XOR,
  BPF_MOV,
  BPF_ARSH,
]);

const JCOND_OPS = new Set([
  BPF_JEQ,
  BPF_JGT,
  BPF_JGE,
  BPF_JSET,
  BPF_JNE,
  BPF_JSGT,
  BPF_JSGE,
  BPF_JLT,
  BPF_JLE,
  BPF_JSLT,
  BPF_JSLE,
]);

function decodeAlu(code: number): OpInfo {
  const width: Width = BPF_CLASS(code) === BPF_ALU64 ? 64 : 32;
  const op = BPF_OP(code);
  const x = BPF_SRC(code) === BPF_X;
  if (op === BPF_END) {
    if (width === 32) return { kind: "end", code, order: x ? "be" : "le" };
    return x ? { kind: "invalid", code } : { kind: "end", code, order: "swap" };
  }
  if (!ALU_OPS.has(op) || (op === BPF_NEG && x)) return { kind: "invalid", code };
  return { kind: "alu", code, width, op, x };
}

function decodeJmp(code: number): OpInfo {
  const width: Width = BPF_CLASS(code) === BPF_JMP ? 64 : 32;
  const op = BPF_OP(code);
  const x = BPF_SRC(code) === BPF_X;
  if (op === BPF_JA) return x ? { kind: "invalid", code } : { kind: "ja", code, width };
  if (op === BPF_CALL) return x || width === 32 ? { kind: "invalid", code } : { kind: "call", code };
  if (op === BPF_EXIT) return x || width === 32 ? { kind: "invalid", code } : { kind: "exit", code };
  if (!JCOND_OPS.has(op)) return { kind: "invalid", code };
  return { kind: "jcond", code, width, op, x };
}

function decodeLdSt(code: number): OpInfo {
  const cls = BPF_CLASS(code);
  const mode = BPF_MODE(code);
  const size = bpfSizeBytes(BPF_SIZE(code));
  switch (cls) {
    case BPF_LD:
      if (mode === BPF_IMM && size === 8) return { kind: "ldimm64", code };
      if ((mode === BPF_ABS || mode === BPF_IND) && size !== 8) {
        return { kind: "ldpkt", code, size, indirect: mode === BPF_IND };
      }
      return { kind: "invalid", code };
    case BPF_LDX:
      if (mode === BPF_MEM) return { kind: "ldx", code, size, signed: false };
      if (mode === BPF_MEMSX && size !== 8) return { kind: "ldx", code, size, signed: true };
      return { kind: "invalid", code };
    case BPF_ST:
      return mode === BPF_MEM ? { kind: "st", code, size } : { kind: "invalid", code };
    default:
      if (mode === BPF_MEM) return { kind: "stx", code, size };
      if (mode === BPF_ATOMIC && (size === 4 || size === 8)) return { kind: "atomic", code, size };
      return { kind: "invalid", code };
  }
}

function decodeOpcode(code: number): OpInfo {
  switch (BPF_CLASS(code)) {
    case BPF_ALU:
    case BPF_ALU64:
      return decodeAlu(code);
    case BPF_JMP:
    case BPF_JMP32:
      return decodeJmp(code);
    default:
      return decodeLdSt(code);
  }
}

const OP_TABLE: readonly OpInfo[] = Array.from({ length: 256 }, (_, code) => Object.freeze(decodeOpcode(code)));

/**
 * The decoded form of an opcode byte; `{ kind: "invalid" }` when no RFC 9669
 * instruction has this opcode. Never throws for 0..255.
 */
export function opInfo(code: number): OpInfo {
  return OP_TABLE[code & 0xff];
}

/** True for the first slot of a ld_imm64 (`BPF_LD | BPF_IMM | BPF_DW`, opcode 0x18). */
export function isLdImm64Code(code: number): boolean {
  return code === (BPF_LD | BPF_IMM | BPF_DW);
}

/** The atomic operations of RFC 9669 §5.3 (values of imm). */
export const ATOMIC_OPS: readonly number[] = [
  BPF_ADD,
  BPF_OR,
  BPF_AND,
  BPF_XOR,
  BPF_ADD | BPF_FETCH,
  BPF_OR | BPF_FETCH,
  BPF_AND | BPF_FETCH,
  BPF_XOR | BPF_FETCH,
  BPF_XCHG,
  BPF_CMPXCHG,
];

/** True when imm is an atomic operation of RFC 9669. */
export function isAtomicOp(imm: number): boolean {
  return ATOMIC_OPS.includes(imm);
}
