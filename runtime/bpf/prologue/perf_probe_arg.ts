/**
 * perf probe arguments in C syntax (tools/perf/util/probe-event.c
 * parse_perf_probe_arg(), `struct perf_probe_arg` and
 * `struct perf_probe_arg_field`):
 *
 *   [NAME=]VAR[FIELD...][:TYPE][@user]
 *   VAR    a parameter or local variable (C identifier), or a raw value
 *          that is not a C identifier: %REG, @SYMBOL, $retval, +8(%x0) ...
 *   FIELD  ->member | .member | [index]
 *
 *   "page->flags"          var page, fields [->flags]          name "flags"
 *   "v=obj->inner->val:u32" var obj, fields [->inner, ->val]   name "v", type u32
 *   "obj->arr[2]"          var obj, fields [->arr, [2]]         name "arr"
 *   "%x1"                  raw var "%x1", no fields             name undefined
 *
 * Order of the checks is perf's: the name is cut at the first `=`, then
 * `@user` (only when it is the whole tail after the first `@`, and not at
 * the start, so `@sym` stays a symbol), then the type at the first `:`, then
 * the fields. A var that is not a C identifier is kept whole (fields and
 * all) as a raw value. An argument without a name is named after its last
 * non-index field (perf's "goodname"); a bare variable or raw value stays
 * unnamed (perf then names the trace argument after its text).
 *
 * Errors are BpfError(EINVAL) with perf's semantic-error text.
 */
import { EINVAL } from "../../errno.js";
import { BpfError } from "../../errors.js";

/** One field access of a C-syntax argument. */
export interface PerfProbeArgField {
  /** Member name, or "[n]" for an index. */
  readonly name: string;
  /** `->` and `[n]` (true) or `.` (false). */
  readonly ref: boolean;
  /** The index of a "[n]" field. */
  readonly index?: number;
}

/** A parsed perf probe argument (struct perf_probe_arg). */
export interface PerfProbeArg {
  /** The argument's name (given with NAME=, or derived); undefined for raw values. */
  readonly name?: string;
  /** Variable name, or the raw value when it is not a C identifier. */
  readonly var: string;
  /** Field accesses, in order. */
  readonly fields: readonly PerfProbeArgField[];
  /** Type cast (`:u32`, `:string`, ...). */
  readonly type?: string;
  /** `@user`: the fetched memory is user memory. */
  readonly userAccess: boolean;
}

/** is_c_varname(): starts like a C identifier. */
export function isCVarname(name: string): boolean {
  return /^[A-Za-z_]/.test(name);
}

function semanticError(message: string): BpfError {
  return new BpfError(EINVAL, `semantic error: ${message}`);
}

/** C strtol(str, &end, 0) for an index: optional sign, 0x hex, 0 octal or decimal; [value, rest]. */
function strtol0(s: string): [number, string] {
  const m = /^[ \t]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(s);
  if (!m) return [0, s];
  const digits = m[2];
  let v: number;
  if (/^0[xX]/.test(digits)) v = Number.parseInt(digits.slice(2), 16);
  else if (digits.startsWith("0")) v = digits.length > 1 ? Number.parseInt(digits.slice(1), 8) : 0;
  else v = Number.parseInt(digits, 10);
  return [m[1] === "-" ? -v : v, s.slice(m[0].length)];
}

/** First index of any of `chars` in `s` from `from` (strpbrk), or -1. */
function strpbrk(s: string, chars: string, from = 0): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i])) return i;
  return -1;
}

/** parse_perf_probe_arg(). */
export function parsePerfProbeArg(text: string): PerfProbeArg {
  let str = text;
  let name: string | undefined;
  const eq = str.indexOf("=");
  if (eq >= 0) {
    name = str.slice(0, eq);
    str = str.slice(eq + 1);
  }
  let userAccess = false;
  const at = str.indexOf("@");
  if (at > 0 && str.slice(at + 1) === "user") {
    str = str.slice(0, at);
    userAccess = true;
  }
  let type: string | undefined;
  const colon = str.indexOf(":");
  if (colon >= 0) {
    type = str.slice(colon + 1);
    str = str.slice(0, colon);
  }
  if (str === "") throw semanticError(`empty argument: ${text}`);
  const common = { ...(type !== undefined ? { type } : {}), userAccess };
  let tmp = strpbrk(str, "-.[");
  if (!isCVarname(str) || tmp < 0) {
    return { ...(name !== undefined ? { name } : {}), var: str, fields: [], ...common };
  }
  const varName = str.slice(0, tmp);
  let goodname = varName;
  const fields: PerfProbeArgField[] = [];
  // `tmp` is the separator that starts the current field.
  for (;;) {
    let field: PerfProbeArgField;
    let start: number;
    if (str[tmp] === "[") {
      const [index, after] = strtol0(str.slice(tmp + 1));
      const close = str.length - after.length;
      if (str[close] !== "]" || close === tmp + 1) throw semanticError("array index must be a number");
      field = { name: str.slice(tmp, close + 1), ref: true, index };
      start = close + 1;
      fields.push(field);
      if (start >= str.length) break;
      tmp = start;
      continue;
    }
    let ref: boolean;
    if (str[tmp] === ".") {
      start = tmp + 1;
      ref = false;
    } else if (str[tmp + 1] === ">") {
      start = tmp + 2;
      ref = true;
    } else {
      throw semanticError(`argument parse error: ${str.slice(tmp)}`);
    }
    const next = strpbrk(str, "-.[", start);
    const fname = str.slice(start, next < 0 ? str.length : next);
    if (fname === "") throw semanticError(`argument parse error: ${str.slice(tmp)}`);
    fields.push({ name: fname, ref });
    goodname = fname;
    if (next < 0) break;
    tmp = next;
  }
  return { name: name ?? goodname, var: varName, fields, ...common };
}

/** The argument back in perf's syntax (synthesize_perf_probe_arg). */
export function synthesizePerfProbeArg(arg: PerfProbeArg): string {
  let s = arg.var;
  for (const f of arg.fields) {
    if (f.name.startsWith("[")) s += f.name;
    else s += f.ref ? `->${f.name}` : `.${f.name}`;
  }
  if (arg.type !== undefined) s += `:${arg.type}`;
  return s;
}
