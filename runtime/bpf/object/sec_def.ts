/**
 * libbpf's ELF section conventions (tools/lib/bpf/libbpf.c section_defs[],
 * sec_def_matches(), the `?` prefix): a program's SEC() name decides its
 * program type, expected attach type, whether it is sleepable and what it
 * attaches to.
 *
 *   "tc"           exact name
 *   "fentry+"      "fentry" alone or "fentry/<target>"
 *   "kprobe/"      needs "kprobe/<extra>"
 *   "?fentry/f"    like "fentry/f", but not autoloaded
 *
 * Simplification: only the definitions this runtime can load are listed
 * (tracing, tc, kprobe, raw_tp, tp_btf, socket filters, xdp, syscall); an
 * unknown section name gives a program without a type, which load refuses
 * with libbpf's message.
 */
import {
  BPF_MODIFY_RETURN,
  BPF_PROG_TYPE_EXT,
  BPF_PROG_TYPE_KPROBE,
  BPF_PROG_TYPE_RAW_TRACEPOINT,
  BPF_PROG_TYPE_SCHED_ACT,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_SOCKET_FILTER,
  BPF_PROG_TYPE_SYSCALL,
  BPF_PROG_TYPE_TRACEPOINT,
  BPF_PROG_TYPE_TRACING,
  BPF_PROG_TYPE_XDP,
  BPF_TRACE_FENTRY,
  BPF_TRACE_FEXIT,
  BPF_TRACE_RAW_TP,
} from "./uapi.js";

/** One entry of section_defs[]. */
export interface SecDef {
  /** Pattern: exact, `+` (exact or `/extra`) or `/` (needs `/extra`). */
  readonly sec: string;
  readonly progType: number;
  readonly expectedAttachType: number;
  /** SEC_ATTACH_BTF: the part after '/' names a BTF function to attach to. */
  readonly attachBtf: boolean;
  /** SEC_SLEEPABLE. */
  readonly sleepable: boolean;
}

function def(
  sec: string,
  progType: number,
  expectedAttachType = 0,
  flags: { btf?: boolean; sleepable?: boolean } = {},
): SecDef {
  return { sec, progType, expectedAttachType, attachBtf: flags.btf ?? false, sleepable: flags.sleepable ?? false };
}

/** The section definitions, in libbpf's order (first match wins). */
export const SECTION_DEFS: readonly SecDef[] = [
  def("socket", BPF_PROG_TYPE_SOCKET_FILTER),
  def("kprobe+", BPF_PROG_TYPE_KPROBE),
  def("kretprobe+", BPF_PROG_TYPE_KPROBE),
  def("tc", BPF_PROG_TYPE_SCHED_CLS),
  def("classifier", BPF_PROG_TYPE_SCHED_CLS),
  def("action", BPF_PROG_TYPE_SCHED_ACT),
  def("tracepoint+", BPF_PROG_TYPE_TRACEPOINT),
  def("tp+", BPF_PROG_TYPE_TRACEPOINT),
  def("raw_tracepoint+", BPF_PROG_TYPE_RAW_TRACEPOINT),
  def("raw_tp+", BPF_PROG_TYPE_RAW_TRACEPOINT),
  def("tp_btf+", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, { btf: true }),
  def("fentry+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, { btf: true }),
  def("fmod_ret+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, { btf: true }),
  def("fexit+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, { btf: true }),
  def("fentry.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, { btf: true, sleepable: true }),
  def("fmod_ret.s+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, { btf: true, sleepable: true }),
  def("fexit.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, { btf: true, sleepable: true }),
  def("freplace+", BPF_PROG_TYPE_EXT, 0, { btf: true }),
  def("syscall", BPF_PROG_TYPE_SYSCALL, 0, { sleepable: true }),
  def("xdp", BPF_PROG_TYPE_XDP),
];

/** sec_def_matches(). */
export function secDefMatches(d: SecDef, secName: string): boolean {
  const pat = d.sec;
  if (pat.endsWith("/")) return secName.startsWith(pat);
  if (pat.endsWith("+")) {
    const p = pat.slice(0, -1);
    if (!secName.startsWith(p)) return false;
    return secName.length === p.length || secName[p.length] === "/";
  }
  return secName === pat;
}

/** What a program's section name says about it. */
export interface ProgSection {
  /** The section name without a leading `?`. */
  readonly secName: string;
  /** False for `?`-prefixed sections. */
  readonly autoload: boolean;
  /** The matching definition, or undefined for an unknown name. */
  readonly def: SecDef | undefined;
  /** For SEC_ATTACH_BTF sections: the text after '/', or undefined when absent. */
  readonly attachTo: string | undefined;
}

/** Classify a program section name (libbpf find_sec_def + the `?` rule). */
export function parseSecName(raw: string): ProgSection {
  const autoload = !raw.startsWith("?");
  const secName = autoload ? raw : raw.slice(1);
  const d = SECTION_DEFS.find((x) => secDefMatches(x, secName));
  let attachTo: string | undefined;
  if (d?.attachBtf) {
    const slash = secName.indexOf("/");
    if (slash >= 0 && slash + 1 < secName.length) attachTo = secName.slice(slash + 1);
  }
  return { secName, autoload, def: d, attachTo };
}
