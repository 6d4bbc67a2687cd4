/**
 * Test support for the A64 encoders: checks words against the two
 * independent oracles, capstone (disassembly text) and keystone (assembly of
 * the same text), and against the table decoder. Used by runtime/a64/*.test.ts
 * only; call `await initOracles()` in `test.before`.
 *
 * A row says: this call must give this word, capstone must print this text
 * for it, keystone must assemble that text (or `asm`) back to the same word
 * (unless `asm` is false: keystone is an old LLVM without LSE, BTI, PAC), and
 * decodeA64 must name an entry whose mnemonic capstone agrees with.
 */
import type { ExecutionContext } from "ava";
import { assembleWords, initAssembler } from "./asm.js";
import { decodeA64 } from "./decode.js";
import { disasmWord, initDisassembler } from "./disasm.js";

/** Address the rows are disassembled and assembled at (branch targets print absolute). */
export const ORACLE_PC = 0x100000n;

/** Load capstone and keystone. */
export async function initOracles(): Promise<void> {
  await Promise.all([initAssembler(), initDisassembler()]);
}

/** One expectation. */
export interface OracleRow {
  /** What is being encoded, for failure messages. */
  label: string;
  /** The encoder's result (or a thunk, so a throw is reported against this row). */
  word: number | (() => number);
  /** The expected word. */
  hex: number;
  /** The text capstone must print. */
  text: string;
  /** Text for keystone when it differs from `text`; false when keystone cannot assemble it. */
  asm?: string | false;
  /** Address to disassemble/assemble at (default ORACLE_PC). */
  pc?: bigint;
}

/** Shorthand constructor of an {@link OracleRow}. */
export function row(
  label: string,
  word: number | (() => number),
  hex: number,
  text: string,
  opts: { asm?: string | false; pc?: bigint } = {},
): OracleRow {
  return { label, word, hex, text, ...opts };
}

/**
 * Capstone/LLVM immediate syntax: decimal up to 9, hex above, with the
 * sign in front ("#-0x10", "#-8").
 */
export function imm(v: number | bigint): string {
  const n = BigInt(v);
  const a = n < 0n ? -n : n;
  const body = a > 9n ? `0x${a.toString(16)}` : a.toString();
  return `#${n < 0n ? "-" : ""}${body}`;
}

/** Capstone aliases: printed mnemonic → table mnemonics it may stand for. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  mov: ["orr", "add", "movz", "movn"],
  cmp: ["subs"],
  cmn: ["adds"],
  tst: ["ands"],
  neg: ["sub"],
  negs: ["subs"],
  mvn: ["orn"],
  lsl: ["ubfm", "lslv"],
  lsr: ["ubfm", "lsrv"],
  asr: ["sbfm", "asrv"],
  ror: ["extr", "rorv"],
  uxtb: ["ubfm"],
  uxth: ["ubfm"],
  ubfx: ["ubfm"],
  ubfiz: ["ubfm"],
  sxtb: ["sbfm"],
  sxth: ["sbfm"],
  sxtw: ["sbfm"],
  sbfx: ["sbfm"],
  sbfiz: ["sbfm"],
  bfi: ["bfm"],
  bfxil: ["bfm"],
  bfc: ["bfm"],
  mul: ["madd"],
  mneg: ["msub"],
  cset: ["csinc"],
  cinc: ["csinc"],
  csetm: ["csinv"],
  cinv: ["csinv"],
  cneg: ["csneg"],
  hint: ["hint", "bti"],
  pssbb: ["dsb"],
  ssbb: ["dsb"],
};

/** The hints capstone 5 names (HINT #0..127 with CRm:op2 of a named hint). */
const HINT_NAMES = new Set(
  (
    "nop yield wfe wfi sev sevl xpaclri pacia1716 pacib1716 autia1716 autib1716 esb psb tsb csdb " +
    "paciaz paciasp pacibz pacibsp autiaz autiasp autibz autibsp"
  ).split(" "),
);

/**
 * Whether capstone's mnemonic `cs` is the table mnemonic `table` or one of
 * its aliases (`stadd` for ldadd with Rt = zr, `b.eq` for b.cond, `mov` for
 * orr/add/movz/movn, ...).
 */
export function mnemonicMatches(table: string, cs: string): boolean {
  if (table === cs) return true;
  if (table === "b.cond" && /^b\.[a-z]{2}$/.test(cs)) return true;
  if (table === "hint" && HINT_NAMES.has(cs)) return true;
  const st = /^st(add|clr|eor|set)(l?)$/.exec(cs);
  if (st !== null && table === `ld${st[1]}${st[2]}`) return true;
  return (ALIASES[cs] ?? []).includes(table);
}

/**
 * Capstone's text for `word`, or undefined when capstone has no instruction
 * for it. (capstone-wasm throws "Failed to disassemble" for an undecodable
 * word, which disasm.ts passes on instead of printing `.inst`.)
 */
export function tryDisasm(word: number, pc = 0n): string | undefined {
  try {
    const text = disasmWord(word, pc);
    // disassemble() lists words capstone cannot decode as ".inst 0x...".
    return text.startsWith(".inst ") ? undefined : text;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("Failed to disassemble")) return undefined;
    throw err;
  }
}

function hex(w: number): string {
  return `0x${(w >>> 0).toString(16).padStart(8, "0")}`;
}

/** Check every row against the encoder result, capstone, keystone and decodeA64. */
export function checkRows(t: ExecutionContext, rows: readonly OracleRow[]): void {
  for (const r of rows) {
    let word: number;
    try {
      word = typeof r.word === "function" ? r.word() : r.word;
    } catch (err) {
      t.fail(`${r.label}: threw ${(err as Error).message}`);
      continue;
    }
    const pc = r.pc ?? ORACLE_PC;
    t.is(hex(word), hex(r.hex), `${r.label}: word`);
    t.is(disasmWord(word, pc), r.text, `${r.label}: capstone text of ${hex(word)}`);
    if (r.asm !== false) {
      const text = r.asm ?? r.text;
      t.deepEqual(assembleWords(text, pc).map(hex), [hex(r.hex)], `${r.label}: keystone "${text}"`);
    }
    const entry = decodeA64(word);
    const mnemonic = disasmWord(word, pc).split(" ")[0];
    t.true(
      entry !== undefined && mnemonicMatches(entry.mnemonic, mnemonic),
      `${r.label}: decodeA64 gave ${entry?.name ?? "nothing"} for capstone "${mnemonic}"`,
    );
  }
}

/** Run `fn` and return the EncodeError (or other error) message; fails the test if it does not throw. */
export function errorOf(t: ExecutionContext, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  t.fail("expected an error");
  return "";
}
