/**
 * InsnError: a malformed or failing BPF instruction, with its index and its
 * formatted text (the BpfError subclass named in runtime/errors.ts).
 *
 *   <reason>: insn <index>: (<code>) <text>
 *   unknown opcode 8f: insn 3: (8f) BUG_alu64_8f
 *   jump out of range: target 12: insn 4: (05) goto pc+7
 *
 * Errors about the whole program (too large, empty) carry no index and are
 * just `<reason>`. The kernel's verifier prints the same facts in its log
 * ("jump out of range from insn 4 to 12"); here they are one line in the
 * project's message style.
 */
import { EINVAL } from "../errno.js";
import { BpfError, type BpfErrorOptions } from "../errors.js";
import { formatInsnWithCode, type FormatOptions } from "./format.js";
import type { Insn } from "./insn.js";

/** Where an InsnError happened. */
export interface InsnErrorOptions extends BpfErrorOptions {
  /** Kernel errno (default EINVAL). */
  errno?: number;
  /** The program and the failing slot; omitted for whole-program errors. */
  at?: { insns: readonly Insn[]; index: number; format?: FormatOptions };
}

/** A malformed or failing BPF instruction (EINVAL unless stated), naming its index. */
export class InsnError extends BpfError {
  /** Slot index of the instruction, or undefined for a whole-program error. */
  readonly index: number | undefined;
  /** `(code) text` of the instruction, or undefined for a whole-program error. */
  readonly insnText: string | undefined;
  /** The reason alone, without the location suffix. */
  readonly reason: string;

  constructor(reason: string, options: InsnErrorOptions = {}) {
    const at = options.at;
    const text = at && at.index >= 0 && at.index < at.insns.length ? insnTextSafe(at.insns, at.index, at.format) : "";
    super(options.errno ?? EINVAL, at ? `${reason}: insn ${at.index}: ${text}` : reason, options);
    this.index = at?.index;
    this.insnText = at ? text : undefined;
    this.reason = reason;
  }
}

function insnTextSafe(insns: readonly Insn[], index: number, format: FormatOptions | undefined): string {
  try {
    return formatInsnWithCode(insns, index, format);
  } catch {
    const i = insns[index];
    return `(${String(i?.code)}) <unprintable>`;
  }
}
