/**
 * Trampolines on BPF programs: fentry/fexit attached to a JITed program
 * poke its patch site (`nop` at POKE_OFFSET → `bl trampoline`), through
 * the program's PLT when the trampoline is beyond ±128 MiB; freplace pokes
 * a `b` to the extension, and -EBUSY keeps the two kinds apart.
 */
import test from "ava";
import { initAssembler } from "../a64/asm.js";
import { BPF_ALU64_IMM, BPF_EXIT_INSN, BPF_MOV64_IMM, BPF_MOV64_REG } from "../bpf/builder.js";
import { BPF_ADD, BPF_REG_0, BPF_REG_1 } from "../bpf/opcodes.js";
import { EBUSY } from "../errno.js";
import { bpfIntJitCompile, type JitedProg } from "../jit/jit.js";
import { Kernel } from "../kernel/kernel.js";
import { asmRaw } from "../kernel/testing.js";
import type { ArgType } from "./arg_layout.js";
import {
  bpfTracingLinkRelease,
  bpfTracingProgAttach,
  TrampolineTable,
  type BpfTrampLink,
  type TrampKind,
  type TrampProg,
  type TrampTarget,
} from "./trampoline.js";

test.before(async () => {
  await initAssembler();
});

const NOP = 0xd503201f;
const u64 = (name: string): ArgType => ({ name, typeName: "u64", kind: "int", size: 8, align: 8 });

/** JIT `r0 = r1 + add` (or `r0 = constant`) as a BPF program. */
function jitProg(k: Kernel, name: string, body: { add?: number; constant?: number }): JitedProg {
  const insns =
    body.constant !== undefined
      ? [BPF_MOV64_IMM(BPF_REG_0, body.constant), BPF_EXIT_INSN()]
      : [BPF_MOV64_REG(BPF_REG_0, BPF_REG_1), BPF_ALU64_IMM(BPF_ADD, BPF_REG_0, body.add ?? 0), BPF_EXIT_INSN()];
  return bpfIntJitCompile({ insns: insns.flat(), name }, { kernel: k });
}

function asTrampProg(k: Kernel, j: JitedProg, name: string): TrampProg {
  const prog = k.slab.kzalloc(64);
  k.bpfRun.registerProg({ addr: prog, name, sleepable: false });
  return { name, prog, bpfFunc: j.bpfFunc, sleepable: false };
}

/** An A64 stand-in fentry/fexit program copying ctx[0..n) to `dst`. */
function copyProg(k: Kernel, name: string, n: number, dst: bigint): TrampProg {
  const mov = [0, 16, 32].map(
    (sh, i) => `${i ? "movk" : "movz"} x1, #${(dst >> BigInt(sh)) & 0xffffn}${i ? `, lsl #${sh}` : ""}`,
  );
  const lines = [...mov];
  for (let i = 0; i < n; i++) lines.push(`ldr x2, [x0, #${8 * i}]`, `str x2, [x1, #${8 * i}]`);
  lines.push("mov x0, #0", "ret");
  const prog = k.slab.kzalloc(64);
  k.bpfRun.registerProg({ addr: prog, name, sleepable: false });
  return { name, prog, bpfFunc: asmRaw(k, name, lines.join("\n")), sleepable: false };
}

function progTarget(j: JitedProg, id: number): TrampTarget {
  return {
    kind: "prog",
    name: j.symbol,
    addr: j.bpfFunc,
    model: { name: j.symbol, args: [u64("ctx")], retSize: 8, retSigned: false },
    progId: id,
    btfId: 1,
  };
}

function fixture(far: boolean) {
  const k = new Kernel({ cpus: 2, seed: far ? 2 : 1 });
  const table = new TrampolineTable(k, { farImagesForProgs: far });
  return {
    k,
    table,
    attach: (p: TrampProg, kind: TrampKind, t: TrampTarget): BpfTrampLink =>
      k.runKthread("attach", (task) => bpfTracingProgAttach(table, task, p, kind, t)),
    detach: (l: BpfTrampLink) => k.runKthread("detach", (task) => bpfTracingLinkRelease(table, task, l)),
    settle: () =>
      k.runKthread("settle", function* () {
        yield { op: "sleep", ns: 50_000_000n, reason: "settle" };
      }),
  };
}

for (const far of [false, true]) {
  test(`fentry+fexit on a JITed program (${far ? "far trampoline through the PLT" : "near: bl at the patch site"})`, (t) => {
    const { k, table, attach, detach, settle } = fixture(far);
    try {
      const target = jitProg(k, "target", { add: 1 });
      const site = target.bpfFunc + BigInt(4 * target.pokeOffset);
      t.is(k.machine.memory.read32(site), NOP, "patch site starts as a nop");
      t.is(k.call(target.bpfFunc, [41n]), 42n);
      const seen = k.slab.kzalloc(64);
      const fentry = attach(copyProg(k, "fentry_on_prog", 1, seen), "fentry", progTarget(target, 7));
      const fexit = attach(copyProg(k, "fexit_on_prog", 2, seen + 16n), "fexit", progTarget(target, 7));
      const image = table.all()[0].curImage!.image;
      const bl = k.machine.memory.read32(site);
      t.is(bl >>> 26, 0b100101, "bl at the patch site");
      const blTarget = site + BigInt(((bl & 0x3ffffff) << 6) >> 4);
      if (far) {
        t.is(blTarget, target.plt.addr, "bl goes to the program's PLT");
        t.is(k.machine.memory.read64(target.plt.target), image, "PLT target = the trampoline");
      } else {
        t.is(blTarget, image, "bl goes straight to the trampoline");
      }
      t.is(k.call(target.bpfFunc, [41n]), 42n, "the program still runs");
      t.is(k.machine.memory.read64(seen), 41n, "fentry saw the program's ctx argument");
      t.deepEqual(
        [k.machine.memory.read64(seen + 16n), k.machine.memory.read64(seen + 24n)],
        [41n, 42n],
        "fexit: arg and ret",
      );
      detach(fexit);
      detach(fentry);
      t.is(k.machine.memory.read32(site), NOP, "patch site back to a nop");
      if (far)
        t.is(k.machine.memory.read64(target.plt.target), k.symbolAddress("dummy_tramp"), "PLT back to dummy_tramp");
      t.is(k.call(target.bpfFunc, [1n]), 2n);
      settle();
      t.is(table.stats.imagesFreed, table.stats.imagesAllocated);
      t.deepEqual(k.oopses, []);
    } finally {
      k.close();
    }
  });
}

test("freplace replaces a JITed program; fentry and freplace exclude each other with -EBUSY", (t) => {
  const { k, attach, detach } = fixture(false);
  try {
    const target = jitProg(k, "target", { add: 1 });
    const ext = jitProg(k, "ext", { constant: 100 });
    const link = attach(asTrampProg(k, ext, "ext"), "freplace", progTarget(target, 9));
    const site = target.bpfFunc + BigInt(4 * target.pokeOffset);
    t.is(k.machine.memory.read32(site) >>> 26, 0b000101, "b at the patch site");
    t.is(k.call(target.bpfFunc, [41n]), 100n, "the extension runs instead");
    const e1 = t.throws(() =>
      attach(copyProg(k, "fentry_busy", 1, k.slab.kzalloc(8)), "fentry", progTarget(target, 9)),
    );
    t.is((e1 as { errno?: number }).errno, EBUSY);
    detach(link);
    t.is(k.call(target.bpfFunc, [41n]), 42n, "the original is back");
    const fentry = attach(copyProg(k, "fentry", 1, k.slab.kzalloc(8)), "fentry", progTarget(target, 9));
    const e2 = t.throws(() => attach(asTrampProg(k, ext, "ext2"), "freplace", progTarget(target, 9)));
    t.is((e2 as { errno?: number }).errno, EBUSY);
    t.regex(e2?.message ?? "", /fentry\/fexit programs are attached/);
    detach(fentry);
  } finally {
    k.close();
  }
});
