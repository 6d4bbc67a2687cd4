/**
 * BPF wire format: encode and decode whole programs to and from the 8-byte
 * little-endian `struct bpf_insn` slots (RFC 9669 §3.1), and the structural
 * validation every consumer (verifier, JIT, interpreter) relies on.
 *
 *   slot i at byte 8*i:  code | src<<4 | dst | off (LE s16) | imm (LE s32)
 *
 * validateInsns() checks what the instruction stream alone decides, in the
 * order the kernel does (bpf_check: resolve_pseudo_ldimm64, check_subprogs,
 * then the per-instruction reserved-field checks of do_check):
 *
 *   1. size        1..BPF_COMPLEXITY_LIMIT_INSNS slots (E2BIG beyond)
 *   2. each insn   known opcode, registers r0–r10 (r12 only as the base of a
 *                  stack-argument load or store, stack_arg.ts), reserved fields zero,
 *                  END width 16/32/64, div/mod off 0|1, movsx off 8/16(/32),
 *                  atomic op known, ld_imm64 complete with a zero second slot
 *   3. subprogs    starts = {0} ∪ bpf-to-bpf call targets ∪ BPF_PSEUDO_FUNC targets
 *   4. jumps       inside the program, not into a ld_imm64's second slot,
 *                  not out of their subprogram
 *   5. ends        each subprogram ends in exit or an unconditional jump
 *
 * Simplifications: what needs the verifier's abstract state (uninitialised
 * registers, writes to r10, stack bounds, unreachable code, loops, out-of-range
 * immediate shifts or division by an immediate 0, which RFC 9669 defines) is
 * not checked here.
 */
import { E2BIG, EINVAL } from "../errno.js";
import { isWellFormedInsn, type Insn } from "./insn.js";
import { InsnError } from "./insn_error.js";
import {
  BPF_COMPLEXITY_LIMIT_INSNS,
  BPF_DIV,
  BPF_MOD,
  BPF_MOV,
  BPF_NEG,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_REG_STACK_ARG_BASE,
  MAX_BPF_REG,
  isAtomicOp,
  opInfo,
  type OpInfo,
} from "./opcodes.js";

/** Bytes per instruction slot. */
export const BPF_INSN_SIZE = 8;

/** Write one slot at `offset` of `view` (little-endian). Fields must be in range. */
function encodeInsnAt(insn: Insn, view: DataView, offset: number): void {
  view.setUint8(offset, insn.code);
  view.setUint8(offset + 1, ((insn.src & 0xf) << 4) | (insn.dst & 0xf));
  view.setInt16(offset + 2, insn.off, true);
  view.setInt32(offset + 4, insn.imm, true);
}

/** Read one slot at `offset` of `view` (little-endian). */
function decodeInsnAt(view: DataView, offset: number): Insn {
  const regs = view.getUint8(offset + 1);
  return {
    code: view.getUint8(offset),
    dst: regs & 0xf,
    src: regs >> 4,
    off: view.getInt16(offset + 2, true),
    imm: view.getInt32(offset + 4, true),
  };
}

/**
 * The wire bytes of a program (8 bytes per slot). Throws InsnError(EINVAL)
 * naming the slot when a field is outside its range (code u8, regs 0..15,
 * off s16, imm s32). Does not validate semantics; see validateInsns().
 */
export function encodeInsns(insns: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * BPF_INSN_SIZE);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    if (!isWellFormedInsn(insn))
      throw new InsnError(`field out of range: ${fieldsText(insn)}`, { at: { insns, index: i } });
    encodeInsnAt(insn, view, i * BPF_INSN_SIZE);
  }
  return bytes;
}

/** Options of decodeInsns(). */
export interface DecodeOptions {
  /** Run validateInsns() on the result (default true). */
  validate?: boolean;
}

/**
 * Decode wire bytes into slots. The length must be a multiple of 8; the
 * program is validated unless `validate: false`.
 */
export function decodeInsns(bytes: Uint8Array, opts: DecodeOptions = {}): Insn[] {
  if (bytes.length % BPF_INSN_SIZE !== 0) {
    throw new InsnError(`truncated program: ${bytes.length} bytes is not a multiple of ${BPF_INSN_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const insns: Insn[] = [];
  for (let off = 0; off < bytes.length; off += BPF_INSN_SIZE) insns.push(decodeInsnAt(view, off));
  if (opts.validate ?? true) validateInsns(insns);
  return insns;
}

function fieldsText(insn: Insn): string {
  return `code=${insn.code} dst=${insn.dst} src=${insn.src} off=${insn.off} imm=${insn.imm}`;
}

/** What validation learned about the program's layout. */
export interface ProgLayout {
  /** Slot index of each subprogram's first instruction, ascending; [0] is the main program. */
  readonly subprogs: readonly number[];
}

type Fail = (reason: string, errno?: number) => never;

/**
 * The one register check: r0–r10 anywhere; r12 (BPF_REG_STACK_ARG_BASE)
 * only where `stackArgBase` says the operand is the base of a BPF_MEM load
 * or store (stack_arg.ts); "invalid register: r%d" otherwise.
 */
function checkReg(reg: number, fail: Fail, stackArgBase = false): void {
  if (reg < MAX_BPF_REG || (stackArgBase && reg === BPF_REG_STACK_ARG_BASE)) return;
  fail(`invalid register: r${reg}`);
}

function zero(insn: Insn, fields: readonly ("dst" | "src" | "off" | "imm")[], fail: Fail): void {
  for (const f of fields) if (insn[f] !== 0) fail(`reserved field set: ${f}=${insn[f]}`);
}

function checkAlu(insn: Insn, info: Extract<OpInfo, { kind: "alu" }>, fail: Fail): void {
  checkReg(insn.dst, fail);
  if (info.op === BPF_NEG) return zero(insn, ["src", "off", "imm"], fail);
  zero(insn, info.x ? ["imm"] : ["src"], fail);
  if (info.x) checkReg(insn.src, fail);
  if (info.op === BPF_DIV || info.op === BPF_MOD) {
    if (insn.off !== 0 && insn.off !== 1) fail(`invalid div/mod offset: ${insn.off} (must be 0 or 1)`);
  } else if (info.op === BPF_MOV && info.x) {
    const ok = insn.off === 0 || insn.off === 8 || insn.off === 16 || (insn.off === 32 && info.width === 64);
    if (!ok) fail(`invalid movsx offset: ${insn.off} (must be ${info.width === 64 ? "0, 8, 16 or 32" : "0, 8 or 16"})`);
  } else {
    zero(insn, ["off"], fail);
  }
}

function checkLdImm64(insns: readonly Insn[], i: number, fail: Fail): void {
  const insn = insns[i];
  checkReg(insn.dst, fail);
  zero(insn, ["off"], fail);
  if (insn.src > BPF_PSEUDO_MAP_IDX_VALUE) fail(`invalid ld_imm64 source: ${insn.src}`);
  const next = insns[i + 1];
  if (!next) fail("ld_imm64 without its second slot");
  if (!isWellFormedInsn(next)) fail(`field out of range in ld_imm64 second slot: ${fieldsText(next)}`);
  for (const f of ["code", "dst", "src", "off"] as const) {
    if (next[f] !== 0) fail(`reserved field set in ld_imm64 second slot: ${f}=${next[f]}`);
  }
  if ((insn.src === BPF_PSEUDO_MAP_FD || insn.src === BPF_PSEUDO_MAP_IDX) && next.imm !== 0) {
    fail(`reserved field set in ld_imm64 second slot: imm=${next.imm}`);
  }
}

/** Reserved-field and operand checks of one instruction (step 2). */
function checkInsn(insns: readonly Insn[], i: number, fail: Fail): void {
  const insn = insns[i];
  if (!isWellFormedInsn(insn)) fail(`field out of range: ${fieldsText(insn)}`);
  const info = opInfo(insn.code);
  switch (info.kind) {
    case "invalid":
      // The kernel's wording (verifier do_check, arm64 build_insn): "unknown opcode %02x".
      return fail(`unknown opcode ${insn.code.toString(16).padStart(2, "0")}`);
    case "alu":
      return checkAlu(insn, info, fail);
    case "end":
      checkReg(insn.dst, fail);
      zero(insn, ["src", "off"], fail);
      if (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) fail(`invalid byte swap width: ${insn.imm}`);
      return;
    case "jcond":
      checkReg(insn.dst, fail);
      if (info.x) checkReg(insn.src, fail);
      return zero(insn, info.x ? ["imm"] : ["src"], fail);
    case "ja":
      return zero(insn, info.width === 64 ? ["dst", "src", "imm"] : ["dst", "src", "off"], fail);
    case "call":
      zero(insn, ["dst"], fail);
      if (insn.src > BPF_PSEUDO_KFUNC_CALL) fail(`invalid call source: ${insn.src}`);
      if (insn.src !== BPF_PSEUDO_KFUNC_CALL) zero(insn, ["off"], fail);
      return;
    case "exit":
      return zero(insn, ["dst", "src", "off", "imm"], fail);
    case "ldimm64":
      return checkLdImm64(insns, i, fail);
    case "ldpkt":
      zero(insn, info.indirect ? ["dst", "off"] : ["dst", "src", "off"], fail);
      return checkReg(insn.src, fail);
    case "ldx":
      checkReg(insn.dst, fail);
      checkReg(insn.src, fail, !info.signed);
      return zero(insn, ["imm"], fail);
    case "st":
      checkReg(insn.dst, fail, true);
      return zero(insn, ["src"], fail);
    case "stx":
      checkReg(insn.dst, fail, true);
      checkReg(insn.src, fail);
      return zero(insn, ["imm"], fail);
    case "atomic":
      checkReg(insn.dst, fail);
      checkReg(insn.src, fail);
      if (!isAtomicOp(insn.imm)) fail(`invalid atomic operation: 0x${(insn.imm >>> 0).toString(16)}`);
      return;
  }
}

/** Slot index a jump, call or function pointer at `i` refers to, or undefined. */
export function branchTarget(insn: Insn, i: number): number | undefined {
  const info = opInfo(insn.code);
  switch (info.kind) {
    case "jcond":
      return i + 1 + insn.off;
    case "ja":
      return i + 1 + (info.width === 64 ? insn.off : insn.imm);
    case "call":
      return insn.src === BPF_PSEUDO_CALL ? i + 1 + insn.imm : undefined;
    case "ldimm64":
      return insn.src === BPF_PSEUDO_FUNC ? i + 1 + insn.imm : undefined;
    default:
      return undefined;
  }
}

function isCallOrFunc(insn: Insn): boolean {
  const kind = opInfo(insn.code).kind;
  return (kind === "call" && insn.src === BPF_PSEUDO_CALL) || (kind === "ldimm64" && insn.src === BPF_PSEUDO_FUNC);
}

/**
 * Check a program's structure (see the file header); throws the first
 * problem as an InsnError naming the slot and its text, EINVAL, or E2BIG for
 * a program beyond BPF_COMPLEXITY_LIMIT_INSNS. Returns the subprogram starts.
 */
export function validateInsns(insns: readonly Insn[]): ProgLayout {
  if (insns.length === 0) throw new InsnError("empty program");
  if (insns.length > BPF_COMPLEXITY_LIMIT_INSNS) {
    throw new InsnError(`program too large: ${insns.length} insns (max ${BPF_COMPLEXITY_LIMIT_INSNS})`, {
      errno: E2BIG,
    });
  }
  const failAt =
    (index: number): Fail =>
    (reason: string, errno = EINVAL) => {
      throw new InsnError(reason, { errno, at: { insns, index } });
    };
  // Step 2, remembering which slots are ld_imm64 second halves.
  const secondSlot = new Uint8Array(insns.length);
  for (let i = 0; i < insns.length; i++) {
    checkInsn(insns, i, failAt(i));
    if (opInfo(insns[i].code).kind === "ldimm64") secondSlot[++i] = 1;
  }
  // Step 3: subprogram starts.
  const starts = new Set<number>([0]);
  forEachInsn(insns, (i) => {
    if (!isCallOrFunc(insns[i])) return;
    const t = branchTarget(insns[i], i)!;
    if (t < 0 || t >= insns.length) failAt(i)(`call target out of range: ${t}`);
    if (secondSlot[t]) failAt(i)(`call into the middle of ld_imm64: target ${t}`);
    starts.add(t);
  });
  const subprogs = [...starts].sort((a, b) => a - b);
  // Steps 4 and 5, one subprogram at a time.
  for (let s = 0; s < subprogs.length; s++) {
    const start = subprogs[s];
    const end = s + 1 < subprogs.length ? subprogs[s + 1] : insns.length;
    checkSubprog(insns, { start, end, secondSlot }, failAt);
  }
  return { subprogs };
}

function forEachInsn(insns: readonly Insn[], fn: (i: number) => void): void {
  for (let i = 0; i < insns.length; i++) {
    fn(i);
    if (opInfo(insns[i].code).kind === "ldimm64") i++;
  }
}

function checkSubprog(
  insns: readonly Insn[],
  range: { start: number; end: number; secondSlot: Uint8Array },
  failAt: (index: number) => Fail,
): void {
  const { start, end, secondSlot } = range;
  let last = start;
  for (let i = start; i < end; i++) {
    last = i;
    const kind = opInfo(insns[i].code).kind;
    if (kind === "jcond" || kind === "ja") {
      const t = branchTarget(insns[i], i)!;
      if (t < 0 || t >= insns.length) failAt(i)(`jump out of range: target ${t}`);
      if (secondSlot[t]) failAt(i)(`jump into the middle of ld_imm64: target ${t}`);
      if (t < start || t >= end) failAt(i)(`jump out of range: target ${t} (outside the subprogram at insn ${start})`);
    }
    if (kind === "ldimm64") i++;
  }
  const kind = opInfo(insns[last].code).kind;
  if (kind !== "exit" && kind !== "ja") failAt(last)("last insn is not an exit or jmp");
}
