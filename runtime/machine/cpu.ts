/**
 * One simulated CPU: a Unicorn instance over the shared memory.
 *
 * `run()` executes one slice of at most `quantum` instructions and says why
 * it ended:
 *
 *   quantum     the instruction budget ran out (the scheduler decides whether
 *               that is a timer tick, a preemption, or just interleaving)
 *   hypercall   a service asked the CPU to stop (it blocks, or the task exits)
 *   returned    PC reached the machine's sentinel address
 *   fault       a structured fault (memory, undefined instruction, brk, ...)
 *
 * Registers cross as bigint. A task's register state is a CpuContext
 * (x0..x30, sp, pc, nzcv) saved and restored in one FFI call each.
 */
import { EINVAL } from "../errno.js";
import { MachineError } from "../errors.js";
import { walkFrameRecords, type Frame, type Symbolizer } from "./backtrace.js";
import type { Fault, FaultKind } from "./fault.js";
import { AARCH64_BREAK_FAULT_IMM, type HypercallTable } from "./hypercall.js";
import type { PhysMemory } from "./memory.js";
import { RegBatch, Unicorn, type MemEvent } from "./unicorn.js";
import {
  EXCP_BKPT,
  EXCP_SWI,
  EXCP_UDEF,
  UC_ARM64_REG_NZCV,
  UC_ARM64_REG_PC,
  UC_ARM64_REG_SP,
  UC_ARM64_REG_X0,
  UC_ARM64_REG_X29,
  UC_ARM64_REG_X30,
  UC_ERR_EXCEPTION,
  UC_ERR_FETCH_PROT,
  UC_ERR_FETCH_UNALIGNED,
  UC_ERR_FETCH_UNMAPPED,
  UC_ERR_INSN_INVALID,
  UC_ERR_OK,
  UC_ERR_READ_PROT,
  UC_ERR_READ_UNALIGNED,
  UC_ERR_READ_UNMAPPED,
  UC_ERR_WRITE_PROT,
  UC_ERR_WRITE_UNALIGNED,
  UC_ERR_WRITE_UNMAPPED,
} from "./unicorn_consts.js";
import { UnicornError } from "./unicorn.js";

/** Indices into a CpuContext. */
export const CTX_X0 = 0;
export const CTX_FP = 29;
export const CTX_LR = 30;
export const CTX_SP = 31;
export const CTX_PC = 32;
export const CTX_NZCV = 33;
export const CTX_LEN = 34;

/** x0..x30, sp, pc, nzcv. */
export type CpuContext = BigUint64Array;

/** A fresh all-zero context. */
export function newContext(): CpuContext {
  return new BigUint64Array(CTX_LEN);
}

const CONTEXT_REGS: number[] = [
  ...Array.from({ length: 29 }, (_, i) => UC_ARM64_REG_X0 + i),
  UC_ARM64_REG_X29,
  UC_ARM64_REG_X30,
  UC_ARM64_REG_SP,
  UC_ARM64_REG_PC,
  UC_ARM64_REG_NZCV,
];

const ARG_REGS: number[] = Array.from({ length: 8 }, (_, i) => UC_ARM64_REG_X0 + i);

export type StopReason =
  | { kind: "quantum" }
  | { kind: "hypercall"; nr: number; name: string }
  | { kind: "returned" }
  | { kind: "fault"; fault: Fault };

/** What a CPU needs from its machine. */
export interface CpuEnv {
  readonly memory: PhysMemory;
  readonly svc: HypercallTable;
  readonly brk: HypercallTable;
  readonly sentinel: bigint;
  symbolize(addr: bigint): string | undefined;
}

const MEM_ERR_KIND: Record<number, FaultKind> = {
  [UC_ERR_READ_UNMAPPED]: "read_unmapped",
  [UC_ERR_WRITE_UNMAPPED]: "write_unmapped",
  [UC_ERR_FETCH_UNMAPPED]: "fetch_unmapped",
  [UC_ERR_READ_PROT]: "read_prot",
  [UC_ERR_WRITE_PROT]: "write_prot",
  [UC_ERR_FETCH_PROT]: "fetch_prot",
  [UC_ERR_READ_UNALIGNED]: "unaligned",
  [UC_ERR_WRITE_UNALIGNED]: "unaligned",
  [UC_ERR_FETCH_UNALIGNED]: "unaligned",
  [UC_ERR_INSN_INVALID]: "undefined_instruction",
  [UC_ERR_EXCEPTION]: "exception",
};

export class Cpu {
  readonly index: number;
  readonly uc: Unicorn;
  readonly #env: CpuEnv;
  readonly #ctxBatch: RegBatch;
  readonly #argBatch: RegBatch;
  #stop: StopReason | undefined;
  #memEvent: MemEvent | undefined;
  /** Slices run and instructions budgeted (statistics). */
  slices = 0;

  constructor(index: number, env: CpuEnv, cpuModel?: number) {
    this.index = index;
    this.#env = env;
    this.uc = new Unicorn(cpuModel);
    this.#ctxBatch = new RegBatch(CONTEXT_REGS);
    this.#argBatch = new RegBatch(ARG_REGS);
    this.uc.installHooks({
      intr: (intno) => this.#onInterrupt(intno),
      memInvalid: (ev) => {
        this.#memEvent = ev;
        return false;
      },
    });
  }

  close(): void {
    this.uc.close();
    this.#ctxBatch.free();
    this.#argBatch.free();
  }

  // --- registers ----------------------------------------------------------

  /** General-purpose register xN (0..30). */
  x(n: number): bigint {
    return this.uc.regRead(xReg(n));
  }

  setX(n: number, value: bigint): void {
    this.uc.regWrite(xReg(n), value);
  }

  get pc(): bigint {
    return this.uc.regRead(UC_ARM64_REG_PC);
  }

  set pc(v: bigint) {
    this.uc.regWrite(UC_ARM64_REG_PC, v);
  }

  get sp(): bigint {
    return this.uc.regRead(UC_ARM64_REG_SP);
  }

  set sp(v: bigint) {
    this.uc.regWrite(UC_ARM64_REG_SP, v);
  }

  get lr(): bigint {
    return this.uc.regRead(UC_ARM64_REG_X30);
  }

  set lr(v: bigint) {
    this.uc.regWrite(UC_ARM64_REG_X30, v);
  }

  get fp(): bigint {
    return this.uc.regRead(UC_ARM64_REG_X29);
  }

  set fp(v: bigint) {
    this.uc.regWrite(UC_ARM64_REG_X29, v);
  }

  /** x0..x7 in one FFI call (the AAPCS64 argument registers). */
  args(): BigUint64Array {
    this.#argBatch.read(this.uc);
    return this.#argBatch.values.slice();
  }

  /** Save x0..x30, sp, pc, nzcv into `into` (or a new context). */
  saveContext(into: CpuContext = newContext()): CpuContext {
    this.#ctxBatch.read(this.uc);
    into.set(this.#ctxBatch.values);
    return into;
  }

  /** Load a context saved by {@link saveContext} (on this or another CPU). */
  loadContext(ctx: CpuContext): void {
    this.#ctxBatch.values.set(ctx);
    this.#ctxBatch.write(this.uc);
  }

  // --- execution ----------------------------------------------------------

  /**
   * Run one slice from `pc` (default: the current PC) for at most `quantum`
   * instructions.
   */
  run(opts: { quantum: number; pc?: bigint }): StopReason {
    if (!Number.isInteger(opts.quantum) || opts.quantum < 1) {
      throw new MachineError(EINVAL, `invalid quantum: ${opts.quantum} (must be a positive integer)`);
    }
    const begin = opts.pc ?? this.pc;
    this.#stop = undefined;
    this.#memEvent = undefined;
    this.slices++;
    const rc = this.uc.emuStart(begin, this.#env.sentinel, opts.quantum);
    if (this.#stop) return this.#stop;
    if (rc !== UC_ERR_OK) {
      const kind = MEM_ERR_KIND[rc];
      if (!kind) throw new UnicornError("uc_emu_start", rc);
      const ev = this.#memEvent as MemEvent | undefined;
      return { kind: "fault", fault: this.buildFault(kind, ev ? { address: ev.address, size: ev.size } : {}) };
    }
    if (this.pc === this.#env.sentinel) return { kind: "returned" };
    return { kind: "quantum" };
  }

  /**
   * Stop the current slice from inside a hook or handler; run() returns
   * `reason`. The first stop request of a slice wins.
   */
  requestStop(reason: StopReason): void {
    if (!this.#stop) this.#stop = reason;
    this.uc.emuStop();
  }

  /**
   * A structured fault for the current register state. `leaf` marks a PC in
   * a function without a frame record of its own (a hypercall stub): its
   * caller is then only known from lr, which becomes the second frame.
   */
  buildFault(kind: FaultKind, extra: { address?: bigint; size?: number; detail?: string; leaf?: boolean } = {}): Fault {
    this.#ctxBatch.read(this.uc);
    const v = this.#ctxBatch.values;
    const pc = v[CTX_PC];
    const fp = v[CTX_FP];
    const mem = this.#env.memory;
    const read64 = (a: bigint): bigint | undefined => (mem.isMapped(a, 8) ? mem.read64(a) : undefined);
    const { leaf, ...rest } = extra;
    const frames: Frame[] = [{ pc, fp }];
    if (leaf) frames.push({ pc: v[CTX_LR], fp });
    frames.push(...walkFrameRecords(read64, fp));
    for (const f of frames) f.symbol = this.#env.symbolize(f.pc);
    return { cpu: this.index, pc, lr: v[CTX_LR], sp: v[CTX_SP], fp, kind, ...rest, backtrace: frames };
  }

  /** Symbolizer of this CPU's machine. */
  get symbolize(): Symbolizer {
    return (a) => this.#env.symbolize(a);
  }

  #onInterrupt(intno: number): void {
    const mem = this.#env.memory;
    if (intno === EXCP_SWI) {
      const pc = this.pc;
      const insn = mem.isMapped(pc - 4n, 4) ? mem.read32(pc - 4n) : 0;
      const nr = (insn >>> 5) & 0xffff;
      const entry = this.#env.svc.get(nr);
      if (!entry) {
        this.requestStop({ kind: "fault", fault: this.buildFault("unknown_hypercall", { detail: `svc #${nr}` }) });
        return;
      }
      if (entry.handler(this, nr) === "stop") this.requestStop({ kind: "hypercall", nr, name: entry.name });
      return;
    }
    if (intno === EXCP_BKPT) {
      const pc = this.pc;
      const insn = mem.isMapped(pc, 4) ? mem.read32(pc) : 0;
      const imm = (insn >>> 5) & 0xffff;
      const entry = imm === AARCH64_BREAK_FAULT_IMM ? undefined : this.#env.brk.get(imm);
      if (!entry) {
        const kind: FaultKind = imm === AARCH64_BREAK_FAULT_IMM ? "break_fault" : "brk";
        this.requestStop({ kind: "fault", fault: this.buildFault(kind, { detail: `brk #0x${imm.toString(16)}` }) });
        return;
      }
      if (entry.handler(this, imm) === "stop") this.requestStop({ kind: "hypercall", nr: imm, name: entry.name });
      return;
    }
    const kind: FaultKind = intno === EXCP_UDEF ? "undefined_instruction" : "exception";
    const pc = this.pc;
    const word = mem.isMapped(pc, 4) ? ` (insn 0x${mem.read32(pc).toString(16).padStart(8, "0")})` : "";
    this.requestStop({
      kind: "fault",
      fault: this.buildFault(kind, { detail: intno === EXCP_UDEF ? `undefined instruction${word}` : `intno ${intno}` }),
    });
  }
}

function xReg(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new MachineError(EINVAL, `invalid register: x${n}`);
  if (n === 29) return UC_ARM64_REG_X29;
  if (n === 30) return UC_ARM64_REG_X30;
  return UC_ARM64_REG_X0 + n;
}
