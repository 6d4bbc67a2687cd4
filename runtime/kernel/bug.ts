/**
 * WARN() and BUG() of the simulated kernel (include/asm-generic/bug.h):
 * kernel bugs found by TypeScript services are recorded with the CPU, task
 * and a backtrace, logged, and — for WARN — execution goes on.
 */
import { formatBacktrace, type Frame, type Symbolizer } from "../machine/backtrace.js";
import { createLogger } from "../log.js";

const log = createLogger("bug");

export interface BugReport {
  kind: "WARNING" | "BUG";
  message: string;
  cpu: number;
  task?: { pid: number; comm: string };
  /** Emulated backtrace when called from emulated code; the TS stack otherwise. */
  backtrace: Frame[] | string;
  /** Virtual time. */
  t: bigint;
}

/** The kernel's list of WARN/BUG reports. */
export class BugLog {
  readonly reports: BugReport[] = [];
  symbolize: Symbolizer | undefined;
  /** Called for every report (the kernel forwards it to its event trace). */
  onReport: ((r: BugReport) => void) | undefined;

  /** Record a report and log it. */
  report(r: BugReport): void {
    this.reports.push(r);
    this.onReport?.(r);
    log.warn({ kind: r.kind, cpu: r.cpu, task: r.task, t: r.t.toString() }, r.message);
  }

  /** Kernel-style text of one report. */
  format(r: BugReport): string {
    const who = r.task ? ` PID: ${r.task.pid} Comm: ${r.task.comm}` : "";
    const head = `${r.kind}: CPU: ${r.cpu}${who}: ${r.message}`;
    const trace = typeof r.backtrace === "string" ? r.backtrace : formatBacktrace(r.backtrace, this.symbolize);
    return `${head}\nCall trace:\n${trace}`;
  }
}
