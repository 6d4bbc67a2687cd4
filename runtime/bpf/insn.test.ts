import test from "ava";
import { BPF_LD_IMM64, BPF_MOV64_IMM } from "./builder.js";
import { insnSlots, isLdImm64, isWellFormedInsn, ldImm64Value } from "./insn.js";

test("ldImm64Value joins the two slots; undefined when not a complete ld_imm64", (t) => {
  const p = [BPF_MOV64_IMM(0, 1), ...BPF_LD_IMM64(1, 0xfedcba9876543210n)];
  t.is(ldImm64Value(p, 1), 0xfedcba9876543210n);
  t.is(ldImm64Value(p, 0), undefined);
  t.is(ldImm64Value(p.slice(0, 2), 1), undefined);
  t.true(isLdImm64(p, 1));
  t.false(isLdImm64(p, 2));
  t.deepEqual([insnSlots(p, 0), insnSlots(p, 1)], [1, 2]);
});

test("isWellFormedInsn checks field widths", (t) => {
  const ok = { code: 0xff, dst: 15, src: 15, off: -0x8000, imm: -0x80000000 };
  t.true(isWellFormedInsn(ok));
  t.false(isWellFormedInsn({ ...ok, code: 0x100 }));
  t.false(isWellFormedInsn({ ...ok, dst: 16 }));
  t.false(isWellFormedInsn({ ...ok, off: 0x8000 }));
  t.false(isWellFormedInsn({ ...ok, imm: 0x80000000 }));
  t.false(isWellFormedInsn({ ...ok, imm: 0.5 }));
});
