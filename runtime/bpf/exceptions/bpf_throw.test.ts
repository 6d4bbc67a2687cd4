import test from "ava";
import { KernelError } from "../../errors.js";
import {
  bpfStackWalker,
  bpfThrow,
  poisonOf,
  type BpfKsymProg,
  type BpfThrowCtx,
  type BpfThrowDeps,
  type ThrowCpu,
} from "./bpf_throw.js";

/** A CPU stopped at the svc of the bpf_throw stub. */
function cpu(regs: { cookie: bigint; lr: bigint; fp: bigint }): ThrowCpu & { regs: bigint[] } {
  const r = new Array<bigint>(31).fill(0x77n);
  r[0] = regs.cookie;
  r[29] = regs.fp;
  r[30] = regs.lr;
  return {
    index: 1,
    regs: r,
    pc: 0xffff0000n,
    x: (n) => r[n],
    setX: (n, v) => {
      r[n] = v;
    },
    get lr() {
      return r[30];
    },
    get fp() {
      return r[29];
    },
  };
}

const MAIN_AUX = { name: "boundary", exceptionBoundary: true, bpfExceptionCb: 0xcb00n };
const OTHER_AUX = { name: "other", exceptionBoundary: true, bpfExceptionCb: 0xdd00n };

/** Text layout: 0x1000.. subprogs of MAIN, 0x2000.. MAIN's main function, 0x3000.. OTHER, else kernel. */
function find(ip: bigint): BpfKsymProg | undefined {
  if (ip >= 0x1000n && ip < 0x2000n) return { isSubprog: true, aux: MAIN_AUX };
  if (ip >= 0x2000n && ip < 0x3000n) return { isSubprog: false, aux: MAIN_AUX };
  if (ip >= 0x3000n && ip < 0x4000n) return { isSubprog: false, aux: OTHER_AUX };
  return undefined;
}

/** Frame records fp → [saved fp, saved lr]. */
function reader(records: readonly [bigint, bigint, bigint][]): (a: bigint) => bigint | undefined {
  const m = new Map<bigint, bigint>();
  for (const [fp, sfp, slr] of records) {
    m.set(fp, sfp);
    m.set(fp + 8n, slr);
  }
  return (a) => m.get(a);
}

function walk(frames: readonly [bigint, bigint][]): BpfThrowCtx {
  const ctx: BpfThrowCtx = { aux: undefined, sp: 0n, bp: 0n, cnt: 0 };
  const consume = bpfStackWalker(ctx, find);
  for (const [pc, fp] of frames) if (!consume(pc, 0n, fp)) break;
  return ctx;
}

test("bpf_stack_walker skips kernel frames before the first BPF frame and subprogram frames, stops at a main program", (t) => {
  const ctx = walk([
    [0x9000n, 0x100n], // kernel (bpf_throw's own frames in the kernel)
    [0x1010n, 0x200n], // subprog
    [0x1800n, 0x300n], // subprog
    [0x2040n, 0x400n], // the main program: stop here
    [0x3000n, 0x500n], // never reached
  ]);
  t.is(ctx.aux, MAIN_AUX);
  t.is(ctx.bp, 0x400n);
  t.is(ctx.sp, 0n);
  t.is(ctx.cnt, 3);
});

test("bpf_stack_walker stops without a boundary at a kernel frame after a BPF frame", (t) => {
  const ctx = walk([
    [0x1010n, 0x200n],
    [0x9000n, 0x300n], // e.g. a trampoline or kernel code
    [0x2040n, 0x400n],
  ]);
  t.is(ctx.aux, undefined);
  t.is(ctx.cnt, 1);
});

test("bpf_throw calls the boundary's callback with (cookie, 0, fp, 0, 0) and poisons x19..x28", (t) => {
  // thrower subprog (fp 0x1000, pc 0x1010) ← subprog (0x1040) ← main (0x1100) ← kernel caller
  const read = reader([
    [0x1000n, 0x1040n, 0x1800n],
    [0x1040n, 0x1100n, 0x2040n],
    [0x1100n, 0x1200n, 0x9000n],
  ]);
  const c = cpu({ cookie: 42n, lr: 0x1010n, fp: 0x1000n });
  const warnings: string[] = [];
  const deps: BpfThrowDeps = { ksymFind: find, read64: read, warn: (m) => warnings.push(m) };
  const r = bpfThrow(c, deps);
  t.is(c.pc, 0xcb00n, "PC = aux->bpf_exception_cb");
  t.deepEqual(c.regs.slice(0, 5), [42n, 0n, 0x1100n, 0n, 0n], "x0..x4 = cookie, sp, bp, 0, 0");
  for (let n = 19; n <= 28; n++) t.is(c.regs[n], poisonOf(n), `x${n} left clobbered`);
  t.is(c.regs[29], 0x1000n, "x29 is the callback's business (mov x29, x2)");
  t.is(r.callback, 0xcb00n);
  t.is(r.ctx.bp, 0x1100n);
  t.deepEqual(warnings, []);
});

test("bpf_throw without any BPF frame warns and fails instead of jumping to NULL", (t) => {
  const c = cpu({ cookie: 1n, lr: 0x9000n, fp: 0x1000n });
  const warnings: string[] = [];
  const e = t.throws(() => bpfThrow(c, { ksymFind: find, read64: reader([]), warn: (m) => warnings.push(m) }), {
    instanceOf: KernelError,
  });
  t.regex(e!.message, /^bpf_throw from 0x9000: no BPF program frame found$/);
  t.deepEqual(warnings, [
    "WARNING: CPU: 1 at kernel/bpf/helpers.c bpf_throw: WARN_ON_ONCE(!ctx.aux)",
    "WARNING: CPU: 1 at kernel/bpf/helpers.c bpf_throw: WARN_ON_ONCE(!ctx.bp)",
    "WARNING: CPU: 1 at kernel/bpf/helpers.c bpf_throw: WARN_ON_ONCE(!ctx.cnt)",
  ]);
  t.is(c.pc, 0xffff0000n, "PC untouched");
  t.is(c.regs[19], 0x77n, "registers untouched");
});

test("bpf_throw warns when the program found is not an exception boundary", (t) => {
  const aux = { name: "plain", exceptionBoundary: false, bpfExceptionCb: 0xe000n };
  const c = cpu({ cookie: 3n, lr: 0x2040n, fp: 0x1000n });
  const warnings: string[] = [];
  bpfThrow(c, {
    ksymFind: (ip) => (ip === 0x2040n ? { isSubprog: false, aux } : undefined),
    read64: reader([]),
    warn: (m) => warnings.push(m),
  });
  t.deepEqual(warnings, [
    "WARNING: CPU: 1 at kernel/bpf/helpers.c bpf_throw: WARN_ON_ONCE(!ctx.aux->exception_boundary) (plain)",
  ]);
  t.is(c.pc, 0xe000n);
});
