/**
 * arch_prepare_bpf_trampoline / arch_bpf_trampoline_size for arm64
 * (arch/arm64/net/bpf_jit_comp.c prepare_trampoline, as of the 12-argument
 * support), with the argument copies driven by the exact AAPCS64 layout of
 * arg_layout.ts instead of calc_arg_aux().
 *
 * Entered from a patch site `mov x9, x30; bl tramp` (kernel function entry or
 * BPF prog entry): lr = patched function + 8, x9 = the parent's return address.
 *
 *   trampoline stack, high to low:
 *                        [ parent ip (x9)     ]   FP + 24
 *                        [ parent FP          ]   FP + 16
 *   SP + retaddr_off     [ self ip (lr)       ]   FP + 8
 *                        [ FP                 ] ◄─ FP (x29)
 *                        [ padding            ]   align SP to 16
 *                        [ x20                ]
 *   SP + regs_off        [ x19                ]
 *   SP + retval_off      [ return value       ]   CALL_ORIG or RET_FENTRY_RET
 *                        [ arg slot N-1       ]
 *                        [ ...                ]
 *   SP + bargs_off       [ arg slot 0         ] ◄─ ctx passed to the programs
 *   SP + nfuncargs_off   [ nr arg slots       ]   ctx[-1]
 *   SP + ip_off          [ traced function ip ]   ctx[-2], IP_ARG only
 *   SP + run_ctx_off     [ bpf_tramp_run_ctx  ]   { u64 bpf_cookie; saved_run_ctx }
 *                        [ stacked args       ]   copied verbatim from FP + 32
 *   SP + oargs_off (0)   [ for the orig call  ]   CALL_ORIG only
 *
 * Stacked arguments of the traced function are read from FP + 32 (the
 * caller's SP at entry: two frame records above FP). In the BPF copy the
 * unused high bytes of a stacked argument's last slot are cleared
 * (clear_garbage); the original function gets the caller's block byte for byte.
 *
 * Differences from the kernel, on purpose: addresses are loaded with a fixed
 * movz/movk/movk sequence (our kernel addresses are physical, below 2^48;
 * the kernel's emit_addr_mov_i64 assumes the top 16 bits are ones), so both
 * passes have the same length; arguments follow arg_layout.ts.
 */
import {
  a64AddI,
  a64Adr,
  a64Blr,
  a64Bti,
  a64Cbnz,
  a64Cbz,
  a64Ldr64I,
  a64Lsl,
  a64Lsr,
  a64Mov,
  a64Movk,
  a64Movz,
  a64Nop,
  a64Pop,
  a64Push,
  a64Ret,
  a64Str64I,
  a64SubI,
} from "../a64/jit_macros.js";
import { A64_FP, A64_LR, A64_SP, A64_ZR } from "../a64/regs.js";
import { E2BIG, EINVAL } from "../errno.js";
import { BpfError } from "../errors.js";
import type { ArgLayout } from "./arg_layout.js";

/** enum bpf_tramp_prog_type flags (include/linux/bpf.h). */
export const BPF_TRAMP_F_RESTORE_REGS = 1 << 0;
export const BPF_TRAMP_F_CALL_ORIG = 1 << 1;
export const BPF_TRAMP_F_SKIP_FRAME = 1 << 2;
export const BPF_TRAMP_F_IP_ARG = 1 << 3;
export const BPF_TRAMP_F_RET_FENTRY_RET = 1 << 4;

/** PAGE_SIZE: bpf_trampoline_update refuses bigger images with -E2BIG. */
export const BPF_TRAMP_MAX_SIZE = 4096;

/** sizeof(struct bpf_tramp_run_ctx): { run_ctx (empty); u64 bpf_cookie; struct bpf_run_ctx *saved_run_ctx; }. */
export const BPF_TRAMP_RUN_CTX_SIZE = 16;
/** offsetof(struct bpf_tramp_run_ctx, bpf_cookie). */
export const RUN_CTX_COOKIE_OFF = 0;

/** Registers the trampoline uses (bpf2a64[TMP_REG_1] is x10). */
const TMP = 10;
const R9 = 9;

/** One program the trampoline invokes (a struct bpf_tramp_link). */
export interface TrampLink {
  /** struct bpf_prog * (x19 during the call). */
  prog: bigint;
  /** prog->bpf_func. */
  bpfFunc: bigint;
  /** Link's BPF cookie. */
  cookie: bigint;
  /** bpf_trampoline_enter(prog) / bpf_trampoline_exit(prog) addresses. */
  enter: bigint;
  exit: bigint;
}

export interface TrampLinks {
  fentry: readonly TrampLink[];
  fexit: readonly TrampLink[];
  fmodRet: readonly TrampLink[];
}

export interface TrampSpec {
  layout: ArgLayout;
  flags: number;
  links: TrampLinks;
  /** The traced function (for BPF_TRAMP_F_IP_ARG). */
  funcAddr: bigint;
  /** struct bpf_tramp_image * passed to __bpf_tramp_enter/exit. */
  im: bigint;
  /** Addresses of __bpf_tramp_enter and __bpf_tramp_exit. */
  trampEnter: bigint;
  trampExit: bigint;
  /** Emit `bti jc` first (CONFIG_ARM64_BTI_KERNEL). */
  bti?: boolean;
  /**
   * TEST ONLY: do not copy argument `dropArg` (0-based) into the BPF
   * context — a deliberately broken trampoline, to prove the ported tests
   * can fail. Never set outside tests.
   */
  dropArg?: number;
}

/** Stack offsets of the frame drawn above (bytes from SP). */
export interface TrampFrame {
  stackSize: number;
  oargsOff: number;
  runCtxOff: number;
  ipOff: number;
  nfuncargsOff: number;
  bargsOff: number;
  retvalOff: number;
  regsOff: number;
  retaddrOff: number;
}

/** The built image: words plus the recorded patch points (byte offsets). */
export interface TrampImage {
  words: Uint32Array;
  frame: TrampFrame;
  /** im->ip_after_call: the nop after the original call (CALL_ORIG only). */
  ipAfterCall: number | undefined;
  /** im->ip_epilogue: where fexit is skipped to. */
  ipEpilogue: number | undefined;
  /** Word index → comment, for annotated dumps. */
  notes: Map<number, string>;
}

/** Compute the frame layout for `spec` (the kernel's prepare_trampoline prologue). */
export function trampFrame(spec: Pick<TrampSpec, "layout" | "flags">): TrampFrame {
  const { layout, flags } = spec;
  let size = 0;
  const oargsOff = size;
  if (flags & BPF_TRAMP_F_CALL_ORIG) size += layout.stackBytes;
  const runCtxOff = size;
  size += BPF_TRAMP_RUN_CTX_SIZE;
  const ipOff = size;
  if (flags & BPF_TRAMP_F_IP_ARG) size += 8;
  const nfuncargsOff = size;
  size += 8;
  const bargsOff = size;
  size += 8 * layout.ctxSlots;
  const retvalOff = size;
  if (flags & (BPF_TRAMP_F_CALL_ORIG | BPF_TRAMP_F_RET_FENTRY_RET)) size += 8;
  const regsOff = size;
  size += 16;
  const stackSize = Math.ceil(size / 16) * 16;
  return {
    stackSize,
    oargsOff,
    runCtxOff,
    ipOff,
    nfuncargsOff,
    bargsOff,
    retvalOff,
    regsOff,
    retaddrOff: stackSize + 8,
  };
}

/** The emit context: one path for the sizing pass (no image) and the writing pass. */
class Ctx {
  readonly out: number[] = [];
  readonly notes = new Map<number, string>();

  get idx(): number {
    return this.out.length;
  }

  emit(insn: number, note?: string): void {
    if (note) this.notes.set(this.out.length, note);
    this.out.push(insn >>> 0);
  }

  /** Fixed-length address load: movz, movk #16, movk #32 (addresses < 2^48). */
  movAddr(reg: number, addr: bigint, note?: string): void {
    if (addr < 0n || addr >= 1n << 48n) throw new BpfError(EINVAL, `address out of range: 0x${addr.toString(16)}`);
    this.emit(a64Movz(true, reg, Number(addr & 0xffffn), 0), note);
    this.emit(a64Movk(true, reg, Number((addr >> 16n) & 0xffffn), 16));
    this.emit(a64Movk(true, reg, Number((addr >> 32n) & 0xffffn), 32));
  }

  /** emit_call(): x10 = target; blr x10. */
  call(target: bigint, note?: string): void {
    this.movAddr(TMP, target, note);
    this.emit(a64Blr(TMP));
  }

  /** A value (cookie) into a register, shortest form is not needed: fixed 4 insns. */
  movImm64(reg: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.emit(a64Movz(true, reg, Number(u & 0xffffn), 0));
    for (const sh of [16, 32, 48]) this.emit(a64Movk(true, reg, Number((u >> BigInt(sh)) & 0xffffn), sh));
  }
}

/** save_args(): argument registers and stacked arguments into the BPF context. */
function saveArgs(ctx: Ctx, layout: ArgLayout, bargsOff: number, dropArg?: number): void {
  for (const p of layout.args) {
    if (p.index === dropArg) continue;
    for (let k = 0; k < p.slots; k++) {
      const dst = bargsOff + 8 * (p.ctxSlot + k);
      if (p.loc.kind === "reg") {
        ctx.emit(
          a64Str64I(p.loc.reg + k, A64_SP, dst),
          k === 0 ? `ctx[${p.ctxSlot}] = ${p.arg.name || `arg${p.index}`}` : undefined,
        );
        continue;
      }
      ctx.emit(
        a64Ldr64I(TMP, A64_FP, 32 + p.loc.offset + 8 * k),
        k === 0 ? `${p.arg.name || `arg${p.index}`} from the caller's stack` : undefined,
      );
      const used = p.arg.size - 8 * k;
      if (used < 8) {
        // clear_garbage(): the unused high bytes of the last slot.
        const garbage = 64 - 8 * used;
        ctx.emit(a64Lsl(true, TMP, TMP, garbage));
        ctx.emit(a64Lsr(true, TMP, TMP, garbage));
      }
      ctx.emit(a64Str64I(TMP, A64_SP, dst));
    }
  }
}

/** Arguments back for the original call: registers from the BPF copy, the stacked block verbatim. */
function restoreArgsForCall(ctx: Ctx, layout: ArgLayout, frame: TrampFrame): void {
  restoreArgRegs(ctx, layout, frame.bargsOff);
  for (let off = 0; off < layout.stackBytes; off += 8) {
    ctx.emit(a64Ldr64I(TMP, A64_FP, 32 + off), off === 0 ? "stacked args for the original call" : undefined);
    ctx.emit(a64Str64I(TMP, A64_SP, frame.oargsOff + off));
  }
}

/** restore_args(): argument registers from the BPF copy. */
function restoreArgRegs(ctx: Ctx, layout: ArgLayout, bargsOff: number): void {
  for (const p of layout.args) {
    if (p.loc.kind !== "reg") continue;
    for (let k = 0; k < p.slots; k++) ctx.emit(a64Ldr64I(p.loc.reg + k, A64_SP, bargsOff + 8 * (p.ctxSlot + k)));
  }
}

/** invoke_bpf_prog(): enter, run unless enter returned 0, exit. */
function invokeBpfProg(ctx: Ctx, l: TrampLink, frame: TrampFrame, saveRet: boolean): void {
  if (l.cookie === 0n) {
    ctx.emit(a64Str64I(A64_ZR, A64_SP, frame.runCtxOff + RUN_CTX_COOKIE_OFF), "run_ctx.bpf_cookie = 0");
  } else {
    ctx.movImm64(TMP, l.cookie);
    ctx.emit(a64Str64I(TMP, A64_SP, frame.runCtxOff + RUN_CTX_COOKIE_OFF), "run_ctx.bpf_cookie");
  }
  ctx.movAddr(19, l.prog, "x19 = prog");
  ctx.emit(a64Mov(true, 0, 19));
  ctx.emit(a64AddI(true, 1, A64_SP, frame.runCtxOff));
  ctx.call(l.enter, "x0 = enter(prog, &run_ctx)");
  ctx.emit(a64Mov(true, 20, 0), "x20 = start");
  const branch = ctx.idx;
  ctx.emit(a64Nop()); // cbz x0, skip: patched below
  ctx.emit(a64AddI(true, 0, A64_SP, frame.bargsOff), "x0 = ctx");
  ctx.call(l.bpfFunc, "call prog->bpf_func");
  if (saveRet) ctx.emit(a64Str64I(0, A64_SP, frame.retvalOff), "save the prog's return value");
  ctx.out[branch] = a64Cbz(true, 0, ctx.idx - branch) >>> 0;
  ctx.notes.set(branch, "skip the prog when enter returned 0");
  ctx.emit(a64Mov(true, 0, 19));
  ctx.emit(a64Mov(true, 1, 20));
  ctx.emit(a64AddI(true, 2, A64_SP, frame.runCtxOff));
  ctx.call(l.exit, "exit(prog, start, &run_ctx)");
}

/** Build the trampoline image (pass 1 and pass 2 are the same code: addresses are fixed-length). */
export function archPrepareBpfTrampoline(spec: TrampSpec): TrampImage {
  const { layout, flags, links } = spec;
  if (flags & BPF_TRAMP_F_RESTORE_REGS && flags & BPF_TRAMP_F_SKIP_FRAME) {
    throw new BpfError(EINVAL, "BPF_TRAMP_F_RESTORE_REGS and BPF_TRAMP_F_SKIP_FRAME are exclusive");
  }
  const frame = trampFrame(spec);
  const ctx = new Ctx();
  const saveRet = (flags & (BPF_TRAMP_F_CALL_ORIG | BPF_TRAMP_F_RET_FENTRY_RET)) !== 0;
  let ipAfterCall: number | undefined;
  let ipEpilogue: number | undefined;

  if (spec.bti) ctx.emit(a64Bti("jc"), "reached by bl (short jump) or br (PLT)");
  // Frame for the parent function, then for the patched function.
  ctx.emit(a64Push(A64_FP, R9, A64_SP), "frame record of the parent (fp, x9)");
  ctx.emit(a64Mov(true, A64_FP, A64_SP));
  ctx.emit(a64Push(A64_FP, A64_LR, A64_SP), "frame record of the patched function (fp, lr)");
  ctx.emit(a64Mov(true, A64_FP, A64_SP));
  ctx.emit(a64SubI(true, A64_SP, A64_SP, frame.stackSize), `sp -= ${frame.stackSize}`);

  if (flags & BPF_TRAMP_F_IP_ARG) {
    ctx.movAddr(TMP, spec.funcAddr, "ctx[-2] = traced function ip");
    ctx.emit(a64Str64I(TMP, A64_SP, frame.ipOff));
  }
  ctx.emit(a64Movz(true, TMP, layout.ctxSlots, 0), `ctx[-1] = ${layout.ctxSlots} arg slots`);
  ctx.emit(a64Str64I(TMP, A64_SP, frame.nfuncargsOff));
  saveArgs(ctx, layout, frame.bargsOff, spec.dropArg);
  ctx.emit(a64Str64I(19, A64_SP, frame.regsOff), "save x19, x20");
  ctx.emit(a64Str64I(20, A64_SP, frame.regsOff + 8));

  if (flags & BPF_TRAMP_F_CALL_ORIG) {
    ctx.movAddr(0, spec.im);
    ctx.call(spec.trampEnter, "__bpf_tramp_enter(im)");
  }
  for (const l of links.fentry) invokeBpfProg(ctx, l, frame, (flags & BPF_TRAMP_F_RET_FENTRY_RET) !== 0);

  const branches: number[] = [];
  if (links.fmodRet.length > 0) {
    // invoke_bpf_mod_ret(): the first fmod_ret prog must not see garbage.
    ctx.emit(a64Str64I(A64_ZR, A64_SP, frame.retvalOff), "retval = 0 for fmod_ret");
    for (const l of links.fmodRet) {
      invokeBpfProg(ctx, l, frame, true);
      ctx.emit(a64Ldr64I(TMP, A64_SP, frame.retvalOff));
      branches.push(ctx.idx);
      ctx.emit(a64Nop()); // cbnz x10, do_fexit: patched below
    }
  }

  if (flags & BPF_TRAMP_F_CALL_ORIG) {
    restoreArgsForCall(ctx, layout, frame);
    ctx.emit(a64Ldr64I(TMP, A64_SP, frame.retaddrOff), "x10 = patched function body");
    ctx.emit(a64Adr(A64_LR, 8), "lr = after the call");
    ctx.emit(a64Ret(TMP), "call the original function");
    ctx.emit(a64Str64I(0, A64_SP, frame.retvalOff), "save its return value");
    ipAfterCall = ctx.idx * 4;
    ctx.emit(a64Nop(), "im->ip_after_call (bpf_tramp_image_put pokes a b to ip_epilogue)");
  }
  for (const b of branches) {
    ctx.out[b] = a64Cbnz(true, TMP, ctx.idx - b) >>> 0;
    ctx.notes.set(b, "fmod_ret returned non-zero: skip the original");
  }
  for (const l of links.fexit) invokeBpfProg(ctx, l, frame, false);

  if (flags & BPF_TRAMP_F_CALL_ORIG) {
    ipEpilogue = ctx.idx * 4;
    ctx.movAddr(0, spec.im, "im->ip_epilogue");
    ctx.call(spec.trampExit, "__bpf_tramp_exit(im)");
  }
  if (flags & BPF_TRAMP_F_RESTORE_REGS) restoreArgRegs(ctx, layout, frame.bargsOff);
  ctx.emit(a64Ldr64I(19, A64_SP, frame.regsOff), "restore x19, x20");
  ctx.emit(a64Ldr64I(20, A64_SP, frame.regsOff + 8));
  if (saveRet) ctx.emit(a64Ldr64I(0, A64_SP, frame.retvalOff), "x0 = return value");
  ctx.emit(a64Mov(true, A64_SP, A64_FP));
  ctx.emit(a64Pop(A64_FP, A64_LR, A64_SP), "pop both frame records");
  ctx.emit(a64Pop(A64_FP, R9, A64_SP));
  if (flags & BPF_TRAMP_F_SKIP_FRAME) {
    ctx.emit(a64Mov(true, A64_LR, R9), "skip the patched function: return to the parent");
    ctx.emit(a64Ret(R9));
  } else {
    ctx.emit(a64Mov(true, TMP, A64_LR), "return into the patched function");
    ctx.emit(a64Mov(true, A64_LR, R9));
    ctx.emit(a64Ret(TMP));
  }
  if (ctx.idx * 4 > BPF_TRAMP_MAX_SIZE) {
    throw new BpfError(E2BIG, `trampoline of ${ctx.idx * 4} bytes exceeds PAGE_SIZE (${BPF_TRAMP_MAX_SIZE})`);
  }
  return { words: Uint32Array.from(ctx.out), frame, ipAfterCall, ipEpilogue, notes: ctx.notes };
}

/** arch_bpf_trampoline_size(): bytes of the image for `spec`. */
export function archBpfTrampolineSize(spec: TrampSpec): number {
  return archPrepareBpfTrampoline(spec).words.length * 4;
}
