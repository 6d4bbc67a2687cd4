/**
 * The trampoline's argument handling against clang-compiled callers and
 * callees (testdata/tramp_abi.c): for functions of 8–12 arguments mixing
 * char/short/int/long/pointers, 12- and 16-byte structs, __int128, a
 * member-aligned and a struct-aligned 16-byte struct, with arguments in
 * registers and on the stack:
 *
 *   - an fentry program sees every argument the C caller passed (compared
 *     byte for byte with what the untraced callee records),
 *   - an fexit program sees them and the return value,
 *   - fmod_ret replaces the return value (and the original is skipped),
 *   - the original function still receives every argument intact.
 *
 * The "programs" are small A64 functions reading the BPF context, so this
 * tests the trampoline alone, independent of the JIT.
 */
import test from "ava";
import { join } from "node:path";
import { initAssembler } from "../a64/asm.js";
import { EINVAL, ENOTSUPP } from "../errno.js";
import { bootKernel } from "../kernel/boot.js";
import type { Kernel } from "../kernel/kernel.js";
import type { LoadedModule } from "../kernel/module.js";
import { asmRaw } from "../kernel/testing.js";
import { PROJECT_ROOT } from "../paths.js";
import { aapcs64ArgLayout, type ArgLayout } from "./arg_layout.js";
import { dwarfAlignments } from "./dwarf_align.js";
import { btfDistillFuncProto } from "./func_model.js";
import {
  bpfTracingLinkRelease,
  bpfTracingProgAttach,
  TrampolineTable,
  type BpfTrampLink,
  type TrampKind,
  type TrampProg,
  type TrampTarget,
} from "./trampoline.js";

const MODULE = join(PROJECT_ROOT, "runtime", "tramp", "testdata", "tramp_abi.c");

test.before(async () => {
  await initAssembler();
});

function movAddr(reg: string, v: bigint): string[] {
  return [0, 16, 32].map(
    (sh, i) => `${i === 0 ? "movz" : "movk"} ${reg}, #${(v >> BigInt(sh)) & 0xffffn}${i ? `, lsl #${sh}` : ""}`,
  );
}

/** An A64 stand-in for a BPF program: copies ctx[0..n) to `dst`, returns `ret`. */
function ctxCopyProg(k: Kernel, name: string, n: number, dst: bigint, ret = 0): TrampProg {
  const lines = movAddr("x1", dst);
  for (let i = 0; i < n; i++) lines.push(`ldr x2, [x0, #${8 * i}]`, `str x2, [x1, #${8 * i}]`);
  lines.push(`mov x0, #${ret}`, "ret");
  const prog = k.slab.kzalloc(64);
  k.bpfRun.registerProg({ addr: prog, name, sleepable: false });
  return { name, prog, bpfFunc: asmRaw(k, name, lines.join("\n")), sleepable: false };
}

interface Fixture {
  k: Kernel;
  mod: LoadedModule;
  table: TrampolineTable;
  target(func: string): TrampTarget;
  attach(prog: TrampProg, kind: TrampKind, target: TrampTarget): BpfTrampLink;
  detach(link: BpfTrampLink): void;
  record(): Uint8Array;
}

function fixture(seed: number): Fixture {
  const { kernel: k, images } = bootKernel({ cpus: 2, seed });
  const mod = images.loadModule([MODULE]);
  const aligns = dwarfAlignments(mod.build.hash, mod.build.bytes);
  const table = new TrampolineTable(k);
  const recordAddr = k.symbolAddress("abi_record");
  return {
    k,
    mod,
    table,
    target(func) {
      const f = images.func(func);
      return {
        kind: "kernel",
        name: func,
        addr: f.addr,
        model: btfDistillFuncProto(f.btf, func, { aligns }),
        btfObjId: f.btfObjId,
        btfId: f.btfId,
      };
    },
    attach: (prog, kind, target) =>
      k.runKthread("attach", (task) => bpfTracingProgAttach(table, task, prog, kind, target)),
    detach: (link) => k.runKthread("detach", (task) => bpfTracingLinkRelease(table, task, link)),
    record: () => k.machine.memory.readBytes(recordAddr, 256),
  };
}

/** Bytes of argument i as the BPF program saw them (low `size` bytes of its slots). */
function ctxArgBytes(k: Kernel, ctxCopy: bigint, layout: ArgLayout, i: number): Uint8Array {
  const p = layout.args[i];
  return k.machine.memory.readBytes(ctxCopy + BigInt(8 * p.ctxSlot), p.arg.size);
}

const FUNCS = ["f8", "f9", "f10", "f11", "f12"];

for (const fn of FUNCS) {
  test(`abi_${fn}: fentry and fexit see what the C caller passed; the original gets it intact`, (t) => {
    const fx = fixture(FUNCS.indexOf(fn) + 1);
    const { k } = fx;
    try {
      const untraced = k.call(`call_${fn}`);
      const truth = fx.record();
      const target = fx.target(`abi_${fn}`);
      const layout = aapcs64ArgLayout(target.name, target.model.args);
      const entryCopy = k.slab.kzalloc(256);
      const exitCopy = k.slab.kzalloc(256);
      const fentry = fx.attach(ctxCopyProg(k, `fentry_${fn}`, layout.ctxSlots, entryCopy), "fentry", target);
      const fexit = fx.attach(ctxCopyProg(k, `fexit_${fn}`, layout.ctxSlots + 1, exitCopy), "fexit", target);
      k.machine.memory.fill(k.symbolAddress("abi_record"), 256, 0);
      t.is(k.call(`call_${fn}`), untraced, "same return value through the trampoline");
      t.deepEqual(fx.record(), truth, "the original received every argument intact");
      for (let i = 0; i < layout.args.length; i++) {
        const want = truth.slice(16 * i, 16 * i + layout.args[i].arg.size);
        const where = `${layout.args[i].arg.typeName} (arg ${i + 1})`;
        t.deepEqual(ctxArgBytes(k, entryCopy, layout, i), want, `fentry ctx: ${where}`);
        t.deepEqual(ctxArgBytes(k, exitCopy, layout, i), want, `fexit ctx: ${where}`);
      }
      t.is(
        k.machine.memory.read64(exitCopy + BigInt(8 * layout.ctxSlots)),
        untraced,
        "fexit ctx[nargs] = return value",
      );
      fx.detach(fexit);
      fx.detach(fentry);
      t.deepEqual(k.oopses, []);
    } finally {
      k.close();
    }
  });
}

test("abi_f10: fmod_ret replaces the return value and the original is skipped", (t) => {
  const fx = fixture(7);
  const { k } = fx;
  try {
    const target = fx.target("abi_f10");
    const layout = aapcs64ArgLayout(target.name, target.model.args);
    const exitCopy = k.slab.kzalloc(256);
    const fexit = fx.attach(ctxCopyProg(k, "fexit_f10", layout.ctxSlots + 1, exitCopy), "fexit", target);
    const fmod = fx.attach(ctxCopyProg(k, "fmod_ret_f10", 0, exitCopy, 777), "fmod_ret", target);
    k.machine.memory.fill(k.symbolAddress("abi_record"), 256, 0);
    t.is(k.call("call_f10"), 777n);
    t.true(
      fx.record().every((b) => b === 0),
      "the original did not run",
    );
    t.is(k.machine.memory.read64(exitCopy + BigInt(8 * layout.ctxSlots)), 777n, "fexit sees fmod_ret's value");
    fx.detach(fmod);
    fx.detach(fexit);
  } finally {
    k.close();
  }
});

test("the layout of abi_f10 is clang's: member-aligned struct at an even pair, struct-aligned one not", (t) => {
  const fx = fixture(8);
  try {
    const target = fx.target("abi_f10");
    const placed = aapcs64ArgLayout(target.name, target.model.args).args.map((p) =>
      p.loc.kind === "reg" ? `x${p.loc.reg}` : `sp+${p.loc.offset}`,
    );
    // int, __int128 (x2:x3), char, s16m (x6:x7), short, s16a (sp+8), long, __int128 (16-aligned), char, s16.
    t.deepEqual(placed, ["x0", "x2", "x4", "x6", "sp+0", "sp+8", "sp+24", "sp+32", "sp+48", "sp+56"]);
  } finally {
    fx.k.close();
  }
});

test("signatures the trampoline cannot honour are refused with the reason", (t) => {
  const fx = fixture(9);
  const { k } = fx;
  try {
    // A struct over 16 bytes: btf_distill_func_proto's -EINVAL.
    const e1 = t.throws(() => fx.target("abi_big"));
    t.is((e1 as { errno?: number }).errno, EINVAL);
    t.is(e1?.message, "The function abi_big arg0 type STRUCT is unsupported.");
    // Without the DWARF alignment table, abi_s8a's padding cannot be explained: -ENOTSUPP.
    const e2 = t.throws(() => btfDistillFuncProto(fx.mod.image.btf, "abi_pad"));
    t.is((e2 as { errno?: number }).errno, ENOTSUPP);
    t.regex(
      e2?.message ?? "",
      /argument 2 \(struct abi_s8a b\) of abi_pad: its size \(16\) is explained only by an alignment attribute/,
    );
    // With it, the struct-level attribute is known to be ignored and the call is traced correctly.
    const pad = fx.target("abi_pad");
    t.deepEqual(
      aapcs64ArgLayout(pad.name, pad.model.args).args.map((p) => p.loc),
      [
        { kind: "reg", reg: 0 },
        { kind: "reg", reg: 1 },
        { kind: "reg", reg: 3 },
      ],
    );
    const untraced = k.call("call_pad");
    const copy = k.slab.kzalloc(64);
    const l = fx.attach(ctxCopyProg(k, "fentry_pad", 4, copy), "fentry", pad);
    t.is(k.call("call_pad"), untraced);
    t.deepEqual(
      [1, 3].map((s) => BigInt.asIntN(64, k.machine.memory.read64(copy + BigInt(8 * s)))),
      [0xa001n, 62n],
    );
    t.is(BigInt.asIntN(32, k.machine.memory.read64(copy)), -61n);
    fx.detach(l);
    const f = fx.target("abi_f10");
    // 13 arguments: the arm64 trampoline's -ENOTSUPP, and nothing is attached.
    const thirteen: TrampTarget = {
      ...f,
      model: { ...f.model, args: Array.from({ length: 13 }, (_, i) => ({ ...f.model.args[6], name: `a${i}` })) },
    };
    const prog = ctxCopyProg(k, "p", 1, k.slab.kzalloc(64));
    const e3 = t.throws(() => fx.attach(prog, "fentry", thirteen));
    t.is((e3 as { errno?: number }).errno, ENOTSUPP);
    t.regex(e3?.message ?? "", /abi_f10 has 13 arguments: more than MAX_BPF_FUNC_ARGS \(12\)/);
    t.is(fx.table.all().filter((tr) => tr.curImage).length, 0);
    t.is(
      k.machine.memory.read32(f.addr + 4n),
      0xd503201f,
      "entry untouched (the second patchable instruction is still a nop)",
    );
  } finally {
    k.close();
  }
});
