/**
 * arch_bpf_stack_walk() of arch/arm64/kernel/stacktrace.c over the emulated
 * frame-record chain: the unwinder bpf_throw() uses to find the frame of
 * the exception boundary.
 *
 * The kernel unwinds from its caller (kunwind_init_from_caller: pc =
 * return address, fp = the caller's frame record) and hands every frame
 * to consume(cookie, pc, sp = 0, fp); arm64 does not track SP per frame,
 * hence the 0. A (pc, fp) pair means "pc is inside function F and fp is
 * F's frame record", so the exception callback can take the boundary's
 * frame from fp alone:
 *
 *        high addresses
 *        ┌──────────────┐
 *        │ saved lr ────┼──► pc of the next (outer) frame
 *   fp ─►├──────────────┤
 *        │ saved fp ────┼──► fp of the next (outer) frame
 *        └──────────────┘
 *        low addresses
 *
 *   walk:  (lr, x29) of the caller of bpf_throw          frame 0: the thrower
 *          ([x29 + 8], [x29])                             frame 1: its caller
 *          ([[x29] + 8], [[x29]])                         frame 2 ...
 *
 * Simplification: bpf_throw is a TypeScript service reached through a
 * `svc; ret` stub that builds no frame record, so the walk starts at the
 * stub's caller (the LR and FP at the svc) instead of at bpf_throw's own
 * frame, which the kernel's walker skips anyway (not BPF text). The walk
 * ends where the frame-record chain ends (fp 0, misaligned, unreadable or
 * not moving up the stack), as kunwind does at the end of the task stack.
 */
import { walkFrameRecords, type Read64 } from "../../machine/backtrace.js";

/** consume_entry(cookie, ip, sp, fp): true to go on to the next frame. */
export type BpfStackConsume = (ip: bigint, sp: bigint, fp: bigint) => boolean;

/** Where the walk starts: the return address and frame pointer of bpf_throw's caller. */
export interface StackWalkStart {
  /** x30 at the call into the kernel function (a return address into the caller). */
  readonly lr: bigint;
  /** x29 at that call (the caller's frame record). */
  readonly fp: bigint;
}

/** The frames arch_bpf_stack_walk() visits, innermost first, as (pc, fp). */
export function bpfStackFrames(start: StackWalkStart, read64: Read64): { pc: bigint; fp: bigint }[] {
  const frames = [{ pc: start.lr, fp: start.fp }];
  for (const f of walkFrameRecords(read64, start.fp)) frames.push({ pc: f.pc, fp: f.fp });
  return frames;
}

/**
 * arch_bpf_stack_walk(consume_entry, cookie): call `consume` with (pc, 0,
 * fp) for each frame from `from` outwards until it returns false or the
 * chain ends; `from.read64` reads the stack. Returns the number of frames
 * consumed.
 */
export function archBpfStackWalk(consume: BpfStackConsume, from: StackWalkStart & { read64: Read64 }): number {
  let n = 0;
  for (const f of bpfStackFrames(from, from.read64)) {
    n++;
    if (!consume(f.pc, 0n, f.fp)) break;
  }
  return n;
}
