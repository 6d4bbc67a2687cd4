/**
 * The shared logger factory (pino).
 *
 * Kernel events (text poke, grace period, ref kill, fault) are log records.
 *   A64BPF_LOG        level: silent (default), fatal, error, warn, info, debug, trace
 *   A64BPF_LOG_FILE   write JSON lines to this file instead of stderr
 *   A64BPF_LOG_PRETTY 1 = human-readable output (pino-pretty), default when stderr is a TTY
 */
import { createRequire } from "node:module";
import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger } from "pino";

let root: Logger | undefined;

function destination(): DestinationStream {
  const file = process.env.A64BPF_LOG_FILE;
  const prettyEnv = process.env.A64BPF_LOG_PRETTY;
  const pretty = prettyEnv === undefined ? !file && process.stderr.isTTY === true : prettyEnv === "1";
  if (pretty) {
    // Loaded on demand: most runs log nothing and should not pay for it.
    const require = createRequire(import.meta.url);
    const prettyFactory = require("pino-pretty") as (opts: Record<string, unknown>) => DestinationStream;
    return prettyFactory({ sync: true, destination: file ?? 2, colorize: !file });
  }
  return pino.destination({ dest: file ?? 2, sync: true });
}

function rootLogger(): Logger {
  if (!root) {
    const level = process.env.A64BPF_LOG ?? "silent";
    root = level === "silent" ? pino({ level: "silent" }) : pino({ level, base: undefined }, destination());
  }
  return root;
}

/** A child logger for one subsystem, e.g. `createLogger("tramp")`. */
export function createLogger(subsystem: string): Logger {
  return rootLogger().child({ sub: subsystem });
}
