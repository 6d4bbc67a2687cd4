/**
 * What a detector reports: one violation of the trampoline teardown
 * protocol (or of the kernel's own rules), with where and when it happened.
 *
 *   kind                 meaning
 *   use-after-free       a CPU executed (or wrote) freed trampoline or program
 *                        text: the kernel's oops for brk #0x100 in freed text
 *   stale-instruction    a CPU executed an instruction memory no longer holds
 *                        (a stale `bl <old image>` at a patch site) into freed text
 *   freed-while-inside   an image was freed while a task's PC, LR or frame chain
 *                        still pointed into it (a grace period ended too early)
 *   freed-while-attached a patch site still called an image that was freed
 *   refcount             percpu_ref misuse: get after release, put below zero,
 *                        put after percpu_ref_exit (the kernel WARNs)
 *   text-poke-unlocked   kernel text patched without text_mutex (lockdep)
 *   text-poke-mismatch   the old-instruction check of a poke failed (-EFAULT)
 *   deadlock             every task blocked before the scenario finished
 *   livelock             the watchdog's step budget ran out ("never returns")
 *   leak                 an image, its text or its ksym outlived the schedule
 *   lost-call            a call of the traced function did not run its body
 *                        exactly once or returned a wrong value
 *   oops / warning       any other kernel oops or WARN
 *   control-error        a control thread's attach/detach failed otherwise
 */
import type { Frame } from "../../runtime/machine/backtrace.js";

/** What kind of violation (see the table above). */
export type ViolationKind =
  | "use-after-free"
  | "stale-instruction"
  | "freed-while-inside"
  | "freed-while-attached"
  | "refcount"
  | "text-poke-unlocked"
  | "text-poke-mismatch"
  | "deadlock"
  | "livelock"
  | "leak"
  | "lost-call"
  | "oops"
  | "warning"
  | "control-error";

/** One violation, as printed and as compared between runs. */
export interface Violation {
  readonly kind: ViolationKind;
  /** One line: what happened. */
  readonly message: string;
  /** Virtual time (ns) and scheduler step at detection. */
  readonly t: bigint;
  readonly step: number;
  readonly cpu?: number;
  /** "comm/pid". */
  readonly task?: string;
  readonly pc?: bigint;
  /** Symbol of pc ("bpf_trampoline_...+0x0/0x1c0"). */
  readonly symbol?: string;
  /** Symbolised backtrace, innermost first. */
  readonly backtrace?: readonly string[];
  /** Further lines (the kernel's oops text, the poke history of a site, ...). */
  readonly details?: readonly string[];
}

/** Symbolise frames into " name+0xoff/0xsize" lines. */
export function backtraceLines(frames: readonly Frame[], symbolize: (a: bigint) => string | undefined): string[] {
  return frames.map((f) => f.symbol ?? symbolize(f.pc) ?? `0x${f.pc.toString(16)}`);
}

/** The identity of a violation for "the same violation again": kind, PC and symbol (or the message). */
export function violationKey(v: Violation): string {
  if (v.pc !== undefined) return `${v.kind}@0x${v.pc.toString(16)}:${v.symbol ?? ""}`;
  return `${v.kind}:${v.message}`;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** The multi-line report: kind and message, CPU, task, PC, symbol, backtrace, details. */
export function formatViolation(v: Violation): string {
  const lines = [`VIOLATION ${v.kind}: ${v.message}`];
  const where: string[] = [];
  if (v.cpu !== undefined && v.cpu >= 0) where.push(`CPU: ${v.cpu}`);
  if (v.task) where.push(`task: ${v.task}`);
  where.push(`t: ${v.t} ns`, `step: ${v.step}`);
  lines.push(`  ${where.join("  ")}`);
  if (v.pc !== undefined) lines.push(`  pc : ${hex(v.pc)}${v.symbol ? ` ${v.symbol}` : ""}`);
  if (v.backtrace?.length) {
    lines.push("  Call trace:");
    for (const f of v.backtrace) lines.push(`   ${f}`);
  }
  for (const d of v.details ?? []) lines.push(`  ${d}`);
  return lines.join("\n");
}

/** A JSON-safe copy (bigints as hex or decimal strings). */
export function violationJson(v: Violation): Record<string, unknown> {
  return {
    kind: v.kind,
    message: v.message,
    t: v.t.toString(),
    step: v.step,
    cpu: v.cpu,
    task: v.task,
    pc: v.pc === undefined ? undefined : hex(v.pc),
    symbol: v.symbol,
    backtrace: v.backtrace,
    details: v.details,
  };
}
