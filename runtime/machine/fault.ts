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
  | "abi"
  /** A KASAN-style report: emulated code read freed memory that stays mapped (freed BPF text). */
  | "kasan";

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

/**
 * The first line of an oops, as arm64's __do_kernel_fault() and die() word
 * it: a permission fault names the access, an unmapped access is a "NULL
 * pointer dereference" below PAGE_SIZE and a "paging request" above.
 */
function headline(f: Fault): string {
  switch (f.kind) {
    case "fetch_prot":
      return "Unable to handle kernel execute from non-executable memory";
    case "read_prot":
      return "Unable to handle kernel read from unreadable memory";
    case "write_prot":
      return "Unable to handle kernel write to read-only memory";
    case "fetch_unmapped":
    case "read_unmapped":
    case "write_unmapped":
      return f.address !== undefined && f.address < NULL_PAGE_END
        ? "Unable to handle kernel NULL pointer dereference"
        : "Unable to handle kernel paging request";
    case "unaligned":
      return "Unable to handle kernel unaligned access";
    case "undefined_instruction":
      return "Internal error: Oops - Undefined instruction";
    case "break_fault":
      return "Internal error: Oops - BRK (AARCH64_BREAK_FAULT)";
    case "brk":
      return "Internal error: Oops - BRK";
    case "unknown_hypercall":
      return "Internal error: unknown hypercall";
    case "exception":
      return "Internal error: unexpected exception";
    case "bug":
      return "kernel BUG";
    case "abi":
      return "Internal error: AAPCS64 callee-saved state not preserved";
    case "kasan":
      return "BUG: KASAN: use-after-free";
  }
}

/** The exception class of a memory fault and, for data aborts, its direction (ESR_ELx fields). */
function memAbortInfo(f: Fault): string[] {
  const m = /^(fetch|read|write)_(unmapped|prot)$/.exec(f.kind);
  if (!m) return [];
  if (m[1] === "fetch") return ["Mem abort info:", "  EC = 0x21: IABT (current EL), IL = 32 bits"];
  return [
    "Mem abort info:",
    "  EC = 0x25: DABT (current EL), IL = 32 bits",
    "Data abort info:",
    `  WnR = ${m[1] === "write" ? 1 : 0}`,
  ];
}

/** Addresses below this are NULL-pointer dereferences (PAGE_SIZE). */
const NULL_PAGE_END = 0x1000n;

function hex(v: bigint): string {
  return v.toString(16).padStart(16, "0");
}

/** A kernel-oops-style multi-line report. */
export function formatFault(f: Fault, symbolize?: Symbolizer): string {
  const lines: string[] = [];
  const at = f.address !== undefined ? ` at virtual address ${hex(f.address)}` : "";
  lines.push(`${headline(f)}${at}${f.detail ? `: ${f.detail}` : ""}`);
  lines.push(...memAbortInfo(f));
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
