/**
 * JitError: the BpfError subclass of runtime/jit (see runtime/errors.ts).
 * Like the verifier log and the kernel's "bpf_jit: [%2d] imm=... out of
 * range" lines, it names the instruction that could not be JITed:
 *
 *   <reason>: insn <index>: (<code>) <text>
 *   branch out of range: 300000 instructions (b.cond reaches ±262143): insn 7: (15) if r1 == 0x0 goto pc+30000
 *
 * Errors about the whole program ("out of text memory") carry no index.
 */
import { EINVAL } from "../errno.js";
import { BpfError, type BpfErrorOptions } from "../errors.js";
import { formatInsnWithCode } from "../bpf/format.js";
import type { Insn } from "../bpf/insn.js";
import { InsnError } from "../bpf/insn_error.js";

/** Where a JitError happened. */
export interface JitErrorOptions extends BpfErrorOptions {
  /** Kernel errno (default EINVAL). */
  errno?: number;
  /** The whole program and the failing slot (index into `insns`). */
  at?: { insns: readonly Insn[]; index: number };
}

/** A program the JIT cannot compile (or a JIT-internal consistency failure). */
export class JitError extends BpfError {
  /** Slot index of the instruction, or undefined for a whole-program error. */
  readonly index: number | undefined;
  /** `(code) text` of the instruction, or undefined. */
  readonly insnText: string | undefined;
  /** The reason alone, without the location. */
  readonly reason: string;

  constructor(reason: string, options: JitErrorOptions = {}) {
    const at = options.at;
    const text = at && at.index >= 0 && at.index < at.insns.length ? insnText(at.insns, at.index) : undefined;
    super(options.errno ?? EINVAL, text !== undefined ? `${reason}: insn ${at!.index}: ${text}` : reason, options);
    this.index = text !== undefined ? at!.index : undefined;
    this.insnText = text;
    this.reason = reason;
  }

  /** The same facts as a validation InsnError, as a JitError (cause kept). */
  static fromInsnError(err: InsnError, insns: readonly Insn[]): JitError {
    return new JitError(err.reason, {
      errno: err.errno,
      cause: err,
      at: err.index === undefined ? undefined : { insns, index: err.index },
    });
  }
}

function insnText(insns: readonly Insn[], index: number): string {
  try {
    return formatInsnWithCode(insns, index);
  } catch {
    return `(${String(insns[index]?.code)}) <unprintable>`;
  }
}
