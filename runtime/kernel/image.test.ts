import test from "ava";
import { Machine } from "../machine/machine.js";
import { PROT_READ, PROT_RW, PROT_RX } from "../machine/memory.js";
import type { StopReason } from "../machine/cpu.js";
import { kernelImageFile, loadKernel, type LoadedKernel } from "./image.js";
import { HEAP_BASE, STACKS_BASE } from "./layout.js";
import { ModuleLoader } from "./module.js";

const STACK_TOP = STACKS_BASE + 0x4000n;
const NOP = 0xd503201f;
const RET = 0xd65f03c0;
const movW0 = (imm: number) => (0x52800000 | (imm << 5)) >>> 0;
const BPF_TRACE_FENTRY = 24;
const BPF_MODIFY_RETURN = 26;

interface World {
  machine: Machine;
  kernel: LoadedKernel;
  modules: ModuleLoader;
  kmallocs: { size: bigint; flags: bigint; ptr: bigint }[];
  kfrees: bigint[];
}

/** A one-CPU machine with the kernel and bpf_testmod, a stack, a heap and trivial kmalloc/kfree handlers. */
function world(): World {
  const machine = new Machine({ cpus: 1 });
  const kernel = loadKernel(machine, kernelImageFile());
  machine.symbolizer = kernel.kallsyms.symbolizer;
  const modules = new ModuleLoader(machine, kernel);
  modules.loadBpfTestmod();
  machine.map({ name: "stack", base: STACKS_BASE, size: 0x4000, perms: PROT_RW });
  machine.map({ name: "heap", base: HEAP_BASE, size: 0x10000, perms: PROT_RW });
  const w: World = { machine, kernel, modules, kmallocs: [], kfrees: [] };
  let brk = HEAP_BASE + 0x1000n;
  machine.svc.register(0x03, "kmalloc", (cpu) => {
    const ptr = brk;
    brk += 0x100n;
    w.kmallocs.push({ size: cpu.x(0), flags: cpu.x(1), ptr });
    cpu.setX(0, ptr);
    return "continue";
  });
  machine.svc.register(0x05, "kfree", (cpu) => {
    w.kfrees.push(cpu.x(0));
    return "continue";
  });
  return w;
}

/** Call `name` with AAPCS64 arguments: x0..x7, then 8-byte stack slots (`stack` overrides them). */
function call(w: World, name: string, args: bigint[], stack?: bigint[]): { stop: StopReason; x0: bigint; x1: bigint } {
  const cpu = w.machine.cpu(0);
  const addr = w.kernel.kallsyms.addressOf(name);
  if (addr === undefined) throw new Error(`no symbol ${name}`);
  args.slice(0, 8).forEach((v, i) => cpu.setX(i, BigInt.asUintN(64, v)));
  const sp = STACK_TOP - 0x200n;
  (stack ?? args.slice(8)).forEach((v, i) => w.machine.memory.write64(sp + BigInt(i * 8), BigInt.asUintN(64, v)));
  cpu.sp = sp;
  cpu.fp = 0n;
  cpu.lr = w.machine.sentinel;
  const stop = cpu.run({ pc: addr, quantum: 1_000_000 });
  return { stop, x0: cpu.x(0), x1: cpu.x(1) };
}

const s32 = (v: bigint) => Number(BigInt.asIntN(32, v));
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => BigInt(a + i));

/** Names of the functions `name` calls with bl, in code order. */
function callees(w: World, name: string): string[] {
  const k = w.kernel.kallsyms;
  const start = k.addressOf(name)!;
  const size = k.lookup(start)!.size;
  const out: string[] = [];
  for (let off = 0; off < size; off += 4) {
    const pc = start + BigInt(off);
    const insn = w.machine.memory.read32(pc);
    if ((insn & 0xfc000000) >>> 0 !== 0x94000000) continue;
    const imm = BigInt((insn << 6) >> 6) * 4n;
    const l = k.lookup(pc + imm)!;
    out.push(l.offset === 0 ? l.name : `${l.name}+${l.offset}`);
  }
  return out;
}

function patch(w: World, name: string, words: number[]): void {
  const addr = w.kernel.kallsyms.addressOf(name)!;
  const bytes = new Uint8Array(words.length * 4);
  words.forEach((v, i) => new DataView(bytes.buffer).setUint32(i * 4, v, true));
  w.machine.writeText(addr, bytes);
  w.machine.invalidateText(addr, addr + BigInt(bytes.length));
}

test("segments are mapped with their own permissions; text is not writable", (t) => {
  const w = world();
  try {
    const regions = w.machine.memory.regions.filter(
      (r) => r.name.startsWith("vmlinux") || r.name.startsWith("bpf_testmod"),
    );
    t.deepEqual(
      regions.map((r) => [r.name, r.perms]),
      [
        ["vmlinux text", PROT_RX],
        ["vmlinux rodata", PROT_READ],
        ["vmlinux data", PROT_RW],
        ["bpf_testmod text", PROT_RX],
        ["bpf_testmod rodata", PROT_READ],
        ["bpf_testmod data", PROT_RW],
      ],
    );
    for (const r of regions) t.is(r.base % 4096n, 0n);
    const target = w.kernel.kallsyms.addressOf("bpf_fentry_test1")!;
    const { stop } = call(w, "memset", [target, 0n, 4n]);
    t.is(stop.kind, "fault");
    if (stop.kind !== "fault") return;
    t.is(stop.fault.kind, "write_prot");
    t.is(stop.fault.address, target);
    t.regex(stop.fault.backtrace[0].symbol ?? "", /^memset\+0x[0-9a-f]+\/0x[0-9a-f]+$/);
    t.is(w.machine.memory.read32(target), NOP, "text unchanged");
  } finally {
    w.machine.close();
  }
});

test("ftrace locations: every traceable function starts with two NOPs, service stubs have none", (t) => {
  const w = world();
  try {
    const img = w.kernel.image;
    const traceable = img.traceableFunctions().map((s) => s.name);
    for (const n of [
      "bpf_fentry_test1",
      "bpf_fentry_test10",
      "bpf_modify_return_test2",
      "bpf_prog_test_run_tracing",
      "memcpy",
    ]) {
      t.true(traceable.includes(n), n);
    }
    for (const n of ["kmalloc", "printk", "__bpf_prog_enter", "mutex_lock"]) {
      t.false(img.isFtraceLocation(img.address(n)), n);
    }
    t.is(img.ftraceLocations.length, traceable.length);
    for (const a of img.ftraceLocations)
      t.deepEqual([w.machine.memory.read32(a), w.machine.memory.read32(a + 4n)], [NOP, NOP]);
    const mod = w.modules.module("bpf_testmod")!.image;
    t.true(mod.isFtraceLocation(mod.address("bpf_testmod_fentry_test11")));
    t.true(mod.ftraceLocations.every((a) => a >= mod.textRange.start && a < mod.textRange.end));
    const dt = img.address("dummy_tramp");
    t.deepEqual(
      [0, 4, 8].map((o) => w.machine.memory.read32(dt + BigInt(o))),
      [0xaa1e03ea, 0xaa0903fe, 0xd65f0140],
    );
    t.false(img.isFtraceLocation(dt));
    t.is(img.symbol("a64bpf_scratch")?.size, 0xf00);
    t.is(w.machine.memory.find(img.address("a64bpf_scratch"))?.perms, PROT_RW);
    t.true(img.exports.includes("bpf_fentry_test1") && img.exports.includes("kmalloc"));
    t.false(img.exports.includes("bpf_fentry_test2"));
  } finally {
    w.machine.close();
  }
});

test("bpf_testmod_fentry_test7 and _test11 return 133 and 231 on a CPU (stack arguments per AAPCS64)", (t) => {
  const w = world();
  try {
    const r7 = call(w, "bpf_testmod_fentry_test7", range(16, 22));
    t.is(r7.stop.kind, "returned");
    t.is(s32(r7.x0), 133);
    const r11 = call(w, "bpf_testmod_fentry_test11", range(16, 26));
    t.is(r11.stop.kind, "returned");
    t.is(s32(r11.x0), 231);
    // Arguments 9..11 really come from the stack: change one slot, the sum follows.
    t.is(s32(call(w, "bpf_testmod_fentry_test11", range(16, 23), [24n, 25n, 1026n]).x0), 1231);
    t.is(s32(call(w, "bpf_testmod_fentry_test1", [1n]).x0), 2);
    t.is(s32(call(w, "bpf_testmod_fentry_test2", [2n, 3n]).x0), 5);
    t.is(s32(call(w, "bpf_testmod_fentry_test3", [4n, 5n, 6n]).x0), 15);
  } finally {
    w.machine.close();
  }
});

test("struct, union and __int128 arguments land where the compiler put them", (t) => {
  const w = world();
  const result = () => s64(w.machine.memory.read64(w.kernel.kallsyms.addressOf("bpf_testmod_test_struct_arg_result")!));
  try {
    t.is(s32(call(w, "bpf_testmod_test_struct_arg_1", [2n, 3n, 1n, 4n]).x0), 10, "struct {2,3} in x0:x1");
    t.is(s32(call(w, "bpf_testmod_test_struct_arg_4", [10n, 1n, 2n, 3n, 2n, 3n]).x0), 21);
    t.is(s32(call(w, "bpf_testmod_test_struct_arg_7", [...range(16, 20), 21n, 22n]).x0), 133);
    // _9: a..g in x0..x6; h (16 bytes) does not fit in x7 alone, so h and i go on the stack.
    const h = [23n | (24n << 16n) | (25n << 32n), 26n];
    const r9 = call(w, "bpf_testmod_test_struct_arg_9", [...range(16, 22), 0xdeadn], [...h, 27n]);
    t.is(s32(r9.x0), 258);
    t.is(result(), 258n);
    t.is(s32(call(w, "bpf_testmod_test_union_arg_1", [1n, 4n, 5n]).x0), 10);
    t.is(s32(call(w, "bpf_testmod_test_union_arg_2", [6n, 2n, 3n]).x0), 11);
    t.is(s64(call(w, "bpf_testmod_test_int128_arg", [1n, 0n, 2n, 3n]).x0), 6n, "__int128 in x0:x1, b in x2, c in x3");
    const r = call(w, "bpf_testmod_test_int128_ret", [8n]);
    t.deepEqual([r.x0, r.x1], [8n, 0n]);
    const neg = call(w, "bpf_testmod_test_int128_ret", [BigInt.asUintN(64, -3n)]);
    t.deepEqual([s64(neg.x0), s64(neg.x1)], [-3n, -1n], "sign-extended into x1");
  } finally {
    w.machine.close();
  }
});

test("bpf_testmod_test_read calls everything in the kernel's order and returns -EIO", (t) => {
  const w = world();
  const sym = (n: string) => w.kernel.kallsyms.addressOf(n)!;
  try {
    t.deepEqual(callees(w, "bpf_testmod_test_read"), [
      "bpf_testmod_return_ptr",
      "bpf_testmod_test_struct_arg_1",
      "bpf_testmod_test_struct_arg_2",
      "bpf_testmod_test_struct_arg_3",
      "bpf_testmod_test_struct_arg_4",
      "bpf_testmod_test_struct_arg_5",
      "bpf_testmod_test_struct_arg_7",
      "bpf_testmod_test_struct_arg_8",
      "bpf_testmod_test_struct_arg_9",
      "bpf_testmod_test_union_arg_1",
      "bpf_testmod_test_union_arg_2",
      "bpf_testmod_test_arg_ptr_to_struct",
      "bpf_testmod_test_int128_ret",
      "bpf_testmod_test_int128_arg",
      "trace_bpf_testmod_test_raw_tp_null_tp",
      "kmalloc",
      "bpf_testmod_test_struct_arg_6",
      "kfree",
      "bpf_testmod_loop_test",
      "trace_bpf_testmod_test_read",
      "trace_bpf_testmod_test_nullable_bare_tp",
      "trace_bpf_testmod_test_writable_bare_tp",
      "bpf_testmod_fentry_test1",
      "bpf_testmod_fentry_test2",
      "bpf_testmod_fentry_test3",
      "bpf_testmod_fentry_test7",
      "bpf_testmod_fentry_test11",
      "bpf_testmod_trampoline_count_test",
      "bpf_testmod_stacktrace_test_1",
    ]);
    const r = call(w, "bpf_testmod_test_read", [0n, 0n, 0n, 0n, 0n, 256n]);
    t.is(r.stop.kind, "returned");
    t.is(s64(r.x0), -5n, "-EIO");
    t.is(w.machine.memory.read64(sym("bpf_testmod_test_struct_arg_result")), 1n, "last set by struct_arg_6(b[0] = 1)");
    t.is(w.machine.memory.read32(sym("bpf_testmod_fentry_ok")), 1);
    t.deepEqual(
      w.kmallocs.map((k) => [k.size, k.flags]),
      [[8n, 0xcc0n]],
      "sizeof(struct_arg_3) + sizeof(int), GFP_KERNEL",
    );
    t.deepEqual(w.kfrees, [w.kmallocs[0].ptr]);
    t.is(w.machine.memory.read32(w.kmallocs[0].ptr + 4n), 1, "b[0] = 1");
    t.is(s32(call(w, "bpf_testmod_loop_test", [101n]).x0), 5050);
    // return_ptr(i) is non-NULL for 1..7 (x86's case 8 does not exist on arm64), so int128_ret saw i = 8.
    t.deepEqual(
      range(1, 8).map((i) => call(w, "bpf_testmod_return_ptr", [i]).x0 !== 0n),
      [true, true, true, true, true, true, true, false],
    );

    // When a checked function returns a wrong value, fentry_ok stays 0.
    w.machine.memory.write32(sym("bpf_testmod_fentry_ok"), 0);
    patch(w, "bpf_testmod_fentry_test11", [movW0(7), RET]);
    t.is(s64(call(w, "bpf_testmod_test_read", [0n, 0n, 0n, 0n, 0n, 1n]).x0), -5n);
    t.is(w.machine.memory.read32(sym("bpf_testmod_fentry_ok")), 0);
  } finally {
    w.machine.close();
  }
});

test("bpf_prog_test_run_tracing: fentry/fexit checks, fmod_ret retval, -EFAULT on a wrong result", (t) => {
  const w = world();
  const retval = HEAP_BASE + 0x800n;
  try {
    t.deepEqual(callees(w, "bpf_prog_test_run_tracing"), [
      ...Array.from({ length: 10 }, (_, i) => `bpf_fentry_test${i + 1}`),
      "bpf_modify_return_test",
      "bpf_modify_return_test2",
      "trace_bpf_test_finish",
    ]);
    w.machine.memory.write32(retval, 0xffff);
    const fentry = call(w, "bpf_prog_test_run_tracing", [BigInt(BPF_TRACE_FENTRY), retval]);
    t.is(s32(fentry.x0), 0);
    t.is(w.machine.memory.read32(retval), 0);
    const fmod = call(w, "bpf_prog_test_run_tracing", [BigInt(BPF_MODIFY_RETURN), retval]);
    t.is(s32(fmod.x0), 0);
    // Each call increments *b (so side_effect = 2); ret = (1 + 3) + (1 + 3 + 3 + 4 + 5 + 6 + 7) = 33.
    t.is(w.machine.memory.read32(retval), (2 << 16) | 33);
    t.is(s32(call(w, "bpf_prog_test_run_tracing", [0n, retval]).x0), -14, "other attach types: -EFAULT");
    t.is(s32(call(w, "bpf_fentry_test4", [7n, 8n, 9n, 10n]).x0), 34);
    t.is(s32(call(w, "bpf_fentry_test6", [16n, 17n, 18n, 19n, 20n, 21n]).x0), 111);
    patch(w, "bpf_fentry_test10", [movW0(1), RET]);
    t.is(s32(call(w, "bpf_prog_test_run_tracing", [BigInt(BPF_TRACE_FENTRY), retval]).x0), -14);
  } finally {
    w.machine.close();
  }
});

test("a fault in a module function is symbolised with the module name", (t) => {
  const w = world();
  try {
    const { stop } = call(w, "bpf_testmod_test_struct_arg_6", [0n]);
    t.is(stop.kind, "fault");
    if (stop.kind !== "fault") return;
    t.is(stop.fault.kind, "read_unmapped");
    t.is(stop.fault.address, 4n, "a->b[0] at offset 4 of NULL");
    t.regex(
      stop.fault.backtrace[0].symbol ?? "",
      /^bpf_testmod_test_struct_arg_6\+0x[0-9a-f]+\/0x[0-9a-f]+ \[bpf_testmod\]$/,
    );
  } finally {
    w.machine.close();
  }
});

test("a cached kernel image is parsed once per process and boots many machines", (t) => {
  const a = kernelImageFile();
  const b = kernelImageFile();
  t.is(a, b);
  t.is(a.btf, b.btf);
  const m1 = new Machine({ cpus: 1 });
  const m2 = new Machine({ cpus: 1 });
  try {
    const k1 = loadKernel(m1, a);
    const k2 = loadKernel(m2, a);
    t.is(k1.symbol("text_mutex"), k2.symbol("text_mutex"));
    t.is(
      k1.symbolize(k1.symbol("bpf_fentry_test1")! + 8n),
      `bpf_fentry_test1+0x8/0x${k1.kallsyms.lookup(k1.symbol("bpf_fentry_test1")!)!.size.toString(16)}`,
    );
    t.is(k1.kallsyms.lookup(k1.symbol("text_mutex")!)?.name, "text_mutex");
  } finally {
    m1.close();
    m2.close();
  }
});
