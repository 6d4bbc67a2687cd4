/**
 * Hypercalls: how emulated code reaches kernel services written in TypeScript.
 *
 * The kernel image contains a stub per service:
 *
 *   service_name:   svc #NR        ← UC_HOOK_INTR, intno EXCP_SWI, PC already past it
 *                   ret
 *
 * The handler runs inside the interrupt hook with the CPU's registers: it
 * reads its arguments from x0.., writes a result to x0, and either lets the
 * CPU continue (the stub's `ret` returns to the caller) or asks the CPU to
 * stop (the service blocks: the scheduler takes over, and later resumes the
 * task at the `ret` with x0 set).
 *
 * `brk #imm` handlers work the same way but arrive with PC at the brk; a
 * handler that continues must move PC itself. brk #0x100 is reserved for
 * AARCH64_BREAK_FAULT (the JIT fill word) and is always a fault.
 */
import { EEXIST, EINVAL } from "../errno.js";
import { MachineError } from "../errors.js";
import type { Cpu } from "./cpu.js";

/** What the CPU does after a handler returns. */
export type HypercallAction = "continue" | "stop";

export type HypercallHandler = (cpu: Cpu, nr: number) => HypercallAction;

export interface HypercallEntry {
  nr: number;
  name: string;
  handler: HypercallHandler;
}

/** AARCH64_BREAK_FAULT: brk immediate of the JIT fill word. */
export const AARCH64_BREAK_FAULT_IMM = 0x100;
/** svc/brk immediates are 16 bits. */
const MAX_IMM = 0xffff;

/** A table of numbered handlers (one for svc, one for brk). */
export class HypercallTable {
  readonly #byNr = new Map<number, HypercallEntry>();
  readonly #kind: string;

  constructor(kind: "svc" | "brk") {
    this.#kind = kind;
  }

  register(nr: number, name: string, handler: HypercallHandler): void {
    if (!Number.isInteger(nr) || nr < 0 || nr > MAX_IMM) {
      throw new MachineError(EINVAL, `invalid ${this.#kind} number: ${nr} (0..${MAX_IMM})`);
    }
    if (this.#kind === "brk" && nr === AARCH64_BREAK_FAULT_IMM) {
      throw new MachineError(EINVAL, `brk #0x100 is reserved for AARCH64_BREAK_FAULT`);
    }
    const old = this.#byNr.get(nr);
    if (old) throw new MachineError(EEXIST, `${this.#kind} #${nr} already registered: ${old.name}`);
    this.#byNr.set(nr, { nr, name, handler });
  }

  unregister(nr: number): void {
    this.#byNr.delete(nr);
  }

  get(nr: number): HypercallEntry | undefined {
    return this.#byNr.get(nr);
  }

  entries(): HypercallEntry[] {
    return [...this.#byNr.values()].sort((a, b) => a.nr - b.nr);
  }
}
