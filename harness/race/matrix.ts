/**
 * `--matrix`: every fault-injection switch (runtime/kernel/fault_inject.ts)
 * against every scenario, with PCT by default. A cell runs `trials`
 * explorations (seeds seed, seed+1, …) of at most `schedules` schedules
 * each and reports the median number of schedules to the first violation
 * (a trial that found nothing counts as more than `schedules`), with the
 * median time and the violation kind:
 *
 *                       fentry-detach        fexit-detach  …
 *   skip-icache-sync    found 3 (0.1 s)      not found
 *   …
 *
 * A cell stops early once its median is decided (a majority of trials
 * found it, or a majority did not). Scenarios marked knownIssue (they fail
 * without any fault) are left out.
 */
import { FAULT_SWITCHES } from "../../runtime/kernel/fault_inject.js";
import { explore, WorldPool } from "./explore.js";
import { SCENARIOS } from "./scenarios/index.js";
import type { Scenario } from "./scenarios/types.js";
import type { ViolationKind } from "./violation.js";

/** One trial of a cell. */
export interface MatrixTrial {
  readonly seed: number;
  /** Schedules to the first violation (1-based), or undefined when none was found. */
  readonly found: number | undefined;
  readonly seconds: number;
  readonly kind?: ViolationKind;
  readonly token?: string;
}

/** One fault × scenario cell. */
export interface MatrixCell {
  readonly fault: string;
  readonly scenario: string;
  readonly trials: readonly MatrixTrial[];
  /** Median schedules to failure, or undefined when the median trial found nothing. */
  readonly median: number | undefined;
  /** Median seconds of the trials. */
  readonly seconds: number;
  /** Most frequent violation kind among the trials that found one. */
  readonly kind?: ViolationKind;
}

/** Options of {@link runMatrix}. */
export interface MatrixOptions {
  /** Schedules per trial (default 10,000). */
  schedules?: number;
  /** Trials per cell (default 3). */
  trials?: number;
  seed?: number;
  strategy?: string;
  depth?: number;
  /** Faults and scenarios to run (default all, known issues excluded). */
  faults?: readonly string[];
  scenarios?: readonly Scenario[];
  cpus?: number;
  onCell?: (cell: MatrixCell) => void;
  onTrial?: (fault: string, scenario: string, trial: MatrixTrial) => void;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Run one cell. */
export function runCell(
  fault: string,
  scenario: Scenario,
  opts: Omit<MatrixOptions, "faults" | "scenarios" | "onCell">,
): MatrixCell {
  const schedules = opts.schedules ?? 10_000;
  const trials = opts.trials ?? 3;
  const seed = opts.seed ?? 1;
  const out: MatrixTrial[] = [];
  const pool = new WorldPool({ scenario, cpus: opts.cpus ?? scenario.cpus, faults: [fault] });
  try {
    const need = Math.floor(trials / 2) + 1;
    for (let i = 0; i < trials; i++) {
      const r = explore(pool, { strategy: opts.strategy ?? "pct", depth: opts.depth, schedules, seed: seed + i });
      const trial: MatrixTrial = r.failure
        ? {
            seed: seed + i,
            found: r.failure.index + 1,
            seconds: r.seconds,
            kind: r.failure.violation.kind,
            token: r.failure.token,
          }
        : { seed: seed + i, found: undefined, seconds: r.seconds };
      out.push(trial);
      opts.onTrial?.(fault, scenario.name, trial);
      const hits = out.filter((t) => t.found !== undefined).length;
      if (hits >= need || out.length - hits >= need) break;
    }
  } finally {
    pool.close();
  }
  // Trials that found nothing rank above every count.
  const counts = out.map((t) => t.found ?? Infinity);
  const m = median(counts);
  const kinds = new Map<ViolationKind, number>();
  for (const t of out) if (t.kind) kinds.set(t.kind, (kinds.get(t.kind) ?? 0) + 1);
  const kind = [...kinds].sort((a, b) => b[1] - a[1])[0]?.[0];
  return {
    fault,
    scenario: scenario.name,
    trials: out,
    median: Number.isFinite(m) ? m : undefined,
    seconds: median(out.map((t) => t.seconds)),
    kind,
  };
}

/** Run every cell. */
export function runMatrix(opts: MatrixOptions = {}): MatrixCell[] {
  const faults = opts.faults ?? FAULT_SWITCHES;
  const scenarios = opts.scenarios ?? SCENARIOS.filter((s) => !s.knownIssue);
  const cells: MatrixCell[] = [];
  for (const fault of faults) {
    for (const sc of scenarios) {
      const cell = runCell(fault, sc, opts);
      cells.push(cell);
      opts.onCell?.(cell);
    }
  }
  return cells;
}

/** The cell's text: "found 12 (0.4 s)" or "not found". */
export function cellText(c: MatrixCell): string {
  if (c.median === undefined) return "not found";
  return `found ${c.median} (${c.seconds.toFixed(1)} s)`;
}

/** A plain-text table: faults down, scenarios across, plus a line per fault naming the catching scenarios. */
export function formatMatrix(cells: readonly MatrixCell[], opts: { schedules: number; trials: number }): string {
  const faults = [...new Set(cells.map((c) => c.fault))];
  const scenarios = [...new Set(cells.map((c) => c.scenario))];
  const at = (f: string, s: string) => cells.find((c) => c.fault === f && c.scenario === s);
  const header = ["fault \\ scenario", ...scenarios];
  const rows = faults.map((f) => [f, ...scenarios.map((s) => (at(f, s) ? cellText(at(f, s) as MatrixCell) : ""))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [
    `median schedules to the first violation over up to ${opts.trials} trials of at most ${opts.schedules} schedules (seconds: median per trial)`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
  ];
  for (const f of faults) {
    const found = cells.filter((c) => c.fault === f && c.median !== undefined);
    out.push(
      found.length
        ? `${f}: caught by ${found.map((c) => `${c.scenario} (${c.kind})`).join(", ")}`
        : `${f}: NOT CAUGHT by any scenario`,
    );
  }
  return out.join("\n");
}
