/**
 * The shared logger factory (pino).
 *
 * Kernel events (text poke, grace period, ref kill, fault) are log records.
 *   A64BPF_LOG        level: silent (default), fatal, error, warn, info, debug, trace
 *   A64BPF_LOG_FILE   write JSON lines to this file instead of stderr
 *   A64BPF_LOG_PRETTY 1 = human-readable output (pino-pretty), default when stderr is a TTY
 *
 * pino is loaded only when logging is on: most runs log nothing, and short
 * commands (the conformance plugin) should not pay for the import.
 */
import { createRequire } from "node:module";
import type { DestinationStream, Logger as PinoLogger } from "pino";

/** What the code base logs through (a subset of pino's Logger). */
export interface Logger {
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  fatal(obj: unknown, msg?: string): void;
  /** Is `level` enabled? (Check before building an expensive record.) */
  isLevelEnabled(level: string): boolean;
}

const require = createRequire(import.meta.url);
let root: PinoLogger | undefined;

const SILENT: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  isLevelEnabled: () => false,
};

function level(): string {
  return process.env.A64BPF_LOG ?? "silent";
}

function destination(pinoMod: typeof import("pino")): DestinationStream {
  const file = process.env.A64BPF_LOG_FILE;
  const prettyEnv = process.env.A64BPF_LOG_PRETTY;
  const pretty = prettyEnv === undefined ? !file && process.stderr.isTTY === true : prettyEnv === "1";
  if (pretty) {
    const prettyFactory = require("pino-pretty") as (opts: Record<string, unknown>) => DestinationStream;
    return prettyFactory({ sync: true, destination: file ?? 2, colorize: !file });
  }
  return pinoMod.pino.destination({ dest: file ?? 2, sync: true });
}

function rootLogger(): PinoLogger {
  if (!root) {
    const pinoMod = require("pino") as typeof import("pino");
    root = pinoMod.pino({ level: level(), base: undefined }, destination(pinoMod));
  }
  return root;
}

/** A child logger for one subsystem, e.g. `createLogger("tramp")`; a no-op when logging is off. */
export function createLogger(subsystem: string): Logger {
  if (level() === "silent") return SILENT;
  let child: PinoLogger | undefined;
  const get = (): PinoLogger => (child ??= rootLogger().child({ sub: subsystem }));
  return {
    trace: (o, m) => get().trace(o, m),
    debug: (o, m) => get().debug(o, m),
    info: (o, m) => get().info(o, m),
    warn: (o, m) => get().warn(o, m),
    error: (o, m) => get().error(o, m),
    fatal: (o, m) => get().fatal(o, m),
    isLevelEnabled: (l) => get().isLevelEnabled(l),
  };
}
