import test from "ava";
import { disasmWord, initDisassembler } from "../../../runtime/a64/disasm.js";
import { EncodeError } from "../../../runtime/errors.js";
import {
  benchPrograms,
  BLOCK_OFF,
  bl,
  bNe,
  HCALL_OFF,
  LOOP_OFF,
  movReg,
  NR_BLOCK,
  NR_CONTINUE,
  rawLoopWords,
  ret,
  STUB_BLOCK_OFF,
  STUB_CONTINUE_OFF,
  subsImm,
  svc,
  wordsToBytes,
} from "./code.js";

test.before(async () => {
  await initDisassembler();
});

test("encoders agree with capstone", (t) => {
  const table: Array<[number, number, string]> = [
    [subsImm(0, 0, 1), 0xf1000400, "subs x0, x0, #1"],
    [subsImm(19, 19, 1), 0xf1000673, "subs x19, x19, #1"],
    [bNe(-4), 0x54ffffe1, "b.ne #0xfffffffffffffffc"],
    [bl(0xbc), 0x9400002f, "bl #0xbc"],
    [svc(0x7b0), 0xd400f601, "svc #0x7b0"],
    [ret(), 0xd65f03c0, "ret"],
    [ret(20), 0xd65f0280, "ret x20"],
    [movReg(20, 30), 0xaa1e03f4, "mov x20, x30"],
  ];
  for (const [got, word, text] of table) {
    t.is(got, word, text);
    t.is(disasmWord(got), text);
  }
});

test("encoders refuse what they cannot encode", (t) => {
  t.throws(() => subsImm(31, 0, 1), { instanceOf: EncodeError, message: "invalid register: x31" });
  t.throws(() => subsImm(0, 0, 4096), { instanceOf: EncodeError, message: "invalid immediate: 4096" });
  t.throws(() => bNe(2), { instanceOf: EncodeError, message: "branch offset out of range: 2" });
  t.throws(() => bNe(1 << 20), { instanceOf: EncodeError });
  t.throws(() => bl(1 << 27), { instanceOf: EncodeError });
  t.throws(() => svc(0x10000), { instanceOf: EncodeError });
});

test("the bench programs disassemble to the loops drawn in code.ts", (t) => {
  const at = new Map(benchPrograms().map((p) => [p.off, p.words]));
  const text = (off: number) => (at.get(off) ?? []).map((w, i) => disasmWord(w, 0x4000_0000n + BigInt(off + 4 * i)));
  t.deepEqual(text(LOOP_OFF), ["subs x0, x0, #1", "b.ne #0x40000000", "ret"]);
  t.deepEqual(text(HCALL_OFF), ["mov x20, x30", "bl #0x40000100", "subs x19, x19, #1", "b.ne #0x40000044", "ret x20"]);
  t.deepEqual(text(BLOCK_OFF), ["mov x20, x30", "bl #0x40000108", "subs x19, x19, #1", "b.ne #0x40000084", "ret x20"]);
  t.deepEqual(text(STUB_CONTINUE_OFF), [`svc #0x${NR_CONTINUE.toString(16)}`, "ret"]);
  t.deepEqual(text(STUB_BLOCK_OFF), [`svc #0x${NR_BLOCK.toString(16)}`, "ret"]);
  t.deepEqual(rawLoopWords(), at.get(LOOP_OFF)?.slice(0, 2));
  // Programs do not overlap.
  const spans = benchPrograms()
    .map((p) => [p.off, p.off + 4 * p.words.length])
    .sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) t.true(spans[i - 1][1] <= spans[i][0]);
});

test("wordsToBytes is little-endian", (t) => {
  t.deepEqual([...wordsToBytes([0xd65f03c0, 0x01020304])], [0xc0, 0x03, 0x5f, 0xd6, 0x04, 0x03, 0x02, 0x01]);
});
