/**
 * Peak resident set size of a command run as a child process (issue 11 asks
 * for the peak RSS of `npm run selftests` and of a 10,000-schedule race run).
 *
 * Two methods, the first available wins under "auto":
 *
 *   time   /usr/bin/time -v -o FILE cmd args…   "Maximum resident set size (kbytes)":
 *          the wait4() rusage of the child, which the kernel folds over every
 *          reaped descendant, so it is the largest single process of the tree
 *   proc   spawn cmd, poll /proc/<pid>/status VmHWM of the child and of every
 *          descendant (found through the ppid field of /proc/<pid>/stat) every
 *          `pollMs`; the peak is the largest VmHWM seen. Simplification: a
 *          descendant that lives less than one poll interval is missed.
 *
 * Either way the number is the peak of the largest process, not the sum of
 * the tree (as /usr/bin/time and the kernel's rusage define it).
 */
import { spawn } from "node:child_process";
import {
  accessSync,
  constants as fsConstants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { constants, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { EINVAL, ENOENT } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";

/** Where GNU time lives on Debian (package `time`). */
export const GNU_TIME = "/usr/bin/time";

/** How the peak was measured. */
export type RssMethod = "time" | "proc";

/** Outcome of {@link peakRss}. */
export interface PeakRss {
  /** Largest resident set of any process of the tree, in bytes. */
  readonly peakRssBytes: number;
  /** Exit code of the command (null when a signal ended it). */
  readonly exitCode: number | null;
  /** Signal that ended the command, if any. */
  readonly signal: NodeJS.Signals | null;
  readonly seconds: number;
  readonly method: RssMethod;
}

/** Options of {@link peakRss}. */
export interface PeakRssOptions {
  /** "auto" (default): `time` when /usr/bin/time exists, else `proc`. */
  method?: RssMethod | "auto";
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The command's stdout and stderr: discarded (default) or shared with this process. */
  output?: "ignore" | "inherit";
  /** Poll interval of the proc method, in milliseconds (default 20). */
  pollMs?: number;
}

/** "Maximum resident set size (kbytes): N" of `time -v` output, in bytes; undefined if absent. */
export function parseTimeVerbose(text: string): number | undefined {
  const m = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** VmHWM of /proc/<pid>/status text, in bytes; undefined if absent. */
export function parseVmHwm(status: string): number | undefined {
  const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The ppid field of /proc/<pid>/stat text (the comm field may contain spaces and parentheses). */
export function parseStatPpid(stat: string): number | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(" ");
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** Run `command args…` to completion and report its peak RSS. */
export async function peakRss(command: string, args: readonly string[], opts: PeakRssOptions = {}): Promise<PeakRss> {
  const method = opts.method ?? "auto";
  resolveCommand(command, opts.env);
  if (method === "time" || (method === "auto" && existsSync(GNU_TIME))) return viaTime(command, args, opts);
  return viaProc(command, args, opts);
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
}

function runChild(command: string, args: readonly string[], opts: PeakRssOptions, onSpawn?: (pid: number) => void) {
  const t0 = process.hrtime.bigint();
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", opts.output ?? "ignore", opts.output ?? "ignore"],
  });
  if (child.pid !== undefined) onSpawn?.(child.pid);
  return new Promise<Exit>((resolve, reject) => {
    child.once("error", (err) => reject(new BpfError(ENOENT, `cannot run ${command}: ${err.message}`, { cause: err })));
    child.once("close", (code, signal) =>
      resolve({ code, signal, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }),
    );
  });
}

async function viaTime(command: string, args: readonly string[], opts: PeakRssOptions): Promise<PeakRss> {
  if (!existsSync(GNU_TIME)) throw new BpfError(ENOENT, `peak RSS: ${GNU_TIME} not found (Debian package time)`);
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-rss-"));
  const out = join(dir, "time.txt");
  try {
    const exit = await runChild(GNU_TIME, ["-v", "-o", out, command, ...args], opts);
    const text = existsSync(out) ? readFileSync(out, "utf8") : "";
    const peak = parseTimeVerbose(text);
    if (peak === undefined) {
      throw new BpfError(EINVAL, `peak RSS: no maximum resident set size in ${GNU_TIME} output: ${text.trim()}`);
    }
    const signal = /Command terminated by signal (\d+)/.exec(text);
    return {
      peakRssBytes: peak,
      exitCode: signal ? null : exit.code,
      signal: signal ? signalName(Number(signal[1])) : exit.signal,
      seconds: exit.seconds,
      method: "time",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, v]) => v === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

/** The executable `command` names (a path, or a name searched in PATH), or a BpfError(ENOENT). */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = command.includes("/")
    ? [command]
    : (env.PATH ?? "")
        .split(delimiter)
        .filter((d) => d !== "")
        .map((d) => join(d, command));
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch {
      // Not here, or not executable: try the next one.
    }
  }
  throw new BpfError(ENOENT, `cannot run ${command}: no such executable`);
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Pids of `root` and all its living descendants. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(`/proc/${name}/stat`);
    const ppid = stat === undefined ? undefined : parseStatPpid(stat);
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

async function viaProc(command: string, args: readonly string[], opts: PeakRssOptions): Promise<PeakRss> {
  if (!existsSync("/proc/self/status")) throw new BpfError(ENOENT, "peak RSS: /proc is not available");
  const pollMs = opts.pollMs ?? 20;
  if (!(pollMs > 0)) throw new BpfError(EINVAL, `invalid poll interval: ${pollMs} ms`);
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  const poll = (root: number): void => {
    for (const pid of processTree(root)) {
      const hwm = parseVmHwm(readProc(`/proc/${pid}/status`) ?? "");
      if (hwm !== undefined && hwm > peak) peak = hwm;
    }
  };
  try {
    const exit = await runChild(command, args, opts, (pid) => {
      poll(pid);
      timer = setInterval(() => poll(pid), pollMs);
    });
    return { peakRssBytes: peak, exitCode: exit.code, signal: exit.signal, seconds: exit.seconds, method: "proc" };
  } finally {
    if (timer) clearInterval(timer);
  }
}
