/**
 * The machine a benchmark ran on, as RESULTS.md and the JSON report show it:
 * cores, CPU model (from /proc/cpuinfo), total memory, OS, Node and Unicorn
 * versions, date. Numbers from different hosts are not comparable; the
 * description says which host produced them.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { unicornVersion } from "../../runtime/machine/unicorn.js";

/** Description of the host. */
export interface HostInfo {
  /** Logical CPUs available to this process. */
  readonly cores: number;
  readonly cpuModel: string;
  readonly totalMemoryBytes: number;
  /** "linux 6.1.0 x64". */
  readonly os: string;
  /** process.version, e.g. "v20.20.2". */
  readonly node: string;
  /** Unicorn library version, e.g. "2.0.1" ("unavailable" when libunicorn cannot load). */
  readonly unicorn: string;
  /** ISO 8601 date of the run. */
  readonly date: string;
}

/**
 * The CPU model named by /proc/cpuinfo text: the first `model name` (x86),
 * else the arm64 `CPU implementer`/`CPU part` pair, else undefined.
 */
export function parseCpuModel(cpuinfo: string): string | undefined {
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^${name}\\s*:\\s*(.+)$`, "m").exec(cpuinfo);
    return m ? m[1].trim() : undefined;
  };
  const model = field("model name") ?? field("Model");
  if (model) return model;
  const impl = field("CPU implementer");
  const part = field("CPU part");
  return impl && part ? `arm64 implementer ${impl} part ${part}` : undefined;
}

function cpuModel(): string {
  let text = "";
  try {
    text = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    // Not Linux, or /proc not mounted: fall back to what Node knows.
  }
  return parseCpuModel(text) ?? os.cpus()[0]?.model ?? "unknown";
}

function safeUnicornVersion(): string {
  try {
    return unicornVersion();
  } catch {
    return "unavailable";
  }
}

/** Describe this host; `date` defaults to now. */
export function describeHost(date: Date = new Date()): HostInfo {
  return {
    cores: os.availableParallelism(),
    cpuModel: cpuModel(),
    totalMemoryBytes: os.totalmem(),
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    unicorn: safeUnicornVersion(),
    date: date.toISOString(),
  };
}
