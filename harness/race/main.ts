/**
 * `a64bpf race` (`npm run race -- …`): the race explorer's command line.
 *
 *   race <scenario> [--inject F]… [--strategy random|pct|bounded] [--depth d]
 *        [--schedules N] [--seed S] [--cpus C] [--timeline FILE] [--json FILE] [--no-shrink]
 *   race --replay TOKEN [--timeline FILE] [--json FILE]
 *   race --matrix [--schedules N] [--trials T] [--strategy S] [--depth d] [--seed S] [--json FILE]
 *   race --list
 *
 *   stdout   results: the violation (CPU, task, PC, symbol, backtrace), its
 *            replay token, the shrunk schedule; or the matrix table
 *   stderr   a progress bar on a TTY
 *   exit     0 no violation, 1 a violation (or a replay that diverged),
 *            2 usage error
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { FAULT_SWITCHES } from "../../runtime/kernel/fault_inject.js";
import { explore, replay, WorldPool, type ExploreResult } from "./explore.js";
import { cellText, formatMatrix, runMatrix, type MatrixCell } from "./matrix.js";
import { SCENARIOS, scenarioByName } from "./scenarios/index.js";
import { shrinkFailure, type ShrinkResult } from "./shrink.js";
import { deviationStats } from "./strategies/choice_log.js";
import { STRATEGIES } from "./strategies/types.js";
import { TimelineRecorder, renderTimeline } from "./timeline.js";
import { decodeToken, encodeToken, makeToken } from "./token.js";
import { formatViolation, violationJson, type Violation } from "./violation.js";

/** A command-line mistake: exit status 2 with the message and the usage. */
export class RaceUsageError extends BpfError {
  constructor(message: string) {
    super(EINVAL, message);
  }
}

/** Usage text. */
export function usage(): string {
  return [
    "usage: a64bpf race <scenario> [options]",
    "       a64bpf race --replay TOKEN [--timeline FILE] [--json FILE]",
    "       a64bpf race --matrix [--schedules N] [--trials T] [--json FILE]",
    "",
    "Explores schedules of a trampoline-teardown scenario on the simulated kernel until",
    "a detector reports a violation; prints it with a replay token and a shrunk schedule.",
    "",
    "options:",
    "  --inject FAULT     turn on a fault-injection switch (repeatable)",
    "  --strategy S       random | pct | bounded (default pct)",
    "  --depth d          pct: bug depth (d-1 change points, default 3); bounded: deviation bound (default 2)",
    "  --schedules N      schedules to run (default 1000; matrix: per trial, default 10000)",
    "  --seed S           seed of the strategy (default 1)",
    "  --cpus C           CPUs (default: the scenario's)",
    "  --replay TOKEN     replay a recorded schedule bit for bit",
    "  --timeline FILE    write an HTML timeline of the failing (shrunk) or last schedule",
    "  --json FILE        write the results as JSON",
    "  --no-shrink        do not shrink a failing schedule",
    "  --matrix           every fault-injection switch against every scenario",
    "  --trials T         matrix: explorations per cell (default 3)",
    "  --list             list scenarios and fault-injection switches",
    "  -h, --help         this help",
    "",
    `scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`,
    `faults: ${FAULT_SWITCHES.join(", ")}`,
  ].join("\n");
}

/** Parsed command line. */
export interface RaceArgs {
  scenario?: string;
  inject: string[];
  strategy: string;
  depth?: number;
  schedules?: number;
  seed: number;
  cpus?: number;
  replay?: string;
  timeline?: string;
  json?: string;
  shrink: boolean;
  matrix: boolean;
  trials: number;
  list: boolean;
  help: boolean;
}

function posInt(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new RaceUsageError(`invalid ${name}: ${v} (an integer >= ${min})`);
  }
  return Number(v);
}

/** Parse `argv` (after "race"); mistakes are a RaceUsageError. */
export function parseRaceArgs(argv: readonly string[]): RaceArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        inject: { type: "string", multiple: true },
        strategy: { type: "string" },
        depth: { type: "string" },
        schedules: { type: "string" },
        seed: { type: "string" },
        cpus: { type: "string" },
        replay: { type: "string" },
        timeline: { type: "string" },
        json: { type: "string" },
        "no-shrink": { type: "boolean" },
        matrix: { type: "boolean" },
        trials: { type: "string" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new RaceUsageError((err as Error).message.split(". ")[0]);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 1)
    throw new RaceUsageError(`one scenario at a time: ${parsed.positionals.join(" ")}`);
  const strategy = v.strategy ?? "pct";
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    throw new RaceUsageError(`unknown strategy: ${strategy} (known: ${STRATEGIES.join(", ")})`);
  }
  const inject = (v.inject ?? []).flatMap((s) => s.split(",")).filter((s) => s !== "");
  for (const f of inject) {
    if (!(FAULT_SWITCHES as readonly string[]).includes(f)) {
      throw new RaceUsageError(`unknown fault-injection switch: ${f} (known: ${FAULT_SWITCHES.join(", ")})`);
    }
  }
  for (const name of ["timeline", "json", "replay"] as const) {
    if (v[name] === "") throw new RaceUsageError(`--${name} needs a value`);
  }
  const args: RaceArgs = {
    scenario: parsed.positionals[0],
    inject,
    strategy,
    depth: posInt("--depth", v.depth, strategy === "bounded" ? 0 : 1),
    schedules: posInt("--schedules", v.schedules),
    seed: posInt("--seed", v.seed, 0) ?? 1,
    cpus: posInt("--cpus", v.cpus),
    replay: v.replay,
    timeline: v.timeline,
    json: v.json,
    shrink: v["no-shrink"] !== true,
    matrix: v.matrix === true,
    trials: posInt("--trials", v.trials) ?? 3,
    list: v.list === true,
    help: v.help === true,
  };
  if (args.replay !== undefined) {
    // A token that does not decode is a usage error (exit 2), not a failed replay.
    try {
      decodeToken(args.replay);
    } catch (err) {
      throw new RaceUsageError(`--replay: ${(err as Error).message}`);
    }
  }
  const modes = [args.scenario !== undefined, args.replay !== undefined, args.matrix].filter(Boolean).length;
  if (!args.help && !args.list && modes !== 1) {
    throw new RaceUsageError("give exactly one of: a scenario, --replay TOKEN, --matrix");
  }
  if (args.scenario !== undefined && !SCENARIOS.some((s) => s.name === args.scenario)) {
    throw new RaceUsageError(`unknown scenario: ${args.scenario} (known: ${SCENARIOS.map((s) => s.name).join(", ")})`);
  }
  return args;
}

/** Where output goes (tests capture it). */
export interface RaceIo {
  out(text: string): void;
  err(text: string): void;
  /** Show a progress bar (default: stderr is a TTY). */
  tty?: boolean;
}

const defaultIo: RaceIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  tty: process.stderr.isTTY === true,
};

function progressBar(io: RaceIo, label: string, total: number): { tick(done: number): void; stop(): void } {
  if (!io.tty || total < 50) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} schedules | {rate}/s`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  bar.start(total, 0, { rate: "0" });
  return {
    tick(done) {
      bar.update(done, { rate: (done / ((performance.now() - t0) / 1000)).toFixed(0) });
    },
    stop() {
      bar.stop();
    },
  };
}

function writeTimeline(file: string, tokenText: string, title: string): Violation | undefined {
  const rec = new TimelineRecorder();
  const r = replay(tokenText, { observers: rec.observers });
  const token = decodeToken(tokenText);
  const html = renderTimeline(rec.events, {
    title,
    cpus: token.cpus,
    token: tokenText,
    violation: r.result.violation,
    taskNames: r.result.taskNames,
  });
  writeFileSync(file, html);
  return r.result.violation;
}

function exploreJson(r: ExploreResult): Record<string, unknown> {
  return {
    schedules: r.schedules,
    seconds: r.seconds,
    schedulesPerSecond: r.schedules / r.seconds,
    summary: r.summary,
    steps: r.steps,
    imagesAllocated: r.imagesAllocated,
    imagesFreed: r.imagesFreed,
    calls: r.calls,
    boots: r.boots,
  };
}

function runScenario(args: RaceArgs, io: RaceIo): number {
  const scenario = scenarioByName(args.scenario as string);
  const cpus = args.cpus ?? scenario.cpus;
  const schedules = args.schedules ?? 1000;
  const pool = new WorldPool({ scenario, cpus, faults: args.inject });
  const faults = args.inject.length ? args.inject.join(", ") : "none";
  io.out(`race: ${scenario.name} (${scenario.description}) on ${cpus} CPUs, faults: ${faults}\n`);
  if (scenario.knownIssue) io.out(`race: note: known issue: ${scenario.knownIssue}\n`);
  const bar = progressBar(io, scenario.name, schedules);
  let r: ExploreResult;
  try {
    r = explore(pool, {
      strategy: args.strategy,
      depth: args.depth,
      schedules,
      seed: args.seed,
      onProgress: (d) => bar.tick(d),
    });
  } finally {
    bar.stop();
  }
  io.out(
    `race: ${r.schedules} schedules in ${r.seconds.toFixed(2)} s (${(r.schedules / r.seconds).toFixed(0)} schedules/s), ` +
      `${r.boots} kernel boots\nrace: ${r.summary}\n`,
  );
  const json: Record<string, unknown> = {
    scenario: scenario.name,
    cpus,
    faults: args.inject,
    strategy: args.strategy,
    seed: args.seed,
    ...exploreJson(r),
  };
  let shrunk: ShrinkResult | undefined;
  let shrunkToken: string | undefined;
  try {
    if (!r.failure) {
      io.out(
        `race: no violation; ${r.imagesAllocated} trampoline images allocated, ${r.imagesFreed} freed; ${r.calls} calls, none lost\n`,
      );
      if (args.timeline) {
        io.out(`race: --timeline: no failing schedule to draw (replay a token to draw any schedule)\n`);
      }
      return 0;
    }
    const f = r.failure;
    io.out(`\nrace: violation in schedule ${f.index} (${f.index + 1} schedules needed)\n`);
    io.out(`${formatViolation(f.violation)}\n`);
    io.out(`\nreplay: a64bpf race --replay ${f.token}\n`);
    json.violation = violationJson(f.violation);
    json.schedule = f.index;
    json.token = f.token;
    if (args.shrink) {
      shrunk = shrinkFailure(pool, f);
      shrunkToken = encodeToken(
        makeToken(shrunk.log, {
          scenario: scenario.name,
          cpus,
          faults: args.inject,
          strategy: "shrunk",
          seed: args.seed,
          schedule: f.index,
        }),
      );
      io.out(
        `\nshrunk: ${shrunk.after.preemptions} preemption points (${shrunk.after.deviations} deviations from the default schedule), ` +
          `from ${shrunk.before.preemptions} (${shrunk.before.deviations}); ${shrunk.attempts} replays` +
          `${shrunk.minimal ? ", no single deviation can be removed" : " (attempt budget reached)"}\n`,
      );
      io.out(`${formatViolation(shrunk.violation)}\n`);
      io.out(`replay (shrunk): a64bpf race --replay ${shrunkToken}\n`);
      json.shrunk = {
        token: shrunkToken,
        before: shrunk.before,
        after: shrunk.after,
        attempts: shrunk.attempts,
        minimal: shrunk.minimal,
        violation: violationJson(shrunk.violation),
      };
    }
    if (args.timeline) {
      const tok = shrunkToken ?? f.token;
      writeTimeline(args.timeline, tok, `${scenario.name}: ${f.violation.kind} (faults: ${faults})`);
      io.out(`race: timeline written to ${args.timeline}\n`);
    }
    return 1;
  } finally {
    pool.close();
    if (args.json) writeFileSync(args.json, `${JSON.stringify(json, null, 2)}\n`);
  }
}

function runReplay(args: RaceArgs, io: RaceIo): number {
  const text = args.replay as string;
  const token = decodeToken(text);
  const rec = args.timeline ? new TimelineRecorder() : undefined;
  const r = replay(text, { observers: rec?.observers });
  const faults = token.faults.length ? token.faults.join(", ") : "none";
  io.out(
    `race: replay of ${token.scenario} on ${token.cpus} CPUs, faults: ${faults} (${token.strategy}, seed ${token.seed}, ` +
      `schedule ${token.schedule}): ${r.log.length} decisions, ${deviationStats(r.log).preemptions} preemption points\n`,
  );
  if (r.diverged) io.out(`race: replay diverged: ${r.diverged}\n`);
  const v = r.result.violation;
  io.out(v ? `${formatViolation(v)}\n` : "race: no violation\n");
  if (rec && args.timeline) {
    writeFileSync(
      args.timeline,
      renderTimeline(rec.events, {
        title: `${token.scenario}: ${v ? v.kind : "no violation"} (faults: ${faults})`,
        cpus: token.cpus,
        token: text,
        violation: v,
        taskNames: r.result.taskNames,
      }),
    );
    io.out(`race: timeline written to ${args.timeline}\n`);
  }
  if (args.json) {
    const json = {
      token: text,
      scenario: token.scenario,
      diverged: r.diverged ?? null,
      decisions: r.log.length,
      violation: v ? violationJson(v) : null,
    };
    writeFileSync(args.json, `${JSON.stringify(json, null, 2)}\n`);
  }
  return v || r.diverged ? 1 : 0;
}

function runMatrixCmd(args: RaceArgs, io: RaceIo): number {
  const schedules = args.schedules ?? 10_000;
  const t0 = performance.now();
  const cells: MatrixCell[] = runMatrix({
    schedules,
    trials: args.trials,
    seed: args.seed,
    strategy: args.strategy,
    depth: args.depth,
    cpus: args.cpus,
    onCell: (c) => io.err(`race: ${c.fault} × ${c.scenario}: ${cellText(c)}${c.kind ? ` [${c.kind}]` : ""}\n`),
  });
  io.out(`${formatMatrix(cells, { schedules, trials: args.trials })}\n`);
  io.out(`race: matrix in ${((performance.now() - t0) / 1000).toFixed(1)} s (strategy ${args.strategy})\n`);
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ schedules, trials: args.trials, cells }, null, 2)}\n`);
  const uncaught = [...new Set(cells.map((c) => c.fault))].filter(
    (f) => !cells.some((c) => c.fault === f && c.median !== undefined),
  );
  return uncaught.length ? 1 : 0;
}

/** Entry point: returns the exit status. */
export async function main(argv: string[], io: RaceIo = defaultIo): Promise<number> {
  let args: RaceArgs;
  try {
    args = parseRaceArgs(argv);
  } catch (err) {
    if (err instanceof RaceUsageError) {
      io.err(`a64bpf race: ${err.message}\n${usage()}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    io.out(`${usage()}\n`);
    return 0;
  }
  if (args.list) {
    for (const s of SCENARIOS) {
      io.out(`${s.name.padEnd(22)} ${s.description}${s.knownIssue ? ` [known issue]` : ""}\n`);
      if (s.exposes.length) io.out(`${"".padEnd(22)} exposes: ${s.exposes.join(", ")}\n`);
    }
    io.out(`\nfault-injection switches: ${FAULT_SWITCHES.join(", ")}\n`);
    return 0;
  }
  if (args.matrix) return runMatrixCmd(args, io);
  if (args.replay !== undefined) return runReplay(args, io);
  return runScenario(args, io);
}
