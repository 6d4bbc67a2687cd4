/**
 * A BPF program prepared for the reference interpreter (interp.ts): validated
 * once (codec.ts validateInsns) and decoded into flat per-slot arrays, so the
 * interpreter loop never looks at an Insn object, decodes an opcode or
 * converts an immediate to bigint. Kernel counterpart: none (the kernel's
 * interpreter jumps through a table on the raw opcode); this is the
 * "precomputed decoded array" of the design.
 *
 *   slot i:  kind[i]  operation tag (OP_*)
 *            op[i]    BPF_OP for ALU/JMP, access bytes for memory, END width
 *            x[i]     1 for a register source
 *            dst/src/off/imm, immU64 (imm sign-extended, as u64), offBig,
 *            ldImm (the 64-bit constant of a src=0 ld_imm64), order (END)
 *
 * Loads and stores through r12 (stack arguments, stack_arg.ts) get their own
 * tags (OP_SA_*): they address the current frame's stack-argument area, not
 * memory.
 */
import { validateInsns, type ProgLayout } from "./codec.js";
import type { Insn } from "./insn.js";
import { InsnError } from "./insn_error.js";
import * as O from "./opcodes.js";
import { stackArgAccess } from "./stack_arg.js";

// Per-slot operation tags of a prepared program.
/** ALU64 operation. */
export const OP_ALU64 = 1;
/** ALU operation. */
export const OP_ALU32 = 2;
/** BPF_END (le/be/bswap). */
export const OP_END = 3;
/** 64-bit conditional jump. */
export const OP_JCOND64 = 4;
/** 32-bit conditional jump. */
export const OP_JCOND32 = 5;
/** goto / gotol. */
export const OP_JA = 6;
/** Call (helper, bpf-to-bpf, kfunc). */
export const OP_CALL = 7;
/** exit. */
export const OP_EXIT = 8;
/** First slot of ld_imm64. */
export const OP_LDIMM64 = 9;
/** Zero-extending load. */
export const OP_LDX = 10;
/** Sign-extending load. */
export const OP_LDXSX = 11;
/** Store immediate. */
export const OP_ST = 12;
/** Store register. */
export const OP_STX = 13;
/** Atomic operation. */
export const OP_ATOMIC = 14;
/** Legacy packet access. */
export const OP_LDPKT = 15;
/** Second slot of ld_imm64 (never executed). */
export const OP_SECOND = 16;
/** Load of a stack argument (`dst = *(u64 *)(r12 off)`, stack_arg.ts). */
export const OP_SA_LDX = 17;
/** Store of an immediate into a stack argument. */
export const OP_SA_ST = 18;
/** Store of a register into a stack argument. */
export const OP_SA_STX = 19;

/** Options of {@link prepareProg}. */
export interface PrepareOptions {
  /**
   * incoming_stack_arg_depth of each function, by its first slot (the
   * verifier's SubprogInfo); functions not listed take no stack arguments.
   */
  readonly incomingStackArgDepth?: ReadonlyMap<number, number>;
}

/**
 * A validated program decoded into flat arrays for the interpreter loop.
 * Build it once with {@link prepareProg} and run it many times.
 */
export interface PreparedProg {
  readonly insns: readonly Insn[];
  readonly layout: ProgLayout;
  /** Operation tag per slot (OP_*). */
  readonly kind: Uint8Array;
  /** BPF_OP for ALU/JMP, the access size in bytes for memory operations, END width. */
  readonly op: Uint8Array;
  /** 1 when the source is a register (BPF_X). */
  readonly x: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly off: Int32Array;
  readonly imm: Int32Array;
  /** imm sign-extended to 64 bits, as u64. */
  readonly immU64: readonly bigint[];
  /** off as bigint (address arithmetic). */
  readonly offBig: readonly bigint[];
  /** The constant of each src=0 ld_imm64 (0n elsewhere). */
  readonly ldImm: readonly bigint[];
  /** END order per slot: 0 le, 1 be, 2 swap. */
  readonly order: Uint8Array;
  /** incoming_stack_arg_depth by function start (see PrepareOptions). */
  readonly incomingStackArgDepth: ReadonlyMap<number, number>;
}

/**
 * Validate `insns` (validateInsns) and decode them for the interpreter;
 * `opts` gives the functions' stack-argument depths.
 */
export function prepareProg(insns: readonly Insn[], opts: PrepareOptions = {}): PreparedProg {
  const layout = validateInsns(insns);
  const n = insns.length;
  const p = {
    insns,
    layout,
    kind: new Uint8Array(n),
    op: new Uint8Array(n),
    x: new Uint8Array(n),
    dst: new Uint8Array(n),
    src: new Uint8Array(n),
    off: new Int32Array(n),
    imm: new Int32Array(n),
    immU64: new Array<bigint>(n),
    offBig: new Array<bigint>(n),
    ldImm: new Array<bigint>(n).fill(0n),
    order: new Uint8Array(n),
    incomingStackArgDepth: opts.incomingStackArgDepth ?? new Map<number, number>(),
  };
  for (let i = 0; i < n; i++) {
    const insn = insns[i];
    p.dst[i] = insn.dst;
    p.src[i] = insn.src;
    p.off[i] = insn.off;
    p.imm[i] = insn.imm;
    p.immU64[i] = BigInt.asUintN(64, BigInt(insn.imm));
    p.offBig[i] = BigInt(insn.off);
    const info = O.opInfo(insn.code);
    switch (info.kind) {
      case "alu":
        p.kind[i] = info.width === 64 ? OP_ALU64 : OP_ALU32;
        p.op[i] = info.op;
        p.x[i] = info.x ? 1 : 0;
        break;
      case "end":
        p.kind[i] = OP_END;
        p.op[i] = insn.imm;
        p.order[i] = info.order === "le" ? 0 : info.order === "be" ? 1 : 2;
        break;
      case "jcond":
        p.kind[i] = info.width === 64 ? OP_JCOND64 : OP_JCOND32;
        p.op[i] = info.op;
        p.x[i] = info.x ? 1 : 0;
        break;
      case "ja":
        p.kind[i] = OP_JA;
        p.op[i] = info.width; // 64: off, 32: imm
        break;
      case "call":
        p.kind[i] = OP_CALL;
        break;
      case "exit":
        p.kind[i] = OP_EXIT;
        break;
      case "ldimm64":
        p.kind[i] = OP_LDIMM64;
        p.ldImm[i] = (BigInt(insns[i + 1].imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
        p.kind[i + 1] = OP_SECOND;
        i++;
        p.immU64[i] = BigInt.asUintN(64, BigInt(insns[i].imm));
        p.offBig[i] = 0n;
        break;
      case "ldx":
        p.kind[i] = stackArgAccess(insn) ? OP_SA_LDX : info.signed ? OP_LDXSX : OP_LDX;
        p.op[i] = info.size;
        break;
      case "st":
        p.kind[i] = stackArgAccess(insn) ? OP_SA_ST : OP_ST;
        p.op[i] = info.size;
        break;
      case "stx":
        p.kind[i] = stackArgAccess(insn) ? OP_SA_STX : OP_STX;
        p.op[i] = info.size;
        break;
      case "atomic":
        p.kind[i] = OP_ATOMIC;
        p.op[i] = info.size;
        break;
      case "ldpkt":
        p.kind[i] = OP_LDPKT;
        break;
      case "invalid":
        throw new InsnError("unknown opcode", { at: { insns, index: i } }); // validateInsns() rejects these first
    }
  }
  return p;
}
