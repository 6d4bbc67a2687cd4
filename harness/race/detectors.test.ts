import test from "ava";
import { initAssembler } from "../../runtime/a64/asm.js";
import { Kernel } from "../../runtime/kernel/kernel.js";
import { asmFunction } from "../../runtime/kernel/testing.js";
import { Detectors, describeInsn } from "./detectors.js";

test.before(async () => {
  await initAssembler();
});

const sym = (a: bigint) => (a === 0x42000080n ? "bpf_trampoline_7+0x0/0x100" : undefined);

test("instructions at patch sites are described as a kernel developer reads them", (t) => {
  t.is(describeInsn(0xd503201f, { pc: 0x41003004n, symbolize: sym }), "nop");
  t.is(describeInsn(0x910003c9, { pc: 0x41003000n, symbolize: sym }), "mov x9, x30");
  // bl from 0x41003004 to 0x42000080: offset 0xfff07c, imm26 = 0x3ffc1f.
  const bl = (0x94000000 | ((0x42000080 - 0x41003004) >>> 2)) >>> 0;
  t.is(describeInsn(bl, { pc: 0x41003004n, symbolize: sym }), "bl 0x42000080 <bpf_trampoline_7+0x0>");
  const b = (0x14000000 | 4) >>> 0;
  t.is(describeInsn(b, { pc: 0x1000n, symbolize: sym }), "b 0x1010");
  t.is(describeInsn(0xd4202000, { pc: 0x1000n, symbolize: sym }), ".inst 0xd4202000");
});

test("a text poke of freed BPF text is a use-after-free naming the freed allocation", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const d = new Detectors(k);
    const a = k.bpfText.alloc(128, "bpf_prog_0123456789abcdef_gone");
    const live = k.bpfText.alloc(64, "bpf_prog_fedcba9876543210_live");
    const poke = (addr: bigint) =>
      d.onEvent({
        kind: "poke",
        t: 5n,
        cpu: 0,
        pid: 1,
        addr,
        old: 0xd503201f,
        insn: 0xd503201f,
        locked: true,
        synced: true,
        what: "test",
      });
    poke(live.addr + 4n);
    t.is(d.violation, undefined, "a poke of live text is fine");
    k.bpfText.free(a.addr);
    poke(a.addr + 4n);
    t.is(d.violation?.kind, "use-after-free");
    t.regex(
      d.violation?.message ?? "",
      /^text poke of freed bpf_prog_0123456789abcdef_gone \(freed at \d+ ns\): nop → nop$/,
    );
    t.is(d.violation?.symbol, "bpf_prog_0123456789abcdef_gone+0x4/0x80 (freed)");
    t.regex(d.violation?.details?.[0] ?? "", /KASAN: use-after-free in bpf_arch_text_poke/);
  } finally {
    k.close();
  }
});

test("with KASAN for text, a read of freed program text by emulated code is a use-after-free", (t) => {
  const k = new Kernel({ cpus: 1, kasanText: true });
  try {
    const d = new Detectors(k);
    k.ktrace.listen((ev) => d.onEvent(ev));
    const victim = asmFunction(k, "bpf_prog_0123456789abcdef_gone", "mov x0, #7\nret");
    const reader = asmFunction(k, "reader", "ldr x0, [x0, #8]\nret");
    k.bpfText.free(victim);
    t.throws(() => k.call(reader, [victim]));
    t.is(d.violation?.kind, "use-after-free");
    t.regex(
      d.violation?.message ?? "",
      /^KASAN: read of size 8 in freed bpf_prog_0123456789abcdef_gone \(freed at \d+ ns\) at 0x[0-9a-f]+$/,
    );
    t.regex(d.violation?.symbol ?? "", /^reader\+0x/);
  } finally {
    k.close();
  }
});
