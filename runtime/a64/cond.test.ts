import test from "ava";
import { EncodeError } from "../errors.js";
import {
  A64_COND_AL,
  A64_COND_CC,
  A64_COND_CS,
  A64_COND_EQ,
  A64_COND_GE,
  A64_COND_GT,
  A64_COND_HI,
  A64_COND_LE,
  A64_COND_LO,
  A64_COND_LS,
  A64_COND_LT,
  A64_COND_NE,
  A64_COND_NV,
  condInvert,
  condName,
} from "./cond.js";
import { disasmWord } from "./disasm.js";
import { a64BCond } from "./jit_macros.js";
import { initOracles } from "./oracle_testutil.js";

test.before(initOracles);

test("condition names match capstone's b.<cond> for all 16 codes", (t) => {
  for (let c = 0; c < 16; c++) {
    t.is(disasmWord(a64BCond(c, 0)).split(" ")[0], `b.${condName(c)}`);
  }
  t.is(condName(A64_COND_LO), "lo");
  t.is(condName(A64_COND_CS), "hs");
  t.throws(() => condName(16), { instanceOf: EncodeError, message: "invalid condition code: 16 (0..15)" });
});

test("condInvert pairs each condition with its opposite", (t) => {
  const pairs = [
    [A64_COND_EQ, A64_COND_NE],
    [A64_COND_CS, A64_COND_CC],
    [A64_COND_HI, A64_COND_LS],
    [A64_COND_GE, A64_COND_LT],
    [A64_COND_GT, A64_COND_LE],
  ];
  for (const [a, b] of pairs) {
    t.is(condInvert(a), b);
    t.is(condInvert(b), a);
  }
  t.throws(() => condInvert(A64_COND_AL), { message: "condition has no inverse: 14 (0..13)" });
  t.throws(() => condInvert(A64_COND_NV), { message: "condition has no inverse: 15 (0..13)" });
});
