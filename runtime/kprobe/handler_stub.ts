/**
 * The per-kprobe handler stub: what arm64's ftrace_caller
 * (arch/arm64/kernel/entry-ftrace.S, DYNAMIC_FTRACE_WITH_ARGS) plus
 * kprobe_ftrace_handler() (KPROBES_ON_FTRACE, kernel/trace/... and
 * arch/<x>/kernel/kprobes/ftrace.c) plus kprobe_perf_func() /
 * trace_call_bpf() do for one BPF kprobe, generated as A64 code:
 *
 *   func:  mov x9, x30        ◄─ the patchable entry, patched like an ftrace direct call
 *          bl  stub
 *          <body>             ◄─ stub returns here (x9 = func + 8) with the
 *                                registers and lr of the entry restored
 *
 *   stub frame, high to low (FRAME = sizeof(pt_regs) + 32)
 *
 *   entry sp ─►┌────────────────────────────┐  = pt_regs.sp
 *              │ x9   parent's return addr  │  +size+24 ┐ frame record of the probed
 *              │ x29  parent's fp           │  +size+16 ┘ function (as ftrace makes it)
 *              │ x30  func + 8              │  +size+8  ┐ the stub's own record;
 *              │ x29  ─► +size+16           │  +size    ┘ x29 points here during calls
 *              │ struct pt_regs             │
 *              │   orig_x0 .. (zero)        │  +272
 *              │   pstate                   │  +264
 *              │   pc = func                │  +256
 *              │   sp = entry sp            │  +248
 *              │   regs[30] = x9 (lr)       │  +240
 *              │   regs[0..29]              │  +0
 *          sp ─►└────────────────────────────┘  = &pt_regs = ctx of the program
 *
 *   x0 = kp, x1 = regs: call a64bpf_kprobe_enter     kprobe_ftrace_handler + trace_call_bpf
 *   cbz x0, restore                                   entry side: 0 = skip the program
 *   x0 = regs: blr prog->bpf_func                     bpf_prog_run(prog, regs)
 *   x0 = kp, x1 = its return value: a64bpf_kprobe_exit
 *   restore: x0..x8, x29, x30 from pt_regs; ret to func + 8
 *
 * Only x0–x8 (arguments and the indirect-result register), x29 and x30 are
 * restored, as ftrace_caller does: x9–x18 are caller-saved and dead at a
 * function's entry (x9 already holds the parent lr after the patched
 * `mov`), x19–x28 are preserved by everything the stub calls.
 *
 * pt_regs.pc is the probed address, the function's entry (kprobe_ftrace_handler
 * sets the ip of the probe before the pre-handler). pstate is read from the
 * CPU (NZCV, DAIF, CurrentEL, SPSel). Addresses are loaded with a fixed
 * movz/movk/movk (physical addresses below 2^48), so the stub's length does
 * not depend on them.
 */
import { a64Blr, a64Cbz, a64Ret } from "../a64/jit_macros.js";
import { a64AddI, a64Mov, a64Movk, a64Movz, a64Orr, a64SubI } from "../a64/jit_macros_alu.js";
import { a64Ldp, a64Ldr64I, a64Stp, a64Str64I } from "../a64/jit_macros_mem.js";
import { A64_FP, A64_LR, A64_SP, A64_ZR } from "../a64/regs.js";
import { EINVAL } from "../errno.js";
import { KernelError } from "../errors.js";
import { USER_PT_REGS, type PtRegsLayout } from "./pt_regs.js";

/** What the stub calls and passes. */
export interface KprobeStubSpec {
  /** struct kprobe * (x0 of enter and exit). */
  readonly kp: bigint;
  /** prog->bpf_func of the BPF program. */
  readonly bpfFunc: bigint;
  /** a64bpf_kprobe_enter / a64bpf_kprobe_exit. */
  readonly enter: bigint;
  readonly exit: bigint;
  readonly layout: PtRegsLayout;
}

/** Frame and instruction offsets of a generated stub. */
export interface KprobeStub {
  /** The instructions, little-endian words. */
  readonly words: Uint32Array;
  /** Bytes of stack the stub takes below the entry sp. */
  readonly frameSize: number;
  /** Byte offset of the instruction after `blr bpf_func` (the program's return address). */
  readonly progReturnOffset: number;
}

const X9 = 9;
const X10 = 10;
const X11 = 11;
const X16 = 16;

/** `mrs Xt, <sysreg>` for the PSTATE fields the stub reads (Arm ARM C6.2.224 MRS; words checked against capstone). */
export function a64Mrs(rt: number, sysreg: "nzcv" | "daif" | "currentel" | "spsel"): number {
  // MRS with Rt = 0: 0xd5300000 | o0:op1:CRn:CRm:op2 << 5 (nzcv 3,3,4,2,0; daif 3,3,4,2,1; CurrentEL 3,0,4,2,2; SPSel 3,0,4,2,0).
  const base = { nzcv: 0xd53b4200, daif: 0xd53b4220, currentel: 0xd5384240, spsel: 0xd5384200 }[sysreg];
  if (!Number.isInteger(rt) || rt < 0 || rt > 30) throw new KernelError(EINVAL, `invalid register: x${rt}`);
  return (base | rt) >>> 0;
}

function movAddr(rd: number, addr: bigint): number[] {
  if (addr < 0n || addr >= 1n << 48n)
    throw new KernelError(EINVAL, `kprobe stub: address 0x${addr.toString(16)} beyond 48 bits`);
  const part = (i: number): number => Number((addr >> BigInt(16 * i)) & 0xffffn);
  return [a64Movz(true, rd, part(0), 0), a64Movk(true, rd, part(1), 16), a64Movk(true, rd, part(2), 32)];
}

/** Generate the handler stub of one kprobe (see the header for the frame). */
export function genKprobeHandlerStub(spec: KprobeStubSpec): KprobeStub {
  const { layout } = spec;
  const size = layout.size;
  const frame = size + 32;
  if (size % 16 !== 0 || size + 16 > 504)
    throw new KernelError(EINVAL, `kprobe stub: unsupported pt_regs size ${size}`);
  const w: number[] = [];
  w.push(a64SubI(true, A64_SP, A64_SP, frame));
  for (let r = 0; r < 30; r += 2) w.push(a64Stp(true, r, r + 1, A64_SP, USER_PT_REGS.regs + 8 * r));
  w.push(a64Str64I(X9, A64_SP, USER_PT_REGS.regs + 8 * 30));
  w.push(a64AddI(true, X10, A64_SP, frame), a64Str64I(X10, A64_SP, layout.sp));
  w.push(a64SubI(true, X10, A64_LR, 8), a64Str64I(X10, A64_SP, layout.pc));
  w.push(a64Mrs(X10, "nzcv"), a64Mrs(X11, "daif"), a64Orr(true, X10, X10, X11));
  w.push(a64Mrs(X11, "currentel"), a64Orr(true, X10, X10, X11));
  w.push(a64Mrs(X11, "spsel"), a64Orr(true, X10, X10, X11));
  w.push(a64Str64I(X10, A64_SP, layout.pstate));
  for (let off = layout.pstate + 8; off < size; off += 16) w.push(a64Stp(true, A64_ZR, A64_ZR, A64_SP, off));
  // Frame records: the probed function's (fp, parent lr), then the stub's (fp, func + 8).
  w.push(a64Stp(true, A64_FP, X9, A64_SP, size + 16), a64AddI(true, A64_FP, A64_SP, size + 16));
  w.push(a64Stp(true, A64_FP, A64_LR, A64_SP, size), a64AddI(true, A64_FP, A64_SP, size));
  // enter(kp, regs)
  w.push(...movAddr(0, spec.kp), a64Mov(true, 1, A64_SP), ...movAddr(X16, spec.enter), a64Blr(X16));
  const cbz = w.length;
  w.push(0);
  // bpf_func(regs)
  w.push(a64Mov(true, 0, A64_SP), ...movAddr(X16, spec.bpfFunc), a64Blr(X16));
  const progReturnOffset = w.length * 4;
  // exit(kp, ret)
  w.push(a64Mov(true, 1, 0), ...movAddr(0, spec.kp), ...movAddr(X16, spec.exit), a64Blr(X16));
  w[cbz] = a64Cbz(true, 0, w.length - cbz);
  // restore
  for (let r = 0; r < 8; r += 2) w.push(a64Ldp(true, r, r + 1, A64_SP, USER_PT_REGS.regs + 8 * r));
  w.push(a64Ldr64I(8, A64_SP, USER_PT_REGS.regs + 8 * 8));
  w.push(a64Ldr64I(A64_FP, A64_SP, USER_PT_REGS.regs + 8 * 29));
  w.push(a64Ldr64I(A64_LR, A64_SP, USER_PT_REGS.regs + 8 * 30));
  w.push(a64Ldr64I(X9, A64_SP, size + 8));
  w.push(a64AddI(true, A64_SP, A64_SP, frame));
  w.push(a64Ret(X9));
  return { words: Uint32Array.from(w), frameSize: frame, progReturnOffset };
}
