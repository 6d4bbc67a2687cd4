/**
 * Test support for the prologue (not a test file): run a prologue plus a
 * small user program on the reference interpreter over hand-made memory,
 * with bpf_probe_read_kernel modelled on the kernel's
 * (kernel/trace/bpf_trace.c bpf_probe_read_kernel_common():
 * copy_from_kernel_nofault(), and on failure the destination is zeroed and
 * the error returned).
 *
 *   FlatMemory
 *     PT_REGS  struct pt_regs (only user_pt_regs matters: 34 u64)
 *     OUT      what the user code stores: r1, r2, r3, r4, r5 (5 u64)
 *     DATA     objects the arguments point into
 *     STACK    the interpreter's stack (r10 at its top)
 */
import * as B from "../builder.js";
import { EFAULT } from "../../errno.js";
import { BPF_FUNC_probe_read_kernel } from "../func_ids.js";
import type { Insn } from "../insn.js";
import { bpfInterp, INTERP_STACK_SIZE, type BpfCall } from "../interp.js";
import { FlatMemory, type BpfMemory } from "../interp_mem.js";
import { BPF_DW, BPF_REG_0, BPF_REG_9 } from "../opcodes.js";

/** Address of the pt_regs the interpreter gets in r1. */
export const PT_REGS = 0x10000n;
/** Bytes of struct pt_regs (arm64, the simulated kernel's layout). */
export const PT_REGS_SIZE = 336;
/** Where the user code stores r1..r5. */
export const OUT = 0x20000n;
/** Start of the data area for objects. */
export const DATA = 0x30000n;
/** Size of the data area. */
export const DATA_SIZE = 0x1000;
const STACK_BASE = 0x100000n;

/** The user code: store r1..r5 at OUT, return 0. */
export function storeArgsUserCode(): Insn[] {
  return B.prog(
    B.BPF_LD_IMM64(BPF_REG_9, OUT),
    ...[1, 2, 3, 4, 5].map((r, i) => B.BPF_STX_MEM(BPF_DW, BPF_REG_9, r, 8 * i)),
    B.BPF_MOV64_IMM(BPF_REG_0, 0),
    B.BPF_EXIT_INSN(),
  );
}

/** bpf_probe_read_kernel(dst, size, unsafe_ptr) on a BpfMemory: -EFAULT and a zeroed dst when src is unreadable. */
export function probeReadKernel(mem: BpfMemory, args: readonly bigint[]): bigint {
  const [dst, size, src] = args;
  const n = Number(size);
  const bytes: bigint[] = [];
  try {
    for (let i = 0; i < n; i++) bytes.push(mem.load(src + BigInt(i), 1));
  } catch {
    for (let i = 0; i < n; i++) mem.store(dst + BigInt(i), 1, 0n);
    return BigInt.asUintN(64, -BigInt(EFAULT));
  }
  bytes.forEach((b, i) => mem.store(dst + BigInt(i), 1, b));
  return 0n;
}

/** What one interpreter run of prologue + user code stored. */
export interface PrologueRun {
  readonly r1: bigint;
  readonly r2: bigint;
  readonly args: readonly [bigint, bigint, bigint];
  /** Helper calls made, in order: [helper id, source address]. */
  readonly reads: readonly (readonly [number, bigint])[];
}

/** Memory with pt_regs holding `regs` (x0.. then sp at 31) and `data` at DATA. */
export function prologueMemory(regs: readonly bigint[], data: Uint8Array): FlatMemory {
  const mem = new FlatMemory();
  const pt = new Uint8Array(PT_REGS_SIZE);
  const dv = new DataView(pt.buffer);
  regs.forEach((v, i) => dv.setBigUint64(8 * i, BigInt.asUintN(64, v), true));
  mem.map(PT_REGS, pt, { name: "pt_regs" });
  mem.map(OUT, new Uint8Array(40), { name: "out" });
  const d = new Uint8Array(DATA_SIZE);
  d.set(data);
  mem.map(DATA, d, { name: "data" });
  mem.map(STACK_BASE, new Uint8Array(INTERP_STACK_SIZE), { name: "stack" });
  return mem;
}

/** Run `prog` (prologue + storeArgsUserCode) on the interpreter with r1 = PT_REGS. */
export function runPrologue(prog: readonly Insn[], mem: FlatMemory): PrologueRun {
  const reads: [number, bigint][] = [];
  const helper = (id: number, call: BpfCall): bigint => {
    reads.push([id, call.args[2]]);
    if (id !== BPF_FUNC_probe_read_kernel) throw new Error(`unexpected helper ${id}`);
    return probeReadKernel(call.mem, call.args);
  };
  bpfInterp(prog, { mem, stack: STACK_BASE + BigInt(INTERP_STACK_SIZE), args: [PT_REGS], helper, budget: 10_000 });
  const out = (i: number): bigint => mem.load(OUT + BigInt(8 * i), 8);
  return { r1: out(0), r2: out(1), args: [out(2), out(3), out(4)], reads };
}
