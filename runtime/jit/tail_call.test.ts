/**
 * Tail calls through a prog_array built with the emulated kernel's struct
 * layouts (runtime/bpf/kernel_structs.ts), on the JIT and, where the kernel's
 * own engines agree, on the interpreter: the MAX_TAIL_CALL_CNT limit, an
 * index beyond max_entries, empty slots, tail calls from subprograms, and
 * the caller's callee-saved registers after a chain of tail calls.
 */
import test from "ava";
import { assembleWords, initAssembler } from "../a64/asm.js";
import * as B from "../bpf/builder.js";
import { BPF_FUNC_tail_call } from "../bpf/func_ids.js";
import type { Insn } from "../bpf/insn.js";
import type { TailCallTarget } from "../bpf/interp.js";
import { bpfInterp } from "../bpf/interp.js";
import { physMemoryBpf } from "../bpf/interp_mem.js";
import {
  BPF_ARRAY_MAX_ENTRIES_OFF,
  BPF_MAP_MAP_TYPE_OFF,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_PROG_BPF_FUNC_OFF,
  bpfArrayPtrAddr,
  bpfProgArraySize,
  bpfProgSize,
} from "../bpf/kernel_structs.js";
import * as O from "../bpf/opcodes.js";
import { asmFunction } from "../kernel/testing.js";
import { createDiffEnv, type DiffEnv } from "./diff.js";
import { bpfIntJitCompile, bpfJitFree, type JitedProg, type JitOptions } from "./jit.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_6: R6, BPF_REG_7: R7 } = O;
const { BPF_REG_8: R8, BPF_REG_9: R9, BPF_REG_10: R10 } = O;
const EXIT = B.BPF_EXIT_INSN();
const TAIL_CALL = B.BPF_EMIT_CALL(BPF_FUNC_tail_call);

let env: DiffEnv;
test.before(async () => {
  await initAssembler();
  env = createDiffEnv();
});
test.after.always(() => env?.k.close());

/** A prog_array of `n` slots in the kernel heap (struct bpf_array, map_type BPF_MAP_TYPE_PROG_ARRAY). */
function progArray(n: number): bigint {
  const mem = env.k.machine.memory;
  const arr = env.k.slab.kzalloc(bpfProgArraySize(n));
  mem.write32(arr + BigInt(BPF_MAP_MAP_TYPE_OFF), BPF_MAP_TYPE_PROG_ARRAY);
  mem.write32(arr + BigInt(BPF_ARRAY_MAX_ENTRIES_OFF), n);
  return arr;
}

/** Put a struct bpf_prog whose bpf_func is the JITed entry into slot `index` (null empties it). */
function setSlot(arr: bigint, index: number, jited: JitedProg | null): void {
  const mem = env.k.machine.memory;
  if (!jited) return mem.write64(bpfArrayPtrAddr(arr, index), 0n);
  const prog = env.k.slab.kzalloc(bpfProgSize(jited.insns.length));
  mem.write64(prog + BigInt(BPF_PROG_BPF_FUNC_OFF), jited.bpfFunc);
  mem.write64(bpfArrayPtrAddr(arr, index), prog);
}

/** The interpreter's view of the same array: slot programs by index. */
function interpTail(arr: bigint, n: number, slots: Record<number, readonly Insn[]>) {
  return (map: bigint, index: bigint): TailCallTarget => {
    if (map !== arr) throw new Error(`unexpected map 0x${map.toString(16)}`);
    if (index >= BigInt(n)) return { kind: "out-of-range" };
    const p = slots[Number(index)];
    return p ? { kind: "prog", prog: p } : { kind: "empty" };
  };
}

function runBoth(
  main: readonly Insn[],
  arr: bigint,
  n: number,
  slots: Record<number, readonly Insn[]>,
  opts: JitOptions = {},
) {
  const mem = env.k.machine.memory;
  mem.fill(env.scratch, 16, 0);
  const jited = bpfIntJitCompile({ insns: main }, env.jitEnv, opts);
  const jitR0 = env.k.call(jited.bpfFunc, [env.scratch]);
  const jitCount = mem.read64(env.scratch);
  bpfJitFree(jited, env.jitEnv);
  mem.fill(env.scratch, 16, 0);
  const res = bpfInterp(main, {
    mem: physMemoryBpf(mem),
    stack: env.interpStack,
    args: [env.scratch],
    tailCall: interpTail(arr, n, slots),
  });
  return { jitR0, jitCount, interpR0: res.r0, interpCount: mem.read64(env.scratch), tailCalls: res.tailCalls };
}

/** ++*(u64 *)r1; tail_call(r1, arr, index); r0 = fallthrough; exit. */
function counting(arr: bigint, index: number, fallthrough: number): Insn[] {
  return B.prog(
    B.BPF_MOV64_REG(R6, R1),
    B.BPF_MOV64_IMM(R2, 1),
    B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_ADD, R6, R2, 0),
    B.BPF_MOV64_REG(R1, R6),
    B.BPF_LD_IMM64(R2, arr),
    B.BPF_MOV64_IMM(R3, index),
    TAIL_CALL,
    B.BPF_MOV64_IMM(R0, fallthrough),
    EXIT,
  );
}

for (const opts of [{}, { bti: true, pac: true }] as JitOptions[]) {
  const label = opts.bti ? " (BTI+PAC)" : "";
  test.serial(`a program tail-calling itself runs 1 + MAX_TAIL_CALL_CNT times${label}`, (t) => {
    const arr = progArray(4);
    const self = counting(arr, 0, 7);
    const jited = bpfIntJitCompile({ insns: self, name: "self" }, env.jitEnv, opts);
    setSlot(arr, 0, jited);
    const r = runBoth(self, arr, 4, { 0: self }, opts);
    bpfJitFree(jited, env.jitEnv);
    t.is(O.MAX_TAIL_CALL_CNT, 33);
    t.is(r.jitCount, 34n, "JIT: the first run and 33 tail calls");
    t.is(r.interpCount, 34n, "interpreter: the same");
    t.is(r.jitR0, 7n, "the 34th tail call falls through");
    t.is(r.interpR0, 7n);
    t.is(r.tailCalls, 33);
  });
}

test.serial("an index at or beyond max_entries falls through without counting", (t) => {
  const arr = progArray(2);
  const target = B.prog(B.BPF_MOV64_IMM(R0, 42), EXIT);
  const tj = bpfIntJitCompile({ insns: target }, env.jitEnv);
  setSlot(arr, 1, tj);
  const r1 = runBoth(counting(arr, 2, 9), arr, 2, { 1: target });
  t.deepEqual([r1.jitR0, r1.interpR0, r1.jitCount], [9n, 9n, 1n]);
  // The index is the low 32 bits of r3 (mov w2, w2; cmp w2, w10): 2^32 + 1 selects slot 1.
  const high = counting(arr, 0, 9);
  const withHigh = [...high.slice(0, 6), ...B.BPF_LD_IMM64(R3, 0x1_0000_0001n), ...high.slice(7)];
  const jh = bpfIntJitCompile({ insns: withHigh }, env.jitEnv);
  t.is(env.k.call(jh.bpfFunc, [env.scratch]), 42n, "JIT: index truncated to u32");
  bpfJitFree(jh, env.jitEnv);
  const r2 = runBoth(counting(arr, 1, 9), arr, 2, { 1: target });
  t.deepEqual([r2.jitR0, r2.interpR0], [42n, 42n]);
  bpfJitFree(tj, env.jitEnv);
});

test.serial("empty slots: the arm64 JIT counts only taken tail calls, the interpreter every attempt", (t) => {
  // 40 attempts on an empty slot, then one on a populated slot. The arm64 JIT stores count+1 only
  // when the slot holds a program; ___bpf_prog_run increments before the NULL check.
  const arr = progArray(3);
  const target = B.prog(B.BPF_MOV64_IMM(R0, 42), EXIT);
  const tj = bpfIntJitCompile({ insns: target }, env.jitEnv);
  setSlot(arr, 2, tj);
  const main = B.prog(
    B.BPF_MOV64_REG(R6, R1),
    B.BPF_MOV64_IMM(R7, 40),
    B.BPF_MOV64_REG(R1, R6),
    B.BPF_LD_IMM64(R2, arr),
    B.BPF_MOV64_IMM(R3, 1),
    TAIL_CALL,
    B.BPF_ALU64_IMM(O.BPF_SUB, R7, 1),
    B.BPF_JMP_IMM(O.BPF_JNE, R7, 0, -7),
    B.BPF_MOV64_REG(R1, R6),
    B.BPF_LD_IMM64(R2, arr),
    B.BPF_MOV64_IMM(R3, 2),
    TAIL_CALL,
    B.BPF_MOV64_IMM(R0, 5),
    EXIT,
  );
  const r = runBoth(main, arr, 3, { 2: target });
  t.is(r.jitR0, 42n, "JIT: the count is still 0 when slot 2 is reached");
  t.is(r.interpR0, 5n, "interpreter: 33 empty attempts used the budget up");
  bpfJitFree(tj, env.jitEnv);
});

test.serial("a tail call from a subprogram returns to the subprogram's caller", (t) => {
  const arr = progArray(3);
  const target = B.prog(B.BPF_MOV64_IMM(R0, 42), EXIT);
  const tj = bpfIntJitCompile({ insns: target }, env.jitEnv);
  setSlot(arr, 2, tj);
  const main = B.prog(
    B.BPF_MOV64_IMM(R6, 1000),
    B.BPF_CALL_REL(3),
    B.BPF_ALU64_REG(O.BPF_ADD, R0, R6),
    EXIT,
    EXIT, // unreachable filler keeps the subprogram at slot 5
    // subprogram: tail_call(ctx, arr, 2); r0 = 1
    B.BPF_LD_IMM64(R2, arr),
    B.BPF_MOV64_IMM(R3, 2),
    TAIL_CALL,
    B.BPF_MOV64_IMM(R0, 1),
    EXIT,
  );
  const r = runBoth(main, arr, 3, { 2: target });
  t.deepEqual([r.jitR0, r.interpR0], [1042n, 1042n]);
  bpfJitFree(tj, env.jitEnv);
});

test.serial("after a chain of tail calls the kernel caller's x19-x28 and SP are intact", (t) => {
  const arr = progArray(2);
  // Each program uses r6-r9 and its own stack depth, so prologues and epilogues differ.
  const last = B.prog(
    B.BPF_MOV64_IMM(R6, -6),
    B.BPF_MOV64_IMM(R9, -9),
    B.BPF_ST_MEM(O.BPF_DW, R10, -24, 1),
    B.BPF_LDX_MEM(O.BPF_DW, R0, R10, -24),
    B.BPF_ALU64_IMM(O.BPF_ADD, R0, 99),
    EXIT,
  );
  const jl = bpfIntJitCompile({ insns: last }, env.jitEnv);
  setSlot(arr, 1, jl);
  const first = B.prog(
    B.BPF_MOV64_IMM(R6, 6),
    B.BPF_MOV64_IMM(R7, 7),
    B.BPF_MOV64_IMM(R8, 8),
    B.BPF_ST_MEM(O.BPF_DW, R10, -8, 5),
    B.BPF_LD_IMM64(R2, arr),
    B.BPF_MOV64_IMM(R3, 1),
    TAIL_CALL,
    B.BPF_MOV64_IMM(R0, 0),
    EXIT,
  );
  const jf = bpfIntJitCompile({ insns: first }, env.jitEnv);
  const regs = [19, 20, 21, 22, 23, 24, 25, 26, 27, 28];
  const body = [
    "sub sp, sp, #96",
    "stp x21, x22, [sp, #0]",
    "stp x23, x24, [sp, #16]",
    "stp x25, x26, [sp, #32]",
    "stp x27, x28, [sp, #48]",
    ...regs.map((r) => `mov x${r}, #${0x100 + r}`),
    "mov x15, sp",
    "str x15, [sp, #64]",
    `adr_sym x16, ${"bpf_prog_under_test"}`,
    "blr x16",
    "mov x1, #0",
    ...regs.flatMap((r) => [`cmp x${r}, #${0x100 + r}`, "cinc x1, x1, ne"]),
    "ldr x15, [sp, #64]",
    "mov x14, sp",
    "cmp x14, x15",
    "cinc x1, x1, ne",
    "lsl x1, x1, #32",
    "orr x0, x0, x1",
    "ldp x21, x22, [sp, #0]",
    "ldp x23, x24, [sp, #16]",
    "ldp x25, x26, [sp, #32]",
    "ldp x27, x28, [sp, #48]",
    "add sp, sp, #96",
    "ret",
  ].join("\n");
  const entry = jf.bpfFunc;
  const f = asmFunction(env.k, "tcall_regs", body.replace("adr_sym x16, bpf_prog_under_test", movImm("x16", entry)));
  const out = env.k.call(f);
  t.is(out & 0xffff_ffffn, 100n, "the last program's r0");
  t.is(out >> 32n, 0n, "no callee-saved register or SP differs");
  bpfJitFree(jf, env.jitEnv);
  bpfJitFree(jl, env.jitEnv);
});

function movImm(reg: string, v: bigint): string {
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const part = (v >> BigInt(16 * i)) & 0xffffn;
    out.push(i === 0 ? `movz ${reg}, #${part}` : `movk ${reg}, #${part}, lsl #${16 * i}`);
  }
  return out.join("\n");
}

// keystone is loaded for asmFunction; keep the import used for a sanity check of the assembler.
test.serial("the assembler used by the register check is loaded", (t) => {
  t.is(assembleWords("ret").length, 1);
});
