/**
 * Section `selftests` (issue 7's benchmark): wall time of the whole ported
 * suite as `npm run selftests` runs it (a cold `node dist/bin/a64bpf.js
 * selftests` process, kernel image and BPF objects cached), each test on its
 * own (`-a <test>`, also a cold process), and the suite's peak RSS
 * (issue 11). Target: the whole suite under 10 s on the 2-core machine.
 *
 * Every run must exit 0: a failing suite throws instead of reporting a time.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { EFAULT } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { PROJECT_ROOT } from "../../../runtime/paths.js";
import { peakRss } from "../rss.js";
import type { Section } from "../types.js";
import { MIB, SECONDS } from "../units.js";

const BIN = join(PROJECT_ROOT, "dist", "bin", "a64bpf.js");

function selftests(args: string[]): { seconds: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync("node", [BIN, "selftests", ...args], { encoding: "utf8", cwd: PROJECT_ROOT });
  const seconds = (performance.now() - t0) / 1e3;
  if (r.status !== 0) {
    throw new BpfError(
      EFAULT,
      `bench selftests: a64bpf selftests ${args.join(" ")} exited ${r.status}\n${r.stdout}${r.stderr}`,
    );
  }
  return { seconds, stdout: r.stdout };
}

export const section: Section = {
  name: "selftests",
  description: "ported selftests: whole-suite wall time (target < 10 s), per test, peak RSS",
  budgetSeconds: 40,
  repeats: 3,
  async run(ctx) {
    await ctx.measure("suite", () => ({ units: 1, seconds: selftests([]).seconds }), {
      label: "whole suite, cold process (npm run selftests)",
      unit: SECONDS,
      note: "kernel image and BPF objects cached; target < 10 s",
    });
    const tests = selftests(["-l"]).stdout.trim().split("\n").filter(Boolean);
    for (const name of tests) {
      await ctx.measure(`test.${name}`, () => ({ units: 1, seconds: selftests(["-a", name]).seconds }), {
        label: `${name} alone, cold process`,
        unit: SECONDS,
        repeats: ctx.quick ? 1 : 3,
      });
    }
    const rss = await peakRss("node", [BIN, "selftests"], { cwd: PROJECT_ROOT });
    if (rss.exitCode !== 0) throw new BpfError(EFAULT, `bench selftests: suite exited ${rss.exitCode} under peakRss`);
    ctx.record("suite.peak_rss", [rss.peakRssBytes], {
      label: "whole suite, peak RSS (largest process of the tree)",
      unit: MIB,
      note: `${rss.method}`,
    });
  },
};
