import test from "ava";
import { EINVAL } from "../../errno.js";
import { BpfError } from "../../errors.js";
import { getArchRegstr, regsQueryRegisterOffset } from "./dwarf_regs.js";
import {
  BpfLoaderError,
  bpfLoaderErrnoName,
  bpfLoaderStrerror,
  BPF_LOADER_ERRNO__CONFIG,
  BPF_LOADER_ERRNO__PROLOGUEOOB,
  isBpfLoaderErrno,
  __BPF_LOADER_ERRNO__END,
} from "./loader_errno.js";
import { parseProbeTraceArg, synthesizeProbeTraceArg } from "./probe_trace_arg.js";

test("kprobe_events text: parse and synthesize round trip, innermost offset first", (t) => {
  const a = parseProbeTraceArg("val=+8(+16(%x0)):s64");
  t.deepEqual(a, { name: "val", value: "%x0", type: "s64", refs: [{ offset: 16n }, { offset: 8n }] });
  for (const text of [
    "val=+8(+16(%x0)):s64",
    "%x1",
    "x=%x1:u32",
    "+0(%sp)",
    "-8(%x29)",
    "+u4(+0(%x2)):x32",
    "@kprobe_global",
    "+0(@kprobe_global)",
    "f=+u-8(%x3)",
  ]) {
    t.is(synthesizeProbeTraceArg(parseProbeTraceArg(text)), text, text);
  }
  t.deepEqual(parseProbeTraceArg("+0x10(%x0)").refs, [{ offset: 16n }], "hex offsets");
  t.deepEqual(parseProbeTraceArg("+u8(+0(%x1))").refs, [{ offset: 0n }, { offset: 8n, userAccess: true }]);
  t.is(
    parseProbeTraceArg("+99999999999999999999(%x0)").refs[0].offset,
    99999999999999999999n,
    "offsets beyond 64 bits stay exact",
  );
});

test("kprobe_events text: malformed arguments are EINVAL with the text", (t) => {
  for (const text of ["+8(%x0", "+8%x0)", "=", "1a=%x0", "+8()", "%x0:", ""]) {
    const err = t.throws(() => parseProbeTraceArg(text), { instanceOf: BpfError });
    t.is(err?.errno, EINVAL, text);
    t.true(err?.message.startsWith(`invalid probe trace argument: ${text}: `), err?.message);
  }
});

test("arm64 register table: %x0..%x29, %lr, %sp at their user_pt_regs offsets; nothing else", (t) => {
  for (let n = 0; n <= 29; n++) {
    t.is(getArchRegstr(n), `%x${n}`);
    t.is(regsQueryRegisterOffset(`%x${n}`), 8 * n);
  }
  t.is(getArchRegstr(30), "%lr");
  t.is(getArchRegstr(31), "%sp");
  t.is(regsQueryRegisterOffset("%lr"), 240);
  t.is(regsQueryRegisterOffset("%sp"), 248, "sp follows regs[30] in user_pt_regs");
  for (const bad of ["%x30", "%x31", "%x07", "x0", "%pc", "%fp", "%w0", "", "%X0"])
    t.is(regsQueryRegisterOffset(bad), undefined, bad);
  for (const n of [-1, 32, 64, 1.5]) t.is(getArchRegstr(n), undefined);
});

test("BPF loader errnos: perf's values, names and strerror texts", (t) => {
  t.is(BPF_LOADER_ERRNO__CONFIG, 3900, "__LIBBPF_ERRNO__START - 100");
  t.is(BPF_LOADER_ERRNO__PROLOGUEOOB, 3908);
  t.is(__BPF_LOADER_ERRNO__END, 3909);
  t.is(bpfLoaderErrnoName(-3907), "BPF_LOADER_ERRNO__PROLOGUE2BIG");
  t.is(bpfLoaderStrerror(3906), "Failed to generate prologue");
  t.is(bpfLoaderStrerror(3902), "No event name found in config string");
  t.is(bpfLoaderStrerror(3909), undefined);
  t.false(isBpfLoaderErrno(22));
  t.true(isBpfLoaderErrno(-3905));
  const e = new BpfLoaderError(3903, "");
  t.is(e.message, "BPF loader internal error", "acronyms keep their case, no empty detail");
  t.is(new BpfLoaderError(3900, "x").message, "invalid config string: x");
  t.throws(() => new BpfLoaderError(22, "x"), { instanceOf: BpfError, message: "not a BPF loader errno: 22" });
});
