/**
 * The reference BPF interpreter: every instruction of RFC 9669 (cpu v4
 * included), the oracle the JIT is differential-tested against. Models
 * ___bpf_prog_run() in kernel/bpf/core.c plus the calling convention the
 * verifier and JITs give bpf-to-bpf calls.
 *
 *   frames (each bpf-to-bpf call gets the next one, at most MAX_CALL_FRAMES)
 *
 *   opts.stack ─┬──────────────────┐  r10 of frame 0 (exclusive top)
 *               │ frame 0 stack    │  512 bytes
 *               ├──────────────────┤  r10 of frame 1 = stack - 512
 *               │ frame 1 stack    │
 *               ├──────────────────┤
 *               │ ...              │  8 frames: INTERP_STACK_SIZE bytes below opts.stack
 *               └──────────────────┘
 *
 *   call pc+k   push {return pc, program, r6–r9, r10}; r10 -= 512; r1–r5 pass through;
 *               the caller's outgoing stack arguments become the callee's incoming ones
 *   exit        frame 0: the run ends with r0; else pop: r6–r10 restored, r0 kept
 *   helper      r0 = opts.helper(id, {args: r1..r5, ...}); r1–r5 left as they were
 *   kfunc       the same, with arguments 6.. in `stackArgs`
 *
 *   stack arguments (r12, stack_arg.ts): each frame has its own area of
 *   8-byte slots, not in memory, as the verifier sees it
 *
 *     slot 0 .. in/8-1     incoming arguments 6.. (in = incoming_stack_arg_depth
 *                          of the function, PreparedProg.incomingStackArgDepth)
 *     slot in/8 ..         outgoing arguments 6.. of the next call (at most 7)
 *
 *   A load reads an incoming slot that holds a value; a store writes any slot.
 *   At a bpf-to-bpf call the callee's incoming slots are copied from the
 *   caller's outgoing ones ("stack arg#%d not properly initialized" when one
 *   was never written); after every call (helper, kfunc, bpf-to-bpf) the
 *   caller's outgoing slots are forgotten, as the verifier forgets them and
 *   the arm64 JIT's x5–x7 do not survive a call.
 *   tail call   helper 12 with opts.tailCall: kernel order of checks, at most
 *               MAX_TAIL_CALL_CNT jumps per run; the target replaces the current
 *               frame's program, stack and registers unchanged
 *
 * Programs are validated and flattened once (interp_prog.ts prepareProg);
 * the semantics of each operation live in interp_alu.ts.
 *
 * Registers are u64 `bigint`s (r0..r10; the register file has room for
 * r11..r15, but r12 is never a value: its loads and stores go to the
 * stack-argument area). 32-bit operations use
 * `number` arithmetic and zero-extend. Memory goes through {@link BpfMemory};
 * a failing access becomes an InsnError(EFAULT) naming the instruction.
 *
 * Simplifications: legacy packet access (BPF_ABS/BPF_IND) raises ENOTSUPP;
 * atomics must be naturally aligned (arm64 faults otherwise, the kernel
 * verifier rejects them). Helpers that call back into BPF code (bpf_loop) run
 * the callback as a nested interpreter run one frame lower
 * (runtime/bpf/helpers/bpf_loop.ts).
 */
import { E2BIG, EFAULT, EINVAL, ENOTSUPP } from "../errno.js";
import { BpfError } from "../errors.js";
import * as F from "./func_ids.js";
import type { Insn } from "./insn.js";
import { InsnError } from "./insn_error.js";
import * as A from "./interp_alu.js";
import * as P from "./interp_prog.js";
import type { PreparedProg } from "./interp_prog.js";
import type { BpfMemory } from "./interp_mem.js";
import * as O from "./opcodes.js";
import type { AccessSize } from "./opcodes.js";
import { MAX_STACK_ARGS, STACK_ARG_SLOT, stackArgSlot, stackArgWriteOffError } from "./stack_arg.js";

// Values used in the loop, copied into module constants (imported bindings are
// getters under tsx, which costs half the interpreter's speed).
const BPF_ADD = O.BPF_ADD;
const BPF_AND = O.BPF_AND;
const BPF_OR = O.BPF_OR;
const BPF_XOR = O.BPF_XOR;
const BPF_FETCH = O.BPF_FETCH;
const BPF_XCHG = O.BPF_XCHG;
const BPF_CMPXCHG = O.BPF_CMPXCHG;
const BPF_PSEUDO_CALL = O.BPF_PSEUDO_CALL;
const BPF_PSEUDO_KFUNC_CALL = O.BPF_PSEUDO_KFUNC_CALL;
const BPF_FUNC_tail_call = F.BPF_FUNC_tail_call;
const MAX_BPF_STACK = O.MAX_BPF_STACK;
const MAX_CALL_FRAMES = O.MAX_CALL_FRAMES;
const MAX_TAIL_CALL_CNT = O.MAX_TAIL_CALL_CNT;
const alu32 = A.alu32;
const alu64 = A.alu64;
const endian = A.endian;
const jcond32 = A.jcond32;
const jcond64 = A.jcond64;
const K_ALU64 = P.OP_ALU64;
const K_ALU32 = P.OP_ALU32;
const K_END = P.OP_END;
const K_JCOND64 = P.OP_JCOND64;
const K_JCOND32 = P.OP_JCOND32;
const K_JA = P.OP_JA;
const K_CALL = P.OP_CALL;
const K_EXIT = P.OP_EXIT;
const K_LDIMM64 = P.OP_LDIMM64;
const K_LDX = P.OP_LDX;
const K_LDXSX = P.OP_LDXSX;
const K_ST = P.OP_ST;
const K_STX = P.OP_STX;
const K_ATOMIC = P.OP_ATOMIC;
const K_LDPKT = P.OP_LDPKT;
const K_SA_LDX = P.OP_SA_LDX;
const K_SA_ST = P.OP_SA_ST;
const K_SA_STX = P.OP_SA_STX;

/** Bytes of stack the interpreter may use below `opts.stack` (8 frames of 512). */
export const INTERP_STACK_SIZE = MAX_BPF_STACK * MAX_CALL_FRAMES;

/** Default instruction budget of one run. */
export const DEFAULT_INSN_BUDGET = 10_000_000;

export { prepareProg, type PreparedProg } from "./interp_prog.js";

/** What a helper or kfunc callback sees of its call. */
export interface BpfCall {
  /** r1..r5 at the call. */
  readonly args: readonly [bigint, bigint, bigint, bigint, bigint];
  /** Slot index of the call instruction. */
  readonly index: number;
  /** Call depth (0: main program). */
  readonly frame: number;
  /** r10 of the calling frame. */
  readonly fp: bigint;
  /** The memory the program runs on. */
  readonly mem: BpfMemory;
  /** The kfunc's BTF fd index (off of the call); 0 for helpers. */
  readonly off: number;
  /**
   * Arguments 6.. (the caller's outgoing stack-argument slots, up to the
   * last one written; a slot not written reads as 0). Empty for most calls.
   */
  readonly stackArgs: readonly bigint[];
  /** End the whole run after this call returns, with r0 = its return value (bpf_conformance "unwind"). */
  requestExit(): void;
}

/** A helper: returns the new r0 (truncated to u64). */
export type HelperFn = (id: number, call: BpfCall) => bigint;
/** A kfunc, by BTF id: returns the new r0. */
export type KfuncFn = (btfId: number, call: BpfCall) => bigint;

/** Result of looking up a tail-call target (the prog_array slot `index` of `map`). */
export type TailCallTarget =
  /** index >= max_entries: the call falls through, the count is not taken. */
  | { readonly kind: "out-of-range" }
  /** The slot is empty: falls through after the count was taken. */
  | { readonly kind: "empty" }
  | { readonly kind: "prog"; readonly prog: readonly Insn[] | PreparedProg };

/** Tail-call lookup: r2 (prog_array map) and r3 (index) of a `call bpf_tail_call#12`. */
export type TailCallFn = (map: bigint, index: bigint) => TailCallTarget;

/** Resolves a ld_imm64 with a pseudo source (map fd, map value, BTF id, function ...). */
export type PseudoLdFn = (first: Insn, second: Insn) => bigint;

/** Options of one interpreter run. */
export interface InterpOptions {
  /** Memory for loads, stores, atomics and the stack. */
  mem: BpfMemory;
  /** r10 of the main frame: top (exclusive) of INTERP_STACK_SIZE mapped bytes. */
  stack: bigint;
  /** r1..r5 at entry (missing ones are 0; r0 and r6–r9 start at 0). */
  args?: readonly bigint[];
  /** Instructions the run may execute before BudgetExceededError (default DEFAULT_INSN_BUDGET). */
  budget?: number;
  helper?: HelperFn;
  kfunc?: KfuncFn;
  /** When set, helper 12 (bpf_tail_call) is a tail call through this lookup. */
  tailCall?: TailCallFn;
  /** Resolves ld_imm64 with src_reg != 0. */
  pseudoLd?: PseudoLdFn;
  /**
   * incoming_stack_arg_depth of each function by its first slot, when `prog`
   * is given as instructions (a PreparedProg carries its own).
   */
  incomingStackArgDepth?: ReadonlyMap<number, number>;
}

/** How a run ended. */
export interface InterpResult {
  /** r0 at the main program's exit. */
  readonly r0: bigint;
  /** r0..r10 at the main program's exit. */
  readonly regs: readonly bigint[];
  /** Instructions executed (each ld_imm64 counts once). */
  readonly insnCount: number;
  /** Tail calls taken. */
  readonly tailCalls: number;
}

/** The instruction budget ran out (E2BIG, like the verifier's processed-insn limit). */
export class BudgetExceededError extends InsnError {}

const SIZE_MASK: Record<number, bigint> = { 1: 0xffn, 2: 0xffffn, 4: 0xffffffffn, 8: 0xffffffffffffffffn };
const M32 = 0xffffffffn;

interface Frame {
  prog: PreparedProg;
  retPc: number;
  saved: bigint[]; // r6..r10
  sa: StackArgArea;
}

/** A frame's stack-argument area (see the file header): slot values and the incoming depth. */
interface StackArgArea {
  slots: (bigint | undefined)[];
  incoming: number;
}

/** Slots of an area: 7 incoming and 7 outgoing at most. */
const SA_SLOTS = 2 * MAX_STACK_ARGS;

function newArea(incoming: number): StackArgArea {
  return { slots: new Array<bigint | undefined>(SA_SLOTS).fill(undefined), incoming };
}

/** Mutable state of a run, shared by the slow paths. */
interface Run {
  readonly opts: InterpOptions;
  readonly regs: bigint[];
  readonly frames: Frame[];
  prog: PreparedProg;
  /** The current frame's stack-argument area. */
  sa: StackArgArea;
  tailCalls: number;
  exitRequested: boolean;
  readonly prepared: Map<readonly Insn[], PreparedProg>;
}

function fault(run: Run, pc: number, reason: string, errno = EFAULT): never {
  throw new InsnError(reason, { errno, at: { insns: run.prog.insns, index: pc } });
}

function memLoad(run: Run, pc: number, addr: bigint, size: AccessSize): bigint {
  try {
    return run.opts.mem.load(addr, size);
  } catch (err) {
    throw wrapRunError(run, pc, err);
  }
}

function memStore(run: Run, pc: number, addr: bigint, size: AccessSize, value: bigint): void {
  try {
    run.opts.mem.store(addr, size, value);
  } catch (err) {
    throw wrapRunError(run, pc, err);
  }
}

function wrapRunError(run: Run, pc: number, err: unknown): InsnError {
  if (err instanceof InsnError && err.index !== undefined) return err;
  const errno = err instanceof BpfError ? err.errno : EINVAL;
  const message = err instanceof Error ? err.message : String(err);
  return new InsnError(message, { errno, cause: err, at: { insns: run.prog.insns, index: pc } });
}

/** BPF_STX | BPF_ATOMIC at `pc`. */
function atomic(run: Run, pc: number): void {
  const p = run.prog;
  const r = run.regs;
  const size = p.op[pc] as 4 | 8;
  const addr = BigInt.asUintN(64, r[p.dst[pc]] + p.offBig[pc]);
  if ((addr & BigInt(size - 1)) !== 0n) fault(run, pc, `misaligned atomic access: 0x${addr.toString(16)}`);
  const mask = SIZE_MASK[size];
  const op = p.imm[pc];
  const src = p.src[pc];
  const old = memLoad(run, pc, addr, size);
  const val = r[src] & mask;
  if (op === BPF_CMPXCHG) {
    if (old === (r[0] & mask)) memStore(run, pc, addr, size, val);
    r[0] = old;
    return;
  }
  if (op === BPF_XCHG) {
    memStore(run, pc, addr, size, val);
    r[src] = old;
    return;
  }
  let next: bigint;
  switch (op & ~BPF_FETCH) {
    case BPF_ADD:
      next = (old + val) & mask;
      break;
    case BPF_AND:
      next = old & val;
      break;
    case BPF_OR:
      next = old | val;
      break;
    case BPF_XOR:
      next = old ^ val;
      break;
    default:
      fault(run, pc, `invalid atomic operation: 0x${(op >>> 0).toString(16)}`, EINVAL);
  }
  memStore(run, pc, addr, size, next);
  if (op & BPF_FETCH) r[src] = old;
}

function makeCall(run: Run, pc: number): BpfCall & { exit: boolean } {
  const r = run.regs;
  const call = {
    args: [r[1], r[2], r[3], r[4], r[5]] as const,
    stackArgs: outgoingArgs(run.sa),
    index: pc,
    frame: run.frames.length,
    fp: r[10],
    mem: run.opts.mem,
    off: run.prog.off[pc],
    exit: false,
    requestExit(): void {
      call.exit = true;
    },
  };
  return call;
}

function prepared(run: Run, prog: readonly Insn[] | PreparedProg): PreparedProg {
  if (!Array.isArray(prog)) return prog as PreparedProg;
  const insns = prog as readonly Insn[];
  let p = run.prepared.get(insns);
  if (!p) {
    p = P.prepareProg(insns);
    run.prepared.set(insns, p);
  }
  return p;
}

/**
 * bpf_tail_call(ctx, map, index) in the kernel's order: index in range, count
 * below MAX_TAIL_CALL_CNT, count taken, slot not empty. Returns true when
 * the current frame now runs the target from its first instruction.
 */
function tailCall(run: Run, pc: number, lookup: TailCallFn): boolean {
  const r = run.regs;
  let target: TailCallTarget;
  try {
    target = lookup(r[2], r[3]);
  } catch (err) {
    throw wrapRunError(run, pc, err);
  }
  if (target.kind === "out-of-range") return false;
  if (run.tailCalls >= MAX_TAIL_CALL_CNT) return false;
  run.tailCalls++;
  if (target.kind === "empty") return false;
  run.prog = prepared(run, target.prog);
  // The target is a main program: no incoming stack arguments.
  run.sa = newArea(0);
  return true;
}

/** A non-tail helper or kfunc call at `pc`: r0 = result. */
function callOut(run: Run, pc: number): void {
  const p = run.prog;
  const isKfunc = p.src[pc] === BPF_PSEUDO_KFUNC_CALL;
  const fn = isKfunc ? run.opts.kfunc : run.opts.helper;
  const id = p.imm[pc];
  if (!fn) {
    const what = isKfunc ? `kfunc btf_id ${id}` : `helper ${F.funcIdName(id)}#${id}`;
    fault(run, pc, `no callback for ${what}`, ENOTSUPP);
  }
  const call = makeCall(run, pc);
  let ret: bigint;
  try {
    ret = fn(id, call);
  } catch (err) {
    throw wrapRunError(run, pc, err);
  }
  if (typeof ret !== "bigint") fault(run, pc, `callback returned ${typeof ret}, not bigint`, EINVAL);
  run.regs[0] = BigInt.asUintN(64, ret);
  forgetOutgoing(run.sa);
  if (call.exit) run.exitRequested = true;
}

/** bpf-to-bpf call at `pc`; returns the callee's first slot. */
function callSubprog(run: Run, pc: number): number {
  const frames = run.frames;
  if (frames.length + 1 >= MAX_CALL_FRAMES) {
    fault(run, pc, `call stack too deep: ${frames.length + 2} frames (max ${MAX_CALL_FRAMES})`, E2BIG);
  }
  const r = run.regs;
  const target = pc + 1 + run.prog.imm[pc];
  const callee = calleeArea(run, pc, target);
  frames.push({ prog: run.prog, retPc: pc + 1, saved: [r[6], r[7], r[8], r[9], r[10]], sa: run.sa });
  r[10] = BigInt.asUintN(64, r[10] - BigInt(MAX_BPF_STACK));
  run.sa = callee;
  return target;
}

/** Arguments 6.. a call passes: the outgoing slots up to the last one written (unwritten ones read as 0). */
function outgoingArgs(sa: StackArgArea): bigint[] {
  const base = sa.incoming / STACK_ARG_SLOT;
  let n = 0;
  for (let i = 0; i < MAX_STACK_ARGS; i++) if (sa.slots[base + i] !== undefined) n = i + 1;
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(sa.slots[base + i] ?? 0n);
  return out;
}

/** After a call the caller's outgoing slots are gone. */
function forgetOutgoing(sa: StackArgArea): void {
  sa.slots.fill(undefined, sa.incoming / STACK_ARG_SLOT);
}

/** The callee's area: its incoming slots copied from the caller's outgoing ones. */
function calleeArea(run: Run, pc: number, target: number): StackArgArea {
  const incoming = run.prog.incomingStackArgDepth.get(target) ?? 0;
  const area = newArea(incoming);
  const base = run.sa.incoming / STACK_ARG_SLOT;
  for (let j = 0; j < incoming / STACK_ARG_SLOT; j++) {
    const v = run.sa.slots[base + j];
    if (v === undefined) fault(run, pc, `stack arg#${j + 6} not properly initialized`);
    area.slots[j] = v;
  }
  forgetOutgoing(run.sa);
  return area;
}

/** An r12 load or store at `pc` (OP_SA_*): the slot it names, or a fault. */
function stackArgIndex(run: Run, pc: number, write: boolean): number {
  const p = run.prog;
  const off = p.off[pc];
  const size = p.op[pc];
  const what = write ? "write" : "read";
  if (size !== 8) fault(run, pc, `stack arg ${what} must be 8 bytes, got ${size}`, EINVAL);
  const slot = stackArgSlot(off, run.sa.incoming);
  if (!write && (slot.kind !== "incoming" || run.sa.slots[slot.index] === undefined)) {
    fault(run, pc, `invalid read from stack arg off ${off} depth ${run.sa.incoming}`);
  }
  if (slot.kind === "invalid") fault(run, pc, stackArgWriteOffError(off, slot.reason), EINVAL);
  return slot.kind === "incoming" ? slot.index : run.sa.incoming / STACK_ARG_SLOT + slot.index;
}

/** Interpret `prog` to its main exit. Throws InsnError on faults, BudgetExceededError past the budget. */
export function bpfInterp(prog: readonly Insn[] | PreparedProg, opts: InterpOptions): InterpResult {
  const regs = new Array<bigint>(16).fill(0n);
  for (let i = 0; i < 5; i++) regs[i + 1] = BigInt.asUintN(64, opts.args?.[i] ?? 0n);
  regs[10] = BigInt.asUintN(64, opts.stack);
  const run: Run = {
    opts,
    regs,
    frames: [],
    prog: undefined!,
    sa: newArea(0),
    tailCalls: 0,
    exitRequested: false,
    prepared: new Map(),
  };
  run.prog = Array.isArray(prog)
    ? P.prepareProg(prog as readonly Insn[], { incomingStackArgDepth: opts.incomingStackArgDepth })
    : (prog as PreparedProg);
  const budget = opts.budget ?? DEFAULT_INSN_BUDGET;
  const count = execute(run, budget);
  return { r0: regs[0], regs: regs.slice(0, 11), insnCount: count, tailCalls: run.tailCalls };
}

/** The interpreter loop; returns the number of instructions executed. */
function execute(run: Run, budget: number): number {
  const r = run.regs;
  let p = run.prog;
  let pc = 0;
  let count = 0;
  for (;;) {
    if (count >= budget) {
      throw new BudgetExceededError(`instruction budget exceeded: ${budget} insns`, {
        errno: E2BIG,
        at: { insns: p.insns, index: pc },
      });
    }
    count++;
    const d = p.dst[pc];
    switch (p.kind[pc]) {
      case K_ALU64:
        r[d] = alu64(p.op[pc], r[d], p.x[pc] ? r[p.src[pc]] : p.immU64[pc], p.off[pc]);
        pc++;
        break;
      case K_ALU32: {
        const b = p.x[pc] ? Number(r[p.src[pc]] & M32) : p.imm[pc] >>> 0;
        r[d] = BigInt(alu32(p.op[pc], Number(r[d] & M32), b, p.off[pc]));
        pc++;
        break;
      }
      case K_END:
        r[d] = endian(p.order[pc] === 0 ? "le" : p.order[pc] === 1 ? "be" : "swap", p.op[pc], r[d]);
        pc++;
        break;
      case K_JCOND64:
        pc += jcond64(p.op[pc], r[d], p.x[pc] ? r[p.src[pc]] : p.immU64[pc]) ? p.off[pc] + 1 : 1;
        break;
      case K_JCOND32: {
        const b = p.x[pc] ? Number(r[p.src[pc]] & M32) : p.imm[pc] >>> 0;
        pc += jcond32(p.op[pc], Number(r[d] & M32), b) ? p.off[pc] + 1 : 1;
        break;
      }
      case K_JA:
        pc += (p.op[pc] === 64 ? p.off[pc] : p.imm[pc]) + 1;
        break;
      case K_LDX: {
        const size = p.op[pc] as AccessSize;
        const addr = BigInt.asUintN(64, r[p.src[pc]] + p.offBig[pc]);
        r[d] = memLoad(run, pc, addr, size);
        pc++;
        break;
      }
      case K_LDXSX: {
        const size = p.op[pc] as AccessSize;
        const addr = BigInt.asUintN(64, r[p.src[pc]] + p.offBig[pc]);
        r[d] = BigInt.asUintN(64, BigInt.asIntN(size * 8, memLoad(run, pc, addr, size)));
        pc++;
        break;
      }
      case K_ST: {
        const size = p.op[pc] as AccessSize;
        const addr = BigInt.asUintN(64, r[d] + p.offBig[pc]);
        memStore(run, pc, addr, size, p.immU64[pc] & SIZE_MASK[size]);
        pc++;
        break;
      }
      case K_STX: {
        const size = p.op[pc] as AccessSize;
        const addr = BigInt.asUintN(64, r[d] + p.offBig[pc]);
        memStore(run, pc, addr, size, r[p.src[pc]] & SIZE_MASK[size]);
        pc++;
        break;
      }
      case K_ATOMIC:
        atomic(run, pc);
        pc++;
        break;
      case K_SA_LDX:
        r[d] = run.sa.slots[stackArgIndex(run, pc, false)]!;
        pc++;
        break;
      case K_SA_ST:
        run.sa.slots[stackArgIndex(run, pc, true)] = p.immU64[pc];
        pc++;
        break;
      case K_SA_STX:
        run.sa.slots[stackArgIndex(run, pc, true)] = r[p.src[pc]];
        pc++;
        break;
      case K_LDIMM64:
        if (p.src[pc] === 0) {
          r[d] = p.ldImm[pc];
        } else {
          const resolve = run.opts.pseudoLd;
          if (!resolve) fault(run, pc, `no resolver for ld_imm64 source ${p.src[pc]}`, ENOTSUPP);
          try {
            r[d] = BigInt.asUintN(64, resolve(p.insns[pc], p.insns[pc + 1]));
          } catch (err) {
            throw wrapRunError(run, pc, err);
          }
        }
        pc += 2;
        break;
      case K_CALL: {
        const src = p.src[pc];
        if (src === BPF_PSEUDO_CALL) {
          pc = callSubprog(run, pc);
          break;
        }
        const tail = run.opts.tailCall;
        if (src === 0 && p.imm[pc] === BPF_FUNC_tail_call && tail) {
          if (tailCall(run, pc, tail)) {
            p = run.prog;
            pc = 0;
          } else {
            pc++;
          }
          break;
        }
        callOut(run, pc);
        if (run.exitRequested) return count;
        pc++;
        break;
      }
      case K_EXIT: {
        const frame = run.frames.pop();
        if (!frame) return count;
        for (let i = 0; i < 5; i++) r[6 + i] = frame.saved[i];
        run.sa = frame.sa;
        run.prog = p = frame.prog;
        pc = frame.retPc;
        break;
      }
      case K_LDPKT:
        fault(run, pc, "legacy packet access is not supported", ENOTSUPP);
        break;
      default:
        fault(run, pc, "not an instruction: second slot of ld_imm64", EINVAL);
    }
    // A tail call or a return may have switched programs: keep run.prog current for error reports.
    run.prog = p;
  }
}
