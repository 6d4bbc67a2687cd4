/**
 * The race explorer's detectors, fed by the kernel's event trace
 * (runtime/kernel/ktrace.ts) while a schedule runs:
 *
 *   event        detector                       violation
 *   poke         lockdep: text_mutex held?      text-poke-unlocked
 *                (every poke also goes into the site's history)
 *   image_free   scan every live task's PC, LR  freed-while-inside
 *                and frame chain for addresses   ("a grace period ended while
 *                inside the freed image            a reader was still inside")
 *   oops         classify the fault:
 *                  fetch of freed text entered by a `bl` at a patch site that
 *                  memory no longer holds        stale-instruction
 *                  ... that memory still holds   freed-while-attached
 *                  any other access to freed text use-after-free
 *                  percpu_ref misuse (BUG)       refcount
 *                  anything else                 oops
 *   warn         percpu_ref WARNs               refcount
 *                other WARNs                    warning
 *
 * The first violation wins; the runner stops the schedule at the next step.
 *
 *   poke of freed text (the kernel's read of the old instruction and its
 *   write of the new one)                       use-after-free
 *
 * Reads of freed text by emulated code oops through the kernel's KASAN
 * for text (`kasanText`, on in every race world: a Unicorn read hook over
 * the text pools, about 25% of the schedules/s); execution and emulated
 * writes fault anyway (brk fill, RX pool); host-side pokes are checked here.
 */
import { aarch64GetBranchOffset, aarch64InsnIsBOrBl, aarch64InsnIsNop } from "../../runtime/a64/decode.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";
import type { KernelEvent } from "../../runtime/kernel/ktrace.js";
import type { Task } from "../../runtime/kernel/task.js";
import type { FreedText } from "../../runtime/kernel/text_alloc.js";
import { walkFrameRecords } from "../../runtime/machine/backtrace.js";
import { CTX_FP, CTX_LR, CTX_PC } from "../../runtime/machine/cpu.js";
import type { Fault } from "../../runtime/machine/fault.js";
import { formatFault } from "../../runtime/machine/fault.js";
import { backtraceLines, type Violation, type ViolationKind } from "./violation.js";

/** One recorded text poke. */
export interface PokeRecord {
  readonly t: bigint;
  readonly cpu: number;
  readonly pid: number;
  readonly old: number;
  readonly insn: number;
  readonly locked: boolean;
  readonly synced: boolean;
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** `mov x9, x30` (add x9, x30, #0): the first patchable instruction of an attached entry. */
const MOV_X9_LR = 0x910003c9;

/** "nop", "bl 0x… <sym>", "b 0x… <sym>", "mov x9, x30" or ".inst 0x…" for an instruction at `pc`. */
export function describeInsn(insn: number, at: { pc: bigint; symbolize: (a: bigint) => string | undefined }): string {
  const { pc, symbolize } = at;
  if (aarch64InsnIsNop(insn)) return "nop";
  if (aarch64InsnIsBOrBl(insn)) {
    const target = pc + BigInt(aarch64GetBranchOffset(insn));
    const name = symbolize(target)?.split("/")[0];
    return `${(insn & 0x80000000) !== 0 ? "bl" : "b"} ${hex(target)}${name ? ` <${name}>` : ""}`;
  }
  if (insn >>> 0 === MOV_X9_LR) return "mov x9, x30";
  return `.inst 0x${(insn >>> 0).toString(16).padStart(8, "0")}`;
}

/** The target of a `bl` at `pc`, or undefined. */
function blTarget(insn: number, pc: bigint): bigint | undefined {
  if (!aarch64InsnIsBOrBl(insn) || (insn & 0x80000000) === 0) return undefined;
  return pc + BigInt(aarch64GetBranchOffset(insn));
}

/** Per-schedule detector state; `violation` is the first one found. */
export class Detectors {
  readonly k: Kernel;
  violation: Violation | undefined;
  /** Every violation reported, in order (a run that goes on after the first collects the rest). */
  readonly all: Violation[] = [];
  /** Poke history per site address, oldest first. */
  readonly pokes = new Map<bigint, PokeRecord[]>();
  imagesAllocated = 0;
  imagesFreed = 0;
  /** Scheduler step at the start of the schedule (violations report steps from there). */
  stepBase = 0;

  constructor(k: Kernel) {
    this.k = k;
  }

  /** Forget everything (a new schedule). */
  reset(): void {
    this.violation = undefined;
    this.all.length = 0;
    this.pokes.clear();
    this.imagesAllocated = 0;
    this.imagesFreed = 0;
    this.stepBase = this.k.sched.steps;
  }

  /** Record a violation unless one was already found. */
  report(v: Omit<Violation, "t" | "step"> & { t?: bigint }): void {
    const full: Violation = { ...v, t: v.t ?? this.k.sched.now, step: this.k.sched.steps - this.stepBase };
    this.all.push(full);
    if (!this.violation) this.violation = full;
  }

  /** The kernel event listener. */
  onEvent(ev: KernelEvent): void {
    switch (ev.kind) {
      case "poke":
        this.#onPoke(ev);
        return;
      case "image_alloc":
        this.imagesAllocated++;
        return;
      case "image_free":
        this.imagesFreed++;
        this.#scanInside(ev.image, ev.addr, ev.size);
        return;
      case "oops":
        this.#onOops(ev.pid);
        return;
      case "warn":
        this.#onWarn(ev);
        return;
      default:
        return;
    }
  }

  /** kallsyms, and for freed BPF text the name it had: "bpf_trampoline_…+0x10/0x100 (freed)". */
  #symbolize = (a: bigint): string | undefined => {
    const s = this.k.symbolize(a);
    if (s) return s;
    const f = this.#freedAt(a);
    if (!f) return undefined;
    const size = Math.ceil(f.size / 64) * 64;
    return `${f.name}+0x${(a - f.addr).toString(16)}/0x${size.toString(16)} (freed)`;
  };

  #taskName(pid: number): string | undefined {
    const t = this.k.sched.tasks.find((x) => x.pid === pid);
    return t ? String(t) : pid >= 0 ? `pid ${pid}` : undefined;
  }

  #onPoke(ev: Extract<KernelEvent, { kind: "poke" }>): void {
    let list = this.pokes.get(ev.addr);
    if (!list) this.pokes.set(ev.addr, (list = []));
    list.push({ t: ev.t, cpu: ev.cpu, pid: ev.pid, old: ev.old, insn: ev.insn, locked: ev.locked, synced: ev.synced });
    const freed = this.#freedAt(ev.addr);
    if (freed) {
      // The kernel reads the old instruction and writes the new one: both touch freed memory (KASAN territory).
      const sym = this.#symbolize;
      this.report({
        kind: "use-after-free",
        message: `text poke of freed ${freed.name} (freed at ${freed.freedAt} ns): ${describeInsn(ev.old, { pc: ev.addr, symbolize: sym })} → ${describeInsn(ev.insn, { pc: ev.addr, symbolize: sym })}`,
        t: ev.t,
        cpu: ev.cpu,
        task: this.#taskName(ev.pid),
        pc: ev.addr,
        symbol: sym(ev.addr) ?? ev.what,
        details: [`BUG: KASAN: use-after-free in bpf_arch_text_poke: read and write of 4 bytes at ${hex(ev.addr)}`],
      });
    }
    if (!ev.locked) {
      const sym = this.#symbolize;
      this.report({
        kind: "text-poke-unlocked",
        message: `text poke of ${ev.what} without text_mutex: ${describeInsn(ev.old, { pc: ev.addr, symbolize: sym })} → ${describeInsn(ev.insn, { pc: ev.addr, symbolize: sym })}`,
        t: ev.t,
        cpu: ev.cpu,
        task: this.#taskName(ev.pid),
        pc: ev.addr,
        symbol: ev.what,
        details: ["lockdep_assert_held(&text_mutex) failed in the text poke (aarch64_insn_patch_text_nosync)"],
      });
    }
  }

  /**
   * At image free: every live task's innermost PC and LR and its frame
   * chain, and the saved PCs of its outer emulated frames, must lie outside
   * the image.
   */
  #scanInside(image: string, addr: bigint, size: number): void {
    const end = addr + BigInt(size);
    const inside = (a: bigint) => a >= addr && a < end;
    const mem = this.k.machine.memory;
    const read64 = (a: bigint) => (mem.isMapped(a, 8) ? mem.read64(a) : undefined);
    for (const task of this.k.sched.liveTasks()) {
      const hit = this.#taskHit(task, inside, read64);
      if (!hit) continue;
      this.report({
        kind: "freed-while-inside",
        message: `${image} freed while ${task} is inside it (${hit.where} ${hit.symbol})`,
        cpu: task.cpu >= 0 ? task.cpu : task.lastCpu,
        task: String(task),
        pc: hit.pc,
        symbol: hit.symbol,
        backtrace: hit.backtrace,
        details: [
          `${task} is ${task.state}${task.waitReason ? ` (${task.waitReason})` : ""}${task.preempted ? ", preempted" : ""}`,
          "a grace period ended while a reader was still inside the image",
        ],
      });
      return;
    }
  }

  #taskHit(
    task: Task,
    inside: (a: bigint) => boolean,
    read64: (a: bigint) => bigint | undefined,
  ): { where: string; pc: bigint; symbol: string; backtrace: string[] } | undefined {
    const sym = (a: bigint) => this.#symbolize(a) ?? hex(a);
    const emu = task.frames.filter((f) => f.kind === "emu");
    for (let i = emu.length - 1; i >= 0; i--) {
      const innermost = i === emu.length - 1;
      const f = emu[i];
      if (f.kind !== "emu") continue;
      const ctx = innermost ? (this.k.sched.taskContext(task) ?? f.ctx) : f.ctx;
      const pc = ctx[CTX_PC];
      const lr = ctx[CTX_LR];
      const chain = walkFrameRecords(read64, ctx[CTX_FP]);
      const trace = [sym(pc), ...chain.map((c) => sym(c.pc))];
      if (inside(pc)) return { where: "pc", pc, symbol: sym(pc), backtrace: trace };
      if (inside(lr)) return { where: "lr", pc: lr, symbol: sym(lr), backtrace: [sym(pc), sym(lr), ...trace.slice(1)] };
      const rec = chain.find((c) => inside(c.pc));
      if (rec) return { where: "return address", pc: rec.pc, symbol: sym(rec.pc), backtrace: trace };
    }
    return undefined;
  }

  #freedAt(a: bigint): FreedText | undefined {
    for (const pool of [this.k.bpfText, this.k.farBpfText]) {
      if (pool.contains(a)) return pool.findFreed(a);
    }
    return undefined;
  }

  #onOops(pid: number): void {
    const fault = this.k.oopses[this.k.oopses.length - 1];
    if (!fault) return;
    const base = {
      cpu: fault.cpu,
      task: fault.task ? `${fault.task.comm}/${fault.task.pid}` : this.#taskName(pid),
      pc: fault.pc,
      symbol: this.#symbolize(fault.pc),
      backtrace: backtraceLines(fault.backtrace, this.#symbolize),
    };
    // The oops headline and lr (pc and the call trace are the violation's own fields).
    const oopsText = formatFault(fault, this.#symbolize)
      .split("\n")
      .filter((l, i) => i === 0 || l.startsWith("lr :"));
    const freedPc = this.#freedAt(fault.pc);
    const freedAddr = fault.address === undefined ? undefined : this.#freedAt(fault.address);
    if (freedPc && (fault.kind === "break_fault" || fault.kind.startsWith("fetch"))) {
      this.report({ ...base, ...this.#classifyFetch(fault, freedPc), details: oopsText });
      return;
    }
    if (freedAddr) {
      this.report({
        ...base,
        kind: "use-after-free",
        message:
          fault.kind === "kasan"
            ? `KASAN: ${fault.detail ?? "read"} at ${hex(fault.address ?? 0n)}`
            : `${fault.kind} at ${hex(fault.address ?? 0n)} in freed ${freedAddr.name}`,
        details: oopsText,
      });
      return;
    }
    const detail = fault.detail ?? "";
    const kind: ViolationKind = /percpu_ref|percpu ref|bpf_tramp_image at/.test(detail) ? "refcount" : "oops";
    const garbage =
      fault.kind.startsWith("fetch") && this.#symbolize(fault.pc) === undefined
        ? `: execution at ${hex(fault.pc)}, which is not code${fault.lr === fault.pc ? " (a return through a link register holding garbage)" : ""}`
        : "";
    this.report({ ...base, kind, message: `${fault.kind}${detail ? `: ${detail}` : garbage}`, details: oopsText });
  }

  /** A fetch from freed text: stale `bl` at a patch site, still attached, or plain use-after-free. */
  #classifyFetch(fault: Fault, freed: FreedText): { kind: ViolationKind; message: string } {
    const off = fault.pc - freed.addr;
    const site = fault.lr - 4n;
    const history = this.pokes.get(site);
    const mem = this.k.machine.memory;
    const sym = this.#symbolize;
    if (off === 0n && history && history.some((p) => blTarget(p.insn, site) === freed.addr)) {
      const now = mem.read32(site);
      const siteName = sym(site) ?? hex(site);
      if (blTarget(now, site) === freed.addr) {
        return {
          kind: "freed-while-attached",
          message: `${siteName} still calls ${freed.name}, which was freed at ${freed.freedAt} ns`,
        };
      }
      const last = history[history.length - 1];
      return {
        kind: "stale-instruction",
        message:
          `CPU ${fault.cpu} executed \`bl ${hex(freed.addr)} <${freed.name}>\` at ${siteName}, which memory no longer holds ` +
          `(it holds \`${describeInsn(now, { pc: site, symbolize: sym })}\` since the poke at ${last.t} ns` +
          `${last.synced ? "" : ", made without cache maintenance"}); ${freed.name} was freed at ${freed.freedAt} ns`,
      };
    }
    return {
      kind: "use-after-free",
      message: `execution of freed ${freed.name}+${hex(off)} (freed at ${freed.freedAt} ns)`,
    };
  }

  #onWarn(ev: Extract<KernelEvent, { kind: "warn" }>): void {
    const r = this.k.bugs.reports[this.k.bugs.reports.length - 1];
    const bt = r && typeof r.backtrace !== "string" ? backtraceLines(r.backtrace, this.#symbolize) : undefined;
    const kind: ViolationKind = /percpu_ref|percpu ref/.test(ev.message) ? "refcount" : "warning";
    this.report({
      kind,
      message: `WARNING: ${ev.message}`,
      t: ev.t,
      cpu: ev.cpu,
      task: this.#taskName(ev.pid),
      pc: bt && r && typeof r.backtrace !== "string" ? r.backtrace[0]?.pc : undefined,
      symbol: bt?.[0],
      backtrace: bt,
    });
  }
}
