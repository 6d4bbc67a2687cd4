/**
 * A64 disassembler: a thin wrapper around capstone-wasm (Capstone 5, which
 * knows LSE, BTI and PAC).
 *
 * `await initDisassembler()` once, then disassemble synchronously.
 */
import { Capstone, Const, loadCapstone } from "capstone-wasm";
import { EINVAL } from "../errno.js";
import { BpfError } from "../errors.js";

let cs: Capstone | undefined;
let loading: Promise<void> | undefined;

/** Load capstone once; later calls return the same promise. */
export function initDisassembler(): Promise<void> {
  if (!loading) {
    loading = loadCapstone().then(() => {
      cs = new Capstone(Const.CS_ARCH_ARM64, Const.CS_MODE_ARM);
    });
  }
  return loading;
}

/** One disassembled instruction. */
export interface DisasmInsn {
  address: bigint;
  word: number;
  mnemonic: string;
  operands: string;
  /** "mnemonic operands", trimmed. */
  text: string;
}

function handle(): Capstone {
  if (!cs) throw new BpfError(EINVAL, "disassembler not initialised: await initDisassembler() first");
  return cs;
}

/**
 * Disassemble every word of `words` placed at `address`. A word capstone
 * cannot decode becomes `.inst 0x...` instead of stopping the listing.
 */
export function disassemble(words: ArrayLike<number>, address = 0n): DisasmInsn[] {
  const c = handle();
  const out: DisasmInsn[] = [];
  const bytes = new Uint8Array(4);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] >>> 0;
    const addr = address + BigInt(i * 4);
    dv.setUint32(0, word, true);
    let insn: ReturnType<Capstone["disasm"]>[number] | undefined;
    try {
      insn = c.disasm(bytes, { address: addr, count: 1 })[0];
    } catch {
      // capstone-wasm throws on a word it cannot decode: list it as .inst.
      insn = undefined;
    }
    const mnemonic = insn ? insn.mnemonic : ".inst";
    const operands = insn ? insn.opStr : `0x${word.toString(16).padStart(8, "0")}`;
    out.push({ address: addr, word, mnemonic, operands, text: `${mnemonic} ${operands}`.trim() });
  }
  return out;
}

/** Text of one instruction word, e.g. "stp x29, x30, [sp, #-0x10]!". */
export function disasmWord(word: number, address = 0n): string {
  return disassemble([word], address)[0].text;
}
