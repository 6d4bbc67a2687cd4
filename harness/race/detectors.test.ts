import test from "ava";
import { describeInsn } from "./detectors.js";

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
