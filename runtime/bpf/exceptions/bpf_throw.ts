/**
 * The bpf_throw(u64 cookie) kfunc (kernel/bpf/helpers.c: struct
 * bpf_throw_ctx, bpf_stack_walker(), bpf_throw()): unwind to the frame of
 * the exception boundary and continue in that program's exception
 * callback, which returns to the boundary's caller. bpf_throw never
 * returns to the thrower.
 *
 *   thrower ─ bl bpf_throw ─► stub: svc #0x400 ─► bpfThrow()
 *     arch_bpf_stack_walk(bpf_stack_walker)        stack_walk.ts
 *       frame not BPF text (before any BPF frame)  skip
 *       frame not BPF text (after one)             stop (no boundary found)
 *       frame in a subprogram (func[i], i > 0)     skip
 *       frame in a main program                    stop: aux, sp = 0, bp = fp
 *     WARN_ON_ONCE(!aux / !aux->exception_boundary / !bp / !cnt)
 *     aux->bpf_exception_cb(cookie, sp, bp, 0, 0)  x0..x4, PC = callback
 *
 * The callback takes the boundary's frame from its third argument (`mov
 * x29, x2; sub sp, x29, #96`, runtime/jit/prologue.ts) and its epilogue
 * pops x19..x28, the tail-call pair and the frame record: the boundary
 * program returns to its caller with the callback's R0.
 *
 * Modelled on purpose: in the kernel bpf_throw is C code whose frames are
 * abandoned, so the callee-saved registers it and the unwinder used are
 * never restored. The service scribbles x19..x28 with POISON (0x5a5a..5a<n>)
 * before jumping, so only the callback's epilogue can give the boundary's
 * caller its registers back — a JIT that does not save all of x19..x28 in
 * the boundary frame is caught by whoever checks them.
 *
 * Simplifications: the WARN_ON_ONCEs print a WARNING line to dmesg every
 * time; calling a NULL callback (no boundary found) is reported as an
 * error of the service (an oops of the calling task), not as a jump to 0.
 */
import { KernelError } from "../../errors.js";
import { EFAULT } from "../../errno.js";
import type { Read64 } from "../../machine/backtrace.js";
import { archBpfStackWalk, type BpfStackConsume } from "./stack_walk.js";

/** The parts of struct bpf_prog_aux bpf_throw uses. */
export interface BpfThrowAux {
  /** prog->aux->name (for messages). */
  readonly name: string;
  /** aux->exception_boundary: the program (or a callee) may throw. */
  readonly exceptionBoundary: boolean;
  /** aux->bpf_exception_cb: entry of the exception callback (undefined: none). */
  readonly bpfExceptionCb: bigint | undefined;
}

/** What bpf_prog_ksym_find() gives for an address inside a JITed function. */
export interface BpfKsymProg {
  /** bpf_is_subprog(): func[i] with i > 0 of a multi-function program. */
  readonly isSubprog: boolean;
  /** The aux of the program the function belongs to. */
  readonly aux: BpfThrowAux;
}

/** bpf_prog_ksym_find(): the JITed function containing `ip`, if any. */
export type BpfProgKsymFind = (ip: bigint) => BpfKsymProg | undefined;

/** struct bpf_throw_ctx. */
export interface BpfThrowCtx {
  aux: BpfThrowAux | undefined;
  sp: bigint;
  bp: bigint;
  cnt: number;
}

/** bpf_stack_walker(): stop at the first frame of a main BPF program. */
export function bpfStackWalker(ctx: BpfThrowCtx, find: BpfProgKsymFind): BpfStackConsume {
  return (ip, sp, bp) => {
    const prog = find(ip);
    if (!prog) return ctx.cnt === 0;
    ctx.cnt++;
    if (prog.isSubprog) return true;
    ctx.aux = prog.aux;
    ctx.sp = sp;
    ctx.bp = bp;
    return false;
  };
}

/** The registers bpf_throw reads and writes (runtime/machine Cpu satisfies it). */
export interface ThrowCpu {
  readonly index: number;
  x(n: number): bigint;
  setX(n: number, value: bigint): void;
  pc: bigint;
  readonly lr: bigint;
  readonly fp: bigint;
}

/** What bpf_throw needs of the kernel. */
export interface BpfThrowDeps {
  readonly ksymFind: BpfProgKsymFind;
  readonly read64: Read64;
  /** A WARN_ON_ONCE fired (the kernel prints a WARNING with a backtrace). */
  readonly warn?: (message: string) => void;
}

/** The value bpf_throw leaves in callee-saved register `n` (x19..x28): its frames are abandoned. */
export function poisonOf(n: number): bigint {
  return 0x5a5a5a5a5a5a5a00n | BigInt(n);
}

/** Result of a throw, for tracing and tests. */
export interface BpfThrowResult {
  readonly cookie: bigint;
  readonly ctx: Readonly<BpfThrowCtx>;
  /** The callback the CPU continues in. */
  readonly callback: bigint;
}

/**
 * bpf_throw(cookie) on `cpu` (stopped at the svc of the bpf_throw stub):
 * find the boundary, then set x0..x4 = (cookie, sp, bp, 0, 0), poison
 * x19..x28 and point PC at the boundary's exception callback. Throws a
 * KernelError (EFAULT) when there is no callback to call (the kernel would
 * jump to NULL).
 */
export function bpfThrow(cpu: ThrowCpu, deps: BpfThrowDeps): BpfThrowResult {
  const cookie = cpu.x(0);
  const ctx: BpfThrowCtx = { aux: undefined, sp: 0n, bp: 0n, cnt: 0 };
  archBpfStackWalk(bpfStackWalker(ctx, deps.ksymFind), { lr: cpu.lr, fp: cpu.fp, read64: deps.read64 });
  const warn = (cond: boolean, what: string) => {
    if (cond) deps.warn?.(`WARNING: CPU: ${cpu.index} at kernel/bpf/helpers.c bpf_throw: ${what}`);
  };
  warn(!ctx.aux, "WARN_ON_ONCE(!ctx.aux)");
  if (ctx.aux) warn(!ctx.aux.exceptionBoundary, `WARN_ON_ONCE(!ctx.aux->exception_boundary) (${ctx.aux.name})`);
  warn(!ctx.bp, "WARN_ON_ONCE(!ctx.bp)");
  warn(!ctx.cnt, "WARN_ON_ONCE(!ctx.cnt)");
  const cb = ctx.aux?.bpfExceptionCb;
  if (cb === undefined || !ctx.bp) {
    const where = ctx.aux ? `program ${ctx.aux.name} has no exception callback` : "no BPF program frame found";
    throw new KernelError(EFAULT, `bpf_throw from 0x${cpu.lr.toString(16)}: ${where}`);
  }
  for (let r = 19; r <= 28; r++) cpu.setX(r, poisonOf(r));
  cpu.setX(0, cookie);
  cpu.setX(1, ctx.sp);
  cpu.setX(2, ctx.bp);
  cpu.setX(3, 0n);
  cpu.setX(4, 0n);
  cpu.pc = cb;
  return { cookie, ctx, callback: cb };
}

/** What bindBpfThrow needs of the kernel (runtime/kernel Kernel satisfies it). */
export interface ThrowKernel {
  readonly services: {
    bind(name: string, fn: (call: { readonly cpu: ThrowCpu }) => void): void;
    unbound(): string[];
  };
  readonly machine: {
    readonly memory: { isMapped(addr: bigint, len?: number): boolean; read64(addr: bigint): bigint };
  };
  readonly dmesg: string[];
}

const listeners = new WeakMap<object, ((r: BpfThrowResult, cpu: number) => void)[]>();

/** Observe every bpf_throw of kernel `k` (after the callback is set up); returns the unsubscribe function. */
export function bpfThrowListen(k: object, fn: (r: BpfThrowResult, cpu: number) => void): () => void {
  const list = listeners.get(k) ?? [];
  list.push(fn);
  listeners.set(k, list);
  return () => {
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  };
}

/**
 * Bind the bpf_throw service of kernel `k` (if the boot did not): programs
 * are looked up with `ksymFind` at throw time.
 */
export function bindBpfThrow(k: ThrowKernel, ksymFind: BpfProgKsymFind): void {
  if (!k.services.unbound().includes("bpf_throw")) return;
  const mem = k.machine.memory;
  const deps: BpfThrowDeps = {
    ksymFind,
    read64: (a) => (mem.isMapped(a, 8) ? mem.read64(a) : undefined),
    warn: (m) => k.dmesg.push(m),
  };
  k.services.bind("bpf_throw", (call) => {
    const r = bpfThrow(call.cpu, deps);
    for (const l of listeners.get(k) ?? []) l(r, call.cpu.index);
  });
}
