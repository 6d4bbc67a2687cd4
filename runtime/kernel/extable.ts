/**
 * Exception tables (arch/arm64/mm/extable.c, the BPF flavour in
 * arch/arm64/net/bpf_jit_comp.c ex_handler_bpf), as a model.
 *
 * A JITed BPF_PROBE_MEM load may touch memory that is not mapped; the JIT
 * records the load's address with its destination register and the
 * address to resume at. When a data access faults there, the fixup zeroes
 * the destination register and resumes after the load, as
 * ex_handler_bpf() does — the program sees 0 instead of an oops.
 */
import type { Cpu } from "../machine/cpu.js";
import type { Fault } from "../machine/fault.js";

/** One exception-table entry. */
export interface ExtableEntry {
  /** Address of the faulting instruction. */
  insn: bigint;
  /** Address to resume at. */
  fixup: bigint;
  /** Register (x0..x30) to clear, or -1. */
  dstReg: number;
}

const DATA_FAULTS = new Set<Fault["kind"]>(["read_unmapped", "read_prot", "write_unmapped", "write_prot"]);

export class ExceptionTables {
  readonly #byInsn = new Map<bigint, ExtableEntry>();

  add(entries: readonly ExtableEntry[]): void {
    for (const e of entries) this.#byInsn.set(e.insn, e);
  }

  remove(entries: readonly ExtableEntry[]): void {
    for (const e of entries) if (this.#byInsn.get(e.insn) === e) this.#byInsn.delete(e.insn);
  }

  /** search_exception_tables(pc). */
  search(pc: bigint): ExtableEntry | undefined {
    return this.#byInsn.get(pc);
  }

  /** fixup_exception(): true when the fault was fixed up and the CPU may go on. */
  fixup(cpu: Cpu, fault: Fault): boolean {
    if (!DATA_FAULTS.has(fault.kind)) return false;
    const e = this.#byInsn.get(fault.pc);
    if (!e) return false;
    if (e.dstReg >= 0) cpu.setX(e.dstReg, 0n);
    cpu.pc = e.fixup;
    return true;
  }
}
