/**
 * Section `race`: how fast the race explorer runs schedules (issue 9's
 * benchmark), per scenario, on one kernel reset between schedules
 * (harness/race/checkpoint.ts), and the peak RSS of a 10,000-schedule run.
 *
 *   race.<scenario>        schedules per second, PCT (depth 3), 2 CPUs, no
 *                          fault; the kernel boot is outside the timed runs
 *                          (each timed run continues on the booted kernel)
 *   race.<scenario>.random the same with the random strategy, for
 *                          fentry-detach (the target: >= 500 schedules/s)
 *   race.rss10k            peak RSS of `a64bpf race fentry-detach
 *                          --schedules 10000` as a child process (1,000 with --quick)
 *
 * Every timed run checks that the schedules really ran: no violation, and
 * every trampoline image allocated was freed.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { EFAULT } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { PROJECT_ROOT } from "../../../runtime/paths.js";
import { explore, WorldPool } from "../../race/explore.js";
import { SCENARIOS } from "../../race/scenarios/index.js";
import type { Scenario } from "../../race/scenarios/types.js";
import { peakRss } from "../rss.js";
import type { BenchContext, Section } from "../types.js";
import { MIB, perSecond } from "../units.js";

/** Schedules per timed run: [full, --quick]. */
const SCHEDULES = [400, 60] as const;
/** Schedules of the RSS run: [full, --quick]. */
const RSS_SCHEDULES = [10_000, 1_000] as const;

function fail(what: string): never {
  throw new BpfError(EFAULT, `race bench: ${what}`);
}

async function measureScenario(ctx: BenchContext, scenario: Scenario, strategy: string, n: number): Promise<void> {
  const pool = new WorldPool({ scenario, cpus: 2, faults: [] });
  try {
    let seed = 1;
    const key = strategy === "pct" ? scenario.name : `${scenario.name}.${strategy}`;
    await ctx.measure(
      key,
      () => {
        const r = explore(pool, { strategy, schedules: n, seed: seed++ });
        if (r.failure) fail(`${scenario.name}: violation without fault: ${r.failure.violation.message}`);
        if (r.schedules !== n || r.imagesFreed !== r.imagesAllocated || r.imagesAllocated === 0) {
          fail(`${scenario.name}: ${r.schedules} schedules, ${r.imagesAllocated} images, ${r.imagesFreed} freed`);
        }
        return r.schedules;
      },
      {
        label: `${scenario.name}, ${strategy}, 2 CPUs`,
        unit: perSecond("schedules"),
        note: `${n} schedules a run, ${scenario.callers.length} callers, ${scenario.controllers.length} control thread(s)${
          scenario.name === "fentry-detach" ? "; target >= 500/s" : ""
        }`,
      },
    );
  } finally {
    pool.close();
  }
}

/** The command that runs the CLI: built JavaScript when present, else tsx on the sources. */
function cliCommand(): { command: string; args: string[] } {
  const built = join(PROJECT_ROOT, "dist", "bin", "a64bpf.js");
  if (existsSync(built)) return { command: process.execPath, args: [built] };
  return { command: process.execPath, args: ["--import=tsx", join(PROJECT_ROOT, "bin", "a64bpf.ts")] };
}

/** The `race` benchmark section. */
export const section: Section = {
  name: "race",
  description: "race explorer: schedules/s per scenario (PCT, 2 CPUs, kernel reset between schedules), peak RSS of 10k",
  budgetSeconds: 90,
  repeats: 3,
  async run(ctx) {
    const n = SCHEDULES[ctx.quick ? 1 : 0];
    for (const scenario of SCENARIOS.filter((s) => !s.knownIssue)) {
      await measureScenario(ctx, scenario, "pct", n);
      if (scenario.name === "fentry-detach") await measureScenario(ctx, scenario, "random", n);
    }
    const schedules = RSS_SCHEDULES[ctx.quick ? 1 : 0];
    const { command, args } = cliCommand();
    const runArgs = [...args, "race", "fentry-detach", "--strategy", "random", "--schedules", String(schedules)];
    const r = await peakRss(command, runArgs, { cwd: PROJECT_ROOT });
    if (r.exitCode !== 0) fail(`${runArgs.join(" ")} exited with ${r.exitCode ?? r.signal}`);
    ctx.record("rss10k", [r.peakRssBytes], {
      label: `peak RSS, ${schedules} schedules of fentry-detach`,
      unit: MIB,
      note: `child process (${r.method}), ${r.seconds.toFixed(1)} s, ${(schedules / r.seconds).toFixed(0)} schedules/s with boot`,
    });
  },
};
