/**
 * The A64 code the `baseline` and `machine` sections run, as raw words.
 *
 * Hand-encoded (Arm ARM C6.2) rather than assembled, so that the benchmark
 * needs neither keystone nor the JIT's encoders; code.test.ts checks every
 * word against capstone. Little-endian words, 4 bytes each.
 *
 *   LOOP        subs x0, x0, #1          raw loop: x0 = iterations,
 *               b.ne LOOP                2 instructions per iteration
 *               ret                      (to the sentinel in lr)
 *
 *   HCALL       mov x20, x30             svc round trip: x19 = iterations,
 *            1: bl STUB_CONTINUE         5 instructions per round trip
 *               subs x19, x19, #1        (bl, svc, ret, subs, b.ne)
 *               b.ne 1b
 *               ret x20
 *
 *   BLOCK       mov x20, x30             the same loop around a blocking
 *            1: bl STUB_BLOCK            service: each call stops the CPU
 *               subs x19, x19, #1
 *               b.ne 1b
 *               ret x20
 *
 *   STUB_CONTINUE  svc #NR_CONTINUE; ret   the kernel's hypercall stubs
 *   STUB_BLOCK     svc #NR_BLOCK; ret
 */
import { EncodeError } from "../../../runtime/errors.js";

/** Offsets of the entry points inside the bench text page. */
export const LOOP_OFF = 0x00;
export const HCALL_OFF = 0x40;
export const BLOCK_OFF = 0x80;
export const STUB_CONTINUE_OFF = 0x100;
export const STUB_BLOCK_OFF = 0x108;

/** svc numbers of the two bench services. */
export const NR_CONTINUE = 0x7b0;
export const NR_BLOCK = 0x7b1;

/** Instructions one iteration of LOOP executes. */
export const LOOP_INSNS_PER_ITER = 2;
/** Instructions one round trip of HCALL executes. */
export const HCALL_INSNS_PER_ROUND_TRIP = 5;

/** Condition code NE (Arm ARM C1.2.4). */
const COND_NE = 0b0001;

function checkReg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 30) throw new EncodeError(`invalid register: x${r}`);
  return r;
}

function checkBranch(offset: number, bits: number): number {
  const limit = 2 ** (bits - 1);
  if (offset % 4 !== 0 || offset / 4 < -limit || offset / 4 >= limit) {
    throw new EncodeError(`branch offset out of range: ${offset}`);
  }
  return (offset / 4) & (2 ** bits - 1);
}

/** SUBS Xd, Xn, #imm12 (C6.2.368, 64-bit, no shift). */
export function subsImm(rd: number, rn: number, imm12: number): number {
  if (!Number.isInteger(imm12) || imm12 < 0 || imm12 > 0xfff) throw new EncodeError(`invalid immediate: ${imm12}`);
  return (0xf1000000 | (imm12 << 10) | (checkReg(rn) << 5) | checkReg(rd)) >>> 0;
}

/** B.cond to `offset` bytes from this instruction (C6.2.26). */
export function bCond(cond: number, offset: number): number {
  return (0x54000000 | (checkBranch(offset, 19) << 5) | (cond & 0xf)) >>> 0;
}

/** B.NE to `offset` bytes from this instruction. */
export function bNe(offset: number): number {
  return bCond(COND_NE, offset);
}

/** BL to `offset` bytes from this instruction (C6.2.34). */
export function bl(offset: number): number {
  return (0x94000000 | checkBranch(offset, 26)) >>> 0;
}

/** SVC #imm16 (C6.2.365). */
export function svc(imm16: number): number {
  if (!Number.isInteger(imm16) || imm16 < 0 || imm16 > 0xffff) throw new EncodeError(`invalid immediate: ${imm16}`);
  return (0xd4000001 | (imm16 << 5)) >>> 0;
}

/** RET Xn (C6.2.254), x30 by default. */
export function ret(rn = 30): number {
  return (0xd65f0000 | (checkReg(rn) << 5)) >>> 0;
}

/** MOV Xd, Xm, the alias of ORR Xd, XZR, Xm (C6.2.206). */
export function movReg(rd: number, rm: number): number {
  return (0xaa0003e0 | (checkReg(rm) << 16) | checkReg(rd)) >>> 0;
}

/** The raw loop alone (subs; b.ne), for the baseline's bare Unicorn instance. */
export function rawLoopWords(): number[] {
  return [subsImm(0, 0, 1), bNe(-4)];
}

/** A call loop around the stub at `stubOff`, placed at `off` (HCALL and BLOCK). */
function callLoopWords(off: number, stubOff: number): number[] {
  return [movReg(20, 30), bl(stubOff - (off + 4)), subsImm(19, 19, 1), bNe(-8), ret(20)];
}

/** Every program of the machine section, as (offset, words) pairs. */
export function benchPrograms(): ReadonlyArray<{ off: number; words: number[] }> {
  return [
    { off: LOOP_OFF, words: [...rawLoopWords(), ret()] },
    { off: HCALL_OFF, words: callLoopWords(HCALL_OFF, STUB_CONTINUE_OFF) },
    { off: BLOCK_OFF, words: callLoopWords(BLOCK_OFF, STUB_BLOCK_OFF) },
    { off: STUB_CONTINUE_OFF, words: [svc(NR_CONTINUE), ret()] },
    { off: STUB_BLOCK_OFF, words: [svc(NR_BLOCK), ret()] },
  ];
}

/** Words as little-endian bytes. */
export function wordsToBytes(words: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const dv = new DataView(bytes.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return bytes;
}
