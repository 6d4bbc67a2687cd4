/**
 * Test support: run encoder output on the real emulated CPU (Unicorn, MAX
 * model: LSE and PAC decode), the semantic oracle of the A64 encoder tests.
 * Used by runtime/a64/*.test.ts only.
 *
 *   TEXT  0x4000_0000  16 pages RWX   the words under test, then `ret`
 *   DATA  0x4100_0000  16 pages RW    scratch memory for loads/stores/atomics
 *   STACK 0x4200_0000   4 pages RW    sp starts at the top
 */
import { Machine } from "../machine/machine.js";
import { PAGE_SIZE, PROT_RW, PROT_RWX } from "../machine/memory.js";
import type { StopReason } from "../machine/cpu.js";

/** Base of the text region. */
export const EXEC_TEXT = 0x4000_0000n;
/** Base of the scratch data region. */
export const EXEC_DATA = 0x4100_0000n;
/** Size of the data region in bytes. */
export const EXEC_DATA_SIZE = 16 * PAGE_SIZE;
const STACK = 0x4200_0000n;
const TEXT_SIZE = 16 * PAGE_SIZE;

/** A one-CPU machine with the three regions above; close it when done. */
export function execMachine(): Machine {
  const m = new Machine({ cpus: 1 });
  m.map({ name: "text", base: EXEC_TEXT, size: TEXT_SIZE, perms: PROT_RWX });
  m.map({ name: "data", base: EXEC_DATA, size: EXEC_DATA_SIZE, perms: PROT_RW });
  m.map({ name: "stack", base: STACK, size: 4 * PAGE_SIZE, perms: PROT_RW });
  return m;
}

/** `ret` */
const RET = 0xd65f03c0;

/**
 * Load `words` followed by `ret` at EXEC_TEXT and call it on CPU 0 with the
 * given x registers (others keep their values), lr = the sentinel.
 */
export function execWords(
  m: Machine,
  words: readonly number[],
  regs: Readonly<Record<number, bigint>> = {},
): StopReason {
  if ((words.length + 1) * 4 > TEXT_SIZE) throw new RangeError(`program too long: ${words.length} words`);
  const code = new Uint32Array([...words, RET]);
  const bytes = new Uint8Array(code.buffer);
  m.writeText(EXEC_TEXT, bytes, { sync: false });
  m.invalidateText(EXEC_TEXT, EXEC_TEXT + BigInt(bytes.length));
  const c = m.cpu(0);
  for (const [n, v] of Object.entries(regs)) c.setX(Number(n), v);
  c.lr = m.sentinel;
  c.sp = STACK + BigInt(4 * PAGE_SIZE);
  return c.run({ pc: EXEC_TEXT, quantum: 10_000_000 });
}
