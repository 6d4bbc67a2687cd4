/**
 * ALU and conditional-jump transfer functions (kernel/bpf/verifier.c
 * check_alu_op, adjust_ptr_min_max_vals, adjust_scalar_min_max_vals,
 * check_cond_jmp_op, is_branch_taken, mark_ptr_or_null_regs).
 *
 *   scalar op scalar     known constants fold (the interpreter's alu64/alu32),
 *                        anything else is an unknown scalar
 *   ptr ± const          moves the pointer's fixed offset
 *   ptr ± unknown        the pointer gets a variable offset
 *   ptr - ptr            a scalar (same kind of pointer)
 *   other ops on ptrs    refused with the kernel's messages
 *   if rX op Y           both constant: one branch; a pointer that cannot
 *                        be NULL against 0: one branch; a maybe-NULL
 *                        pointer against 0: both, each with the pointer
 *                        (and its copies) known NULL / not NULL
 */
import { EACCES, EINVAL } from "../../errno.js";
import { alu32, alu64, jcond32, jcond64 } from "../interp_alu.js";
import type { Insn } from "../insn.js";
import {
  BPF_ADD,
  BPF_AND,
  BPF_ARSH,
  BPF_DIV,
  BPF_JEQ,
  BPF_JNE,
  BPF_LSH,
  BPF_MOD,
  BPF_MOV,
  BPF_NEG,
  BPF_OR,
  BPF_RSH,
  BPF_SUB,
  BPF_XOR,
  type OpInfo,
} from "../opcodes.js";
import { checkDst, checkSrc, regs, reject, setReg, type Checker } from "./checker.js";
import { releaseOnNull } from "./references.js";
import { constScalar, isPointer, regTypeStr, UNKNOWN_SCALAR, type RegState } from "./reg_state.js";
import type { VerifierState } from "./state.js";

const OP_NAMES: Record<number, string> = {
  [BPF_AND]: "&=",
  [BPF_OR]: "|=",
  [BPF_XOR]: "^=",
  [BPF_LSH]: "<<=",
  [BPF_RSH]: ">>=",
  [BPF_ARSH]: "s>>=",
};

type AluInfo = Extract<OpInfo, { kind: "alu" }>;

function scalarOp(info: AluInfo, insn: Insn, dst: RegState, src: RegState): RegState {
  if (info.op === BPF_MOV) {
    if (src.value === undefined) return UNKNOWN_SCALAR;
    if (info.width === 64) return constScalar(alu64(BPF_MOV, 0n, src.value, insn.off));
    return constScalar(BigInt(alu32(BPF_MOV, 0, Number(src.value & 0xffffffffn), insn.off)));
  }
  if (dst.value === undefined || src.value === undefined) return UNKNOWN_SCALAR;
  if (info.width === 64) return constScalar(alu64(info.op, dst.value, src.value, insn.off));
  const r = alu32(info.op, Number(dst.value & 0xffffffffn), Number(src.value & 0xffffffffn), insn.off);
  return constScalar(BigInt(r >>> 0));
}

/** adjust_ptr_min_max_vals(): `dst op= src` where at least one is a pointer. */
function pointerOp(c: Checker, info: AluInfo, insn: Insn, dst: RegState, src: RegState): RegState {
  const dreg = insn.dst;
  if (info.width === 32) reject(c, `R${dreg} 32-bit pointer arithmetic prohibited`);
  const ptr = isPointer(dst) ? dst : src;
  const ptrReg = isPointer(dst) ? dreg : insn.src;
  const other = isPointer(dst) ? src : dst;
  if (info.op !== BPF_ADD && info.op !== BPF_SUB) {
    if (OP_NAMES[info.op]) reject(c, `R${dreg} bitwise operator ${OP_NAMES[info.op]} on pointer prohibited`);
    reject(c, `R${dreg} pointer arithmetic with ${info.op === BPF_NEG ? "neg" : "this"} operator prohibited`);
  }
  if (isPointer(dst) && isPointer(src)) {
    if (info.op === BPF_SUB && dst.type === src.type) return UNKNOWN_SCALAR;
    reject(c, `R${dreg} pointer ${info.op === BPF_ADD ? "+=" : "-="} pointer prohibited`);
  }
  if (info.op === BPF_SUB && !isPointer(dst)) reject(c, `R${dreg} tried to subtract pointer from scalar`);
  if (ptr.maybeNull) reject(c, `R${ptrReg} pointer arithmetic on ${regTypeStr(ptr)} prohibited, null-check it first`);
  if (ptr.type === "map_ptr" || ptr.type === "pkt_end" || ptr.type === "func") {
    reject(c, `R${ptrReg} pointer arithmetic on ${regTypeStr(ptr)} prohibited`);
  }
  if (other.value === undefined) return { ...ptr, varOff: true };
  const delta = Number(BigInt.asIntN(64, other.value));
  const off = info.op === BPF_ADD ? ptr.off + delta : ptr.off - delta;
  if (!Number.isSafeInteger(off) || Math.abs(off) >= 1 << 29) {
    reject(c, `value ${delta} makes ${regTypeStr(ptr)} pointer be out of bounds`);
  }
  return { ...ptr, off };
}

/** check_alu_op(). */
export function checkAlu(c: Checker, insn: Insn, info: AluInfo): void {
  const r = regs(c);
  if (info.op === BPF_NEG) {
    const d = checkSrc(c, insn.dst);
    checkDst(c, insn.dst);
    if (isPointer(d)) reject(c, `R${insn.dst} pointer arithmetic prohibited`);
    setReg(c, insn.dst, scalarOp(info, insn, d, d));
    return;
  }
  if ((info.op === BPF_DIV || info.op === BPF_MOD) && !info.x && insn.imm === 0) reject(c, "div by zero", EINVAL);
  if ((info.op === BPF_LSH || info.op === BPF_RSH || info.op === BPF_ARSH) && !info.x) {
    if (insn.imm < 0 || insn.imm >= info.width) reject(c, `invalid shift ${insn.imm}`, EINVAL);
  }
  const src = info.x ? checkSrc(c, insn.src) : constScalar(BigInt(insn.imm));
  if (info.op === BPF_MOV) {
    checkDst(c, insn.dst);
    if (isPointer(src)) {
      // 64-bit mov copies the pointer; 32-bit mov or movsx keeps only bits (privileged: a scalar).
      setReg(c, insn.dst, info.width === 64 && insn.off === 0 ? src : UNKNOWN_SCALAR);
    } else {
      setReg(c, insn.dst, scalarOp(info, insn, r[insn.dst], src));
    }
    return;
  }
  const dst = checkSrc(c, insn.dst);
  checkDst(c, insn.dst);
  if (isPointer(dst) || isPointer(src)) {
    setReg(c, insn.dst, pointerOp(c, info, insn, dst, src));
    return;
  }
  setReg(c, insn.dst, scalarOp(info, insn, dst, src));
}

/** BPF_END (byte swaps). */
export function checkEndian(c: Checker, insn: Insn, order: "le" | "be" | "swap"): void {
  const d = checkSrc(c, insn.dst);
  checkDst(c, insn.dst);
  if (isPointer(d)) reject(c, `R${insn.dst} pointer arithmetic prohibited`, EACCES);
  if (d.value === undefined) {
    setReg(c, insn.dst, UNKNOWN_SCALAR);
    return;
  }
  const width = BigInt(insn.imm);
  const v = d.value & ((1n << width) - 1n);
  if (order === "le") {
    setReg(c, insn.dst, constScalar(v));
    return;
  }
  let out = 0n;
  for (let b = 0n; b < width; b += 8n) out = (out << 8n) | ((v >> b) & 0xffn);
  setReg(c, insn.dst, constScalar(out));
}

type JcondInfo = Extract<OpInfo, { kind: "jcond" }>;

/** What a conditional jump does: one branch known, or both with their states refined. */
export type BranchOutcome = { readonly taken: boolean } | { readonly both: true };

/**
 * reg_not_null(): pointers the verifier knows are not NULL. Untrusted
 * PTR_TO_BTF_ID (tracing arguments) may be NULL: `if (!arg)` must stay.
 */
function nonNullPointer(r: RegState): boolean {
  return (
    isPointer(r) && !r.maybeNull && ["fp", "ctx", "map_value", "map_key", "map_ptr", "mem", "func"].includes(r.type)
  );
}

/** is_branch_taken(). */
export function isBranchTaken(info: JcondInfo, dst: RegState, src: RegState): boolean | undefined {
  if (dst.type === "scalar" && src.type === "scalar" && dst.value !== undefined && src.value !== undefined) {
    if (info.width === 64) return jcond64(info.op, dst.value, src.value);
    return jcond32(info.op, Number(dst.value & 0xffffffffn), Number(src.value & 0xffffffffn));
  }
  const [ptr, other] = nonNullPointer(dst) ? [dst, src] : nonNullPointer(src) ? [src, dst] : [undefined, undefined];
  if (ptr && other?.type === "scalar" && other.value === 0n && info.width === 64) {
    if (info.op === BPF_JEQ) return false;
    if (info.op === BPF_JNE) return true;
  }
  return undefined;
}

/** mark_ptr_or_null_regs(): every register and spill carrying pointer `id` becomes NULL or non-NULL. */
export function markPtrOrNull(state: VerifierState, id: number, isNull: boolean): void {
  if (isNull) releaseOnNull(state, id);
  const fix = (r: RegState): RegState => {
    if (!r.maybeNull || r.id !== id) return r;
    return isNull ? constScalar(0n) : { ...r, maybeNull: false };
  };
  for (const f of state.frames) {
    f.regs = f.regs.map(fix);
    for (const [k, s] of f.stack) if (s.kind === "spill") f.stack.set(k, { kind: "spill", reg: fix(s.reg) });
    for (const [k, r] of f.stackArgs) f.stackArgs.set(k, fix(r));
  }
}

/** check_cond_jmp_op(): the operands' checks and the branch outcome. */
export function checkCondJmp(
  c: Checker,
  insn: Insn,
  info: JcondInfo,
): { dst: RegState; src: RegState; taken?: boolean } {
  const dst = checkSrc(c, insn.dst);
  const src = info.x
    ? checkSrc(c, insn.src)
    : constScalar(info.width === 32 ? BigInt(insn.imm >>> 0) : BigInt(insn.imm));
  return { dst, src, taken: isBranchTaken(info, dst, src) };
}

/**
 * Refine `state` for the branch where `if dst op src` is `taken`:
 * maybe-NULL pointers compared with 0, scalars compared for equality.
 */
export function refineBranch(
  state: VerifierState,
  insn: Insn,
  info: JcondInfo,
  taken: boolean,
  ops: { dst: RegState; src: RegState },
): void {
  const { dst, src } = ops;
  const eqHolds = (info.op === BPF_JEQ && taken) || (info.op === BPF_JNE && !taken);
  const neHolds = (info.op === BPF_JEQ && !taken) || (info.op === BPF_JNE && taken);
  if (!eqHolds && !neHolds) return;
  const frame = state.frames[state.frames.length - 1];
  const zero = (r: RegState) => r.type === "scalar" && r.value === 0n;
  if (info.width === 64 && dst.maybeNull && zero(src)) markPtrOrNull(state, dst.id, eqHolds);
  else if (info.width === 64 && info.x && src.maybeNull && zero(dst)) markPtrOrNull(state, src.id, eqHolds);
  else if (eqHolds && info.width === 64 && dst.type === "scalar" && src.type === "scalar") {
    if (dst.value === undefined && src.value !== undefined) frame.regs[insn.dst] = constScalar(src.value);
    else if (info.x && src.value === undefined && dst.value !== undefined)
      frame.regs[insn.src] = constScalar(dst.value);
  }
}
