/**
 * bpf_throw end to end on the simulated SMP kernel: a tc program throws
 * from the fifth of a chain of static subprograms on CPU 1 while CPU 0
 * runs another program; its exception callback's result comes back to an
 * AAPCS64 caller that checks every callee-saved register (x19..x28) and
 * SP. The same run with the test-only x23/x24 drop switch breaks.
 */
import test from "ava";
import { assemble, initAssembler } from "../a64/asm.js";
import { bpfThrowListen } from "../bpf/exceptions/bpf_throw.js";
import type { SchedChooser } from "../kernel/chooser.js";
import type { Kernel } from "../kernel/kernel.js";
import type { Task } from "../kernel/task.js";
import { BpfObject, openAndLoad } from "./skeleton.js";
import { bootBpfKernel } from "./testing.js";
import { compileBpfSnippet, PROLOGUE } from "./test_util.js";

const SRC = `${PROLOGUE}
extern void bpf_throw(__u64 cookie) __ksym;

/* Each level keeps its argument live across the call (callee-saved r6..). */
static __noinline __u64 f5(__u64 a) { if (a > 3) bpf_throw(a * 7 + 5); return a; }
static __noinline __u64 f4(__u64 a) { __u64 r = f5(a + 1); return r * a + 4; }
static __noinline __u64 f3(__u64 a) { __u64 r = f4(a + 1); return r * a + 3; }
static __noinline __u64 f2(__u64 a) { __u64 r = f3(a + 1); return r * a + 2; }
static __noinline __u64 f1(__u64 a) { __u64 r = f2(a + 1); return r * a + 1; }

__noinline int exc_cb(__u64 cookie) { return cookie + 1000; }

SEC("tc") __attribute__((btf_decl_tag("exception_callback:exc_cb")))
int thrower(struct __sk_buff *skb)
{
	__u64 x = skb->len;
	return f1(x + 1) + x;
}

SEC("tc")
int spinner(struct __sk_buff *skb)
{
	__u64 s = 0;
	for (int i = 0; i < 4000; i++)
		s += i ^ skb->len;
	return s;
}
`;

/** The value the caller stub puts in callee-saved register xN before the call. */
function seed(n: number): bigint {
  return 0xa64b000000000000n | (BigInt(n) << 32n) | 0xc0de0000n | BigInt(n);
}

/**
 * An AAPCS64 caller: keeps its own x19..x28, loads seed(n) into each, calls
 * x1(x0), then stores x19..x28, x0 and SP before/after the call into x2[].
 *
 *   out[0..9]  x19..x28 after the call    out[10] x0 (the program's result)
 *   out[11]    SP before the blr          out[12] SP after it
 */
function callerStub(): string {
  const lines = ["stp x29, x30, [sp, #-16]!", "mov x29, sp"];
  for (let r = 19; r < 29; r += 2) lines.push(`stp x${r}, x${r + 1}, [sp, #-16]!`);
  lines.push("stp x2, xzr, [sp, #-16]!");
  for (let r = 19; r <= 28; r++) {
    const v = seed(r);
    lines.push(`movz x${r}, #0x${(v & 0xffffn).toString(16)}`);
    for (const sh of [16n, 32n, 48n]) lines.push(`movk x${r}, #0x${((v >> sh) & 0xffffn).toString(16)}, lsl #${sh}`);
  }
  lines.push("mov x3, sp", "str x3, [x2, #88]", "blr x1", "ldr x2, [sp]");
  for (let r = 19, off = 0; r < 29; r += 2, off += 16) lines.push(`stp x${r}, x${r + 1}, [x2, #${off}]`);
  lines.push("str x0, [x2, #80]", "mov x3, sp", "str x3, [x2, #96]", "add sp, sp, #16");
  for (let r = 27; r >= 19; r -= 2) lines.push(`ldp x${r}, x${r + 1}, [sp], #16`);
  lines.push("ldp x29, x30, [sp], #16", "ret");
  return lines.join("\n");
}

/** CPU 1 takes "thrower", CPU 0 "spinner"; the CPUs alternate; no preemption. */
function pinningChooser(): SchedChooser {
  let turn = 0;
  return {
    choose(p) {
      if (p.kind === "task") {
        const want = p.cpu === 1 ? "thrower/" : "spinner/";
        const i = p.options.findIndex((o) => o.startsWith(want));
        return i >= 0 ? i : 0;
      }
      if (p.kind === "cpu") return turn++ % p.options.length;
      return 0;
    },
  };
}

interface Run {
  thrower: Task;
  spinner: Task;
  out: bigint[];
  throws: { cpu: number; cookie: bigint; cpu0: string | undefined }[];
  k: Kernel;
}

function runOnTwoCpus(drop: boolean): Run {
  const { kernel: k } = bootBpfKernel({ cpus: 2, chooser: pinningChooser(), quanta: [64] });
  const saved = process.env.A64BPF_TEST_EXC_DROP_X23_X24;
  if (drop) process.env.A64BPF_TEST_EXC_DROP_X23_X24 = "1";
  let obj: BpfObject | Error;
  try {
    obj = openAndLoad(k, compileBpfSnippet("exc_smp", SRC).bytes, { objectName: "exc_smp" });
  } finally {
    if (saved === undefined) delete process.env.A64BPF_TEST_EXC_DROP_X23_X24;
    else process.env.A64BPF_TEST_EXC_DROP_X23_X24 = saved;
  }
  if (!(obj instanceof BpfObject)) throw obj;
  const mem = k.machine.memory;
  const code = assemble(callerStub());
  const text = k.bpfText.alloc(code.length, "exc_caller");
  k.machine.writeText(text.addr, code, { sync: false });
  k.machine.invalidateText(text.addr, text.addr + BigInt(code.length));
  const skb1 = k.slab.kzalloc(256);
  const skb2 = k.slab.kzalloc(256);
  mem.write32(skb1, 10); // __sk_buff.len
  mem.write32(skb2, 3);
  const outBuf = k.slab.kzalloc(13 * 8);
  const throws: Run["throws"] = [];
  const unlisten = bpfThrowListen(k, (r, cpu) =>
    throws.push({ cpu, cookie: r.cookie, cpu0: k.sched.curr[0]?.toString() }),
  );
  const thrower = k.sched.spawnCall("thrower", text.addr, [skb1, obj.program("thrower").prog!.bpfFunc, outBuf]);
  const spinner = k.sched.spawnCall("spinner", obj.program("spinner").prog!.bpfFunc, [skb2]);
  k.sched.runUntil(() => thrower.state === "dead" && spinner.state === "dead", { maxSteps: 1_000_000 });
  unlisten();
  const out = Array.from({ length: 13 }, (_, i) => mem.read64(outBuf + BigInt(i * 8)));
  return { thrower, spinner, out, throws, k };
}

/** f1(11): f5(15) throws 15 * 7 + 5 = 110; exc_cb returns 1110, which the program returns. */
const EXPECTED = 1110n;

function spinnerSum(len: number): bigint {
  let s = 0n;
  for (let i = 0; i < 4000; i++) s += BigInt(i ^ len);
  return s & 0xffffffffn;
}

test.before(async () => {
  await initAssembler();
});

test.serial("a throw from a depth-5 subprogram chain on CPU 1 while CPU 0 runs another program", (t) => {
  const r = runOnTwoCpus(false);
  try {
    t.is(r.thrower.oops, undefined, r.thrower.oops ? r.k.formatFault(r.thrower.oops) : "");
    t.is(r.spinner.oops, undefined);
    t.is(r.thrower.lastCpu, 1, "the thrower ran on CPU 1");
    t.is(r.spinner.lastCpu, 0, "the spinner ran on CPU 0");
    t.deepEqual(r.throws, [{ cpu: 1, cookie: 110n, cpu0: r.spinner.toString() }], "CPU 0 was running the spinner");
    t.is(r.out[10] & 0xffffffffn, EXPECTED, "the callback's result is the program's return value");
    for (let n = 19; n <= 28; n++) t.is(r.out[n - 19], seed(n), `x${n} of the boundary's caller is intact`);
    t.is(r.out[12], r.out[11], "SP is back where the caller left it");
    t.is(r.spinner.exitValue! & 0xffffffffn, spinnerSum(3), "the other program's result");
  } finally {
    r.k.close();
  }
});

test.serial("without the x23/x24 pair in the exception frame the callback returns through the wrong slots", (t) => {
  // The boundary pushes 4 pairs but the callback still takes SP = FP - 96
  // and pops 5: everything it restores is 16 bytes off, and its final
  // `ldp x29, x30` reads the tail-call pair, whose second slot holds the
  // caller's x26. The thrower oopses executing seed(26) on CPU 1.
  const r = runOnTwoCpus(true);
  try {
    t.deepEqual(
      r.throws.map((x) => [x.cpu, x.cookie]),
      [[1, 110n]],
    );
    const oops = r.thrower.oops;
    t.truthy(oops, "the thrower oopses");
    t.is(oops?.cpu, 1);
    t.is(oops?.pc, seed(26), "returned to the caller's x26 (the tcc pair popped as FP/LR)");
    t.is(r.out[10], 0n, "the caller never got a result");
    t.is(r.spinner.oops, undefined, "CPU 0 is not affected");
    t.is(r.spinner.exitValue! & 0xffffffffn, spinnerSum(3));
  } finally {
    r.k.close();
  }
});

const TARGET_SRC = `${PROLOGUE}
static __noinline int sub(struct __sk_buff *skb) { return skb->len + 1; }
__noinline int gsub(struct __sk_buff *skb) { return skb->len + 2; }
SEC("tc") int target(struct __sk_buff *skb) { return sub(skb) * 100 + gsub(skb); }
`;

const TRACERS_SRC = `${PROLOGUE}
extern void bpf_throw(__u64 cookie) __ksym;
int fentry_runs, fexit_runs;
SEC("?fentry") int BPF_PROG(throwing_fentry) { fentry_runs++; bpf_throw(0); return 0; }
SEC("?fexit") int BPF_PROG(throwing_fexit) { fexit_runs++; bpf_throw(0); return 0; }
SEC("?freplace") int throwing_ext(struct __sk_buff *skb) { bpf_throw(7); return 0; }
`;

test.serial("throwing fentry/fexit on a subprogram and a throwing freplace run as the kernel's tests expect", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const target = openAndLoad(k, compileBpfSnippet("exc_target", TARGET_SRC).bytes, { objectName: "exc_target" });
    if (!(target instanceof BpfObject)) throw target;
    const entry = target.program("target");
    const ctx = k.slab.kzalloc(256);
    k.machine.memory.write32(ctx, 10); // len
    const run = () => k.call(entry.prog!.bpfFunc, [ctx]) & 0xffffffffn;
    t.is(run(), 1112n, "(10 + 1) * 100 + 10 + 2");

    const tracers = BpfObject.open(compileBpfSnippet("exc_tracers", TRACERS_SRC).bytes, { objectName: "exc_tracers" });
    for (const name of ["throwing_fentry", "throwing_fexit"]) {
      tracers.program(name).autoload = true;
      tracers.program(name).setAttachTarget(entry, "sub");
    }
    tracers.program("throwing_ext").autoload = true;
    tracers.program("throwing_ext").setAttachTarget(entry, "gsub");
    tracers.load(k);
    for (const name of ["throwing_fentry", "throwing_fexit"]) {
      t.true(tracers.program(name).prog!.verifier.exceptionBoundary, `${name} is its own exception boundary`);
    }
    const cookies: bigint[] = [];
    const unlisten = bpfThrowListen(k, (r) => cookies.push(r.cookie));
    const links = ["throwing_fentry", "throwing_fexit"].map((n) => tracers.program(n).attach());
    // The tracers throw 0: their default callbacks return 0 to the trampoline, which goes on.
    t.is(run(), 1112n, "sub still runs and returns through the trampoline");
    t.is(tracers.bss!.fentry_runs, 1);
    t.is(tracers.bss!.fexit_runs, 1);
    t.deepEqual(cookies, [0n, 0n], "both tracers threw");
    // The extension throws 7 with its default callback: the replaced function returns 7.
    const ext = tracers.program("throwing_ext").attach();
    t.is(run(), 1107n, "gsub replaced: 11 * 100 + the cookie 7");
    t.is(tracers.bss!.fentry_runs, 2);
    t.deepEqual(cookies, [0n, 0n, 0n, 0n, 7n], "fentry and fexit around sub, then the extension");
    unlisten();
    ext.detach();
    for (const l of links) l.detach();
    t.is(run(), 1112n);
    t.deepEqual(k.oopses, []);
    tracers.destroy();
    target.destroy();
  } finally {
    k.close();
  }
});
