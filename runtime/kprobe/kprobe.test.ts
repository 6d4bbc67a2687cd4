/**
 * kprobes on the simulated kernel: the pt_regs the stub builds (checked
 * against facts independent of the stub: the argument values passed, the
 * `bl` before the parent's return address, the stacked argument at sp),
 * the probed function's behaviour, counters, refusals, the exclusion with
 * fentry, and detach while another CPU runs through the probe.
 */
import test from "ava";
import { initDisassembler, disasmWord } from "../a64/disasm.js";
import * as B from "../bpf/builder.js";
import type { Insn } from "../bpf/insn.js";
import * as O from "../bpf/opcodes.js";
import { Btf } from "../bpf/btf/btf.js";
import { BtfEncoder } from "../bpf/btf/encode.js";
import { BTF_KIND_ARRAY, BTF_KIND_INT, BTF_KIND_STRUCT } from "../bpf/btf/types.js";
import { EBUSY, EEXIST, EINVAL, ENOENT, ENOTSUPP } from "../errno.js";
import { BpfError } from "../errors.js";
import { bpfIntJitCompile, bpfJitFree } from "../jit/jit.js";
import { btfDistillFuncProto } from "../tramp/func_model.js";
import { ftraceEntryInsns } from "../tramp/text_poke.js";
import { bpfTracingLinkRelease, bpfTracingProgAttach, TrampolineTable } from "../tramp/trampoline.js";
import { genKprobeHandlerStub, a64Mrs } from "./handler_stub.js";
import { attachKprobe, createKprobeTable, detachKprobe, type Kprobe } from "./kprobe.js";
import { PSR_MODE_EL1h, PSR_MODE_MASK, ptRegsLayout, readPtRegs } from "./pt_regs.js";
import { createKprobeTestEnv, type KprobeTestEnv } from "./testing.js";

const NOP = 0xd503201f;
const PT_REGS_U64 = 34;

test.before(async () => {
  await initDisassembler();
});

/** A kprobe program: copy user_pt_regs (34 u64) to `out`, count runs at out[34], return `ret`. */
function copyRegsProg(out: bigint, ret: number): Insn[] {
  const copy = Array.from({ length: PT_REGS_U64 }, (_, i) => [
    B.BPF_LDX_MEM(O.BPF_DW, O.BPF_REG_2, O.BPF_REG_1, 8 * i),
    B.BPF_STX_MEM(O.BPF_DW, O.BPF_REG_9, O.BPF_REG_2, 8 * i),
  ]).flat();
  return B.prog(
    B.BPF_LD_IMM64(O.BPF_REG_9, out),
    ...copy,
    B.BPF_LDX_MEM(O.BPF_DW, O.BPF_REG_2, O.BPF_REG_9, 8 * PT_REGS_U64),
    B.BPF_ALU64_IMM(O.BPF_ADD, O.BPF_REG_2, 1),
    B.BPF_STX_MEM(O.BPF_DW, O.BPF_REG_9, O.BPF_REG_2, 8 * PT_REGS_U64),
    B.BPF_MOV64_IMM(O.BPF_REG_0, ret),
    B.BPF_EXIT_INSN(),
  );
}

interface Probe {
  kprobe: Kprobe;
  out: bigint;
  runs(): bigint;
  detach(): void;
}

function probe(env: KprobeTestEnv, symbol: string, ret = 1): Probe {
  const out = env.k.slab.kzalloc(8 * (PT_REGS_U64 + 1));
  const jited = bpfIntJitCompile({ insns: copyRegsProg(out, ret), name: "copy_regs" }, env.jitEnv);
  const kprobe = attachKprobe(env.table, { symbol, prog: { name: "copy_regs", bpfFunc: jited.bpfFunc } });
  return {
    kprobe,
    out,
    runs: () => env.k.machine.memory.read64(out + 8n * BigInt(PT_REGS_U64)),
    detach: () => {
      detachKprobe(env.table, kprobe);
      bpfJitFree(jited, env.jitEnv);
    },
  };
}

/** kprobe_obj with inner->val = val and flags = flags (layout from the module's BTF). */
function makeObj(env: KprobeTestEnv, val: bigint, flags: bigint): bigint {
  const btf = env.images.func("kprobe_target").btf;
  const objT = btf.get("kprobe_obj", "struct");
  const innerT = btf.get("kprobe_inner", "struct");
  const mem = env.k.machine.memory;
  const inner = env.k.slab.kzalloc(btf.sizeof(innerT.id));
  const obj = env.k.slab.kzalloc(btf.sizeof(objT.id));
  mem.write64(inner + BigInt(btf.offsetof(innerT.id, "val")), val);
  mem.write64(obj + BigInt(btf.offsetof(objT.id, "inner")), inner);
  mem.write64(obj + BigInt(btf.offsetof(objT.id, "flags")), flags);
  return obj;
}

/** The target of the `bl` at `addr` (b/bl imm26, Arm ARM C6.2.34). */
function blTarget(word: number, addr: bigint): bigint | undefined {
  if ((word & 0xfc000000) >>> 0 !== 0x94000000) return undefined;
  const imm26 = (word << 6) >> 6;
  return addr + BigInt(imm26) * 4n;
}

test("the stub builds struct pt_regs: arguments, lr = the parent's return address, sp = the caller's, pc = the entry, EL1h", (t) => {
  const env = createKprobeTestEnv();
  try {
    const { k, images } = env;
    const mem = k.machine.memory;
    const layout = ptRegsLayout(images.vmlinux.btf);
    t.deepEqual(layout, { size: 336, regs: 0, sp: 248, pc: 256, pstate: 264 });
    const target = images.func("kprobe_target").addr;
    const caller = images.func("kprobe_target_caller").addr;
    const p = probe(env, "kprobe_target");
    const obj = makeObj(env, 100n, 5n);
    t.is(k.call("kprobe_target_caller", [obj, 7n]), 100n + 5n + 7n + 1n, "the probed call returns what it did before");
    t.is(p.runs(), 1n);
    const regs = readPtRegs(mem, p.out);
    t.is(regs.regs[0], obj, "x0");
    t.is(regs.regs[1], 7n, "x1");
    t.is(regs.pc, target, "pc is the probed entry");
    t.deepEqual(
      [mem.read32(target), mem.read32(target + 4n)],
      ftraceEntryInsns(target, p.kprobe.stub.addr),
      "entry patched like an ftrace direct call",
    );
    t.is(blTarget(mem.read32(target + 4n), target + 4n), p.kprobe.stub.addr, "the bl goes to the stub");
    // lr: the return address into kprobe_target_caller, right after its `bl kprobe_target`.
    const lr = regs.regs[30];
    t.true(lr > caller && lr < caller + 0x100n, `lr 0x${lr.toString(16)} is inside kprobe_target_caller`);
    t.is(blTarget(mem.read32(lr - 4n), lr - 4n), target, "the instruction before lr is `bl kprobe_target`");
    t.is(regs.regs[9], lr, "x9 holds the parent lr after the patched mov");
    t.is(regs.pstate & BigInt(PSR_MODE_MASK), BigInt(PSR_MODE_EL1h), "EL1h");
    t.is(regs.pstate & ~0xf00003cfn, 0n, "only NZCV, DAIF and the mode bits");
    t.is(regs.sp % 16n, 0n, "sp is 16-byte aligned");
    t.is(k.symbolize(regs.regs[30])?.split("+")[0], "kprobe_target_caller");
    p.detach();
    t.deepEqual(
      [mem.read32(target), mem.read32(target + 4n)],
      ftraceEntryInsns(target, undefined),
      "detach restores the entry as ftrace init left it (mov x9, x30; nop)",
    );
    t.is(k.call("kprobe_target_caller", [obj, 7n]), 113n);
    t.is(p.runs(), 1n, "no run after detach");
    t.deepEqual(k.oopses, []);
  } finally {
    env.k.close();
  }
});

test("pt_regs.sp is the caller's sp: the first stacked argument is at [sp]", (t) => {
  const env = createKprobeTestEnv();
  try {
    const { k } = env;
    const p = probe(env, "kprobe_target_many");
    const obj = makeObj(env, 1000n, 0n);
    const args = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, obj];
    t.is(k.call("kprobe_target_many", args), 36n + 1000n);
    const regs = readPtRegs(k.machine.memory, p.out);
    t.deepEqual(regs.regs.slice(0, 8), args.slice(0, 8), "x0..x7");
    t.is(k.machine.memory.read64(regs.sp), obj, "[sp + 0] is the ninth argument (AAPCS64)");
    p.detach();
  } finally {
    env.k.close();
  }
});

test("counters: a program returning 0 drops the sample; disable_kprobe skips the program", (t) => {
  const env = createKprobeTestEnv();
  try {
    const { k } = env;
    const obj = makeObj(env, 1n, 1n);
    const zero = probe(env, "kprobe_target", 0);
    for (let i = 0; i < 3; i++) k.call("kprobe_target", [obj, BigInt(i)]);
    t.deepEqual(
      { hits: zero.kprobe.hits, events: zero.kprobe.events, filtered: zero.kprobe.filtered },
      { hits: 3, events: 0, filtered: 3 },
    );
    env.table.disable(zero.kprobe);
    t.is(k.call("kprobe_target", [obj, 10n]), 12n, "the function still runs");
    t.is(zero.runs(), 3n, "the program did not");
    t.is(zero.kprobe.hits, 3);
    env.table.enable(zero.kprobe);
    k.call("kprobe_target", [obj, 10n]);
    t.is(zero.runs(), 4n);
    zero.detach();
    const one = probe(env, "kprobe_target", 7);
    k.call("kprobe_target", [obj, 0n]);
    t.deepEqual({ events: one.kprobe.events, filtered: one.kprobe.filtered }, { events: 1, filtered: 0 });
    t.deepEqual({ nmissed: one.kprobe.nmissed, progMisses: one.kprobe.progMisses }, { nmissed: 0, progMisses: 0 });
    one.detach();
  } finally {
    env.k.close();
  }
});

test("a probe hit from inside a kprobe program is missed (kprobe_running): nmissed, the function still runs", (t) => {
  const env = createKprobeTestEnv();
  try {
    const { k } = env;
    const inner = probe(env, "kprobe_target");
    // The outer program calls kprobe_target(r1 = obj, r2 = x) as if it were a helper, from inside the kprobe.
    const CALL_TARGET = 0x7fff;
    const jitEnv = {
      ...env.jitEnv,
      helper: (id: number) => (id === CALL_TARGET ? k.symbolAddress("kprobe_target") : env.jitEnv.helper!(id)),
    };
    const result = k.slab.kzalloc(8);
    const outerProg = B.prog(
      B.BPF_LDX_MEM(O.BPF_DW, O.BPF_REG_6, O.BPF_REG_1, 0), // obj = regs[0]
      B.BPF_MOV64_REG(O.BPF_REG_1, O.BPF_REG_6),
      B.BPF_MOV64_IMM(O.BPF_REG_2, 100),
      B.BPF_EMIT_CALL(CALL_TARGET),
      B.BPF_LD_IMM64(O.BPF_REG_7, result),
      B.BPF_STX_MEM(O.BPF_DW, O.BPF_REG_7, O.BPF_REG_0, 0),
      B.BPF_MOV64_IMM(O.BPF_REG_0, 1),
      B.BPF_EXIT_INSN(),
    );
    const jited = bpfIntJitCompile({ insns: outerProg, name: "outer" }, jitEnv);
    const outer = attachKprobe(env.table, {
      symbol: "kprobe_target_caller",
      prog: { name: "outer", bpfFunc: jited.bpfFunc },
    });
    const obj = makeObj(env, 10n, 1n);
    t.is(k.call("kprobe_target_caller", [obj, 5n]), 10n + 1n + 5n + 1n);
    t.is(k.machine.memory.read64(result), 10n + 1n + 100n, "the nested call ran and returned normally");
    t.deepEqual(
      { hits: inner.kprobe.hits, nmissed: inner.kprobe.nmissed },
      { hits: 1, nmissed: 1 },
      "one missed, one hit",
    );
    t.is(inner.runs(), 1n, "the inner program ran only for the caller's own call");
    t.deepEqual({ hits: outer.hits, nmissed: outer.nmissed, events: outer.events }, { hits: 1, nmissed: 0, events: 1 });
    detachKprobe(env.table, outer);
    bpfJitFree(jited, jitEnv);
    inner.detach();
    t.deepEqual(k.oopses, []);
  } finally {
    env.k.close();
  }
});

test("refusals: unknown symbol, notrace function, offset, a second kprobe, unregister twice; nothing leaks", (t) => {
  const env = createKprobeTestEnv();
  try {
    const { k, table } = env;
    const prog = { name: "p", bpfFunc: k.symbolAddress("dummy_tramp") };
    const live = () => k.bpfText.live().filter((a) => a.name.startsWith("kprobe_stub_")).length;
    const expectErr = (fn: () => unknown, errno: number, message: RegExp) => {
      const err = t.throws(fn, { instanceOf: BpfError });
      t.is(err?.errno, errno, err?.message);
      t.regex(err?.message ?? "", message);
    };
    expectErr(
      () => attachKprobe(table, { symbol: "no_such_function", prog }),
      ENOENT,
      /^register_kprobe: unknown symbol: no_such_function$/,
    );
    expectErr(
      () => attachKprobe(table, { symbol: "kprobe_notrace", prog }),
      ENOTSUPP,
      /^register_kprobe: kprobe_notrace has no patchable entry \(notrace\); brk-based kprobes are not modelled$/,
    );
    expectErr(
      () => attachKprobe(table, { symbol: "kprobe_target", offset: 4, prog }),
      ENOTSUPP,
      /only function entries/,
    );
    const first = probe(env, "kprobe_target");
    expectErr(() => attachKprobe(table, { symbol: "kprobe_target", prog }), EBUSY, /already has a kprobe/);
    t.is(live(), 1, "the refused registration left no stub");
    first.detach();
    expectErr(() => detachKprobe(table, first.kprobe), EINVAL, /^unregister_kprobe: kprobe_target is not registered$/);
    t.is(live(), 0, "the stub is freed at unregister");
    t.is(
      t.throws(() => createKprobeTable(k, env.images), { instanceOf: BpfError })?.errno,
      EEXIST,
      "one table per kernel",
    );
    t.is(table.kprobes.length, 0);
    t.deepEqual(k.oopses, []);
  } finally {
    env.k.close();
  }
});

test("a kprobe and an fentry trampoline on one function exclude each other with -EBUSY, either order", (t) => {
  const env = createKprobeTestEnv();
  try {
    const { k, images } = env;
    const f = images.func("kprobe_target");
    const tramps = new TrampolineTable(k);
    const fentryFunc = k.bpfText.alloc(8, "fentry_stand_in");
    k.machine.writeText(fentryFunc.addr, new Uint8Array(new Uint32Array([0xd2800000, 0xd65f03c0]).buffer), {
      sync: false,
    });
    const progStruct = k.slab.kzalloc(64);
    k.bpfRun.registerProg({ addr: progStruct, name: "fentry_prog", sleepable: false });
    const tprog = { name: "fentry_prog", prog: progStruct, bpfFunc: fentryFunc.addr, sleepable: false };
    const target = {
      kind: "kernel" as const,
      name: "kprobe_target",
      addr: f.addr,
      model: btfDistillFuncProto(f.btf, "kprobe_target"),
      btfObjId: f.btfObjId,
      btfId: f.btfId,
    };
    // kprobe first, then fentry.
    const p = probe(env, "kprobe_target");
    const err = t.throws(
      () => k.runKthread("attach", (task) => bpfTracingProgAttach(tramps, task, tprog, "fentry", target)),
      {
        instanceOf: BpfError,
      },
    );
    t.is(err?.errno, EBUSY, err?.message);
    p.detach();
    // fentry first, then kprobe.
    const link = k.runKthread("attach", (task) => bpfTracingProgAttach(tramps, task, tprog, "fentry", target));
    const err2 = t.throws(() => probe(env, "kprobe_target"), { instanceOf: BpfError });
    t.is(err2?.errno, EBUSY);
    t.regex(err2?.message ?? "", /^register_kprobe kprobe_target: ftrace: entry of kprobe_target/);
    t.is(env.table.kprobes.length, 0);
    k.runKthread("detach", (task) => bpfTracingLinkRelease(tramps, task, link));
    const again = probe(env, "kprobe_target");
    t.is(k.call("kprobe_target", [makeObj(env, 2n, 3n), 4n]), 9n);
    t.is(again.runs(), 1n, "after the fentry is gone the kprobe attaches and runs");
    again.detach();
  } finally {
    env.k.close();
  }
});

for (const seed of [1, 2, 3, 4]) {
  test(`detach while another CPU keeps calling through the probe (seed ${seed}): no use-after-free, right results`, (t) => {
    const env = createKprobeTestEnv({ cpus: 2, seed });
    try {
      const { k } = env;
      const obj = makeObj(env, 10n, 1n);
      const p = probe(env, "kprobe_target");
      const n = 20000n;
      const caller = k.sched.spawnCall("looper", k.symbolAddress("kprobe_target_loop"), [obj, n]);
      // Once the looper has gone through the probe 100 times, detach from a kthread.
      k.runKthread("detach", function* (task) {
        while (p.kprobe.hits < 100) yield { op: "sleep", ns: 1000n, reason: "wait for hits" };
        yield* env.table.unregister(task, p.kprobe);
      });
      const before = p.runs();
      k.runTask(caller);
      // sum over i of (val + flags + i) = n * 11 + n(n-1)/2
      t.is(caller.exitValue, n * 11n + (n * (n - 1n)) / 2n);
      t.deepEqual(k.oopses, [], "nothing executed the freed stub");
      t.is(p.runs(), before, "no run once unregister returned");
      t.true(p.runs() >= 100n && p.runs() < n, `the detach happened mid-loop: ${p.runs()} of ${n} calls were probed`);
      t.is(p.runs(), BigInt(p.kprobe.hits), "every hit ran the program");
    } finally {
      env.k.close();
    }
  });
}

test("without the grace periods the same detach frees the stub under the other CPU: a use-after-free oops", (t) => {
  const env = createKprobeTestEnv({ cpus: 2, seed: 1, unsafeSkipGracePeriods: true });
  try {
    const { k } = env;
    const obj = makeObj(env, 10n, 1n);
    const p = probe(env, "kprobe_target");
    const caller = k.sched.spawnCall("looper", k.symbolAddress("kprobe_target_loop"), [obj, 20000n]);
    k.runKthread("detach", function* (task) {
      while (p.kprobe.hits < 100) yield { op: "sleep", ns: 1000n, reason: "wait for hits" };
      yield* env.table.unregister(task, p.kprobe);
    });
    t.throws(() => k.runTask(caller));
    t.is(k.oopses.length, 1);
    t.regex(k.oopses[0].detail ?? "", /^use-after-free of kprobe_stub_kprobe_target \(freed at \d+ ns\)/);
  } finally {
    env.k.close();
  }
});

test("handler stub: documented frame, mrs encodings match capstone, fixed length", (t) => {
  const layout = { size: 336, regs: 0, sp: 248, pc: 256, pstate: 264 };
  const a = genKprobeHandlerStub({
    kp: 0x44000000n,
    bpfFunc: 0x42000000n,
    enter: 0x42001000n,
    exit: 0x42002000n,
    layout,
  });
  const b = genKprobeHandlerStub({
    kp: 0x4400fff0n,
    bpfFunc: 0x4200fff0n,
    enter: 0x4201f000n,
    exit: 0x4202f000n,
    layout,
  });
  t.is(a.frameSize, 368);
  t.is(a.words.length, b.words.length, "the length does not depend on the addresses");
  const text = [...a.words].map((w) => disasmWord(w));
  t.is(text[0], "sub sp, sp, #0x170");
  t.is(text[text.length - 1], "ret x9");
  t.true(text.includes("mrs x10, nzcv") && text.includes("mrs x11, daif") && text.includes("mrs x11, currentel"));
  t.true(text.includes("mrs x11, spsel"));
  t.is(disasmWord(a64Mrs(3, "daif")), "mrs x3, daif");
  t.is(text[a.progReturnOffset / 4 - 1], "blr x16", "the program is called with blr");
  t.throws(() => genKprobeHandlerStub({ kp: 1n << 48n, bpfFunc: 0n, enter: 0n, exit: 0n, layout }), {
    instanceOf: BpfError,
    message: /beyond 48 bits/,
  });
  t.throws(() => a64Mrs(31, "nzcv"), { instanceOf: BpfError, message: "invalid register: x31" });
});

test("pt_regs layout: read from BTF and checked against the uapi user_pt_regs prefix", (t) => {
  const build = (spOffset: number, size: number): Btf => {
    const b = new BtfEncoder();
    b.type(BTF_KIND_INT, { name: "u64", sizeOrType: 8, extra: [64] }); // 1
    b.type(BTF_KIND_ARRAY, { extra: [1, 1, 31] }); // 2
    const m = (name: string, type: number, byteOff: number) => [b.str(name), type, byteOff * 8];
    b.type(BTF_KIND_STRUCT, {
      name: "pt_regs",
      vlen: 4,
      sizeOrType: size,
      extra: [...m("regs", 2, 0), ...m("sp", 1, spOffset), ...m("pc", 1, 256), ...m("pstate", 1, 264)],
    });
    return Btf.parse(b.build());
  };
  t.deepEqual(ptRegsLayout(build(248, 272)), { size: 272, regs: 0, sp: 248, pc: 256, pstate: 264 });
  t.throws(() => ptRegsLayout(build(240, 272)), {
    instanceOf: BpfError,
    message: "struct pt_regs: sp at 240, the uapi user_pt_regs has it at 248",
  });
  t.throws(() => ptRegsLayout(build(248, 280)), {
    instanceOf: BpfError,
    message: /size 280 is not a 16-byte multiple/,
  });
  t.throws(() => ptRegsLayout(Btf.parse(new BtfEncoder().build())), {
    instanceOf: BpfError,
    message: "kernel BTF has no struct pt_regs",
  });
});
