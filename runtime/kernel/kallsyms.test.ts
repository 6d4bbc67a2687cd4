import test from "ava";
import { spawnSync } from "node:child_process";
import { KernelError } from "../errors.js";
import { buildKernel } from "./build.js";
import { kernelImageFile } from "./image.js";
import { bpfProgKsymName, bpfTrampolineKsymName, Kallsyms, type KsymEntry } from "./kallsyms.js";

const e = (name: string, addr: bigint, size: number, type = "T", rank = 0): KsymEntry => ({
  name,
  addr,
  size,
  type,
  rank,
});

function table(): Kallsyms {
  const k = new Kallsyms();
  k.addImage([
    e("_text", 0x1000n, 0, "T", 11),
    e("first", 0x1000n, 0x40),
    e("second", 0x1040n, 0x20, "t"),
    e("data_obj", 0x3000n, 0x10, "D"),
  ]);
  k.addImage([e("mod_fn", 0x8000n, 0x30), e("mod_static", 0x8030n, 0x10, "t")], "my_mod");
  return k;
}

test("lookup and %pS formatting for vmlinux and module symbols", (t) => {
  const k = table();
  t.deepEqual(k.lookup(0x1018n), { name: "first", addr: 0x1000n, offset: 0x18, size: 0x40, module: undefined });
  t.is(k.formatAddress(0x1018n), "first+0x18/0x40");
  t.is(k.formatAddress(0x1000n), "first+0x0/0x40", "preferred alias at one address");
  t.is(k.formatAddress(0x105fn), "second+0x1f/0x20");
  t.is(k.formatAddress(0x1060n), undefined, "past the last symbol of the area");
  t.is(k.formatAddress(0x8034n), "mod_static+0x4/0x10 [my_mod]");
  t.is(k.formatAddress(0x3008n), "data_obj+0x8/0x10");
  t.is(k.formatAddress(0x500n), undefined);
  t.is(k.symbolizer(0x8000n), "mod_fn+0x0/0x30 [my_mod]");
});

test("addressOf: vmlinux first, module:name, BPF symbols", (t) => {
  const k = table();
  k.addImage([e("first", 0x9000n, 4)], "shadow");
  t.is(k.addressOf("first"), 0x1000n);
  t.is(k.addressOf("shadow:first"), 0x9000n);
  t.is(k.addressOf("my_mod:mod_fn"), 0x8000n);
  t.is(k.addressOf("my_mod:first"), undefined);
  t.is(k.addressOf("nope"), undefined);
  k.addBpf({ name: "bpf_prog_0123456789abcdef_foo", start: 0x20000n, end: 0x20100n });
  t.is(k.addressOf("bpf_prog_0123456789abcdef_foo"), 0x20000n);
  t.is(k.addressOf("bpf:bpf_prog_0123456789abcdef_foo"), 0x20000n);
});

test("BPF symbols: add, look up (no module suffix in %pS), remove, overlap errors", (t) => {
  const k = table();
  const prog = bpfProgKsymName(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]), "test1");
  t.is(prog, "bpf_prog_deadbeef00010203_test1");
  const tramp = bpfTrampolineKsymName(0x1234_0000_0042n);
  t.is(tramp, "bpf_trampoline_20014547599426");
  k.addBpf({ name: prog, start: 0x20000n, end: 0x20080n });
  k.addBpf({ name: tramp, start: 0x30000n, end: 0x31000n });
  t.is(k.formatAddress(0x20018n), `${prog}+0x18/0x80`);
  t.deepEqual(k.bpfAddressLookup(0x30ffcn), {
    name: tramp,
    addr: 0x30000n,
    offset: 0xffc,
    size: 0x1000,
    module: "bpf",
  });
  t.is(k.bpfAddressLookup(0x1018n), undefined, "__bpf_address_lookup only knows BPF text");
  t.true(k.isBpfText(0x20000n));
  t.false(k.isBpfText(0x20080n));
  const err = t.throws(() => k.addBpf({ name: "bpf_prog_x", start: 0x2007cn, end: 0x20090n }), {
    instanceOf: KernelError,
  });
  t.is(err!.message, `kallsyms: bpf_prog_x 0x2007c..0x20090 overlaps ${prog}`);
  t.is(err!.errno, 17);
  // Names may repeat (the old and the new image of one trampoline key coexist until the old one is freed).
  k.addBpf({ name: tramp, start: 0x40000n, end: 0x41000n });
  t.is(k.formatAddress(0x40010n), `${tramp}+0x10/0x1000`);
  k.removeBpf(tramp, 0x30000n);
  t.is(k.formatAddress(0x30010n), undefined);
  t.is(k.addressOf(tramp), 0x40000n);
  k.removeBpf(prog);
  t.is(k.formatAddress(0x20018n), undefined);
  t.throws(() => k.removeBpf(prog), { instanceOf: KernelError, message: `kallsyms: no BPF symbol ${prog}` });
  t.deepEqual(
    k.bpfSymbols().map((s) => [s.name, s.start]),
    [[tramp, 0x40000n]],
  );
});

test("/proc/kallsyms listing format", (t) => {
  const k = table();
  k.addBpf({ name: "bpf_trampoline_7", start: 0x30000n, end: 0x30100n });
  t.is(
    k.procKallsyms(),
    [
      "0000000000001000 T first",
      "0000000000001000 T _text",
      "0000000000001040 t second",
      "0000000000003000 D data_obj",
      "0000000000008000 T mod_fn\t[my_mod]",
      "0000000000008030 t mod_static\t[my_mod]",
      "0000000000030000 t bpf_trampoline_7\t[bpf]",
      "",
    ].join("\n"),
  );
  k.removeImage("my_mod");
  t.false(k.procKallsyms().includes("my_mod"));
  t.throws(() => k.removeImage("my_mod"), { instanceOf: KernelError });
  t.throws(() => k.addImage([], undefined), { instanceOf: KernelError, message: "kallsyms: vmlinux already added" });
});

test("every function of the real kernel image resolves to itself (oracle: llvm-nm)", (t) => {
  const build = buildKernel();
  const img = kernelImageFile();
  const k = new Kallsyms();
  k.addImage(img.ksyms());
  const nm = spawnSync("llvm-nm-19", ["--defined-only", "-S", build.path], { encoding: "utf8" }).stdout;
  const funcs = nm
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f.length === 4 && (f[2] === "T" || f[2] === "t"))
    .map(([addr, size, type, name]) => ({ addr: BigInt(`0x${addr}`), size: Number(`0x${size}`), type, name }))
    .filter((f) => f.size > 0);
  t.true(funcs.length > 50);
  for (const f of funcs) {
    const l = k.lookup(f.addr + BigInt(f.size - 1));
    t.is(l?.name, f.name, f.name);
    t.true(l!.size >= f.size, `${f.name}: kallsyms size ${l!.size} covers st_size ${f.size}`);
  }
  const listing = k.procKallsyms();
  for (const f of funcs)
    t.true(listing.includes(`${f.addr.toString(16).padStart(16, "0")} ${f.type} ${f.name}\n`), f.name);
  t.false(/\$x|\$d/.test(listing), "no mapping symbols");
  t.regex(listing, /^[0-9a-f]{16} D text_mutex$/m);
});
