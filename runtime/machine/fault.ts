/**
 * Structured faults: why a CPU stopped abnormally.
 *
 * A fault names the CPU, PC and kind, the faulting address for memory
 * faults, and a frame-record backtrace. The kernel layer adds the task (and,
 * for freed text, the symbol the memory belonged to) before reporting.
 */
import { EFAULT } from "../errno.js";
import { BpfError } from "../errors.js";
import { formatBacktrace, type Frame, type Symbolizer } from "./backtrace.js";

export type FaultKind =
  | "fetch_unmapped"
  | "read_unmapped"
  | "write_unmapped"
  | "fetch_prot"
  | "read_prot"
  | "write_prot"
  | "unaligned"
  | "undefined_instruction"
  /** brk #0x100 (AARCH64_BREAK_FAULT): the JIT fill word, a hole or freed text. */
  | "break_fault"
  /** Another brk immediate with no registered handler. */
  | "brk"
  | "unknown_hypercall"
  | "exception"
  /** A kernel BUG/WARN raised by a TypeScript service. */
  | "bug"
  /** A task's function returned without restoring a callee-saved register (x19..x28) or SP. */
  | "abi";

export interface Fault {
  cpu: number;
  pc: bigint;
  lr: bigint;
  sp: bigint;
  fp: bigint;
  kind: FaultKind;
  /** Faulting data or fetch address, for memory faults. */
  address?: bigint;
  /** Access size for memory faults. */
  size?: number;
  /** Free-form detail ("svc #4242", "intno 5", "use-after-free of bpf_trampoline_..."). */
  detail?: string;
  /** Task running on the CPU (added by the kernel layer). */
  task?: { pid: number; comm: string };
  /** pc, then the frame-record chain. */
  backtrace: Frame[];
}

const KIND_TEXT: Record<FaultKind, string> = {
  fetch_unmapped: "Unable to handle kernel execute from unmapped memory",
  read_unmapped: "Unable to handle kernel paging request (read)",
  write_unmapped: "Unable to handle kernel paging request (write)",
  fetch_prot: "Unable to handle kernel execute from non-executable memory",
  read_prot: "Unable to handle kernel read from unreadable memory",
  write_prot: "Unable to handle kernel write to read-only memory",
  unaligned: "Unaligned access",
  undefined_instruction: "Internal error: Oops - Undefined instruction",
  break_fault: "Internal error: Oops - BRK (AARCH64_BREAK_FAULT)",
  brk: "Internal error: Oops - BRK",
  unknown_hypercall: "Internal error: unknown hypercall",
  exception: "Internal error: unexpected exception",
  bug: "kernel BUG",
  abi: "Internal error: AAPCS64 callee-saved state not preserved",
};

function hex(v: bigint): string {
  return v.toString(16).padStart(16, "0");
}

/** A kernel-oops-style multi-line report. */
export function formatFault(f: Fault, symbolize?: Symbolizer): string {
  const lines: string[] = [];
  const at = f.address !== undefined ? ` at virtual address ${hex(f.address)}` : "";
  lines.push(`${KIND_TEXT[f.kind]}${at}${f.detail ? `: ${f.detail}` : ""}`);
  lines.push(`CPU: ${f.cpu}${f.task ? ` PID: ${f.task.pid} Comm: ${f.task.comm}` : ""}`);
  const sym = (a: bigint): string => symbolize?.(a) ?? `0x${a.toString(16)}`;
  lines.push(`pc : ${sym(f.pc)}`);
  lines.push(`lr : ${sym(f.lr)}`);
  lines.push(`sp : ${hex(f.sp)}  x29: ${hex(f.fp)}`);
  lines.push("Call trace:");
  lines.push(formatBacktrace(f.backtrace, symbolize));
  return lines.join("\n");
}

/** A fault turned into an exception (for APIs that run code to completion). */
export class FaultError extends BpfError {
  readonly fault: Fault;

  constructor(fault: Fault, symbolize?: Symbolizer) {
    super(EFAULT, formatFault(fault, symbolize));
    this.fault = fault;
  }
}
