/**
 * Test programs with stack arguments (stack_arg.ts), written with the
 * builder DSL because clang-19 cannot emit r12. The bpf, verifier, JIT and
 * loader tests all run these, so every engine sees the same instructions;
 * each program comes with an oracle written independently in TypeScript.
 *
 * Every program reads its inputs as u64 words at r1 (the diff runner's
 * scratch buffer; for the verifier, the ctx of an fmod_ret program attached
 * to a function of 7 u64 arguments, see {@link stackArgVerifierInput}).
 *
 *   chain      main(x0..x6) ─► foo(7 args) ─► bar(8 args) ─► baz(9 args)
 *              foo(a1..a7)  = bar(a1..a7, a6 + a7) + a7
 *              bar(a1..a8)  = baz(a1..a8, 3 * a8) - a1
 *              baz(a1..a9)  = Σ i · a_i
 *   two calls  main calls f6(x0..x4, -3) then f8(x0..x4, x5, 0x7fffffff, x6):
 *              returns f8 - 2 · f6; outgoing depths 8 and 24 from one frame
 *              f6(a1..a6)   = Σ i · a_i          f8(a1..a8) = Σ (i + 10) · a_i
 *   kfunc      main(x0..x6) calls bpf_kfunc_call_stack_arg(x0..x6, 8, 9, 10)
 *              (10 u64 arguments, returns their sum), through BPF_CALL_KFUNC
 */
import { Btf } from "./btf/btf.js";
import { BtfEncoder } from "./btf/encode.js";
import { BTF_INT_SIGNED, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT } from "./btf/types.js";
import * as B from "./builder.js";
import type { Insn } from "./insn.js";
import { BPF_MODIFY_RETURN, BPF_PROG_TYPE_TRACING } from "./object/uapi.js";
import { BPF_ADD, BPF_DW, BPF_LSH, BPF_MUL, BPF_SUB, BPF_REG_STACK_ARG_BASE as R12 } from "./opcodes.js";
import { incomingArgOff, outgoingArgOff } from "./stack_arg.js";
import type { VerifierInput } from "./verifier/env.js";

/** A test program: instructions, function starts and arities, and its oracle. */
export interface StackArgProg {
  readonly insns: Insn[];
  /** Functions: first slot, BTF name, number of arguments (main: 1, the ctx). */
  readonly funcs: readonly { readonly start: number; readonly name: string; readonly nargs: number }[];
  /** r0 for inputs x[0..6] (u64). */
  oracle(x: readonly bigint[]): bigint;
}

/** Number of u64 inputs every program reads at r1. */
export const STACK_ARG_INPUTS = 7;

const u64 = (v: bigint) => BigInt.asUintN(64, v);
const EXIT = B.BPF_EXIT_INSN();

/** `dst = *(u64 *)(r12 off)` for incoming argument `arg`. */
function loadArg(dst: number, arg: number): Insn {
  return B.BPF_LDX_MEM(BPF_DW, dst, R12, incomingArgOff(arg));
}

/** `*(u64 *)(r12 off) = src` for outgoing argument `arg` of a function with `incoming` bytes of incoming args. */
function storeArg(arg: number, src: number, incoming: number): Insn {
  return B.BPF_STX_MEM(BPF_DW, R12, src, outgoingArgOff(arg, incoming));
}

/** r6 = r1; r1..r5 = x[0..4] (loads through r6). */
function loadRegArgs(): Insn[] {
  return [B.BPF_MOV64_REG(6, 1), ...[1, 2, 3, 4, 5].map((r) => B.BPF_LDX_MEM(BPF_DW, r, 6, (r - 1) * 8))];
}

/** r0 = Σ (i + bias) · r_i for r1..r5 (clobbers r1..r5). */
function weightedRegs(bias: number): Insn[] {
  const out: Insn[] = [B.BPF_MOV64_REG(0, 1), B.BPF_ALU64_IMM(BPF_MUL, 0, 1 + bias)];
  for (let r = 2; r <= 5; r++) {
    out.push(B.BPF_ALU64_IMM(BPF_MUL, r, r + bias), B.BPF_ALU64_REG(BPF_ADD, 0, r));
  }
  return out;
}

/** r0 += Σ (k + bias) · incoming arg k for k = 6..last (clobbers r1). */
function weightedStackArgs(last: number, bias: number): Insn[] {
  const out: Insn[] = [];
  for (let k = 6; k <= last; k++) {
    out.push(loadArg(1, k), B.BPF_ALU64_IMM(BPF_MUL, 1, k + bias), B.BPF_ALU64_REG(BPF_ADD, 0, 1));
  }
  return out;
}

function weighted(a: readonly bigint[], bias: bigint): bigint {
  return u64(a.reduce((s, v, i) => s + (BigInt(i) + 1n + bias) * v, 0n));
}

/** One function for {@link linkFuncs}: its code, where `{ call: name }` is a bpf-to-bpf call to `name`. */
export interface FuncSource {
  readonly name: string;
  readonly nargs: number;
  readonly code: readonly (Insn | { readonly call: string })[];
}

/** Place functions one after the other (the first is main) and resolve `call <name>` placeholders. */
export function linkFuncs(parts: readonly FuncSource[]): Pick<StackArgProg, "insns" | "funcs"> {
  const funcs: { start: number; name: string; nargs: number }[] = [];
  let at = 0;
  for (const p of parts) {
    funcs.push({ start: at, name: p.name, nargs: p.nargs });
    at += p.code.length;
  }
  const insns: Insn[] = [];
  for (const p of parts) {
    for (const item of p.code) {
      if ("call" in item) {
        const target = funcs.find((f) => f.name === item.call)!.start;
        insns.push(B.BPF_CALL_REL(target - insns.length - 1));
      } else insns.push(item);
    }
  }
  return { insns, funcs };
}

/** The chain foo(7 args) → bar(8 args) → baz(9 args) (see the file header). */
export function chainProg(): StackArgProg {
  const main = [
    ...loadRegArgs(),
    B.BPF_LDX_MEM(BPF_DW, 0, 6, 40),
    storeArg(6, 0, 0),
    B.BPF_LDX_MEM(BPF_DW, 0, 6, 48),
    storeArg(7, 0, 0),
    { call: "foo" },
    EXIT,
  ];
  // foo: incoming 16 bytes (args 6, 7); outgoing args 6..8 to bar start at r12-24.
  const foo = [
    loadArg(6, 7),
    loadArg(7, 6),
    storeArg(6, 7, 16),
    storeArg(7, 6, 16),
    B.BPF_MOV64_REG(8, 6),
    B.BPF_ALU64_REG(BPF_ADD, 8, 7),
    storeArg(8, 8, 16),
    { call: "bar" },
    B.BPF_ALU64_REG(BPF_ADD, 0, 6),
    EXIT,
  ];
  // bar: incoming 24 bytes (args 6..8); outgoing args 6..9 to baz start at r12-32.
  const bar = [
    B.BPF_MOV64_REG(6, 1),
    loadArg(7, 8),
    loadArg(8, 6),
    storeArg(6, 8, 24),
    loadArg(8, 7),
    storeArg(7, 8, 24),
    storeArg(8, 7, 24),
    B.BPF_ALU64_IMM(BPF_MUL, 7, 3),
    storeArg(9, 7, 24),
    { call: "baz" },
    B.BPF_ALU64_REG(BPF_SUB, 0, 6),
    EXIT,
  ];
  const baz = [...weightedRegs(0), ...weightedStackArgs(9, 0), EXIT];
  const linked = linkFuncs([
    { name: "main", nargs: 1, code: main },
    { name: "foo", nargs: 7, code: foo },
    { name: "bar", nargs: 8, code: bar },
    { name: "baz", nargs: 9, code: baz },
  ]);
  const bazF = (a: readonly bigint[]) => weighted(a, 0n);
  const barF = (a: readonly bigint[]) => u64(bazF([...a, u64(3n * a[7])]) - a[0]);
  const fooF = (a: readonly bigint[]) => u64(barF([...a, u64(a[5] + a[6])]) + a[6]);
  return { ...linked, oracle: (x) => fooF(x.slice(0, 7)) };
}

/** One caller, two calls with outgoing depths 8 and 24 (see the file header). */
export function twoCallsProg(): StackArgProg {
  const main = [
    ...loadRegArgs(),
    B.BPF_ST_MEM(BPF_DW, R12, outgoingArgOff(6, 0), -3),
    { call: "f6" },
    B.BPF_MOV64_REG(7, 0),
    ...[1, 2, 3, 4, 5].map((r) => B.BPF_LDX_MEM(BPF_DW, r, 6, (r - 1) * 8)),
    B.BPF_LDX_MEM(BPF_DW, 0, 6, 40),
    storeArg(6, 0, 0),
    B.BPF_ST_MEM(BPF_DW, R12, outgoingArgOff(7, 0), 0x7fffffff),
    B.BPF_LDX_MEM(BPF_DW, 0, 6, 48),
    storeArg(8, 0, 0),
    { call: "f8" },
    B.BPF_ALU64_IMM(BPF_LSH, 7, 1),
    B.BPF_ALU64_REG(BPF_SUB, 0, 7),
    EXIT,
  ];
  const f6 = [...weightedRegs(0), ...weightedStackArgs(6, 0), EXIT];
  const f8 = [...weightedRegs(10), ...weightedStackArgs(8, 10), EXIT];
  const linked = linkFuncs([
    { name: "main", nargs: 1, code: main },
    { name: "f6", nargs: 6, code: f6 },
    { name: "f8", nargs: 8, code: f8 },
  ]);
  return {
    ...linked,
    oracle: (x) => {
      const f6v = weighted([...x.slice(0, 5), u64(-3n)], 0n);
      const f8v = weighted([...x.slice(0, 5), x[5], 0x7fffffffn, x[6]], 10n);
      return u64(f8v - 2n * f6v);
    },
  };
}

/**
 * main(x0..x6) returns bpf_kfunc_call_stack_arg(x0..x6, 8, 9, 10), the kfunc
 * at BTF id `btfId` of BTF fd index `off` (0: vmlinux; a module's BTF is
 * reached through an fd index in the kernel, here any value the caller's
 * resolver understands).
 */
export function kfuncProg(call: { btfId: number; off: number }): StackArgProg {
  const insns = [
    ...loadRegArgs(),
    B.BPF_LDX_MEM(BPF_DW, 0, 6, 40),
    storeArg(6, 0, 0),
    B.BPF_LDX_MEM(BPF_DW, 0, 6, 48),
    storeArg(7, 0, 0),
    B.BPF_ST_MEM(BPF_DW, R12, outgoingArgOff(8, 0), 8),
    B.BPF_ST_MEM(BPF_DW, R12, outgoingArgOff(9, 0), 9),
    B.BPF_ST_MEM(BPF_DW, R12, outgoingArgOff(10, 0), 10),
    B.BPF_CALL_KFUNC(call.off, call.btfId),
    EXIT,
  ];
  return {
    insns,
    funcs: [{ start: 0, name: "main", nargs: 1 }],
    oracle: (x) => u64(x.slice(0, 7).reduce((s, v) => s + v, 0n) + 8n + 9n + 10n),
  };
}

/** The oracle's inputs as the scratch bytes the programs read (little-endian u64s). */
export function stackArgInputBytes(x: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(x.length * 8);
  const view = new DataView(out.buffer);
  x.forEach((v, i) => view.setBigUint64(i * 8, u64(v), true));
  return out;
}

/** BTF of a test: FUNC_PROTOs of `n` u64 arguments returning u64, and the FUNCs. */
export interface StackArgBtf {
  readonly btf: Btf;
  /** BTF FUNC id by function name. */
  readonly funcIds: ReadonlyMap<string, number>;
  /** FUNC_PROTO id of the 7-argument attach target (`int target7(u64 x7)`). */
  readonly targetProtoId: number;
}

/**
 * BTF for `funcs` (static functions of u64 arguments; `global` ones get
 * linkage 1), plus `int target7(u64 a1..a7)`, the attach target that gives
 * an fmod_ret program its 7 u64 ctx words.
 */
export function stackArgBtf(
  funcs: readonly { readonly name: string; readonly nargs: number; readonly global?: boolean }[],
): StackArgBtf {
  const e = new BtfEncoder();
  e.type(BTF_KIND_INT, { name: "int", sizeOrType: 4, extra: [(BTF_INT_SIGNED << 24) | 32] }); // 1
  e.type(BTF_KIND_INT, { name: "unsigned long long", sizeOrType: 8, extra: [64] }); // 2
  let next = 3;
  const proto = (n: number, ret: number): number => {
    const extra: number[] = [];
    for (let i = 0; i < n; i++) extra.push(e.str(`a${i + 1}`), 2);
    e.type(BTF_KIND_FUNC_PROTO, { vlen: n, sizeOrType: ret, extra });
    return next++;
  };
  const targetProtoId = proto(7, 1);
  e.type(BTF_KIND_FUNC, { name: "target7", vlen: 1, sizeOrType: targetProtoId });
  next++;
  const funcIds = new Map<string, number>();
  for (const f of funcs) {
    const p = proto(f.nargs, 2);
    e.type(BTF_KIND_FUNC, { name: f.name, vlen: f.global ? 1 : 0, sizeOrType: p });
    funcIds.set(f.name, next++);
  }
  return { btf: Btf.parse(e.build()), funcIds, targetProtoId };
}

/**
 * The verifier input of `prog`: an fmod_ret program (BPF_PROG_TYPE_TRACING,
 * BPF_MODIFY_RETURN) attached to `int target7(u64 a1..a7)`, so that r1 is a
 * ctx of 7 u64 words like the runners' scratch buffer, with func_info for
 * every function (BTF from {@link stackArgBtf}). `extra` overrides fields.
 */
export function stackArgVerifierInput(prog: StackArgProg, extra: Partial<VerifierInput> = {}): VerifierInput {
  const subs = prog.funcs.filter((f) => f.start !== 0);
  const { btf, funcIds, targetProtoId } = stackArgBtf(subs);
  const proto = btf.type(targetProtoId);
  if (proto.kind !== "func_proto") throw new Error("stackArgBtf: target7 has no FUNC_PROTO");
  return {
    insns: prog.insns,
    progType: BPF_PROG_TYPE_TRACING,
    expectedAttachType: BPF_MODIFY_RETURN,
    progName: "main",
    gplCompatible: true,
    btf,
    funcs: prog.funcs.map((f) => ({
      start: f.start,
      name: f.name,
      btfId: f.start === 0 ? 0 : funcIds.get(f.name)!,
      global: f.start === 0,
    })),
    attach: { funcName: "target7", btf, proto },
    map: () => undefined,
    logLevel: 1,
    ...extra,
  };
}
