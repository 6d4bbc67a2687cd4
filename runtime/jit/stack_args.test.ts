/**
 * Stack arguments on the arm64 JIT (stack_args.ts): the chain foo(7) →
 * bar(8) → baz(9) and two calls with different outgoing depths run on the
 * emulated CPU and on the reference interpreter with the verifier's depths
 * and agree with the oracle; a callee reads its incoming argument after a
 * call of its own; the frame facts in the golden listing; the exceptions
 * selftest's 2026 stack-argument variants (10-argument subprogs, sum 55, the
 * callback returns 56) on both engines; and what the JIT refuses.
 */
import test from "ava";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EINVAL } from "../errno.js";
import * as B from "../bpf/builder.js";
import { bindBpfThrow } from "../bpf/exceptions/bpf_throw.js";
import type { Insn } from "../bpf/insn.js";
import { runCaseInterp } from "../bpf/interp_test_util.js";
import { BPF_FUNC_tail_call } from "../bpf/func_ids.js";
import {
  BPF_ARRAY_MAX_ENTRIES_OFF,
  BPF_MAP_MAP_TYPE_OFF,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_PROG_BPF_FUNC_OFF,
  bpfArrayPtrAddr,
  bpfProgArraySize,
  bpfProgSize,
} from "../bpf/kernel_structs.js";
import { BPF_PROG_TYPE_SCHED_CLS } from "../bpf/object/uapi.js";
import { BPF_ADD, BPF_DW, BPF_JSGT, BPF_MUL, BPF_REG_STACK_ARG_BASE as R12, BPF_W } from "../bpf/opcodes.js";
import { Prng } from "../prng.js";
import {
  chainProg,
  linkFuncs,
  stackArgBtf,
  stackArgInputBytes,
  stackArgVerifierInput,
  twoCallsProg,
  STACK_ARG_INPUTS,
  type FuncSource,
  type StackArgProg,
} from "../bpf/stack_arg_progs.js";
import type { VerifierInput, VerifierResult } from "../bpf/verifier/env.js";
import { bpfCheck } from "../bpf/verifier/verifier.js";
import { Kernel } from "../kernel/kernel.js";
import { createDiffEnv, diffRun } from "./diff.js";
import { bpfIntJitCompile, bpfJitFree, type JitInput } from "./jit.js";
import { JitError } from "./jit_error.js";
import { stackArgFrame } from "./stack_args.js";

const EXIT = B.BPF_EXIT_INSN();
const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), "golden", "stack_args.txt");

/** The JIT's aux facts from a verifier result (what BPF_PROG_LOAD hands jit_subprogs). */
function jitFacts(r: VerifierResult): Omit<JitInput, "insns"> {
  const cb = r.subprogs.findIndex((s) => s.isExceptionCb);
  return {
    funcStarts: r.subprogs.map((s) => s.start),
    stackDepth: r.subprogs.map((s) => s.stackDepth),
    incomingStackArgDepth: r.subprogs.map((s) => s.incomingStackArgDepth),
    stackArgDepth: r.subprogs.map((s) => s.stackArgDepth),
    exceptionBoundary: r.exceptionBoundary,
    exceptionCb: cb > 0 ? cb : undefined,
  };
}

function inputs(prng: Prng): bigint[] {
  return Array.from({ length: STACK_ARG_INPUTS }, () => (BigInt(prng.nextU32()) << 32n) | BigInt(prng.nextU32()));
}

/** Verify `p`, then run it on both engines for `runs` inputs: each must agree and match the oracle. */
function bothEngines(t: import("ava").ExecutionContext, p: StackArgProg, seed: number, runs = 8): void {
  const r = bpfCheck(stackArgVerifierInput(p));
  const env = createDiffEnv();
  try {
    const prng = new Prng(seed);
    const cases = [[1n, 2n, 3n, 4n, 5n, 6n, 7n], ...Array.from({ length: runs }, () => inputs(prng))];
    for (const x of cases) {
      const res = diffRun(env, { insns: r.insns, data: stackArgInputBytes(x), input: jitFacts(r) });
      t.true(res.agree, res.why);
      t.deepEqual(
        [res.jit.kind === "ok" ? res.jit.r0 : res.jit, res.interp.kind === "ok" ? res.interp.r0 : res.interp],
        [p.oracle(x), p.oracle(x)],
      );
    }
  } finally {
    env.k.close();
  }
}

test("both engines: chain foo(7 args) → bar(8 args) → baz(9 args)", (t) => {
  bothEngines(t, chainProg(), 20);
});

test("both engines: two calls from one frame with outgoing depths 8 and 24", (t) => {
  bothEngines(t, twoCallsProg(), 21);
});

test("both engines: a callee reads its incoming argument 6 after passing its own argument 6 to a call", (t) => {
  // main(x): f(1, 2, 3, 4, 5, x)    f(a1..a6) = g(a1..a5, 100) + a6    g(b1..b6) = 2 · b6
  const p: StackArgProg = {
    ...linkFuncs([
      {
        name: "main",
        nargs: 1,
        code: [
          B.BPF_LDX_MEM(BPF_DW, 0, 1, 0),
          B.BPF_STX_MEM(BPF_DW, R12, 0, -8),
          ...[1, 2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, r)),
          { call: "f" },
          EXIT,
        ],
      },
      {
        name: "f",
        nargs: 6,
        code: [
          B.BPF_ST_MEM(BPF_DW, R12, -16, 100),
          { call: "g" },
          B.BPF_LDX_MEM(BPF_DW, 1, R12, -8),
          B.BPF_ALU64_REG(BPF_ADD, 0, 1),
          EXIT,
        ],
      },
      {
        name: "g",
        nargs: 6,
        code: [B.BPF_LDX_MEM(BPF_DW, 0, R12, -8), B.BPF_ALU64_REG(BPF_ADD, 0, 0), EXIT],
      },
    ]),
    oracle: (x) => BigInt.asUintN(64, 200n + x[0]),
  };
  bothEngines(t, p, 22, 4);
});

test("both engines: a call with 12 arguments (args 9..12 at [sp+0..24] / [x29+16..40])", (t) => {
  // main(x): f12(x0..x4, x5, x6, 8, 9, 10, 11, -12)    f12(a1..a12) = Σ i · a_i
  const weights: Insn[] = [B.BPF_MOV64_REG(0, 1)];
  for (let r = 2; r <= 5; r++) weights.push(B.BPF_ALU64_IMM(BPF_MUL, r, r), B.BPF_ALU64_REG(BPF_ADD, 0, r));
  for (let k = 6; k <= 12; k++) {
    weights.push(
      B.BPF_LDX_MEM(BPF_DW, 1, R12, -8 * (k - 5)),
      B.BPF_ALU64_IMM(BPF_MUL, 1, k),
      B.BPF_ALU64_REG(BPF_ADD, 0, 1),
    );
  }
  const p: StackArgProg = {
    ...linkFuncs([
      {
        name: "main",
        nargs: 1,
        code: [
          B.BPF_MOV64_REG(6, 1),
          ...[1, 2, 3, 4, 5].map((r) => B.BPF_LDX_MEM(BPF_DW, r, 6, 8 * (r - 1))),
          B.BPF_LDX_MEM(BPF_DW, 0, 6, 40),
          B.BPF_STX_MEM(BPF_DW, R12, 0, -8),
          B.BPF_LDX_MEM(BPF_DW, 0, 6, 48),
          B.BPF_STX_MEM(BPF_DW, R12, 0, -16),
          ...[8, 9, 10, 11].map((k) => B.BPF_ST_MEM(BPF_DW, R12, -8 * (k - 5), k)),
          B.BPF_ST_MEM(BPF_DW, R12, -56, -12),
          { call: "f12" },
          EXIT,
        ],
      },
      { name: "f12", nargs: 12, code: [...weights, EXIT] },
    ]),
    oracle: (x) =>
      BigInt.asUintN(
        64,
        [...x.slice(0, 7), 8n, 9n, 10n, 11n, -12n].reduce((sum, v, i) => sum + BigInt(i + 1) * v, 0n),
      ),
  };
  const r = bpfCheck(stackArgVerifierInput(p));
  t.deepEqual(
    r.subprogs.map((sp) => [sp.incomingStackArgDepth, sp.stackArgDepth]),
    [
      [0, 56],
      [56, 56],
    ],
  );
  bothEngines(t, p, 23, 4);
});

test("frame sizes: x5..x7 save area and outgoing area, each rounded to 16", (t) => {
  t.deepEqual(stackArgFrame({ incoming: 0, total: 0 }), { out: 0, inSave: 0, inRegs: 0 });
  t.deepEqual(stackArgFrame({ incoming: 0, total: 24 }), { out: 0, inSave: 0, inRegs: 0 }, "args 6..8 in registers");
  t.deepEqual(stackArgFrame({ incoming: 0, total: 32 }), { out: 16, inSave: 0, inRegs: 0 }, "arg 9 on the stack");
  t.deepEqual(stackArgFrame({ incoming: 0, total: 56 }), { out: 32, inSave: 0, inRegs: 0 }, "args 9..12");
  t.deepEqual(stackArgFrame({ incoming: 8, total: 8 }), { out: 0, inSave: 16, inRegs: 1 });
  t.deepEqual(stackArgFrame({ incoming: 24, total: 56 }), { out: 16, inSave: 32, inRegs: 3 }, "bar of the chain");
  t.deepEqual(stackArgFrame({ incoming: 56, total: 56 }), { out: 0, inSave: 32, inRegs: 3 });
});

test("the golden listing shows the calling convention (R0 in x8, args 6-8 in x5-x7, 9 at [sp] and [x29, #16])", (t) => {
  const g = readFileSync(GOLDEN, "utf8");
  const fn = (name: string) => g.slice(g.indexOf(`_${name}:\n`), g.indexOf("; plt", g.indexOf(`_${name}:\n`)));
  t.regex(fn("stack_args"), /r12 -8\) = r0\n.*\tadd\tx5, x8, #0\n/, "main: outgoing arg 6 → x5");
  t.regex(fn("stack_args"), /r12 -16\) = r0\n.*\tadd\tx6, x8, #0\n/, "main: outgoing arg 7 → x6");
  t.regex(fn("foo"), /\tsub\tsp, sp, #0x10\n.*\tstp\tx5, x6, \[sp\]\n/, "foo saves its incoming x5, x6");
  t.regex(fn("foo"), /r12 -40\) = r8\n.*\tadd\tx7, x21, #0\n/, "foo: outgoing arg 8 → x7");
  t.regex(fn("bar"), /\tsub\tsp, sp, #0x30\n.*\tstp\tx5, x6, \[sp, #0x10\]\n.*\tstr\tx7, \[sp, #0x20\]\n/);
  t.regex(fn("bar"), /r12 -56\) = r7\n.*\tstr\tx20, \[sp\]\n/, "bar: outgoing arg 9 → [sp]");
  t.regex(fn("baz"), /r12 -32\)\n.*\tldr\tx0, \[x29, #0x10\]\n/, "baz: incoming arg 9 ← [x29, #16]");
  t.regex(fn("baz"), /\tadd\tsp, sp, #0x20\n.*\tldp\txzr, x26/, "the epilogue frees the area");
  t.regex(g, /\tblr\tx10\n.*\tadd\tx8, x0, #0\n/, "R0 = x8 after a call");
});

function refuses(t: import("ava").ExecutionContext, input: JitInput, message: string): void {
  const k = new Kernel({ cpus: 1 });
  try {
    const e = t.throws(() => bpfIntJitCompile(input, { kernel: k }), { instanceOf: JitError }) as JitError;
    t.is(e.message, message);
    t.is(e.errno, EINVAL);
  } finally {
    k.close();
  }
}

test("the JIT refuses stack arguments it cannot place: no depths, bad depths, what the verifier refuses", (t) => {
  const chain = chainProg().insns;
  refuses(
    t,
    { insns: chain },
    "stack arguments of function 1 need its incoming_stack_arg_depth (from the verifier): insn 12: (79) r6 = *(u64 *)(r12 -16)",
  );
  refuses(
    t,
    { insns: chain, incomingStackArgDepth: [0, 12, 24, 32] },
    "invalid incoming_stack_arg_depth of function 1: 12 (0..56, a multiple of 8)",
  );
  refuses(
    t,
    { insns: chain, incomingStackArgDepth: [0, 16, 24, 32], stackArgDepth: [16, 40, 56, 96] },
    "invalid stack_arg_depth of function 3: 96 (incoming_stack_arg_depth 32 .. 88)",
  );
  const main = (...code: Insn[]) => B.prog(...code, B.BPF_MOV64_IMM(0, 0), EXIT);
  refuses(t, { insns: main(), incomingStackArgDepth: [8] }, "function 0 cannot take stack arguments: the main program");
  refuses(
    t,
    { insns: main(B.BPF_ST_MEM(BPF_DW, R12, -16, 1)), stackArgDepth: [8] },
    "stack arg write offset -16 beyond stack_arg_depth 8: insn 0: (7a) *(u64 *)(r12 -16) = 1",
  );
  refuses(
    t,
    { insns: main(B.BPF_LDX_MEM(BPF_DW, 1, R12, -8)) },
    "invalid read from stack arg off -8 depth 0: insn 0: (79) r1 = *(u64 *)(r12 -8)",
  );
  refuses(
    t,
    { insns: main(B.BPF_STX_MEM(BPF_W, R12, 1, -8)) },
    "stack arg write must be 8 bytes, got 4: insn 0: (63) *(u32 *)(r12 -8) = r1",
  );
  refuses(
    t,
    { insns: main(B.BPF_ST_MEM(BPF_DW, R12, -64, 1)) },
    "stack arg write offset -64 exceeds max 7 stack args: insn 0: (7a) *(u64 *)(r12 -64) = 1",
  );
});

test("a tail call from a frame with an outgoing stack-argument area unwinds all of it", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const mem = k.machine.memory;
    const target = bpfIntJitCompile({ insns: B.prog(B.BPF_MOV64_IMM(0, 77), EXIT) }, { kernel: k });
    const prog = k.slab.kzalloc(bpfProgSize(2));
    mem.write64(prog + BigInt(BPF_PROG_BPF_FUNC_OFF), target.bpfFunc);
    const arr = k.slab.kzalloc(bpfProgArraySize(1));
    mem.write32(arr + BigInt(BPF_MAP_MAP_TYPE_OFF), BPF_MAP_TYPE_PROG_ARRAY);
    mem.write32(arr + BigInt(BPF_ARRAY_MAX_ENTRIES_OFF), 1);
    mem.write64(bpfArrayPtrAddr(arr, 0), prog);
    // Outgoing argument 9 gives main a 16-byte area at [sp]; r6..r9 and r10 make a frame worth unwinding.
    const main = B.prog(
      B.BPF_ST_MEM(BPF_DW, R12, -32, 9),
      ...[6, 7, 8, 9].map((r) => B.BPF_MOV64_IMM(r, r)),
      B.BPF_ST_MEM(BPF_DW, 10, -8, 1),
      ...B.BPF_LD_IMM64(2, arr),
      B.BPF_MOV64_IMM(3, 0),
      B.BPF_EMIT_CALL(BPF_FUNC_tail_call),
      B.BPF_MOV64_IMM(0, 1),
      EXIT,
    );
    const jited = bpfIntJitCompile({ insns: main }, { kernel: k });
    t.is(jited.stackSize, 16, "BPF stack");
    t.is(k.call(jited.bpfFunc, [0n]), 77n, "the target ran and returned through main's frame record");
    bpfJitFree(jited, { kernel: k });
    bpfJitFree(target, { kernel: k });
  } finally {
    k.close();
  }
});

// ---- the exceptions selftest's stack-argument variants (progs/exceptions.c, 2026) ----

const THROW: FuncSource["code"][number] = { call: "bpf_throw" };

/** r1..r5 = base + 0..4, outgoing args 6..10 = base + 5..9 (base in r6, or the constant 1). */
function tenArgs(base: "r6" | 1): Insn[] {
  const out: Insn[] = [];
  for (let i = 0; i < 10; i++) {
    const reg = i < 5 ? i + 1 : 0;
    if (base === 1) out.push(B.BPF_MOV64_IMM(reg, 1 + i));
    else out.push(B.BPF_MOV64_REG(reg, 6), B.BPF_ALU64_IMM(BPF_ADD, reg, i));
    if (i >= 5) out.push(B.BPF_STX_MEM(BPF_DW, R12, 0, -8 * (i - 4)));
  }
  return out;
}

/** r0 = a + b + ... + j of a 10-argument function. */
const SUM10: Insn[] = [
  B.BPF_MOV64_REG(0, 1),
  ...[2, 3, 4, 5].map((r) => B.BPF_ALU64_REG(BPF_ADD, 0, r)),
  ...[6, 7, 8, 9, 10].flatMap((k) => [B.BPF_LDX_MEM(BPF_DW, 1, R12, -8 * (k - 5)), B.BPF_ALU64_REG(BPF_ADD, 0, 1)]),
];

const COMMON: readonly FuncSource[] = [
  // __noinline static long throwing_many_args(a..j) { bpf_throw(a + ... + j); return 0; }
  {
    name: "throwing_many_args",
    nargs: 10,
    code: [...SUM10, B.BPF_MOV64_REG(1, 0), THROW, B.BPF_MOV64_IMM(0, 0), EXIT],
  },
  // __noinline static long no_throw_many_args(a..j) { return a + ... + j; }
  { name: "no_throw_many_args", nargs: 10, code: [...SUM10, EXIT] },
  // __noinline int exception_cb_sa(u64 cookie) { return cookie + 1; }
  { name: "exception_cb_sa", nargs: 1, code: [B.BPF_MOV64_REG(0, 1), B.BPF_ALU64_IMM(BPF_ADD, 0, 1), EXIT] },
];

/** `if (r0 > 0) bpf_throw(r0); return 0;` */
const THROW_IF_POSITIVE: FuncSource["code"] = [
  B.BPF_JMP_IMM(BPF_JSGT, 0, 0, 1),
  B.BPF_JMP_A(2),
  B.BPF_MOV64_REG(1, 0),
  THROW,
  B.BPF_MOV64_IMM(0, 0),
  EXIT,
];

/** Each variant's own functions (main first); the COMMON functions it calls are added by variant(). */
const VARIANTS: Record<string, FuncSource[]> = {
  exception_throw_stack_arg: [
    { name: "main", nargs: 1, code: [...tenArgs(1), { call: "throwing_many_args" }, B.BPF_MOV64_IMM(0, 0), EXIT] },
  ],
  exception_throw_after_stack_arg: [
    { name: "main", nargs: 1, code: [...tenArgs(1), { call: "no_throw_many_args" }, ...THROW_IF_POSITIVE] },
  ],
  exception_throw_subprog_stack_arg: [
    {
      name: "main",
      nargs: 1,
      code: [B.BPF_MOV64_IMM(1, 1), { call: "subprog_throw_sa" }, B.BPF_MOV64_IMM(0, 0), EXIT],
    },
    // __noinline static long subprog_throw_sa(long val) { throwing_many_args(val, ..., val + 9); return 0; }
    {
      name: "subprog_throw_sa",
      nargs: 1,
      code: [B.BPF_MOV64_REG(6, 1), ...tenArgs("r6"), { call: "throwing_many_args" }, B.BPF_MOV64_IMM(0, 0), EXIT],
    },
  ],
  exception_throw_subprog_after_stack_arg: [
    {
      name: "main",
      nargs: 1,
      code: [B.BPF_MOV64_IMM(1, 1), { call: "subprog_throw_after_sa" }, B.BPF_MOV64_IMM(0, 0), EXIT],
    },
    {
      name: "subprog_throw_after_sa",
      nargs: 1,
      code: [B.BPF_MOV64_REG(6, 1), ...tenArgs("r6"), { call: "no_throw_many_args" }, ...THROW_IF_POSITIVE],
    },
  ],
};

/** The variant as a program: bpf_throw is a kfunc (BTF id in the test BTF), the callback named by main's decl tag. */
function variant(name: string): { input: VerifierInput; throwId: number; cbStart: number; cbEnd: number } {
  const own = VARIANTS[name];
  const calls = new Set(own.flatMap((f) => f.code.flatMap((c) => ("call" in c ? [c.call] : []))));
  const parts = [...own, ...COMMON.filter((f) => calls.has(f.name) || f.name === "exception_cb_sa")];
  // Link with a placeholder for bpf_throw, then turn those calls into kfunc calls.
  const linked = linkFuncs([...parts, { name: "bpf_throw", nargs: 1, code: [EXIT] }]);
  const throwStart = linked.funcs.find((f) => f.name === "bpf_throw")!.start;
  const funcs = linked.funcs.filter((f) => f.name !== "bpf_throw");
  const decls = [...funcs.filter((f) => f.start !== 0), { name: "bpf_throw", nargs: 1 }].map((f) => ({
    ...f,
    global: f.name === "exception_cb_sa" || f.name === "bpf_throw",
  }));
  const { btf, funcIds } = stackArgBtf(decls);
  const throwId = funcIds.get("bpf_throw")!;
  const insns = linked.insns.slice(0, throwStart).map((insn, i) => {
    const isThrowCall = insn.code === 0x85 && insn.src === 1 && i + 1 + insn.imm === throwStart;
    return isThrowCall ? B.BPF_CALL_KFUNC(0, throwId) : insn;
  });
  const cb = funcs.find((f) => f.name === "exception_cb_sa")!;
  const after = funcs.find((f) => f.start > cb.start);
  const base = stackArgVerifierInput({ insns, funcs, oracle: () => 0n });
  const input: VerifierInput = {
    ...base,
    progType: BPF_PROG_TYPE_SCHED_CLS,
    expectedAttachType: 0,
    progName: name.slice(0, 15),
    attach: undefined,
    btf,
    funcs: funcs.map((f) => ({
      start: f.start,
      name: f.name,
      btfId: f.start === 0 ? 0 : funcIds.get(f.name)!,
      global: f.start === 0 || f.name === "exception_cb_sa",
      declTags: f.start === 0 ? ["exception_callback:exception_cb_sa"] : undefined,
    })),
    kfunc: (id) => {
      const f = btf.type(id);
      if (id !== throwId || f.kind !== "func") return undefined;
      const proto = btf.type(f.type);
      return proto.kind === "func_proto" ? { name: "bpf_throw", btf, btfId: id, proto, allowed: true } : undefined;
    },
  };
  return { input, throwId, cbStart: cb.start, cbEnd: after?.start ?? insns.length };
}

/** The variant on the JIT: bpf_throw unwinds to main's frame and the callback's R0 comes back. */
function runJit(name: string): bigint {
  const { input } = variant(name);
  const r = bpfCheck(input);
  const k = new Kernel({ cpus: 1 });
  try {
    const jited = bpfIntJitCompile(
      { insns: r.insns, name: "exc", ...jitFacts(r) },
      {
        kernel: k,
        kfunc: () => k.symbolAddress("bpf_throw"),
      },
    );
    const cb = jitFacts(r).exceptionCb!;
    bindBpfThrow(k, (ip) => {
      const f = jited.subprogs.find((s) => ip >= s.bpfFunc && ip < s.bpfFunc + BigInt(s.size));
      if (!f) return undefined;
      const aux = { name, exceptionBoundary: r.exceptionBoundary, bpfExceptionCb: jited.subprogs[cb].bpfFunc };
      return { isSubprog: f.index > 0, aux };
    });
    const ret = k.call(jited.bpfFunc, [0n], { comm: "exc" });
    bpfJitFree(jited, { kernel: k });
    return ret;
  } finally {
    k.close();
  }
}

/**
 * The variant on the interpreter, which has no unwinder: bpf_throw ends the
 * run with the cookie, then the callback runs on its own with R1 = cookie
 * (what bpf_throw does on the CPU: the callback's R0 is the program's).
 */
function runInterp(name: string): bigint {
  const { input, throwId, cbStart, cbEnd } = variant(name);
  const r = bpfCheck(input);
  let cookie: bigint | undefined;
  const incoming = new Map(r.subprogs.map((s) => [s.start, s.incomingStackArgDepth]));
  const main = runCaseInterp({
    insns: r.insns,
    opts: {
      incomingStackArgDepth: incoming,
      kfunc: (id, call) => {
        if (id !== throwId) throw new Error(`unexpected kfunc ${id}`);
        cookie = call.args[0];
        call.requestExit();
        return 0n;
      },
    },
  });
  if (cookie === undefined) return main.result.r0;
  return runCaseInterp({ insns: r.insns.slice(cbStart, cbEnd), opts: { args: [cookie] } }).result.r0;
}

for (const name of Object.keys(VARIANTS)) {
  test(`exceptions/${name}: 10-argument subprogs, sum 55, the callback returns 56 (JIT and interpreter)`, (t) => {
    const r = bpfCheck(variant(name).input);
    t.true(r.exceptionBoundary);
    const many = r.subprogs.filter((s) => s.name.endsWith("many_args"));
    t.is(many.length, 1);
    t.is(many[0].incomingStackArgDepth, 40, "arguments 6..10 on the stack-argument area");
    t.is(runJit(name), 56n);
    t.is(runInterp(name), 56n);
  });
}
