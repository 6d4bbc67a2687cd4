/**
 * A kprobe fetch argument as perf hands it to the prologue generator:
 * `struct probe_trace_arg` and its `probe_trace_arg_ref` chain
 * (tools/perf/util/probe-event.h), with perf's text form, the kprobe_events
 * fetch-argument syntax (probe-event.c synthesize_probe_trace_arg() and
 * parse_probe_trace_arg()).
 *
 *   text                            value   refs (applied first → last)   type
 *   flags=+16(%x0):u64              %x0     [+16]                          u64
 *   val=+8(+8(%x0)):s64             %x0     [+8, +8]                       s64
 *   x=%x1:s64                       %x1     []                             s64
 *   p=+u0(%x2):u32                  %x2     [+0 user]                      u32
 *   g=@kprobe_global                @kprobe_global []
 *
 *   offn(...off2(off1(reg)))  ≙  refs = [off1, off2, ..., offn]: the
 *   innermost offset is read first (perf's arg->ref is the head of the
 *   list), each level reads 8 bytes at (previous value + offset).
 *
 * Offsets are `long` in perf: bigint here, so an offset outside s32 can
 * reach the generator and be refused there (BPF_LOADER_ERRNO__PROLOGUEOOB).
 * `userAccess` is perf's `+u` (the `@user` attribute): the read uses
 * bpf_probe_read_user.
 */
import { EINVAL } from "../../errno.js";
import { BpfError } from "../../errors.js";

/** One dereference level: read at (value + offset). */
export interface ProbeTraceArgRef {
  /** Byte offset added before the read (perf: long). */
  readonly offset: bigint;
  /** `+u`: read user memory (bpf_probe_read_user). */
  readonly userAccess?: boolean;
}

/** One fetch argument: a base value (register, `@symbol`, ...) and its dereference chain. */
export interface ProbeTraceArg {
  /** Argument name (`name=` in kprobe_events); undefined when unnamed. */
  readonly name?: string;
  /** Base: a register ("%x0", "%sp"), a global ("@sym"), or another special value. */
  readonly value: string;
  /** Fetch type ("u64", "s32", "x16", "b5@3/32", ...); undefined: the default (64 bits). */
  readonly type?: string;
  /** Dereferences, innermost (first applied) first. */
  readonly refs: readonly ProbeTraceArgRef[];
}

/** "%+ld(" of perf's __synthesize_probe_trace_arg_ref, with "+u" for user access. */
function refText(ref: ProbeTraceArgRef): string {
  if (ref.userAccess) return `+u${ref.offset}(`;
  return `${ref.offset < 0n ? "" : "+"}${ref.offset}(`;
}

/** The kprobe_events text of `arg`: `[name=]offn(...off1(value)...)[:type]` (synthesize_probe_trace_arg). */
export function synthesizeProbeTraceArg(arg: ProbeTraceArg): string {
  let s = arg.name ? `${arg.name}=` : "";
  for (let i = arg.refs.length - 1; i >= 0; i--) s += refText(arg.refs[i]);
  s += arg.value;
  s += ")".repeat(arg.refs.length);
  if (arg.type) s += `:${arg.type}`;
  return s;
}

function parseError(text: string, why: string): BpfError {
  return new BpfError(EINVAL, `invalid probe trace argument: ${text}: ${why}`);
}

/**
 * Parse the kprobe_events form back (parse_probe_trace_arg): `[name=]`,
 * nested `+off(`/`-off(`/`+uoff(` dereferences (decimal or 0x hex), a base
 * value, the matching `)`s and an optional `:type`.
 */
export function parseProbeTraceArg(text: string): ProbeTraceArg {
  let rest = text;
  let name: string | undefined;
  const eq = rest.indexOf("=");
  if (eq >= 0) {
    name = rest.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw parseError(text, `bad name "${name}"`);
    rest = rest.slice(eq + 1);
  }
  let type: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    type = rest.slice(colon + 1);
    if (type === "") throw parseError(text, "empty type");
    rest = rest.slice(0, colon);
  }
  const outer: ProbeTraceArgRef[] = [];
  for (;;) {
    // "+8(", "-8(", "+u8(" and "+u-8(" (perf prints a user offset as "+u%ld").
    const m = /^(?:\+u(-?)|([+-]))(0[xX][0-9a-fA-F]+|\d+)\(/.exec(rest);
    if (!m) break;
    const user = m[2] === undefined;
    const negative = user ? m[1] === "-" : m[2] === "-";
    const magnitude = BigInt(m[3]);
    outer.push({ offset: negative ? -magnitude : magnitude, ...(user ? { userAccess: true } : {}) });
    rest = rest.slice(m[0].length);
  }
  const closing = ")".repeat(outer.length);
  if (!rest.endsWith(closing)) throw parseError(text, "unbalanced parentheses");
  const value = rest.slice(0, rest.length - closing.length);
  if (value === "" || /[()]/.test(value)) throw parseError(text, `bad base value "${value}"`);
  return {
    ...(name !== undefined ? { name } : {}),
    value,
    ...(type !== undefined ? { type } : {}),
    refs: outer.reverse(),
  };
}
