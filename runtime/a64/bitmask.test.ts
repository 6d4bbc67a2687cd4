import test from "ava";
import { EncodeError } from "../errors.js";
import { Prng } from "../prng.js";
import { bitmaskImmField, decodeBitmaskImm, encodeBitmaskImm, isValidBitmaskImm } from "./bitmask.js";
import { disasmWord } from "./disasm.js";
import { aarch64InsnGenLogicalImm } from "./gen_dp.js";
import { A64_INSN } from "./insn_table.js";
import { initOracles, tryDisasm } from "./oracle_testutil.js";

test.before(initOracles);

/**
 * Every bitmask immediate of a `width`-bit register, straight from the
 * definition (an element of e bits holding s ones rotated right by r,
 * replicated), independently of bitmask.ts.
 */
function allPatterns(width: 32 | 64): Set<bigint> {
  const out = new Set<bigint>();
  for (let e = 2; e <= width; e *= 2) {
    for (let s = 1; s < e; s++) {
      for (let r = 0; r < e; r++) {
        let elem = 0n;
        for (let i = 0; i < s; i++) elem |= 1n << BigInt((i - r + e) % e);
        let v = 0n;
        for (let i = 0; i < width; i += e) v |= elem << BigInt(i);
        out.add(v);
      }
    }
  }
  return out;
}

const P64 = allPatterns(64);
const P32 = allPatterns(32);

/** The immediate capstone prints for `and x0, x1, #imm`. */
function capstoneImm(word: number): bigint {
  const text = disasmWord(word);
  const m = /#(0x[0-9a-f]+|\d+)$/.exec(text);
  if (m === null) throw new Error(`no immediate in "${text}"`);
  return BigInt(m[1]);
}

test("there are 5334 64-bit and 1302 32-bit bitmask immediates", (t) => {
  t.is(P64.size, 5334);
  t.is(P32.size, 1302);
});

for (const width of [64, 32] as const) {
  test(`every ${width}-bit pattern encodes, and capstone decodes the word back to the same value`, (t) => {
    const is64 = width === 64;
    const set = is64 ? P64 : P32;
    let checked = 0;
    for (const v of set) {
      t.true(isValidBitmaskImm(is64, v));
      const enc = encodeBitmaskImm(is64, v);
      const n = enc >> 12;
      const immr = (enc >> 6) & 63;
      const imms = enc & 63;
      if (!is64 && n !== 0) t.fail(`32-bit encoding with N=1 for ${v.toString(16)}`);
      if (decodeBitmaskImm(is64, n, immr, imms) !== v) t.fail(`decode(encode(${v.toString(16)}))`);
      const word = aarch64InsnGenLogicalImm(A64_INSN.andImm, is64, 0, 1, v);
      const got = capstoneImm(word);
      if (got !== v) t.fail(`capstone read ${got.toString(16)} for ${v.toString(16)} (${disasmWord(word)})`);
      checked++;
    }
    t.is(checked, set.size);
  });

  test(`decodeBitmaskImm agrees with capstone on all ${width === 64 ? 8192 : 4096} N:immr:imms values (${width}-bit)`, (t) => {
    const is64 = width === 64;
    const seen = new Set<bigint>();
    let reserved = 0;
    for (let n = 0; n < (is64 ? 2 : 1); n++) {
      for (let immr = 0; immr < 64; immr++) {
        for (let imms = 0; imms < 64; imms++) {
          const v = decodeBitmaskImm(is64, n, immr, imms);
          const word = ((is64 ? 0x92000000 : 0x12000000) | (n << 22) | (immr << 16) | (imms << 10) | (1 << 5)) >>> 0;
          if (v === undefined) {
            reserved++;
            // capstone has no `and` for a reserved encoding
            if (tryDisasm(word)?.startsWith("and ")) t.fail(`capstone decoded reserved ${n}:${immr}:${imms}`);
            continue;
          }
          seen.add(v);
          if (capstoneImm(word) !== v) t.fail(`${n}:${immr}:${imms}: ${v.toString(16)} vs ${disasmWord(word)}`);
          // the canonical encoding of the value is this one with immr reduced below the element size
          const enc = encodeBitmaskImm(is64, v);
          if (enc >> 12 !== n || (enc & 63) !== imms) t.fail(`canonical N/imms of ${v.toString(16)}`);
        }
      }
    }
    t.is(seen.size, is64 ? 5334 : 1302, "the decoder reaches every pattern and nothing else");
    t.deepEqual(
      [...seen].filter((v) => !(is64 ? P64 : P32).has(v)),
      [],
    );
    t.true(reserved > 0);
  });
}

test("values that are not bitmask immediates are refused (random and one-bit-off neighbours)", (t) => {
  const rng = new Prng(0xb17);
  let invalid = 0;
  for (let i = 0; i < 20000; i++) {
    const v = rng.nextU64();
    const expect = P64.has(v);
    if (isValidBitmaskImm(true, v) !== expect) t.fail(`64-bit ${v.toString(16)}`);
    const w = v & 0xffff_ffffn;
    if (isValidBitmaskImm(false, w) !== P32.has(w)) t.fail(`32-bit ${w.toString(16)}`);
    if (!expect) invalid++;
  }
  t.true(invalid > 19000, "random values are almost never patterns");
  // and the logical-immediate generator refuses them with a typed error
  for (let i = 0; i < 500; i++) {
    const v = rng.nextU64();
    if (P64.has(v)) continue;
    const err = t.throws(() => aarch64InsnGenLogicalImm(A64_INSN.orrImm, true, 0, 1, v), { instanceOf: EncodeError });
    if (err?.message !== `immediate has no bitmask encoding: 0x${v.toString(16)} (64-bit)`) t.fail(err?.message);
  }
  let neighbours = 0;
  for (const v of P64) {
    for (let b = 0n; b < 64n; b++) {
      const u = v ^ (1n << b);
      if (isValidBitmaskImm(true, u) !== P64.has(u)) t.fail(`64-bit neighbour ${u.toString(16)}`);
      neighbours++;
    }
  }
  for (const v of P32) {
    for (let b = 0n; b < 32n; b++) {
      const u = v ^ (1n << b);
      if (isValidBitmaskImm(false, u) !== P32.has(u)) t.fail(`32-bit neighbour ${u.toString(16)}`);
    }
  }
  t.is(neighbours, 5334 * 64);
});

test("0 and all-ones have no encoding; the error names the value and width", (t) => {
  for (const is64 of [true, false]) {
    t.false(isValidBitmaskImm(is64, 0));
    t.false(isValidBitmaskImm(is64, -1));
    t.false(isValidBitmaskImm(is64, is64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn));
  }
  t.true(isValidBitmaskImm(true, 0xffff_ffffn), "0x00000000ffffffff is a 64-bit pattern");
  t.throws(() => bitmaskImmField(true, 0x1234n), {
    instanceOf: EncodeError,
    message: "immediate has no bitmask encoding: 0x1234 (64-bit)",
  });
  t.throws(() => bitmaskImmField(false, -1), {
    instanceOf: EncodeError,
    message: "immediate has no bitmask encoding: 0xffffffff (32-bit)",
  });
});

test("numbers and bigints, negative values and widths", (t) => {
  // -16 as a 64-bit value is 0xfffffffffffffff0; as a 32-bit value 0xfffffff0.
  t.is(encodeBitmaskImm(true, -16), encodeBitmaskImm(true, 0xffff_ffff_ffff_fff0n));
  t.is(encodeBitmaskImm(false, -16), encodeBitmaskImm(false, 0xffff_fff0));
  t.is(encodeBitmaskImm(false, -16n), encodeBitmaskImm(false, 0xffff_fff0n));
  t.is(encodeBitmaskImm(true, -(2n ** 63n)), encodeBitmaskImm(true, 0x8000_0000_0000_0000n));
  t.is(encodeBitmaskImm(true, 2 ** 40), encodeBitmaskImm(true, 1n << 40n));
  t.is(encodeBitmaskImm(true, -(2 ** 40)), encodeBitmaskImm(true, BigInt.asUintN(64, -(1n << 40n))));
  for (const [is64, v, msg] of [
    [false, 0x1_0000_0000, "immediate out of range: 0x100000000 (32-bit: -2^31..2^32-1)"],
    [false, -0x8000_0001, "immediate out of range: -0x80000001 (32-bit: -2^31..2^32-1)"],
    [false, 1n << 32n, "immediate out of range: 0x100000000 (32-bit: -2^31..2^32-1)"],
    [true, 1n << 64n, "immediate out of range: 0x10000000000000000 (64-bit: -2^63..2^64-1)"],
    [true, 2 ** 60, "immediate out of range: 0x1000000000000000 (64-bit: -2^63..2^64-1)"],
    [true, 0.5, "immediate out of range: 0.5 (64-bit: -2^63..2^64-1)"],
  ] as const) {
    t.throws(() => encodeBitmaskImm(is64, v), { instanceOf: EncodeError, message: msg });
  }
  t.is(decodeBitmaskImm(false, 1, 0, 0), undefined, "N=1 is reserved for 32-bit");
  t.is(decodeBitmaskImm(true, 0, 0, 0x3f), undefined, "no element size");
  t.is(decodeBitmaskImm(true, 1, 0, 0x3f), undefined, "all-ones element");
  t.is(decodeBitmaskImm(true, 2, 0, 0), undefined, "out-of-range field");
});
