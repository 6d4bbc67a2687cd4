/**
 * Frame-record backtraces (arch/arm64/kernel/stacktrace.c, simplified).
 *
 * AAPCS64 frame record, as every function built with frame pointers (and
 * every JITed BPF program and trampoline) lays it out:
 *
 *        high addresses
 *   fp+8 ┌──────────────┐
 *        │ saved lr     │  return address into the caller
 *   fp   ├──────────────┤
 *        │ saved fp ────┼──► caller's frame record
 *        └──────────────┘
 *        low addresses
 *
 * The walk follows saved fp until it is 0, misaligned, unreadable, does not
 * move up the stack, or the depth limit is reached.
 */

/** One frame of a backtrace. */
export interface Frame {
  pc: bigint;
  /** The frame pointer belonging to this frame (0 when unknown). */
  fp: bigint;
  /** "func+0x18/0x40" when the address is known to kallsyms. */
  symbol?: string;
}

/** Resolves an address to "name+0xoff/0xsize". */
export type Symbolizer = (addr: bigint) => string | undefined;

/** A 64-bit reader that returns undefined for unreadable addresses. */
export type Read64 = (addr: bigint) => bigint | undefined;

const MAX_DEPTH = 64;

/**
 * Walk the frame-record chain starting at `fp`, yielding the return address
 * stored in each record together with the record's caller fp.
 */
export function walkFrameRecords(read64: Read64, fp: bigint, maxDepth = MAX_DEPTH): Frame[] {
  const frames: Frame[] = [];
  let cur = fp;
  for (let depth = 0; depth < maxDepth; depth++) {
    if (cur === 0n || (cur & 0xfn) !== 0n) break;
    const next = read64(cur);
    const lr = read64(cur + 8n);
    if (next === undefined || lr === undefined || lr === 0n) break;
    frames.push({ pc: lr, fp: next });
    if (next !== 0n && next <= cur) break;
    cur = next;
  }
  return frames;
}

/** Format frames like the kernel's "Call trace:" block. */
export function formatBacktrace(frames: readonly Frame[], symbolize?: Symbolizer): string {
  return frames.map((f) => ` ${f.symbol ?? symbolize?.(f.pc) ?? `0x${f.pc.toString(16)}`}`).join("\n");
}
