/**
 * The one typed error hierarchy of a64bpf.
 *
 *   BpfError (errno + cause)             every error a user can see
 *     ├─ MachineError                    runtime/machine: mapping, host access, CPU index
 *     │    └─ UnicornError               a uc_* call returned an uc_err
 *     ├─ EncodeError                     runtime/a64: a field out of range
 *     ├─ InsnError                       runtime/bpf: malformed BPF instruction (index + text)
 *     ├─ JitError                        runtime/jit
 *     ├─ VerifierError                   runtime/bpf/verifier (log + one-line summary)
 *     ├─ LoaderError                     runtime/bpf: ELF/BTF input
 *     ├─ KernelError                     runtime/kernel: simulated kernel services
 *     └─ NotSupportedError               -ENOTSUPP with the reason
 *
 * Messages are in sentence case, without a final period, details after a
 * colon ("invalid register: r11"). Each layer that re-throws adds a short
 * context prefix with {@link wrapError} ("attach fentry: ...").
 */
import { EINVAL, ENOTSUPP, errnoName } from "./errno.js";

/** Options common to every a64bpf error. */
export interface BpfErrorOptions {
  /** The underlying error, kept for `cause` chains. */
  cause?: unknown;
}

/** Root of the hierarchy: a message and a positive kernel errno. */
export class BpfError extends Error {
  /** Positive errno (EINVAL, EFAULT, ENOTSUPP, ...). */
  readonly errno: number;

  constructor(errno: number, message: string, options: BpfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.errno = Math.abs(errno);
  }

  /** The kernel-style negative return value, e.g. -524. */
  get ret(): number {
    return -this.errno;
  }

  /** The errno's kernel name, e.g. "ENOTSUPP". */
  get errnoName(): string {
    return errnoName(this.errno);
  }
}

/**
 * An error as a command line prints it: the message, and for a BpfError the
 * kernel's errno name and value ("unknown symbol: foo (ENOENT, -2)").
 */
export function formatUserError(err: unknown): string {
  if (err instanceof BpfError) return `${err.message} (${err.errnoName}, ${err.ret})`;
  return err instanceof Error ? err.message : String(err);
}

/** Errors of the emulated machine (mappings, host-side memory access, CPU selection). */
export class MachineError extends BpfError {}

/** A64 encoder errors: a field out of range or an unencodable operand. */
export class EncodeError extends BpfError {
  constructor(message: string, options: BpfErrorOptions = {}) {
    super(EINVAL, message, options);
  }
}

/** Errors of the simulated kernel's services. */
export class KernelError extends BpfError {}

/** -ENOTSUPP with a reason ("argument 9 of f: struct of 24 bytes"). */
export class NotSupportedError extends BpfError {
  constructor(message: string, options: BpfErrorOptions = {}) {
    super(ENOTSUPP, message, options);
  }
}

/**
 * Add `context: ` in front of the message of `err` and return it (the same
 * object: its class, errno and stack stay). Non-BpfError values become a
 * BpfError(EINVAL) with the context.
 */
export function wrapError(context: string, err: unknown): BpfError {
  if (err instanceof BpfError) {
    const old = err.message;
    err.message = `${context}: ${old}`;
    if (err.stack) err.stack = err.stack.replace(old, err.message);
    return err;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BpfError(EINVAL, `${context}: ${message}`, { cause: err });
}
