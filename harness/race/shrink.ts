/**
 * Shrinking a failing schedule: delta debugging (Zeller and Hildebrandt's
 * ddmin) over its deviations from the default schedule (choice_log.ts),
 * until no single deviation can be removed with the failure kept.
 *
 *   D = deviations of the failing log (positions whose choice ≠ default)
 *   try removing a chunk of D: replay the log with those positions set to
 *     their default (decisions past a divergence fall back to defaults too)
 *   the same failure (kind and function) with fewer deviations
 *     → adopt the new run's log, recompute D, coarser chunks again
 *   otherwise finer chunks; stop when single removals all fail (1-minimal)
 *
 * The result never has more preemption points than the input: a candidate
 * is adopted only when its own log has fewer preemption points, or as many
 * and fewer deviations (so the search also terminates).
 */
import { deviationStats, ScriptChooser, type LoggedChoice } from "./strategies/choice_log.js";
import { runLogged, type WorldPool } from "./explore.js";
import type { Violation } from "./violation.js";

/** Same failure: the same kind, in the same function (offsets may move). */
export function sameFailure(a: Violation, b: Violation): boolean {
  if (a.kind !== b.kind) return false;
  const fn = (s: string | undefined) => s?.split("+")[0];
  if (a.symbol !== undefined || b.symbol !== undefined) return fn(a.symbol) === fn(b.symbol);
  return true;
}

/** Options of {@link shrinkFailure}. */
export interface ShrinkOptions {
  /** At most this many replays (default 400). */
  maxAttempts?: number;
  /** Called after each replay. */
  onAttempt?: (attempt: number, deviations: number) => void;
}

/** The shrunk schedule. */
export interface ShrinkResult {
  readonly log: readonly LoggedChoice[];
  readonly violation: Violation;
  readonly attempts: number;
  readonly before: { deviations: number; preemptions: number };
  readonly after: { deviations: number; preemptions: number };
  /** No single deviation can be removed (false when the attempt budget ran out first). */
  readonly minimal: boolean;
}

/** Fewer preemption points, or as many and fewer deviations: shrinking never adds a preemption point. */
function smaller(
  a: { deviations: number; preemptions: number },
  b: { deviations: number; preemptions: number },
): boolean {
  return a.preemptions < b.preemptions || (a.preemptions === b.preemptions && a.deviations < b.deviations);
}

function deviations(log: readonly LoggedChoice[]): number[] {
  const out: number[] = [];
  log.forEach((c, i) => {
    if (c.index !== c.def) out.push(i);
  });
  return out;
}

/** Shrink a failing schedule (its log and the violation it produced) on `pool`'s kernel. */
export function shrinkFailure(
  pool: WorldPool,
  failure: { log: readonly LoggedChoice[]; violation: Violation },
  opts: ShrinkOptions = {},
): ShrinkResult {
  const { log, violation } = failure;
  const maxAttempts = opts.maxAttempts ?? 400;
  let cur = { log, violation };
  let attempts = 0;
  let minimal = false;

  const attempt = (remove: ReadonlySet<number>): typeof cur | undefined => {
    attempts++;
    const script = cur.log.map((c, i) => (remove.has(i) ? c.def : c.index));
    const run = runLogged(pool, new ScriptChooser(script));
    opts.onAttempt?.(attempts, deviations(cur.log).length);
    const v = run.result.violation;
    if (!v || !sameFailure(v, violation)) return undefined;
    if (!smaller(deviationStats(run.log), deviationStats(cur.log))) return undefined;
    return { log: run.log, violation: v };
  };

  let n = 2;
  for (;;) {
    const devs = deviations(cur.log);
    if (devs.length === 0) {
      minimal = true;
      break;
    }
    n = Math.min(n, devs.length);
    const size = Math.ceil(devs.length / n);
    let reduced = false;
    for (let start = 0; start < devs.length && attempts < maxAttempts; start += size) {
      const next = attempt(new Set(devs.slice(start, start + size)));
      if (next) {
        cur = next;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (attempts >= maxAttempts) break;
    if (n >= devs.length) {
      minimal = true;
      break;
    }
    n = Math.min(n * 2, devs.length);
  }
  return {
    log: cur.log,
    violation: cur.violation,
    attempts,
    before: deviationStats(log),
    after: deviationStats(cur.log),
    minimal,
  };
}
