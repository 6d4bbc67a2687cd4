/**
 * perf-style kprobe programs end to end on the simulated kernel: section
 * name → BTF conversion against kprobe_testmod (built by clang, so the
 * offsets are the compiler's) → prologue → JIT → kprobe, and the values the
 * program sees when kprobe_testmod's functions run. The interpreter and the
 * JIT run the same prologue on snapshots of the pt_regs the stub built and
 * must agree.
 */
import test from "ava";
import * as B from "../bpf/builder.js";
import type { Insn } from "../bpf/insn.js";
import { bpfInterp, INTERP_STACK_SIZE } from "../bpf/interp.js";
import { physMemoryBpf } from "../bpf/interp_mem.js";
import * as O from "../bpf/opcodes.js";
import { bpfGenPrologue, BPF_MAXINSNS } from "../bpf/prologue/gen_prologue.js";
import {
  BpfLoaderError,
  BPF_LOADER_ERRNO__EVENTNAME,
  BPF_LOADER_ERRNO__PROLOGUE2BIG,
  BPF_LOADER_ERRNO__PROLOGUEOOB,
} from "../bpf/prologue/loader_errno.js";
import { synthesizeProbeTraceArg } from "../bpf/prologue/probe_trace_arg.js";
import { ENOENT, ENOTSUPP, EOPNOTSUPP } from "../errno.js";
import { BpfError } from "../errors.js";
import { bpfIntJitCompile, bpfJitFree } from "../jit/jit.js";
import { loadPerfKprobe, preparePerfKprobe, unloadPerfKprobe, type LoadedPerfKprobe } from "./perf_bpf.js";
import { createKprobeTestEnv, type KprobeTestEnv } from "./testing.js";

const PT_REGS_U64 = 34;
/** out[0..4] = r1..r5 after the prologue, out[8..41] = the pt_regs ctx points to. */
const OUT_REGS = 0;
const OUT_CTX = 8;

/** User code: store r1..r5, copy *ctx (user_pt_regs), return 1. */
function userCode(out: bigint): Insn[] {
  return B.prog(
    B.BPF_LD_IMM64(O.BPF_REG_9, out),
    ...[1, 2, 3, 4, 5].map((r, i) => B.BPF_STX_MEM(O.BPF_DW, O.BPF_REG_9, r, 8 * (OUT_REGS + i))),
    ...Array.from({ length: PT_REGS_U64 }, (_, i) => [
      B.BPF_LDX_MEM(O.BPF_DW, O.BPF_REG_0, O.BPF_REG_1, 8 * i),
      B.BPF_STX_MEM(O.BPF_DW, O.BPF_REG_9, O.BPF_REG_0, 8 * (OUT_CTX + i)),
    ]).flat(),
    B.BPF_MOV64_IMM(O.BPF_REG_0, 1),
    B.BPF_EXIT_INSN(),
  );
}

interface Fetched {
  r1: bigint;
  r2: bigint;
  args: bigint[];
  ctx: bigint[];
}

function readOut(env: KprobeTestEnv, out: bigint): Fetched {
  const m = env.k.machine.memory;
  const at = (i: number): bigint => m.read64(out + BigInt(8 * i));
  return {
    r1: at(OUT_REGS),
    r2: at(OUT_REGS + 1),
    args: [at(OUT_REGS + 2), at(OUT_REGS + 3), at(OUT_REGS + 4)],
    ctx: Array.from({ length: PT_REGS_U64 }, (_, i) => at(OUT_CTX + i)),
  };
}

interface Objs {
  obj: bigint;
  inner: bigint;
}

/** kprobe_obj / kprobe_inner filled through the module's BTF layout. */
function makeObj(env: KprobeTestEnv, f: { val: bigint; flags: bigint; ival?: number; cval?: number }): Objs {
  const btf = env.images.func("kprobe_target").btf;
  const objT = btf.get("kprobe_obj", "struct").id;
  const innerT = btf.get("kprobe_inner", "struct").id;
  const m = env.k.machine.memory;
  const inner = env.k.slab.kzalloc(btf.sizeof(innerT));
  const obj = env.k.slab.kzalloc(btf.sizeof(objT));
  m.write64(inner + BigInt(btf.offsetof(innerT, "val")), f.val);
  m.write64(obj + BigInt(btf.offsetof(objT, "inner")), inner);
  m.write64(obj + BigInt(btf.offsetof(objT, "flags")), f.flags);
  const emb = btf.offsetof(objT, "embedded");
  if (f.ival !== undefined) m.write32(obj + BigInt(emb + btf.offsetof(innerT, "ival")), f.ival >>> 0);
  if (f.cval !== undefined) m.write8(obj + BigInt(emb + btf.offsetof(innerT, "cval")), f.cval);
  return { obj, inner };
}

function load(env: KprobeTestEnv, config: string, out: bigint, log?: (l: string, m: string) => void): LoadedPerfKprobe {
  return loadPerfKprobe(
    { config, insns: userCode(out) },
    { images: env.images, table: env.table, jitEnv: env.jitEnv, log },
  );
}

function unload(env: KprobeTestEnv, l: LoadedPerfKprobe): void {
  unloadPerfKprobe(l, { table: env.table, jitEnv: env.jitEnv });
}

/**
 * Run `insns` on the interpreter and on the JIT (called directly) with r1 =
 * a copy of `ctx`; with `stack`, its sp points to a copy of the bytes the
 * probed function had at its sp (the task that was probed is gone by now).
 */
function bothEngines(
  env: KprobeTestEnv,
  insns: readonly Insn[],
  snapshot: { ctx: readonly bigint[]; stack?: Uint8Array },
): { interp: Fetched; jit: Fetched } {
  const { k } = env;
  const m = k.machine.memory;
  const regs = k.slab.kzalloc(336);
  let sp = snapshot.ctx[31];
  if (snapshot.stack) {
    sp = k.slab.kzalloc(snapshot.stack.length);
    m.writeBytes(sp, snapshot.stack);
  }
  snapshot.ctx.forEach((v, i) => m.write64(regs + BigInt(8 * i), i === 31 ? sp : v));
  const out = k.slab.kzalloc(8 * (OUT_CTX + PT_REGS_U64));
  const prog = [...insns.slice(0, insns.length - userCode(0n).length), ...userCode(out)];
  const stack = k.slab.kzalloc(INTERP_STACK_SIZE + 64);
  bpfInterp(prog, {
    mem: physMemoryBpf(m),
    stack: stack + BigInt(INTERP_STACK_SIZE),
    args: [regs],
    helper: env.helper,
    budget: 100_000,
  });
  const interp = readOut(env, out);
  m.fill(out, 8 * (OUT_CTX + PT_REGS_U64), 0);
  const jited = bpfIntJitCompile({ insns: prog, name: "prologue_diff" }, env.jitEnv);
  try {
    k.call(jited.bpfFunc, [regs], { comm: "bpf_test" });
  } finally {
    bpfJitFree(jited, env.jitEnv);
  }
  return { interp, jit: readOut(env, out) };
}

test("fast path: bare parameters and registers straight from pt_regs", (t) => {
  const env = createKprobeTestEnv();
  try {
    const out = env.k.slab.kzalloc(8 * (OUT_CTX + PT_REGS_U64));
    const l = load(env, "fetch_regs=kprobe_target obj x sp", out);
    t.deepEqual(l.prepared.args.map(synthesizeProbeTraceArg), ["%x0:x64", "%x1:s64", "%sp"]);
    t.true(l.prepared.prologue?.fastpath);
    const { obj } = makeObj(env, { val: 1n, flags: 2n });
    t.is(env.k.call("kprobe_target", [obj, 3n]), 6n);
    const f = readOut(env, out);
    t.deepEqual({ r2: f.r2, args: f.args }, { r2: 0n, args: [obj, 3n, f.ctx[31]] });
    t.is(f.r1, f.args[2] - 336n - 32n, "r1 is still ctx: pt_regs sits at the bottom of the stub's frame");
    t.is(env.helperCalls.n, 0, "no probe read on the fast path");
    unload(env, l);
  } finally {
    env.k.close();
  }
});

test("slow path: obj->inner->val, x, obj->flags through the module's BTF, with the right values", (t) => {
  const env = createKprobeTestEnv();
  try {
    const out = env.k.slab.kzalloc(8 * (OUT_CTX + PT_REGS_U64));
    const l = load(env, "fetch=kprobe_target obj->inner->val x obj->flags", out);
    t.deepEqual(l.prepared.args.map(synthesizeProbeTraceArg), ["val=+8(+8(%x0)):s64", "%x1:s64", "flags=+16(%x0):x64"]);
    t.deepEqual(l.prepared.insns.slice(0, l.prepared.prologue?.prologueCnt), bpfGenPrologue(l.prepared.args).insns);
    const { obj } = makeObj(env, { val: -10n, flags: 0x1122334455667788n });
    t.is(env.k.call("kprobe_target", [obj, 4n]), BigInt.asUintN(64, -10n + 0x1122334455667788n + 4n));
    const f = readOut(env, out);
    t.deepEqual({ r2: f.r2, args: f.args }, { r2: 0n, args: [BigInt.asUintN(64, -10n), 4n, 0x1122334455667788n] });
    t.is(f.r1, f.ctx[31] - 336n - 32n, "USER_CODE put ctx back into r1 (pt_regs at the bottom of the stub frame)");
    t.is(env.helperCalls.n, 3, "one bpf_probe_read_kernel per level");
    t.is(l.kprobe.events, 1, "the program returned 1: the sample would be submitted");
    unload(env, l);
    t.is(env.k.call("kprobe_target", [obj, 4n]), BigInt.asUintN(64, -10n + 0x1122334455667788n + 4n), "after unload");
  } finally {
    env.k.close();
  }
});

test("a faulting dereference: r2 = 1 and every argument 0, the function still runs", (t) => {
  const env = createKprobeTestEnv();
  try {
    const out = env.k.slab.kzalloc(8 * (OUT_CTX + PT_REGS_U64));
    const l = load(env, "fetch=kprobe_target obj->inner->val x obj->flags", out);
    // A bad obj pointer: the function does not dereference it for x < 0.
    t.is(env.k.call("kprobe_target", [0x10n, -1n]), BigInt.asUintN(64, -1n));
    const first = readOut(env, out);
    t.deepEqual({ r2: first.r2, args: first.args }, { r2: 1n, args: [0n, 0n, 0n] });
    t.is(first.ctx[0], 0x10n, "the bad pointer was in x0");
    // A good obj whose inner pointer is bad: the second level faults.
    const { obj } = makeObj(env, { val: 5n, flags: 6n });
    env.k.machine.memory.write64(obj + 8n, 0xdead0000n);
    t.is(env.k.call("kprobe_target", [obj, -2n]), BigInt.asUintN(64, -2n));
    const second = readOut(env, out);
    t.deepEqual({ r2: second.r2, args: second.args }, { r2: 1n, args: [0n, 0n, 0n] });
    t.deepEqual(env.k.oopses, [], "bpf_probe_read_kernel does not oops");
    unload(env, l);
  } finally {
    env.k.close();
  }
});

test("a stacked argument through %sp, narrow members loaded at their size, a 4th argument dropped", (t) => {
  const env = createKprobeTestEnv();
  try {
    const out = env.k.slab.kzalloc(8 * (OUT_CTX + PT_REGS_U64));
    const warnings: string[] = [];
    const l = load(
      env,
      "many=kprobe_target_many obj9->inner->val obj9->embedded.ival obj9->embedded.cval a0",
      out,
      (level, m) => {
        if (level === "warning") warnings.push(m);
      },
    );
    t.deepEqual(warnings, ["bpf: prologue: 1 arguments are dropped"]);
    t.deepEqual(l.prepared.args.map(synthesizeProbeTraceArg), [
      "val=+8(+8(+0(%sp))):s64",
      "ival=+40(+0(%sp)):s32",
      "cval=+46(+0(%sp)):x8",
      "%x0:s64",
    ]);
    const { obj } = makeObj(env, { val: 77n, flags: 0n, ival: -5, cval: 0xab });
    const args = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, obj];
    t.is(env.k.call("kprobe_target_many", args), 36n + 77n);
    const f = readOut(env, out);
    t.deepEqual(
      { r2: f.r2, args: f.args },
      { r2: 0n, args: [77n, 0xfffffffbn, 0xabn] },
      "s32 and x8 loads are zero-extended (BPF_W, BPF_B)",
    );
    unload(env, l);
  } finally {
    env.k.close();
  }
});

test("interpreter and JIT agree on the prologue for pt_regs snapshots the stub built", (t) => {
  const env = createKprobeTestEnv();
  try {
    const { k } = env;
    const configs = [
      "a=kprobe_target obj->inner->val x obj->flags",
      "b=kprobe_target obj->embedded.ival obj->arr[2] obj->u.bytes[1]",
      "c=kprobe_target obj->next->next->flags obj->anon_b",
      "d=kprobe_target obj x sp",
      "e=kprobe_target_many obj9->inner->val a7 obj9->next->inner->pad",
    ];
    const { obj, inner } = makeObj(env, { val: 0x55n, flags: 0x66n, ival: -3, cval: 1 });
    const m = k.machine.memory;
    const btf = env.images.func("kprobe_target").btf;
    const objT = btf.get("kprobe_obj", "struct").id;
    m.write64(obj + BigInt(btf.offsetof(objT, "next")), obj); // obj->next = obj
    m.write64(obj + BigInt(btf.offsetof(objT, "arr") + 16), 0x1234n);
    m.write64(obj + BigInt(btf.offsetof(objT, "anon_b")), 0x4321n);
    m.write8(obj + BigInt(btf.offsetof(objT, "u") + 1), 0x9a);
    // Expected fetch results per config and state: the comparisons cover both outcomes.
    const expectR2: Record<string, bigint[]> = {
      a: [0n, 1n, 1n],
      b: [0n, 1n, 0n],
      c: [0n, 1n, 0n],
      d: [0n, 0n, 0n],
      e: [0n, 1n, 1n],
    };
    const goodValues: Record<string, bigint[]> = {
      a: [0x55n, 9n, 0x66n],
      b: [0xfffffffdn, 0x1234n, 0x9an],
      c: [0x66n, 0x4321n, 0n],
      e: [0x55n, 9n, 0n],
    };
    const states: [string, bigint[]][] = [
      ["good", [obj, 9n]],
      ["bad obj", [0x20n, -1n]],
      ["bad inner", [obj, -1n]],
    ];
    let compared = 0;
    for (const config of configs) {
      const out = k.slab.kzalloc(8 * (OUT_CTX + PT_REGS_U64));
      const l = load(env, config, out);
      const fn = l.prepared.func.name;
      for (const [si, [what, a]] of states.entries()) {
        if (what === "bad inner") m.write64(obj + 8n, 0xbad000n);
        const args = fn === "kprobe_target_many" ? [1n, 2n, 3n, 4n, 5n, 6n, 7n, a[1], a[0]] : a;
        k.call(fn, args);
        const viaKprobe = readOut(env, out);
        // Stacked arguments: the probed task's stack is freed but not reused yet, copy them now.
        const derefsSp = l.prepared.args.some((a) => a.value === "%sp" && a.refs.length > 0);
        const stack = derefsSp ? m.readBytes(viaKprobe.ctx[31], 16) : undefined;
        const { interp, jit } = bothEngines(env, l.prepared.insns, { ctx: viaKprobe.ctx, stack });
        if (what === "bad inner") m.write64(obj + 8n, inner);
        const pick = (f: Fetched) => ({ r2: f.r2, args: f.args });
        t.deepEqual(pick(jit), pick(interp), `${config} / ${what}: JIT vs interpreter`);
        t.deepEqual(pick(viaKprobe), pick(interp), `${config} / ${what}: through the kprobe vs interpreter`);
        t.is(interp.r2, expectR2[l.prepared.event.event][si], `${config} / ${what}: fetch result`);
        if (interp.r2 === 1n) t.deepEqual(interp.args, [0n, 0n, 0n], `${config} / ${what}: zeroed on failure`);
        const good = goodValues[l.prepared.event.event];
        if (what === "good" && good) t.deepEqual(interp.args, good, `${config}: values`);
        compared++;
      }
      unload(env, l);
    }
    t.is(compared, configs.length * states.length);
  } finally {
    env.k.close();
  }
});

test("refusals through the section name: global, offset out of s32, prologue too big, config errors", (t) => {
  const env = createKprobeTestEnv();
  try {
    const opts = { images: env.images };
    const prep =
      (config: string, insns: Insn[] = [B.BPF_MOV64_IMM(0, 0), B.BPF_EXIT_INSN()]) =>
      () =>
        preparePerfKprobe({ config, insns }, opts);
    const g = t.throws(prep("g=kprobe_target x kprobe_global"), { instanceOf: BpfError });
    t.is(g?.errno, EOPNOTSUPP);
    t.is(g?.message, "bpf probe perf_bpf_probe:g: bpf prologue: global variables are not supported: @kprobe_global+0");
    // arr at 64 + 300000000 * 8 does not fit in s32.
    const oob = t.throws(prep("o=kprobe_target obj->arr[300000000]"), { instanceOf: BpfLoaderError });
    t.is(oob?.errno, BPF_LOADER_ERRNO__PROLOGUEOOB);
    t.is(oob?.message, "bpf probe perf_bpf_probe:o: offset out of bound for prologue: 2400000064");
    t.notThrows(prep("o=kprobe_target obj->arr[268435447]"), "64 + 268435447 * 8 = 2^31 - 8 fits");
    const n = bpfGenPrologue([{ value: "%x0", refs: [{ offset: 16n }] }]).insns.length;
    const body = (len: number): Insn[] => [
      ...Array.from({ length: len - 1 }, () => B.BPF_MOV64_IMM(0, 0)),
      B.BPF_EXIT_INSN(),
    ];
    t.notThrows(prep("big=kprobe_target obj->flags", body(BPF_MAXINSNS - n - 1)));
    const big = t.throws(prep("big=kprobe_target obj->flags", body(BPF_MAXINSNS - n)), { instanceOf: BpfLoaderError });
    t.is(big?.errno, BPF_LOADER_ERRNO__PROLOGUE2BIG);
    t.is(t.throws(prep("kprobe_target x"), { instanceOf: BpfLoaderError })?.errno, BPF_LOADER_ERRNO__EVENTNAME);
    t.is(t.throws(prep("e=no_such_function x"), { instanceOf: BpfError })?.errno, ENOENT);
    t.is(t.throws(prep("e=kprobe_target nope"), { instanceOf: BpfError })?.errno, ENOENT);
    t.is(
      t.throws(prep("module=bpf_testmod;e=kprobe_target x"), { instanceOf: BpfError })?.errno,
      ENOENT,
      "module= limits the search",
    );
    t.is(t.throws(prep("module=not_loaded;e=kprobe_target x"), { instanceOf: BpfError })?.errno, ENOENT);
    for (const c of ["r=kprobe_target%return", "o=kprobe_target+8 x", "exec=/bin/true;u=main", "l=kprobe_target:3"]) {
      t.is(t.throws(prep(c), { instanceOf: BpfError })?.errno, ENOTSUPP, c);
    }
  } finally {
    env.k.close();
  }
});

test("a vmlinux function: bpf_fentry_test1(int a) with its parameter by name", (t) => {
  const env = createKprobeTestEnv();
  try {
    const out = env.k.slab.kzalloc(8 * (OUT_CTX + PT_REGS_U64));
    const l = load(env, "t1=bpf_fentry_test1 a", out);
    t.is(l.prepared.func.module, undefined, "found in vmlinux");
    t.deepEqual(l.prepared.args.map(synthesizeProbeTraceArg), ["%x0:s32"]);
    t.is(env.k.call("bpf_fentry_test1", [41n]), 42n);
    const f = readOut(env, out);
    t.deepEqual({ r2: f.r2, r3: f.args[0] }, { r2: 0n, r3: 41n });
    unload(env, l);
  } finally {
    env.k.close();
  }
});

test("no argument: perf loads the program without a prologue", (t) => {
  const env = createKprobeTestEnv();
  try {
    const insns = [B.BPF_MOV64_IMM(0, 0), B.BPF_EXIT_INSN()];
    const p = preparePerfKprobe({ config: "module=kprobe_testmod;plain=kprobe_target", insns }, { images: env.images });
    t.is(p.prologue, undefined);
    t.deepEqual(p.insns, insns);
    t.is(p.func.module, "kprobe_testmod");
    t.is(p.func.addr, env.images.func("kprobe_target").addr);
  } finally {
    env.k.close();
  }
});
