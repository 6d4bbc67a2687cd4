/**
 * Stack arguments against the simulated kernel: bpf_testmod's
 * bpf_kfunc_call_stack_arg(u64 a, ..., u64 j), the C function clang compiled
 * for AAPCS64 (x0-x7, then [sp], [sp+8]), returns the sum of its 10
 * arguments. Called from a tc program through BPF_PROG_LOAD (module BTF,
 * kfunc registry, verifier, JIT) and BPF_PROG_TEST_RUN, and directly from a
 * JITed program with 64-bit inputs next to the reference interpreter.
 * The last test loads the foo(7) → bar(8) → baz(9) chain through
 * BPF_PROG_LOAD (the verifier's incoming_stack_arg_depth / stack_arg_depth
 * handed to the JIT) and runs it with BPF_PROG_TEST_RUN.
 */
import test from "ava";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as B from "../bpf/builder.js";
import type { Insn } from "../bpf/insn.js";
import { runCaseInterp } from "../bpf/interp_test_util.js";
import { BPF_PROG_TYPE_SCHED_CLS } from "../bpf/object/uapi.js";
import { BPF_DW, BPF_REG_STACK_ARG_BASE as R12, BPF_W } from "../bpf/opcodes.js";
import { chainProg, kfuncProg, stackArgBtf, stackArgInputBytes, STACK_ARG_INPUTS } from "../bpf/stack_arg_progs.js";
import { bpfIntJitCompile, bpfJitFree } from "../jit/jit.js";
import { JitError } from "../jit/jit_error.js";
import type { Kernel } from "../kernel/kernel.js";
import { Prng } from "../prng.js";
import { bpfSys, type BpfSys } from "./bpf_sys.js";
import { bpfProgLoad } from "./prog_load.js";
import { bpfProgTestRun, PKT_V4 } from "./test_run.js";
import { bootBpfKernel } from "./testing.js";

const KFUNC = "bpf_kfunc_call_stack_arg";

/**
 * A module of this test: a kfunc whose result depends on the order of its
 * arguments (bpf_testmod's sum does not), so that clang's AAPCS64 placement
 * of arguments 6..10 is checked slot by slot.
 */
const WEIGH_SRC = `typedef unsigned long long u64;

__attribute__((noinline)) u64 sa_weigh10(u64 a, u64 b, u64 c, u64 d, u64 e,
					 u64 f, u64 g, u64 h, u64 i, u64 j)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i + 10 * j;
}
`;

let booted:
  { kernel: Kernel; sys: BpfSys; objId: number; btfId: number; weighObjId: number; weighId: number } | undefined;

/** One booted kernel with bpf_testmod and the sa_weigh module for the file (the boot is the slow part). */
function kernel(): NonNullable<typeof booted> {
  if (booted) return booted;
  const { kernel: k, images } = bootBpfKernel({ cpus: 1 });
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-stack-args-"));
  const src = join(dir, "sa_weigh.c");
  writeFileSync(src, WEIGH_SRC);
  images.modules.load([src], { name: "sa_weigh" });
  const sys = bpfSys(k);
  sys.kfuncs.register({ name: "sa_weigh10" });
  const find = (mod: string, fn: string) => {
    const obj = sys.btfObjects().find((o) => o.name === mod);
    const f = obj?.btf.find(fn, "func");
    if (!obj || !f) throw new Error(`${fn} is not in ${mod}'s BTF`);
    return { objId: obj.objId, id: f.id };
  };
  const sum = find("bpf_testmod", KFUNC);
  const weigh = find("sa_weigh", "sa_weigh10");
  booted = { kernel: k, sys, objId: sum.objId, btfId: sum.id, weighObjId: weigh.objId, weighId: weigh.id };
  return booted;
}

/** Σ i · x_i, u64. */
function weigh(x: readonly bigint[]): bigint {
  return BigInt.asUintN(
    64,
    x.reduce((s, v, i) => s + BigInt(i + 1) * v, 0n),
  );
}

test.after.always(() => booted?.kernel.close());

test("bpf_testmod's BTF types bpf_kfunc_call_stack_arg with 10 u64 arguments, and it is a registered kfunc", (t) => {
  const { sys, objId, btfId } = kernel();
  const btf = sys.btfObject(objId)!.btf;
  const f = btf.type(btfId);
  t.is(f.kind, "func");
  const proto = f.kind === "func" ? btf.type(f.type) : undefined;
  t.is(proto?.kind, "func_proto");
  if (proto?.kind !== "func_proto") return;
  t.deepEqual(
    proto.params.map((p) => p.name),
    ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
  );
  t.true(proto.params.every((p) => btf.sizeof(p.type) === 8));
  t.truthy(sys.kfuncs.get(KFUNC));
});

test("BPF_PROG_LOAD + BPF_PROG_TEST_RUN: a tc program calls the 10-argument kfunc (skb->len + 2 + ... + 10)", (t) => {
  const { kernel: k, sys, objId, btfId } = kernel();
  const insns: Insn[] = [
    B.BPF_MOV64_REG(6, 1),
    B.BPF_LDX_MEM(BPF_W, 1, 6, 0), // skb->len
    ...[2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, r)),
    ...[6, 7, 8, 9, 10].map((k) => B.BPF_ST_MEM(BPF_DW, R12, -8 * (k - 5), k)),
    B.BPF_CALL_KFUNC(1, btfId),
    B.BPF_EXIT_INSN(),
  ];
  const { prog, log } = bpfProgLoad(sys, {
    progType: BPF_PROG_TYPE_SCHED_CLS,
    expectedAttachType: 0,
    insns,
    license: "GPL",
    name: "stack_arg_kfunc",
    kfuncBtfObjIds: [1, objId],
    logLevel: 1,
  });
  t.regex(log, /call bpf_kfunc_call_stack_arg#\d+/);
  t.is(prog.verifier.subprogs[0].stackArgDepth, 40, "five outgoing stack arguments");
  const res = bpfProgTestRun(k, prog, { dataIn: PKT_V4 });
  t.is(res.retval, PKT_V4.length + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10);
});

test("both engines: the JIT calls the C kfunc with 64-bit arguments (x5-x7, [sp], [sp+8]), the interpreter a TypeScript sum", (t) => {
  const { kernel: k, btfId } = kernel();
  const p = kfuncProg({ btfId, off: 1 });
  const env = { kernel: k, kfunc: () => k.symbolAddress(KFUNC) };
  const jited = bpfIntJitCompile({ insns: p.insns, name: "kfunc_sa" }, env);
  const scratch = k.slab.kzalloc(STACK_ARG_INPUTS * 8);
  const prng = new Prng(12);
  try {
    for (let run = 0; run < 6; run++) {
      const x = Array.from(
        { length: STACK_ARG_INPUTS },
        () => (BigInt(prng.nextU32()) << 32n) | BigInt(prng.nextU32()),
      );
      k.machine.memory.writeBytes(scratch, stackArgInputBytes(x));
      const jit = k.call(jited.bpfFunc, [scratch], { comm: "kfunc_sa" });
      const interp = runCaseInterp({
        insns: p.insns,
        data: stackArgInputBytes(x),
        opts: { kfunc: (_id, call) => [...call.args, ...call.stackArgs].reduce((s, v) => s + v, 0n) },
      }).result.r0;
      t.is(jit, p.oracle(x));
      t.is(interp, p.oracle(x));
    }
  } finally {
    bpfJitFree(jited, env);
  }
});

test("argument order: a C kfunc weighing its 10 arguments (Σ i·x_i) through BPF_PROG_LOAD and a direct JIT call", (t) => {
  const { kernel: k, sys, weighObjId, weighId } = kernel();
  // tc: sa_weigh10(skb->len, 2, 3, 4, 5, 6, 7, 8, 9, 10)
  const insns: Insn[] = [
    B.BPF_MOV64_REG(6, 1),
    B.BPF_LDX_MEM(BPF_W, 1, 6, 0),
    ...[2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, r)),
    ...[6, 7, 8, 9, 10].map((k) => B.BPF_ST_MEM(BPF_DW, R12, -8 * (k - 5), k)),
    B.BPF_CALL_KFUNC(1, weighId),
    B.BPF_EXIT_INSN(),
  ];
  const { prog } = bpfProgLoad(sys, {
    progType: BPF_PROG_TYPE_SCHED_CLS,
    expectedAttachType: 0,
    insns,
    license: "GPL",
    name: "stack_arg_weigh",
    kfuncBtfObjIds: [1, weighObjId],
  });
  const len = BigInt(PKT_V4.length);
  t.is(bpfProgTestRun(k, prog, { dataIn: PKT_V4 }).retval, Number(weigh([len, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n])));
  // 64-bit inputs x0..x6 and 8, 9, 10 (kfuncProg), against the same C function.
  const p = kfuncProg({ btfId: weighId, off: 1 });
  const env = { kernel: k, kfunc: () => k.symbolAddress("sa_weigh10") };
  const jited = bpfIntJitCompile({ insns: p.insns, name: "weigh_sa" }, env);
  const scratch = k.slab.kzalloc(STACK_ARG_INPUTS * 8);
  const prng = new Prng(13);
  try {
    for (let run = 0; run < 6; run++) {
      const x = Array.from(
        { length: STACK_ARG_INPUTS },
        () => (BigInt(prng.nextU32()) << 32n) | BigInt(prng.nextU32()),
      );
      k.machine.memory.writeBytes(scratch, stackArgInputBytes(x));
      t.is(k.call(jited.bpfFunc, [scratch], { comm: "weigh_sa" }), weigh([...x, 8n, 9n, 10n]));
    }
  } finally {
    bpfJitFree(jited, env);
  }
});

test("BPF_PROG_LOAD of subprograms with stack arguments: the verifier's depths reach the JIT; TEST_RUN returns the oracle's value", (t) => {
  const { sys } = kernel();
  const p = chainProg();
  const subs = p.funcs.filter((f) => f.start !== 0);
  const { btf, funcIds } = stackArgBtf(subs);
  // A tc program cannot read 7 u64 words from its ctx: give main constant inputs instead.
  const consts = [
    ...[1, 2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, r)),
    B.BPF_ST_MEM(BPF_DW, R12, -8, 6),
    B.BPF_ST_MEM(BPF_DW, R12, -16, 7),
  ];
  const mainEnd = subs[0].start;
  const shift = consts.length - (mainEnd - 2);
  const insns = [...consts, ...p.insns.slice(mainEnd - 2)];
  const { fd, prog } = bpfProgLoad(sys, {
    progType: BPF_PROG_TYPE_SCHED_CLS,
    expectedAttachType: 0,
    insns,
    license: "GPL",
    name: "chain",
    btf,
    funcs: [
      { start: 0, name: "chain", btfId: 0, global: true },
      ...subs.map((f) => ({ start: f.start + shift, name: f.name, btfId: funcIds.get(f.name)!, global: false })),
    ],
  });
  try {
    const depths = prog.verifier.subprogs.map((s) => [s.incomingStackArgDepth, s.stackArgDepth]);
    t.deepEqual(depths, [
      [0, 16],
      [16, 40],
      [24, 56],
      [32, 32],
    ]);
    const r = bpfProgTestRun(sys.k, prog, { dataIn: PKT_V4 });
    t.is(BigInt(r.retval), BigInt.asUintN(32, p.oracle([1n, 2n, 3n, 4n, 5n, 6n, 7n])));
  } finally {
    sys.close(fd);
  }
});
