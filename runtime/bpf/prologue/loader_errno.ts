/**
 * perf's BPF loader error codes and messages (tools/perf/util/bpf-loader.h
 * `enum bpf_loader_errno`, tools/perf/util/bpf-loader.c
 * `bpf_loader_strerror_table`), the errors the prologue generator and the
 * section-name ("config string") parser return.
 *
 *   __LIBBPF_ERRNO__START        4000   (libbpf.h)
 *   __BPF_LOADER_ERRNO__START    3900   = __LIBBPF_ERRNO__START - 100
 *     CONFIG        3900  Invalid config string
 *     GROUP         3901  Invalid group name
 *     EVENTNAME     3902  No event name found in config string
 *     INTERNAL      3903  BPF loader internal error
 *     COMPILE       3904  Error when compiling BPF scriptlet
 *     PROGCONF_TERM 3905  Invalid program config term in config string
 *     PROLOGUE      3906  Failed to generate prologue
 *     PROLOGUE2BIG  3907  Prologue too big for program
 *     PROLOGUEOOB   3908  Offset out of bound for prologue
 *
 * perf returns these negated, like errnos; {@link BpfLoaderError} carries the
 * positive value in `errno` (so `ret` is the negative one) and names it
 * BPF_LOADER_ERRNO__<NAME> in `errnoName`. Errors that perf reports with a
 * plain errno (-EINVAL for an unknown register, -ENOTSUP for a global) stay
 * ordinary BpfErrors.
 *
 * Simplification: the OBJCONF_* codes of the later `.maps` config syntax are
 * not modelled (nothing here parses object configs).
 */
import { EINVAL } from "../../errno.js";
import { BpfError, type BpfErrorOptions } from "../../errors.js";

/** libbpf's `__LIBBPF_ERRNO__START`. */
export const __LIBBPF_ERRNO__START = 4000;
/** `__BPF_LOADER_ERRNO__START` (= __LIBBPF_ERRNO__START - 100). */
export const __BPF_LOADER_ERRNO__START = __LIBBPF_ERRNO__START - 100;
/** Invalid config string (a section name perf cannot parse as a probe). */
export const BPF_LOADER_ERRNO__CONFIG = __BPF_LOADER_ERRNO__START;
/** Invalid group name (a group other than perf_bpf_probe). */
export const BPF_LOADER_ERRNO__GROUP = __BPF_LOADER_ERRNO__START + 1;
/** Event name is missing (the section name has no `event=`). */
export const BPF_LOADER_ERRNO__EVENTNAME = __BPF_LOADER_ERRNO__START + 2;
/** BPF loader internal error. */
export const BPF_LOADER_ERRNO__INTERNAL = __BPF_LOADER_ERRNO__START + 3;
/** Error when compiling a BPF scriptlet. */
export const BPF_LOADER_ERRNO__COMPILE = __BPF_LOADER_ERRNO__START + 4;
/** Invalid program config term (`key=value;` with an unknown key). */
export const BPF_LOADER_ERRNO__PROGCONF_TERM = __BPF_LOADER_ERRNO__START + 5;
/** Failed to generate the prologue (relocation of a jump failed). */
export const BPF_LOADER_ERRNO__PROLOGUE = __BPF_LOADER_ERRNO__START + 6;
/** The prologue does not fit in front of the program (BPF_MAXINSNS). */
export const BPF_LOADER_ERRNO__PROLOGUE2BIG = __BPF_LOADER_ERRNO__START + 7;
/** A dereference offset does not fit in s32. */
export const BPF_LOADER_ERRNO__PROLOGUEOOB = __BPF_LOADER_ERRNO__START + 8;
/** `__BPF_LOADER_ERRNO__END` (first value past the modelled codes). */
export const __BPF_LOADER_ERRNO__END = __BPF_LOADER_ERRNO__START + 9;

const NAMES = [
  "CONFIG",
  "GROUP",
  "EVENTNAME",
  "INTERNAL",
  "COMPILE",
  "PROGCONF_TERM",
  "PROLOGUE",
  "PROLOGUE2BIG",
  "PROLOGUEOOB",
];

const STRERROR = [
  "Invalid config string",
  "Invalid group name",
  "No event name found in config string",
  "BPF loader internal error",
  "Error when compiling BPF scriptlet",
  "Invalid program config term in config string",
  "Failed to generate prologue",
  "Prologue too big for program",
  "Offset out of bound for prologue",
];

function index(err: number): number | undefined {
  const e = Math.abs(err);
  return e >= __BPF_LOADER_ERRNO__START && e < __BPF_LOADER_ERRNO__END ? e - __BPF_LOADER_ERRNO__START : undefined;
}

/** True when `err` (either sign) is one of perf's BPF loader codes. */
export function isBpfLoaderErrno(err: number): boolean {
  return index(err) !== undefined;
}

/** "BPF_LOADER_ERRNO__PROLOGUE2BIG" for 3907 (either sign); undefined for other values. */
export function bpfLoaderErrnoName(err: number): string | undefined {
  const i = index(err);
  return i === undefined ? undefined : `BPF_LOADER_ERRNO__${NAMES[i]}`;
}

/** bpf_loader_strerror(): the table's text for a loader code (either sign), else undefined. */
export function bpfLoaderStrerror(err: number): string | undefined {
  const i = index(err);
  return i === undefined ? undefined : STRERROR[i];
}

/** "Invalid config string" → "invalid config string"; acronyms ("BPF loader ...") stay. */
function sentenceCase(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}

/**
 * An error with one of perf's BPF loader codes. The message is the
 * strerror text in sentence case followed by the details:
 * "offset out of bound for prologue: 2147483648".
 */
export class BpfLoaderError extends BpfError {
  constructor(code: number, detail: string, options: BpfErrorOptions = {}) {
    const text = bpfLoaderStrerror(code);
    if (text === undefined) throw new BpfError(EINVAL, `not a BPF loader errno: ${code}`);
    super(code, `${sentenceCase(text)}${detail ? `: ${detail}` : ""}`, options);
  }

  /** BPF_LOADER_ERRNO__<NAME>. */
  override get errnoName(): string {
    return bpfLoaderErrnoName(this.errno) ?? super.errnoName;
  }
}
