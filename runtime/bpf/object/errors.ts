/**
 * Loader errors with libbpf's context: every message reads like the line
 * libbpf prints ("libbpf: prog 'test1': failed to load: -22",
 * "libbpf: map 'counts': unknown field 'foo'"), carries a kernel errno, and
 * keeps the underlying error as its cause.
 */
import { errnoName } from "../../errno.js";
import { BpfError, type BpfErrorOptions } from "../../errors.js";

/** A failure of the object loader (open, relocate, load, attach). */
export class ObjectError extends BpfError {
  constructor(errno: number, message: string, options: BpfErrorOptions = {}) {
    super(errno, message.startsWith("libbpf: ") ? message : `libbpf: ${message}`, options);
  }
}

/** "-22" as libbpf prints errors in its messages (errstr is the name). */
export function errStr(errno: number): string {
  const name = errnoName(errno);
  return name === `E${Math.abs(errno)}` ? `-${Math.abs(errno)}` : `-${name}`;
}

/**
 * Re-throw `err` as an ObjectError with `context` in front (keeping its
 * errno): "libbpf: prog 'x': failed to load: <reason>".
 */
export function objectErrorFrom(context: string, err: unknown, fallbackErrno: number): ObjectError {
  if (err instanceof ObjectError) {
    const inner = err.message.replace(/^libbpf: /, "");
    return new ObjectError(err.errno, `${context}: ${inner}`, { cause: err });
  }
  if (err instanceof BpfError) return new ObjectError(err.errno, `${context}: ${err.message}`, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new ObjectError(fallbackErrno, `${context}: ${msg}`, { cause: err });
}
