import test from "ava";
import { BpfError } from "../errors.js";
import { FlatMemory } from "./interp_mem.js";

test("FlatMemory: little-endian loads and truncating stores of every width, in place", (t) => {
  const mem = new FlatMemory();
  const bytes = mem.map(0x1000n, new Uint8Array(16), { name: "buf" });
  mem.store(0x1000n, 8, 0x1122334455667788n);
  t.deepEqual([...bytes.subarray(0, 8)], [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
  mem.store(0x1008n, 4, 0xaabbccddn);
  mem.store(0x100cn, 2, 0xeeffn);
  mem.store(0x100en, 1, 0x99n);
  t.deepEqual([...bytes.subarray(8)], [0xdd, 0xcc, 0xbb, 0xaa, 0xff, 0xee, 0x99, 0x00]);
  t.is(mem.load(0x1001n, 8), 0xdd11223344556677n); // unaligned, across the two words
  t.is(mem.load(0x1008n, 4), 0xaabbccddn);
  t.is(mem.load(0x100cn, 2), 0xeeffn);
  t.is(mem.load(0x100en, 1), 0x99n);
  t.is(mem.load(0x1000n, 1), 0x88n);
});

test("FlatMemory: several regions, and accesses that leave one are EFAULT", (t) => {
  const mem = new FlatMemory();
  mem.map(0x1000n, new Uint8Array(8));
  mem.map(0x2000n, Uint8Array.of(1, 2, 3, 4));
  t.is(mem.load(0x2000n, 4), 0x04030201n);
  t.is(mem.load(0x1004n, 4), 0n);
  const crossing = t.throws(() => mem.load(0x1006n, 4), { instanceOf: BpfError });
  t.is(crossing?.message, "invalid read of 4 bytes at 0x1006");
  t.is(crossing?.errno, 14);
  t.throws(() => mem.store(0xfffn, 1, 0n), { message: "invalid write of 1 bytes at 0xfff" });
  t.throws(() => mem.load(0x2004n, 1), { message: "invalid read of 1 bytes at 0x2004" });
});

test("FlatMemory: overlapping regions are refused (EEXIST)", (t) => {
  const mem = new FlatMemory();
  mem.map(0x1000n, new Uint8Array(0x100), { name: "a" });
  const err = t.throws(() => mem.map(0x10f8n, new Uint8Array(16), { name: "b" }), { instanceOf: BpfError });
  t.is(err?.message, "overlapping region: b 0x10f8..0x1108 overlaps a");
  t.is(err?.errno, 17);
  t.notThrows(() => mem.map(0x1100n, new Uint8Array(16), { name: "c" }));
});
