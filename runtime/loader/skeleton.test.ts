import test from "ava";
import { EACCES, EBUSY, EINVAL, ENOTSUPP, ESRCH } from "../errno.js";
import { bpfSys } from "./bpf_sys.js";
import { ObjectError } from "../bpf/object/errors.js";
import { buildBpfProg } from "./progs_build.js";
import { BpfObject, openAndLoad } from "./skeleton.js";
import { PKT_V4 } from "./test_run.js";
import { bootBpfKernel } from "./testing.js";
import { compileBpfSnippet, PROLOGUE } from "./test_util.js";

/** Kernel state that must come back to its start after destroy(). */
function snapshot(k: ReturnType<typeof bootBpfKernel>["kernel"]) {
  return {
    slab: k.slab.live,
    text: k.bpfText.live().length,
    fds: bpfSys(k).openFds.length,
    ksyms: k.kallsyms.bpfSymbols().length,
  };
}

function loaded(obj: BpfObject | ObjectError): BpfObject {
  if (obj instanceof ObjectError) throw obj;
  return obj;
}

test("a tc program with globals, an array map, a hash map, subprograms and helpers runs and is read back", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const before = snapshot(k);
    const obj = loaded(openAndLoad(k, "test_loader_tc"));
    t.is(obj.rodata!.multiplier, 3);
    t.is(obj.data!.data_var, 7);
    const prog = obj.program("tc_prog");
    t.regex(prog.prog!.jited.symbol, /^bpf_prog_[0-9a-f]{16}_tc_prog$/);
    t.is(k.kallsyms.addressOf(prog.prog!.jited.symbol), prog.prog!.bpfFunc, "ksym in kallsyms");
    for (let i = 1; i <= 3; i++) {
      const r = prog.testRun({ dataIn: PKT_V4 });
      // global_sub(ntohs(ETH_P_IP) & 0xff) = 0x00 + 1
      t.is(r.retval, 1, `run ${i} retval`);
      t.deepEqual(r.dataOut, PKT_V4, "packet unchanged");
    }
    t.is(obj.bss!.runs, 3n, "runs++ three times (u64: bigint)");
    t.is(obj.bss!.last_len, 54, "skb->len of pkt_v4");
    // counts[0] += scale(len) = len * multiplier + data_var = 54 * 3 + 7, three times.
    const counts = obj.map("counts").map!;
    t.deepEqual(counts.lookup(new Uint8Array(4)), new Uint8Array([0xfb, 0x01, 0, 0, 0, 0, 0, 0]), "507 = 3 * 169");
    // by_proto[0x800]: created by the first run (BPF_NOEXIST), then incremented twice.
    const byProto = obj.map("by_proto").map!;
    const key = new Uint8Array([0x00, 0x08, 0, 0]);
    t.deepEqual(byProto.getNextKey(undefined), key);
    t.deepEqual(byProto.lookup(key), new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]));
    // Globals are writable through the skeleton while loaded; .rodata is frozen.
    obj.data!.data_var = 100;
    prog.testRun({ dataIn: PKT_V4 });
    const c4 = counts.lookup(new Uint8Array(4))!;
    t.is(
      new DataView(c4.buffer, c4.byteOffset).getUint32(0, true),
      507 + 54 * 3 + 100,
      "the program read the new data_var",
    );
    t.throws(
      () => {
        obj.rodata!.multiplier = 4;
      },
      { message: /read-only after load/ },
    );
    obj.destroy();
    t.deepEqual(snapshot(k), before, "destroy freed maps, programs, JIT text and ksyms");
    t.deepEqual(k.oopses, []);
  } finally {
    k.close();
  }
});

test(".rodata set before load changes what the verified program computes", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const obj = BpfObject.open(buildBpfProg("test_loader_tc").bytes, { objectName: "test_loader_tc" });
    obj.rodata!.multiplier = 10;
    obj.load(k);
    obj.program("tc_prog").testRun({ dataIn: PKT_V4 });
    const v = obj.map("counts").map!.lookup(new Uint8Array(4))!;
    t.is(new DataView(v.buffer, v.byteOffset).getUint32(0, true), 54 * 10 + 7);
    obj.destroy();
  } finally {
    k.close();
  }
});

test("fentry and fexit programs attach through the trampoline and see arguments, return values and the IP", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const before = snapshot(k);
    const obj = loaded(openAndLoad(k, "test_loader_tracing"));
    t.is(obj.attach(), 0);
    const r = obj.program("fentry1").testRun();
    t.deepEqual(r, { retval: 0, duration: 0 });
    const bss = obj.bss!;
    t.is(bss.fentry1_a, 1n, "bpf_fentry_test1(1)");
    t.is(bss.fentry2_b, 3n, "bpf_fentry_test2(2, 3)");
    t.is(bss.fexit1_ret, 2n);
    t.is(bss.fexit2_nargs, 2n, "bpf_get_func_arg_cnt");
    t.is(bss.fexit2_arg1, 3n, "bpf_get_func_arg(ctx, 1)");
    t.is(bss.fexit2_ret, 5n, "bpf_get_func_ret");
    t.is(bss.fexit2_ip, k.symbolAddress("bpf_fentry_test2"), "bpf_get_func_ip");
    // A bpf_testmod function (module BTF), triggered like trigger_module_test_read().
    k.call("bpf_testmod_test_read", [0n, 0n, 0n, 0n, 0n, 1n]);
    t.is(bss.testmod7_g, 22n, "bpf_testmod_fentry_test7(16..22): g");
    // Attaching an attached program again is -EBUSY, with libbpf's context.
    const e = t.throws(() => obj.program("fentry1").attach(), { instanceOf: ObjectError });
    t.is(e?.errno, EBUSY);
    t.regex(e!.message, /^libbpf: prog 'fentry1': failed to attach: -EBUSY/);
    obj.destroy();
    t.is(k.call("bpf_fentry_test1", [1n]), 2n, "detached");
    t.deepEqual(snapshot(k), before, "nothing leaked (trampolines torn down, programs and maps freed)");
    t.deepEqual(k.oopses, []);
    t.deepEqual(k.bugs.reports, []);
  } finally {
    k.close();
  }
});

test("the verifier rejects an argument past the function's arity and writes to r10, naming the instruction", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const bytes = buildBpfProg("test_loader_tracing").bytes;
    const before = snapshot(k);
    const cases = [
      {
        name: "past_last_arg",
        errno: EACCES,
        msg: "libbpf: prog 'past_last_arg': failed to load: -EACCES: invalid bpf_context access off=8 size=8: insn 0: (79) r1 = *(u64 *)(r1 +8)",
        log: [
          "0: (79) r1 = *(u64 *)(r1 +8)\nfunc 'bpf_fentry_test1' doesn't have 2-th argument\ninvalid bpf_context access off=8 size=8\n",
        ],
      },
      {
        name: "write_r10",
        errno: EACCES,
        msg: "libbpf: prog 'write_r10': failed to load: -EACCES: frame pointer is read only: insn 0: (b7) r10 = 0",
        log: ["0: (b7) r10 = 0\nframe pointer is read only\n"],
      },
    ];
    for (const c of cases) {
      const obj = BpfObject.open(bytes, { objectName: "test_loader_tracing" });
      for (const p of obj.programs) p.autoload = p.name === c.name;
      const e = t.throws(() => obj.load(k), { instanceOf: ObjectError });
      t.is(e?.errno, c.errno, c.name);
      t.is(e?.message, c.msg);
      for (const l of c.log) t.true(obj.program(c.name).log.includes(l), `${c.name} log:\n${obj.program(c.name).log}`);
      t.regex(obj.program(c.name).log, /processed 1 insns \(limit 1000000\)/);
      t.false(obj.loaded);
      t.deepEqual(snapshot(k), before, `${c.name}: a failed load leaves nothing behind`);
    }
  } finally {
    k.close();
  }
});

test("load errors: unknown attach targets, missing extern, unknown section, with libbpf's wording and errno", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const before = snapshot(k);
    const noTarget = compileBpfSnippet(
      "loader_notarget",
      `${PROLOGUE}
SEC("fentry/no_such_kernel_function") int BPF_PROG(p) { return 0; }
`,
    );
    const e1 = openAndLoad(k, noTarget.bytes, { objectName: "loader_notarget" });
    t.true(e1 instanceof ObjectError);
    t.is((e1 as ObjectError).errno, ESRCH);
    t.is(
      (e1 as ObjectError).message,
      "libbpf: prog 'p': failed to find kernel BTF type ID of 'no_such_kernel_function': -ESRCH",
    );
    const strongKcfg = compileBpfSnippet(
      "loader_kcfg",
      `${PROLOGUE}
extern int CONFIG_NOT_THERE __kconfig;
extern int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_MAYBE __kconfig __weak;
int ver = 0, maybe = 1;
SEC("tc") int p(struct __sk_buff *skb) { ver = LINUX_KERNEL_VERSION; maybe = CONFIG_MAYBE; return CONFIG_NOT_THERE; }
`,
    );
    const e2 = openAndLoad(k, strongKcfg.bytes, { objectName: "loader_kcfg" });
    t.is((e2 as ObjectError).message, "libbpf: extern 'CONFIG_NOT_THERE' (strong): not resolved");
    t.is((e2 as ObjectError).errno, ESRCH);
    const ok = openAndLoad(k, strongKcfg.bytes, { objectName: "loader_kcfg", kconfig: { CONFIG_NOT_THERE: "42" } });
    t.true(ok instanceof BpfObject);
    const o = ok as BpfObject;
    t.is(o.program("p").testRun({ dataIn: PKT_V4 }).retval, 42);
    t.is(o.bss!.ver, (6 << 16) | (16 << 8), "LINUX_KERNEL_VERSION = KERNEL_VERSION(6, 16, 0)");
    t.is(o.data!.maybe, 0, "a missing weak extern is zero");
    o.destroy();
    const unknown = compileBpfSnippet(
      "loader_unknownsec",
      `${PROLOGUE}
SEC("frobnicate/x") int p(void *ctx) { return 0; }
`,
    );
    const e3 = openAndLoad(k, unknown.bytes, { objectName: "loader_unknownsec" });
    t.is((e3 as ObjectError).message, "libbpf: prog 'p': missing BPF prog type, check ELF section name 'frobnicate/x'");
    t.is((e3 as ObjectError).errno, EINVAL);
    const ksymVar = compileBpfSnippet(
      "loader_ksymvar",
      `${PROLOGUE}
extern const int some_kernel_var __ksym;
SEC("tc") int p(struct __sk_buff *skb) { return *(volatile const int *)&some_kernel_var; }
`,
    );
    const e4 = openAndLoad(k, ksymVar.bytes, { objectName: "loader_ksymvar" });
    t.is((e4 as ObjectError).errno, ENOTSUPP);
    t.is(
      (e4 as ObjectError).message,
      "libbpf: extern (var ksym) 'some_kernel_var': ksym variables are not supported by this runtime",
    );
    t.deepEqual(snapshot(k), before);
  } finally {
    k.close();
  }
});

test("kfuncs: a bpf_testmod kfunc (module BTF) is called; an unregistered kernel function is refused", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const b = compileBpfSnippet(
      "loader_kfunc",
      `${PROLOGUE}
extern long bpf_kfunc_call_test4(signed char a, short b, int c, long d) __ksym;
extern int bpf_fentry_test2(int a, __u64 b) __ksym;
long r;
SEC("tc") int p(struct __sk_buff *skb) { r = bpf_kfunc_call_test4(-3, -30, -300, -3000); return 0; }
SEC("?tc") int q(struct __sk_buff *skb) { return bpf_fentry_test2(1, 2); }
`,
    );
    const o = loaded(openAndLoad(k, b.bytes, { objectName: "loader_kfunc" }));
    o.program("p").testRun({ dataIn: PKT_V4 });
    t.is(o.bss!.r, -3333n, "sign-extended arguments summed by the module's C code");
    o.destroy();
    const o2 = BpfObject.open(b.bytes, { objectName: "loader_kfunc" });
    o2.program("p").autoload = false;
    o2.program("q").autoload = true;
    const e = t.throws(() => o2.load(k), { instanceOf: ObjectError });
    t.regex(
      e!.message,
      /calling kernel function bpf_fentry_test2 is not allowed: insn 2: \(85\) call bpf_fentry_test2#\d+$/,
    );
    t.is(e?.errno, EACCES);
  } finally {
    k.close();
  }
});

test("tail calls through prog arrays: initial slots, a miss falls through, MAX_TAIL_CALL_CNT", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const b = compileBpfSnippet(
      "loader_tailcall",
      `${PROLOGUE}
int tail(struct __sk_buff *skb);
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jmp_table SEC(".maps") = { .values = { [1] = (void *)&tail } };
int tail_runs, loop_runs;
SEC("tc") int tail(struct __sk_buff *skb) { tail_runs++; return 42; }
SEC("tc") int entry(struct __sk_buff *skb) { bpf_tail_call(skb, &jmp_table, 1); return 7; }
SEC("tc") int entry_miss(struct __sk_buff *skb) { bpf_tail_call(skb, &jmp_table, 2); return 7; }
SEC("tc") int loop(struct __sk_buff *skb) { loop_runs++; bpf_tail_call(skb, &jmp_table, 0); return loop_runs; }
`,
    );
    const o = loaded(openAndLoad(k, b.bytes, { objectName: "loader_tailcall" }));
    t.is(o.program("entry").testRun({ dataIn: PKT_V4 }).retval, 42);
    t.is(o.bss!.tail_runs, 1);
    t.is(o.program("entry_miss").testRun({ dataIn: PKT_V4 }).retval, 7, "empty slot: fall through");
    bpfSys(k).progArrayUpdate(o.map("jmp_table").fd, 0, o.program("loop").fd);
    t.is(o.program("loop").testRun({ dataIn: PKT_V4 }).retval, 34, "1 run + MAX_TAIL_CALL_CNT (33) tail calls");
    o.destroy();
  } finally {
    k.close();
  }
});

test("freplace and fentry on a BPF program's global function (setAttachTarget)", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const before = snapshot(k);
    const target = loaded(
      openAndLoad(
        k,
        compileBpfSnippet(
          "loader_target",
          `${PROLOGUE}
__noinline int global_func(struct __sk_buff *skb) { return skb->len > 1000 ? 0 : 1; }
SEC("tc") int entry(struct __sk_buff *skb) { return global_func(skb) + 10; }
`,
        ).bytes,
        { objectName: "loader_target" },
      ),
    );
    const entry = target.program("entry");
    t.is(entry.testRun({ dataIn: PKT_V4 }).retval, 11);
    const ext = BpfObject.open(
      compileBpfSnippet(
        "loader_ext",
        `${PROLOGUE}
int fentry_hits;
SEC("freplace/global_func") int new_func(struct __sk_buff *skb) { return 5; }
SEC("fentry/global_func") int BPF_PROG(watch, struct __sk_buff *skb) { fentry_hits++; return 0; }
`,
      ).bytes,
      { objectName: "loader_ext" },
    );
    ext.program("new_func").setAttachTarget(entry, "global_func");
    ext.program("watch").setAttachTarget(entry.prog, "global_func");
    ext.load(k);
    const fl = ext.program("watch").attach();
    t.is(entry.testRun({ dataIn: PKT_V4 }).retval, 11);
    t.is(ext.bss!.fentry_hits, 1, "fentry on the BPF function ran");
    fl.detach();
    const link = ext.program("new_func").attach();
    t.is(entry.testRun({ dataIn: PKT_V4 }).retval, 15, "global_func replaced");
    link.detach();
    t.is(entry.testRun({ dataIn: PKT_V4 }).retval, 11, "restored");
    ext.destroy();
    target.destroy();
    t.deepEqual(snapshot(k), before);
    t.deepEqual(k.oopses, []);
  } finally {
    k.close();
  }
});

test("exception callbacks: appended from the decl tag; attaching to them or modifying BPF returns is refused", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const target = loaded(
      openAndLoad(
        k,
        compileBpfSnippet(
          "loader_exc_target",
          `${PROLOGUE}
__noinline int exception_cb_x(__u64 cookie) { return cookie + 1; }
static __noinline int static_sub(struct __sk_buff *skb) { return skb->len; }
__noinline int global_sub(struct __sk_buff *skb) { return 2; }
SEC("tc") __attribute__((btf_decl_tag("exception_callback:exception_cb_x")))
int entry(struct __sk_buff *skb) { return static_sub(skb) + global_sub(skb); }
`,
        ).bytes,
        { objectName: "loader_exc_target" },
      ),
    );
    const entry = target.program("entry");
    const v = entry.prog!.verifier;
    t.deepEqual(
      v.subprogs.filter((s) => s.isExceptionCb).map((s) => s.name),
      ["exception_cb_x"],
      "the callback was appended and marked",
    );
    t.false(v.exceptionBoundary, "nothing calls bpf_throw: not a boundary (exception_boundary = seen_exception)");
    t.is(entry.testRun({ dataIn: PKT_V4 }).retval, 56);
    const ext = compileBpfSnippet(
      "loader_exc_ext",
      `${PROLOGUE}
SEC("?fentry") int BPF_PROG(fe) { return 0; }
SEC("?fmod_ret") int BPF_PROG(fm) { return 0; }
SEC("?freplace") int fr(__u64 cookie) { return 0; }
SEC("?freplace") int fr2(struct __sk_buff *skb) { return 0; }
`,
    ).bytes;
    const cases: [string, string, string][] = [
      ["fe", "exception_cb_x", "FENTRY/FEXIT programs cannot attach to exception callback"],
      ["fr", "exception_cb_x", "Extension programs cannot attach to exception callback"],
      ["fm", "global_sub", "can't modify return codes of BPF programs"],
      ["fr2", "static_sub", "static_sub() is not a global function"],
    ];
    for (const [prog, func, msg] of cases) {
      const o = BpfObject.open(ext, { objectName: "loader_exc_ext" });
      o.program(prog).autoload = true;
      o.program(prog).setAttachTarget(entry, func);
      const e = t.throws(() => o.load(k), { instanceOf: ObjectError });
      t.is(e?.errno, EINVAL, prog);
      t.is(e?.message, `libbpf: prog '${prog}': failed to load: -EINVAL: ${msg}`);
    }
    target.destroy();
  } finally {
    k.close();
  }
});

test("freplace: the replacement must match the target's BTF signature (btf_check_type_match)", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const target = loaded(
      openAndLoad(
        k,
        compileBpfSnippet(
          "loader_sig_target",
          `${PROLOGUE}
__noinline int global_one(struct __sk_buff *skb) { return skb->len > 1000 ? 0 : 1; }
__noinline int global_two(struct __sk_buff *skb, int x) { return x + (skb->len > 1000); }
SEC("tc") int entry(struct __sk_buff *skb) { return global_one(skb) + global_two(skb, 3) + 10; }
`,
        ).bytes,
        { objectName: "loader_sig_target" },
      ),
    );
    const entry = target.program("entry");
    t.is(entry.testRun({ dataIn: PKT_V4 }).retval, 14);
    const ext = compileBpfSnippet(
      "loader_sig_ext",
      `${PROLOGUE}
SEC("?freplace") int fr_ok(struct __sk_buff *skb, int x) { return 100; }
SEC("?freplace") int fr_two(struct __sk_buff *skb, int x) { return 0; }
SEC("?freplace") int fr_long(struct __sk_buff *skb, long x) { return 0; }
SEC("?freplace") int fr_ctx(struct pt_regs *regs, int x) { return 0; }
SEC("?freplace") int fr_ptr(struct __sk_buff *skb, int *x) { return 0; }
SEC("?freplace") void fr_void(struct __sk_buff *skb, int x) { }
`,
    ).bytes;
    const cases: [string, string, string][] = [
      ["fr_two", "global_one", "fr_two() has 2 args while global_one() has 1 args"],
      ["fr_long", "global_two", "arg1 in fr_long() has size 8 while global_two() has 4"],
      ["fr_ctx", "global_two", "arg0 fr_ctx(struct pt_regs *) doesn't match global_two(struct __sk_buff *)"],
      ["fr_ptr", "global_two", "arg1 in fr_ptr() is PTR while global_two() has INT"],
      ["fr_void", "global_two", "Return type UNKNOWN of fr_void() doesn't match type INT of global_two()"],
    ];
    for (const [prog, func, msg] of cases) {
      const o = BpfObject.open(ext, { objectName: "loader_sig_ext" });
      o.program(prog).autoload = true;
      o.program(prog).setAttachTarget(entry, func);
      const e = t.throws(() => o.load(k), { instanceOf: ObjectError });
      t.is(e?.errno, EINVAL, prog);
      t.is(e?.message, `libbpf: prog '${prog}': failed to load: -EINVAL: ${msg}`);
      t.true(o.program(prog).log.includes(`${msg}\n`), `${prog}: the message is in the verifier log`);
      o.destroy();
    }
    // The matching one loads and replaces.
    const ok = BpfObject.open(ext, { objectName: "loader_sig_ext" });
    ok.program("fr_ok").autoload = true;
    ok.program("fr_ok").setAttachTarget(entry, "global_two");
    ok.load(k);
    const link = ok.program("fr_ok").attach();
    t.is(entry.testRun({ dataIn: PKT_V4 }).retval, 111);
    link.detach();
    ok.destroy();
    target.destroy();
  } finally {
    k.close();
  }
});
