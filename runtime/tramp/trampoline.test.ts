import test from "ava";
import { initAssembler } from "../a64/asm.js";
import { EBUSY, E2BIG, ENOTSUPP } from "../errno.js";
import { Kernel } from "../kernel/kernel.js";
import { asmRaw } from "../kernel/testing.js";
import type { ArgType } from "./arg_layout.js";
import {
  bpfTracingLinkRelease,
  bpfTracingProgAttach,
  BPF_MAX_TRAMP_LINKS,
  TrampolineTable,
  type BpfTrampLink,
  type TrampKind,
  type TrampProg,
  type TrampTarget,
} from "./trampoline.js";

test.before(async () => {
  await initAssembler();
});

const long = (name: string): ArgType => ({ name, typeName: "long", kind: "int", size: 8, align: 8, signed: true });

/** A traceable function summing 11 longs (x0..x7 and three stacked arguments). */
function sum11(k: Kernel): bigint {
  return asmRaw(
    k,
    "sum11",
    [
      "stp x29, x30, [sp, #-16]!",
      "mov x29, sp",
      ...[1, 2, 3, 4, 5, 6, 7].map((r) => `add x0, x0, x${r}`),
      "ldr x9, [x29, #16]",
      "add x0, x0, x9",
      "ldr x9, [x29, #24]",
      "add x0, x0, x9",
      "ldr x9, [x29, #32]",
      "add x0, x0, x9",
      "ldp x29, x30, [sp], #16",
      "ret",
    ].join("\n"),
    { patchable: true },
  );
}

/** A stand-in BPF program: copies ctx[from..from+n) to scratch+dst, returns `ret`. */
function copyProg(k: Kernel, name: string, from: number, n: number, dst: number, ret = 0): TrampProg {
  const lines = ["adr_sym x1, a64bpf_scratch"];
  for (let i = 0; i < n; i++) lines.push(`ldr x2, [x0, #${8 * (from + i)}]`, `str x2, [x1, #${dst + 8 * i}]`);
  lines.push(`mov x0, #${ret}`, "ret");
  const bpfFunc = asmRaw(k, name, lines.join("\n"));
  const prog = k.slab.kzalloc(64);
  k.bpfRun.registerProg({ addr: prog, name, sleepable: false });
  return { name, prog, bpfFunc, sleepable: false };
}

function kernelTarget(addr: bigint, nargs = 11): TrampTarget {
  return {
    kind: "kernel",
    name: "sum11",
    addr,
    model: { name: "sum11", args: Array.from({ length: nargs }, (_, i) => long(`a${i}`)), retSize: 8, retSigned: true },
    btfObjId: 1,
    btfId: 1234,
  };
}

const ARGS = Array.from({ length: 11 }, (_, i) => BigInt(16 + i));
const SUM = ARGS.reduce((a, b) => a + b, 0n); // 231, like bpf_testmod_fentry_test11

function attach(
  k: Kernel,
  table: TrampolineTable,
  prog: TrampProg,
  kind: TrampKind,
  target: TrampTarget,
): BpfTrampLink {
  return k.runKthread("attach", (task) => bpfTracingProgAttach(table, task, prog, kind, target));
}

function detach(k: Kernel, table: TrampolineTable, link: BpfTrampLink): void {
  k.runKthread("detach", (task) => bpfTracingLinkRelease(table, task, link));
}

/** Let grace periods and the workqueue finish (a kthread sleeping 50 ms of virtual time). */
function settle(k: Kernel): void {
  k.runKthread("settle", function* () {
    yield { op: "sleep", ns: 50_000_000n, reason: "settle" };
  });
}

test("fentry and fexit on an 11-argument kernel function see every argument and the return value", (t) => {
  const k = new Kernel({ cpus: 2, seed: 1 });
  try {
    const table = new TrampolineTable(k);
    const f = sum11(k);
    const scratch = k.symbolAddress("a64bpf_scratch");
    t.is(k.call(f, ARGS), SUM, "untraced call");
    const fentry = attach(k, table, copyProg(k, "fentry_prog", 0, 11, 0), "fentry", kernelTarget(f));
    t.is(k.call(f, ARGS), SUM, "the original still runs with every argument (RESTORE_REGS)");
    for (let i = 0; i < 11; i++) t.is(k.machine.memory.read64(scratch + BigInt(8 * i)), ARGS[i], `fentry ctx[${i}]`);
    const fexit = attach(k, table, copyProg(k, "fexit_prog", 0, 12, 0x100), "fexit", kernelTarget(f));
    k.machine.memory.fill(scratch, 0x200, 0);
    t.is(k.call(f, ARGS), SUM, "the original runs from the trampoline (CALL_ORIG)");
    for (let i = 0; i < 11; i++) t.is(k.machine.memory.read64(scratch + BigInt(8 * i)), ARGS[i]);
    for (let i = 0; i < 11; i++)
      t.is(k.machine.memory.read64(scratch + 0x100n + BigInt(8 * i)), ARGS[i], `fexit ctx[${i}]`);
    t.is(k.machine.memory.read64(scratch + 0x100n + 88n), SUM, "fexit sees the return value at ctx[11]");
    detach(k, table, fexit);
    detach(k, table, fentry);
    t.is(k.call(f, ARGS), SUM);
    t.is(k.machine.memory.read32(f + 4n), 0xd503201f, "patch site (entry + 4) back to a nop");
    t.is(k.machine.memory.read32(f), 0xaa1e03e9, "entry keeps ftrace_init_nop's mov x9, x30");
    settle(k);
    t.deepEqual(
      { allocated: table.stats.imagesAllocated, freed: table.stats.imagesFreed },
      { allocated: 3, freed: 3 },
      "every image was freed",
    );
    t.is(k.bpfText.live().filter((a) => a.name.startsWith("bpf_trampoline_")).length, 0);
    t.deepEqual(k.oopses, []);
    t.deepEqual(k.bugs.reports, []);
  } finally {
    k.close();
  }
});

test("fmod_ret can replace the return value and skip the original", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const table = new TrampolineTable(k);
    const f = sum11(k);
    const scratch = k.symbolAddress("a64bpf_scratch");
    const fexit = attach(k, table, copyProg(k, "fexit_prog", 11, 1, 0x100), "fexit", kernelTarget(f));
    const fmod = attach(k, table, copyProg(k, "fmod_ret_prog", 0, 0, 0, 1000), "fmod_ret", kernelTarget(f));
    t.is(k.call(f, ARGS), 1000n, "fmod_ret's value is returned");
    t.is(k.machine.memory.read64(scratch + 0x100n), 1000n, "fexit sees the modified return value");
    detach(k, table, fmod);
    t.is(k.call(f, ARGS), SUM);
    t.is(k.machine.memory.read64(scratch + 0x100n), SUM);
    detach(k, table, fexit);
    settle(k);
    t.is(table.stats.imagesFreed, table.stats.imagesAllocated);
  } finally {
    k.close();
  }
});

test("link rules: the same program twice is -EBUSY, more than 38 programs is -E2BIG, the trampoline is unchanged", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const table = new TrampolineTable(k);
    const f = sum11(k);
    const p = copyProg(k, "p", 0, 1, 0);
    const l = attach(k, table, p, "fentry", kernelTarget(f));
    const image = table.all()[0].curImage;
    const e1 = t.throws(() => attach(k, table, p, "fentry", kernelTarget(f)));
    t.is((e1 as { errno?: number }).errno, EBUSY);
    t.regex(e1?.message ?? "", /attach fentry p to sum11: p is already linked to sum11/);
    t.is(table.all()[0].curImage, image, "trampoline unchanged");
    const links = [l];
    for (let i = 1; i < BPF_MAX_TRAMP_LINKS; i++)
      links.push(attach(k, table, copyProg(k, `p${i}`, 0, 1, 0), "fentry", kernelTarget(f)));
    const e2 = t.throws(() => attach(k, table, copyProg(k, "one_too_many", 0, 1, 0), "fentry", kernelTarget(f)));
    t.is((e2 as { errno?: number }).errno, E2BIG);
    t.is(k.call(f, ARGS), SUM);
    for (const x of links) detach(k, table, x);
    settle(k);
    t.is(table.stats.imagesFreed, table.stats.imagesAllocated);
  } finally {
    k.close();
  }
});

test("a function without a patchable entry is refused with -ENOTSUPP and nothing changes", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const table = new TrampolineTable(k);
    // No leading nops: a notrace function.
    const f = asmRaw(k, "notrace_fn", "add x0, x0, #1\nret");
    const before = k.machine.memory.read32(f);
    const e = t.throws(() => attach(k, table, copyProg(k, "p", 0, 1, 0), "fentry", kernelTarget(f, 1)));
    t.is((e as { errno?: number }).errno, ENOTSUPP);
    t.regex(e?.message ?? "", /notrace_fn\+0x0\/0x8 is not traceable: no patchable function entry/);
    t.is(k.machine.memory.read32(f), before);
    t.is(k.call(f, [1n]), 2n);
    t.is(table.stats.imagesAllocated, table.stats.imagesFreed, "the new image was freed at once");
  } finally {
    k.close();
  }
});
