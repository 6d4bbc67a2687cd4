/**
 * A64 assembler: a thin wrapper around keystone-wasm.
 *
 * `await initAssembler()` once (it loads a 3 MB wasm module), then assemble
 * synchronously. Keystone is an old LLVM: it knows no `bti`, `paciasp`/
 * `autiasp` or LSE mnemonics — write `hint #34`, `hint #25` or raw `.inst`
 * words for those.
 */
import { Const, Keystone, loadKeystone } from "keystone-wasm";
import { EINVAL } from "../errno.js";
import { BpfError } from "../errors.js";

let ks: Keystone | undefined;
let loading: Promise<void> | undefined;

/** Load keystone once; later calls return the same promise. */
export function initAssembler(): Promise<void> {
  if (!loading) {
    loading = loadKeystone().then(() => {
      ks = new Keystone(Const.KS_ARCH_ARM64, Const.KS_MODE_LITTLE_ENDIAN);
    });
  }
  return loading;
}

/** Assembly failed: the text and keystone's reason. */
export class AssembleError extends BpfError {
  constructor(text: string, reason: string) {
    super(EINVAL, `cannot assemble: ${reason}: ${text.trim().split("\n")[0]}`);
  }
}

/** Assemble `text` (lines separated by newlines or ';') placed at `address`. */
export function assemble(text: string, address = 0n): Uint8Array {
  if (!ks) throw new BpfError(EINVAL, "assembler not initialised: await initAssembler() first");
  try {
    return ks.asm(text, { address });
  } catch (err) {
    throw new AssembleError(
      text,
      err instanceof Error ? err.message.replace(/^Failed to assemble, error: /, "") : String(err),
    );
  }
}

/** Assemble to 32-bit instruction words (little-endian). */
export function assembleWords(text: string, address = 0n): number[] {
  const bytes = assemble(text, address);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i += 4) words.push(dv.getUint32(i, true));
  return words;
}
