import test from "ava";
import { EncodeError } from "../errors.js";
import { regSp, regZr } from "./fields.js";
import { A64_FP, A64_LR, A64_R, A64_SP, A64_ZR, isA64Reg, regName } from "./regs.js";

test("register values: x0..x30, zr and sp are distinct but both encode as 31", (t) => {
  t.is(A64_R(0), 0);
  t.is(A64_R(30), 30);
  t.is(A64_FP, 29);
  t.is(A64_LR, 30);
  t.not(A64_SP, A64_ZR);
  t.is(A64_SP & 31, 31);
  t.is(A64_ZR & 31, 31);
  t.is(regZr(A64_ZR, "Rd"), 31);
  t.is(regSp(A64_SP, "Rd"), 31);
  for (const n of [31, 32, -1, 1.5, Number.NaN]) {
    t.throws(() => A64_R(n), { instanceOf: EncodeError, message: /^invalid register: / });
  }
  t.throws(() => A64_R(31), { message: "invalid register: x31 (A64_R takes 0..30; use A64_ZR or A64_SP for 31)" });
});

test("isA64Reg and regName", (t) => {
  for (const r of [0, 15, 30, A64_ZR, A64_SP]) t.true(isA64Reg(r));
  for (const r of [32, -1, 2.5, "x1", 64, 95]) t.false(isA64Reg(r));
  t.is(regName(3), "x3");
  t.is(regName(3, false), "w3");
  t.is(regName(A64_ZR), "xzr");
  t.is(regName(A64_ZR, false), "wzr");
  t.is(regName(A64_SP), "sp");
  t.is(regName(A64_SP, false), "wsp");
  t.is(regName(32), "x32");
  t.is(regName(0.5), "0.5");
});

test("field encoders refuse the other meaning of 31 and anything out of range", (t) => {
  t.throws(() => regZr(A64_SP, "Rm"), { message: "invalid register: sp (Rm: x0..x30 or xzr)" });
  t.throws(() => regSp(A64_ZR, "Rn"), { message: "invalid register: xzr (Rn: x0..x30 or sp)" });
  t.throws(() => regZr(32, "Rt"), { message: "invalid register: x32 (Rt: x0..x30 or xzr)" });
  t.throws(() => regSp(-1, "Rn"), { message: "invalid register: x-1 (Rn: x0..x30 or sp)" });
  t.throws(() => regZr(Number.NaN, "Ra"), { message: "invalid register: NaN (Ra: x0..x30 or xzr)" });
});
