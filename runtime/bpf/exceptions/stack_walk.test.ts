import test from "ava";
import { archBpfStackWalk, bpfStackFrames } from "./stack_walk.js";

/** A stack of frame records in a Map: fp → [saved fp, saved lr]. */
function stack(records: readonly [bigint, bigint, bigint][]): (a: bigint) => bigint | undefined {
  const mem = new Map<bigint, bigint>();
  for (const [fp, savedFp, savedLr] of records) {
    mem.set(fp, savedFp);
    mem.set(fp + 8n, savedLr);
  }
  return (a) => mem.get(a);
}

// thrower (fp 0x1000) ← caller (0x1040) ← boundary (0x1100) ← kernel (0x1200, end of chain)
const READ = stack([
  [0x1000n, 0x1040n, 0xa040n],
  [0x1040n, 0x1100n, 0xb100n],
  [0x1100n, 0x1200n, 0xc200n],
  [0x1200n, 0n, 0xd000n],
]);

test("the walk starts at bpf_throw's caller (lr, fp) and follows the frame records outwards", (t) => {
  t.deepEqual(bpfStackFrames({ lr: 0xa000n, fp: 0x1000n }, READ), [
    { pc: 0xa000n, fp: 0x1000n },
    { pc: 0xa040n, fp: 0x1040n },
    { pc: 0xb100n, fp: 0x1100n },
    { pc: 0xc200n, fp: 0x1200n },
    { pc: 0xd000n, fp: 0n },
  ]);
});

test("arch_bpf_stack_walk hands (pc, sp = 0, fp) to consume until it returns false", (t) => {
  const seen: [bigint, bigint, bigint][] = [];
  const n = archBpfStackWalk(
    (pc, sp, fp) => {
      seen.push([pc, sp, fp]);
      return pc !== 0xb100n;
    },
    { lr: 0xa000n, fp: 0x1000n, read64: READ },
  );
  t.is(n, 3);
  t.deepEqual(seen, [
    [0xa000n, 0n, 0x1000n],
    [0xa040n, 0n, 0x1040n],
    [0xb100n, 0n, 0x1100n],
  ]);
});

test("the walk ends where the chain ends: unreadable, misaligned or not moving up the stack", (t) => {
  const frames = (read: (a: bigint) => bigint | undefined) =>
    bpfStackFrames({ lr: 1n, fp: 0x1000n }, read).map((f) => f.pc);
  t.deepEqual(
    frames(() => undefined),
    [1n],
    "unreadable record: only the caller itself",
  );
  t.deepEqual(frames(stack([[0x1000n, 0x1008n, 2n]])), [1n, 2n], "a misaligned saved fp is not followed");
  t.deepEqual(frames(stack([[0x1000n, 0x0ff0n, 2n]])), [1n, 2n], "a saved fp below the record is not followed");
});
