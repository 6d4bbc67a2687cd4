import test from "ava";
import { Prng } from "../prng.js";
import { decodeA64 } from "./decode.js";
import { A64_INSN, A64_INSN_TABLE, a64InsnDesc, aarch64InsnIs } from "./insn_table.js";
import { initOracles, mnemonicMatches, tryDisasm } from "./oracle_testutil.js";

test.before(initOracles);

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x = (x & (x - 1)) >>> 0) n++;
  return n;
}

test("every entry is well formed and reachable by name", (t) => {
  const names = new Set<string>();
  for (const e of A64_INSN_TABLE) {
    t.is((e.value & ~e.mask) >>> 0, 0, `${e.name}: value has bits outside the mask`);
    t.true(popcount(e.mask) >= 6, `${e.name}: mask too loose`);
    t.false(names.has(e.name), `duplicate name ${e.name}`);
    names.add(e.name);
    t.is(A64_INSN[e.name], e);
    t.is(a64InsnDesc(e.name), e);
    t.true(aarch64InsnIs(e.value, e));
    t.regex(e.page, /^[A-Z]/, `${e.name}: page title`);
    t.true(e.cls.length > 0);
  }
  t.is(A64_INSN_TABLE.length, 150);
  t.throws(() => a64InsnDesc("fmadd"), { message: "unknown A64 table entry: fmadd" });
});

test("entries that can match the same word are nested, so decodeA64 picks the more specific one", (t) => {
  const overlaps: string[] = [];
  for (const a of A64_INSN_TABLE) {
    for (const b of A64_INSN_TABLE) {
      if (a === b) continue;
      const common = (a.mask & b.mask) >>> 0;
      if (((a.value ^ b.value) & common) !== 0) continue; // disjoint
      // a word matching both exists: one mask must contain the other
      const aInB = (a.mask & b.mask) >>> 0 === a.mask >>> 0;
      const bInA = (a.mask & b.mask) >>> 0 === b.mask >>> 0;
      t.true(aInB !== bInA, `${a.name} and ${b.name} overlap without nesting`);
      if (bInA) {
        overlaps.push(`${b.name}>${a.name}`);
        const w = (a.value | b.value) >>> 0;
        t.is(decodeA64(w), a, `${a.name} is more specific than ${b.name}`);
      }
    }
  }
  // `general>specific`: only the named hints refine another entry
  t.deepEqual(overlaps.sort(), ["hint>autiasp", "hint>bti", "hint>nop", "hint>paciasp"]);
});

test("capstone agrees with every entry on words with random operand bits", (t) => {
  const rng = new Prng(0xa64);
  for (const e of A64_INSN_TABLE) {
    let decoded = 0;
    for (let i = 0; i < 48; i++) {
      const w = (e.value | (rng.nextU32() & ~e.mask)) >>> 0;
      const d = decodeA64(w);
      if (d === undefined) {
        t.fail(`${e.name}: decodeA64 found nothing for 0x${w.toString(16)}`);
        continue;
      }
      t.true(d === e || (d.mask & e.mask) >>> 0 === e.mask >>> 0, `${e.name}: decoded as unrelated ${d.name}`);
      const text = tryDisasm(w);
      if (text === undefined) continue; // an unallocated combination of the operand bits
      decoded++;
      const mnemonic = text.split(" ")[0];
      if (!mnemonicMatches(d.mnemonic, mnemonic))
        t.fail(`${e.name}: 0x${w.toString(16)} is "${text}" for capstone, ${d.name} for us`);
    }
    t.true(decoded > 0, `${e.name}: capstone decoded none of the samples`);
  }
});
