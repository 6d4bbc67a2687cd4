/**
 * perf's BPF program config strings: the section name of a perf BPF
 * program is a probe definition (tools/perf/util/bpf-loader.c
 * config_bpf_program(), parse_prog_config(), parse_prog_config_kvpair(),
 * do_prog_config(); tools/perf/util/probe-event.c parse_perf_probe_command()
 * and parse_perf_probe_point()).
 *
 *   SEC("lock_page=__lock_page page->flags")
 *   SEC("module=kprobe_testmod;kprobe_target_fetch=kprobe_target obj->inner->val x")
 *
 *   [key=value;]...  [[GROUP:]EVENT=]FUNC[@SRC][+OFFS|%return|:LINE|;PATTERN]  [ARG ...]
 *
 *   keys (bpf_prog_config_terms): exec=<path> (uprobe target), module=<name>
 *   (kprobe module), inlines=[yes|no], force=[yes|no]; another key is
 *   BPF_LOADER_ERRNO__PROGCONF_TERM, a segment without `=` is skipped with
 *   a warning. Any error of the probe command is BPF_LOADER_ERRNO__CONFIG
 *   (with perf's semantic error as the detail); a group other than
 *   perf_bpf_probe is BPF_LOADER_ERRNO__GROUP; no event name is
 *   BPF_LOADER_ERRNO__EVENTNAME.
 *
 * The arguments are only parsed here (perf_probe_arg.ts); resolving them
 * against the function is convert.ts. What the simulated kernel can probe
 * (function entries only) is checked by the kprobe layer, not here.
 */
import { EINVAL } from "../../errno.js";
import { BpfError } from "../../errors.js";
import {
  BPF_LOADER_ERRNO__CONFIG,
  BPF_LOADER_ERRNO__EVENTNAME,
  BPF_LOADER_ERRNO__GROUP,
  BPF_LOADER_ERRNO__PROGCONF_TERM,
  BpfLoaderError,
} from "./loader_errno.js";
import { isCVarname, parsePerfProbeArg, type PerfProbeArg } from "./perf_probe_arg.js";

/** PERF_BPF_PROBE_GROUP: the only group a perf BPF probe may name. */
export const PERF_BPF_PROBE_GROUP = "perf_bpf_probe";

/** struct perf_probe_point. */
export interface PerfProbePoint {
  /** Function name (undefined for a FILE:LINE probe). */
  readonly function?: string;
  /** `@SRC` or a file-based probe's file. */
  readonly file?: string;
  /** `:LINE` (0: none). */
  readonly line: number;
  /** `+OFFS` in bytes from the function (0: the entry). */
  readonly offset: number;
  /** `%return`. */
  readonly retprobe: boolean;
  /** `;PATTERN`. */
  readonly lazyLine?: string;
}

/** struct perf_probe_event plus the per-program config terms. */
export interface PerfProbeEvent {
  readonly group: string;
  readonly event: string;
  readonly point: PerfProbePoint;
  readonly args: readonly PerfProbeArg[];
  /** `exec=`/`module=` target. */
  readonly target?: string;
  /** `exec=` given: a uprobe. */
  readonly uprobes: boolean;
  /** probe_conf.no_inlines (`inlines=no`). */
  readonly noInlines: boolean;
  /** probe_conf.force_add (`force=yes`). */
  readonly forceAdd: boolean;
  /** Warnings perf printed while parsing. */
  readonly warnings: readonly string[];
}

class SemanticError extends Error {}

function semantic(message: string): never {
  throw new SemanticError(message);
}

/** kstrtobool(): y/Y/t/T/1 or "on" are true, n/N/f/F/0 or "off" false (first characters decide). */
function strtobool(s: string): boolean | undefined {
  const c = s[0];
  if (c === undefined) return undefined;
  if ("yYtT1".includes(c)) return true;
  if ("nNfF0".includes(c)) return false;
  if (c === "o" || c === "O") {
    const d = s[1];
    if (d === "n" || d === "N") return true;
    if (d === "f" || d === "F") return false;
  }
  return undefined;
}

/** is_c_func_name(): a C identifier (letters, digits, `_`, `.` for suffixes like .isra). */
function isCFuncName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(name);
}

/** strtoul(s, &end, 0) that must consume all of `s`. */
function strtoulAll(s: string): number | undefined {
  if (!/^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.test(s)) return undefined;
  if (/^0[xX]/.test(s)) return Number.parseInt(s.slice(2), 16);
  if (s.startsWith("0") && s.length > 1) return Number.parseInt(s.slice(1), 8);
  return Number.parseInt(s, 10);
}

/** parse_perf_probe_point(): `[[GROUP:]EVENT=]FUNC[@SRC][+OFFS|%return|:LINE|;PTN]`. */
function parsePerfProbePoint(text: string): { group?: string; event?: string; point: PerfProbePoint } {
  let arg = text;
  let group: string | undefined;
  let event: string | undefined;
  const first = arg.search(/[;=@+%]/);
  if (first >= 0 && arg[first] === "=") {
    let name = arg.slice(0, first);
    arg = arg.slice(first + 1);
    const colon = name.indexOf(":");
    if (colon >= 0) {
      group = name.slice(0, colon);
      name = name.slice(colon + 1);
      if (!isCFuncName(group))
        semantic(`group name ${group} is bad for event name -it must follow C symbol-naming rule`);
    }
    if (!isCFuncName(name)) semantic(`${name} is bad for event name -it must follow C symbol-naming rule`);
    event = name;
  }
  let fn: string | undefined;
  let file: string | undefined;
  let line = 0;
  let offset = 0;
  let retprobe = false;
  let lazyLine: string | undefined;
  // FUNC or FILE, then options separated by ; : + @ %.
  const head = arg.search(/[;:+@%]/);
  const name = head < 0 ? arg : arg.slice(0, head);
  const fileSpec = name.includes("/") || /\.(c|h|S)$/.test(name);
  if (name !== "") {
    if (fileSpec) file = name;
    else fn = name;
  }
  let rest = head < 0 ? "" : arg.slice(head);
  while (rest !== "") {
    const c = rest[0];
    rest = rest.slice(1);
    if (c === ";") {
      lazyLine = rest;
      break;
    }
    const next = rest.search(/[;:+@%]/);
    const value = next < 0 ? rest : rest.slice(0, next);
    rest = next < 0 ? "" : rest.slice(next);
    switch (c) {
      case ":": {
        const v = strtoulAll(value);
        if (v === undefined) semantic("there is non-digit char in line number");
        line = v;
        break;
      }
      case "+": {
        const v = strtoulAll(value);
        if (v === undefined) semantic("there is non-digit character in offset");
        offset = v;
        break;
      }
      case "@":
        if (file !== undefined) semantic("SRC@SRC is not allowed");
        file = value;
        break;
      case "%":
        if (value !== "return") semantic(`%${value} is not supported`);
        retprobe = true;
        break;
    }
  }
  if (lazyLine !== undefined && line) semantic("lazy pattern can't be used with line number");
  if (lazyLine !== undefined && offset) semantic("lazy pattern can't be used with offset");
  if (line && offset) semantic("offset can't be used with line number");
  if (!line && lazyLine === undefined && file !== undefined && fn === undefined) {
    semantic("file always requires line number or lazy pattern");
  }
  if (offset && fn === undefined) semantic("offset requires an entry function");
  if ((offset || line || lazyLine !== undefined) && retprobe) {
    semantic("offset/Line/Lazy pattern can't be used with return probe");
  }
  if (fn === undefined && file === undefined) semantic("no function or file is given");
  const point: PerfProbePoint = {
    ...(fn !== undefined ? { function: fn } : {}),
    ...(file !== undefined ? { file } : {}),
    line,
    offset,
    retprobe,
    ...(lazyLine !== undefined ? { lazyLine } : {}),
  };
  return { ...(group !== undefined ? { group } : {}), ...(event !== undefined ? { event } : {}), point };
}

/** parse_perf_probe_command(): the probe point and its arguments. */
function parsePerfProbeCommand(cmd: string): {
  group?: string;
  event?: string;
  point: PerfProbePoint;
  args: PerfProbeArg[];
} {
  const argv = cmd.split(/[ \t\n]+/).filter((s) => s !== "");
  if (argv.length === 0) semantic("empty probe definition");
  const head = parsePerfProbePoint(argv[0]);
  const args: PerfProbeArg[] = [];
  for (const text of argv.slice(1)) {
    let a: PerfProbeArg;
    try {
      a = parsePerfProbeArg(text);
    } catch (err) {
      semantic(err instanceof Error ? err.message.replace(/^semantic error: /, "") : String(err));
    }
    if (isCVarname(a.var) && head.point.retprobe) semantic("you can't specify local variable for kretprobe");
    args.push(a);
  }
  return { ...head, args };
}

/** Options of {@link parseProgConfig}. */
export interface ParseProgConfigOptions {
  /** Receives perf's warnings (pr_warning) as they happen. */
  warn?: (message: string) => void;
}

/**
 * config_bpf_program() for one section name: key=value terms, the probe
 * command, then the group and event-name checks. Throws BpfLoaderError
 * (CONFIG, PROGCONF_TERM, GROUP, EVENTNAME).
 */
export function parseProgConfig(configStr: string, opts: ParseProgConfigOptions = {}): PerfProbeEvent {
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    opts.warn?.(m);
  };
  let target: string | undefined;
  let uprobes = false;
  let noInlines = false;
  let forceAdd = false;
  // parse_prog_config_kvpair(): every segment ended by ';' is a term.
  const segments = configStr.split(";");
  const main = segments.pop() as string;
  for (const line of segments) {
    const equ = line.indexOf("=");
    if (equ < 0) {
      warn(`WARNING: invalid config in BPF object: ${line}`);
      warn("\tShould be 'key=value'.");
      continue;
    }
    const key = line.slice(0, equ);
    const value = line.slice(equ + 1);
    switch (key) {
      case "exec":
        uprobes = true;
        target = value;
        break;
      case "module":
        uprobes = false;
        target = value;
        break;
      case "inlines":
      case "force": {
        const b = strtobool(value);
        if (b === undefined) throw new BpfError(EINVAL, `invalid boolean in config term: ${key}=${value}`);
        if (key === "inlines") noInlines = !b;
        else forceAdd = b;
        break;
      }
      default:
        throw new BpfLoaderError(
          BPF_LOADER_ERRNO__PROGCONF_TERM,
          `${key}=${value} (valid terms: exec=, module=, inlines=, force=)`,
        );
    }
  }
  let cmd: ReturnType<typeof parsePerfProbeCommand>;
  try {
    cmd = parsePerfProbeCommand(main);
  } catch (err) {
    if (!(err instanceof SemanticError)) throw err;
    throw new BpfLoaderError(BPF_LOADER_ERRNO__CONFIG, `'${configStr}' is not a valid config string: ${err.message}`);
  }
  if (cmd.group !== undefined && cmd.group !== PERF_BPF_PROBE_GROUP) {
    throw new BpfLoaderError(
      BPF_LOADER_ERRNO__GROUP,
      `'${configStr}': group for event is set and not '${PERF_BPF_PROBE_GROUP}'`,
    );
  }
  if (cmd.event === undefined) {
    throw new BpfLoaderError(
      BPF_LOADER_ERRNO__EVENTNAME,
      `'${configStr}': event name is missing. Section name should be 'key=value'`,
    );
  }
  return {
    group: cmd.group ?? PERF_BPF_PROBE_GROUP,
    event: cmd.event,
    point: cmd.point,
    args: cmd.args,
    ...(target !== undefined ? { target } : {}),
    uprobes,
    noInlines,
    forceAdd,
    warnings,
  };
}
