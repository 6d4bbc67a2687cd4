/**
 * Running schedules: exploration with a strategy, replay of a token, and
 * the world pool both share.
 *
 *   explore(pool, {strategy, schedules, seed, depth})
 *     for i in 0..N: chooser = strategy.next(i) ─► world.runSchedule
 *       (decisions logged) ─► strategy.done(i) ─► first violation: stop,
 *       token of its log
 *   replay(token)  a fresh kernel, the token's decisions, the same questions
 *                  (checked) ─► the same violation at the same PC
 *
 * A world is reused between schedules (checkpoint/restore) until a schedule
 * leaves it dirty (most violations); then the pool boots a new one.
 */
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { scenarioByName } from "./scenarios/index.js";
import type { Scenario } from "./scenarios/types.js";
import { LoggingChooser, ScriptChooser, type LoggedChoice } from "./strategies/choice_log.js";
import { createStrategy } from "./strategies/index.js";
import type { TaskView } from "./strategies/types.js";
import { choiceCheck, decodeToken, encodeToken, makeToken, type ReplayToken } from "./token.js";
import type { Violation } from "./violation.js";
import { RaceWorld, type ScheduleObservers, type ScheduleResult } from "./world.js";

/** What a run is about: a scenario on a kernel configuration. */
export interface RunConfig {
  readonly scenario: Scenario;
  readonly cpus: number;
  readonly faults: readonly string[];
}

/** Reuses a world while it stays clean. */
export class WorldPool {
  readonly config: RunConfig;
  #world: RaceWorld | undefined;
  /** Worlds booted (statistics). */
  boots = 0;

  constructor(config: RunConfig) {
    this.config = config;
  }

  /** A clean world (booting one when there is none, or the last one is dirty). */
  get world(): RaceWorld {
    if (!this.#world || this.#world.dirty) {
      this.#world?.close();
      this.#world = RaceWorld.create(this.config.scenario, { cpus: this.config.cpus, faults: this.config.faults });
      this.boots++;
    }
    return this.#world;
  }

  /** The scheduler view strategies may consult (of whichever world runs). */
  readonly view: TaskView = {
    runnable: () => (this.#world?.k.sched.tasks ?? []).filter((t) => t.state === "runnable").map((t) => t.pid),
    current: (cpu) => this.#world?.k.sched.curr[cpu]?.pid,
  };

  /** Release the current world's kernel. */
  close(): void {
    this.#world?.close();
    this.#world = undefined;
  }
}

/** One schedule and its decision log. */
export interface ScheduleRun {
  readonly result: ScheduleResult;
  readonly log: readonly LoggedChoice[];
}

/** Run one schedule on the pool's world with `chooser`, logging its decisions. */
export function runLogged(
  pool: WorldPool,
  chooser: { choose: LoggingChooser["choose"] },
  observers?: ScheduleObservers,
): ScheduleRun {
  const logging = new LoggingChooser(chooser);
  const result = pool.world.runSchedule(logging, observers);
  return { result, log: logging.log };
}

/** A violation found by a run. */
export interface Failure {
  /** Schedule index in the run. */
  readonly index: number;
  readonly violation: Violation;
  readonly log: readonly LoggedChoice[];
  readonly token: string;
}

/** Options of {@link explore}. */
export interface ExploreOptions {
  strategy: string;
  schedules: number;
  seed: number;
  /** PCT depth / bounded deviation bound. */
  depth?: number;
  /** Called after each schedule. */
  onProgress?: (done: number, total: number) => void;
}

/** What an exploration did. */
export interface ExploreResult {
  readonly schedules: number;
  readonly seconds: number;
  readonly failure: Failure | undefined;
  /** The strategy's summary line (PCT bound, bounded coverage). */
  readonly summary: string;
  readonly steps: number;
  readonly imagesAllocated: number;
  readonly imagesFreed: number;
  readonly calls: number;
  readonly boots: number;
}

/** Explore the pool's scenario with a strategy until the first violation or `schedules` schedules. */
export function explore(pool: WorldPool, opts: ExploreOptions): ExploreResult {
  if (!Number.isInteger(opts.schedules) || opts.schedules < 1) {
    throw new BpfError(EINVAL, `invalid schedule count: ${opts.schedules}`);
  }
  const strategy = createStrategy(opts.strategy, { seed: opts.seed, depth: opts.depth, view: pool.view });
  const t0 = performance.now();
  const boots0 = pool.boots;
  let steps = 0;
  let imagesAllocated = 0;
  let imagesFreed = 0;
  let calls = 0;
  let done = 0;
  let failure: Failure | undefined;
  for (let i = 0; i < opts.schedules; i++) {
    const chooser = strategy.next(i);
    if (!chooser) break;
    const run = runLogged(pool, chooser);
    strategy.done(i, { log: run.log, tasks: run.result.tasks });
    done++;
    steps += run.result.steps;
    imagesAllocated += run.result.imagesAllocated;
    imagesFreed += run.result.imagesFreed;
    calls += run.result.calls;
    opts.onProgress?.(done, opts.schedules);
    if (run.result.violation) {
      const token = encodeToken(
        makeToken(run.log, {
          scenario: pool.config.scenario.name,
          cpus: pool.config.cpus,
          faults: pool.config.faults,
          strategy: opts.strategy,
          seed: opts.seed,
          schedule: i,
        }),
      );
      failure = { index: i, violation: run.result.violation, log: run.log, token };
      break;
    }
  }
  return {
    schedules: done,
    seconds: (performance.now() - t0) / 1000,
    failure,
    summary: strategy.summary(),
    steps,
    imagesAllocated,
    imagesFreed,
    calls,
    boots: pool.boots - boots0,
  };
}

/** The run configuration a token names. */
export function tokenConfig(token: ReplayToken): RunConfig {
  return { scenario: scenarioByName(token.scenario), cpus: token.cpus, faults: token.faults };
}

/** Outcome of a replay. */
export interface ReplayResult extends ScheduleRun {
  readonly token: ReplayToken;
  /** The scheduler asked different questions than the recording (or fewer / more). */
  readonly diverged: string | undefined;
}

/**
 * Replay `token` on `pool` (default: a fresh kernel booted for it, closed
 * afterwards): the token's decisions, then the check that the scheduler
 * asked exactly the recorded questions.
 */
export function replay(text: string, opts: { pool?: WorldPool; observers?: ScheduleObservers } = {}): ReplayResult {
  const token = decodeToken(text);
  const own = opts.pool === undefined;
  const pool = opts.pool ?? new WorldPool(tokenConfig(token));
  try {
    const script = new ScriptChooser(token.choices);
    const run = runLogged(pool, script, opts.observers);
    let diverged: string | undefined;
    if (script.mismatches > 0) diverged = `${script.mismatches} recorded decisions did not fit`;
    else if (run.log.length !== token.choices.length)
      diverged = `the run took ${run.log.length} decisions, the token holds ${token.choices.length}`;
    else if (choiceCheck(run.log) !== token.check) diverged = "the scheduler asked different questions";
    return { ...run, token, diverged };
  } finally {
    if (own) pool.close();
  }
}
