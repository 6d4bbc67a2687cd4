/**
 * The helper functions a bpf_conformance plugin provides, with the ids and
 * semantics of ubpf's plugin (ubpf_plugin/test_helpers.h), which the suite
 * was written against:
 *
 *   id  name          r0
 *   0   gather_bytes  (a&0xff)<<32 | (b&0xff)<<24 | (c&0xff)<<16 | (d&0xff)<<8 | (e&0xff)
 *   1   memfrob       0; xors each of the b bytes at a with 42
 *   2   no_op         0
 *   3   sqrti         floor(sqrt(a)) (as a double, like the C version)
 *   4   strcmp_ext    strcmp(a, b) of the NUL-terminated strings (the difference of the first differing bytes)
 *   5   unwind        a; when a is 0 the whole program stops with r0 = 0
 *                    (ubpf_set_unwind_function_index(vm, 5))
 */
import type { BpfMemory } from "../../runtime/bpf/interp_mem.js";
import type { TestHelper } from "../../runtime/jit/diff.js";

const M64 = 0xffff_ffff_ffff_ffffn;

function strcmp(mem: BpfMemory, a: bigint, b: bigint): bigint {
  for (let i = 0n; i < 1n << 20n; i++) {
    const x = Number(mem.load(a + i, 1));
    const y = Number(mem.load(b + i, 1));
    if (x !== y || x === 0) return BigInt.asUintN(64, BigInt(x - y));
  }
  return 0n;
}

/** The plugin's helpers by id. */
export const CONFORMANCE_HELPERS: Readonly<Record<number, TestHelper>> = {
  0: {
    name: "gather_bytes",
    fn: ([a, b, c, d, e]) =>
      ((a & 0xffn) << 32n) | ((b & 0xffn) << 24n) | ((c & 0xffn) << 16n) | ((d & 0xffn) << 8n) | (e & 0xffn),
  },
  1: {
    name: "memfrob",
    fn: ([a, b], mem) => {
      for (let i = 0n; i < b; i++) mem.store(a + i, 1, mem.load(a + i, 1) ^ 42n);
      return 0n;
    },
  },
  2: { name: "no_op", fn: () => 0n },
  3: { name: "sqrti", fn: ([a]) => BigInt(Math.floor(Math.sqrt(Number(a)))) & M64 },
  4: { name: "strcmp_ext", fn: ([a, b], mem) => strcmp(mem, a, b) },
  5: { name: "unwind", fn: ([a]) => a, unwind: (ret) => ret === 0n },
};
