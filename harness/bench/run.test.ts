import test from "ava";
import { RAW_UNICORN_KEY, resolveRatios, runSections, type RunProgress } from "./run.js";
import type { Result, Section, Unit } from "./types.js";
import { MIPS, MS, perSecond } from "./units.js";

function result(key: string, median: number, unit: Unit, baselineKey?: string): Result {
  const [section] = key.split(".");
  return {
    key,
    section,
    label: key.slice(section.length + 1),
    unit,
    median,
    min: median,
    max: median,
    n: 1,
    values: [median],
    repeats: 1,
    ...(baselineKey === undefined ? {} : { baselineKey }),
  };
}

test("resolveRatios: baselines by section key or full key, MIPS against the raw Unicorn loop", (t) => {
  const results = [
    result(RAW_UNICORN_KEY, 1000, MIPS),
    result("jit.interp", 10, MIPS),
    result("jit.jited", 630, MIPS, "interp"),
    result("jit.build", 2, MS, "jit.interp_build"),
    result("jit.interp_build", 8, MS),
    result("kernel.calls", 5e5, perSecond("calls"), "jit.jited"),
  ];
  const warnings = resolveRatios(results);
  const by = new Map(results.map((r) => [r.key, r]));
  t.deepEqual(by.get("jit.jited")?.ratio, { to: "jit.interp", label: "interp", value: 63 });
  t.deepEqual(by.get("jit.build")?.ratio, { to: "jit.interp_build", label: "interp_build", value: 4 });
  t.is(by.get("jit.interp")?.ofRawUnicorn, 0.01);
  t.is(by.get("jit.jited")?.ofRawUnicorn, 0.63);
  t.is(by.get(RAW_UNICORN_KEY)?.ofRawUnicorn, 1);
  t.is(by.get("jit.build")?.ofRawUnicorn, undefined, "only MIPS results are fractions of the raw loop");
  t.is(by.get("kernel.calls")?.ratio, undefined);
  t.deepEqual(warnings, ["kernel.calls: baseline jit.jited is in MIPS, not comparable with calls/s"]);
});

test("resolveRatios: a baseline that was not measured is a warning, and no raw loop means no fractions", (t) => {
  const results = [result("machine.q1k", 64, MIPS, "loop")];
  t.deepEqual(resolveRatios(results), ["machine.q1k: baseline loop was not measured in this run"]);
  t.is(results[0].ratio, undefined);
  t.is(results[0].ofRawUnicorn, undefined);
});

function synthetic(name: string, body: Section["run"], extra: Partial<Section> = {}): Section {
  return { name, description: `${name} section`, budgetSeconds: 60, run: body, ...extra };
}

test("runSections runs sections in order, resolves ratios across them, and survives a failing section", async (t) => {
  let now = 0;
  const clock = () => now;
  const events: string[] = [];
  const progress: RunProgress = {
    sectionStart: (s, i, n) => events.push(`section ${s.name} ${i + 1}/${n}`),
    measureStart: () => {},
    tick: () => {},
    measureEnd: (r) => events.push(`result ${r.key}`),
    sectionEnd: (o) => events.push(`end ${o.name}${o.error ? " failed" : ""}${o.overBudget ? " over" : ""}`),
    done: () => events.push("done"),
  };
  const sections = [
    synthetic("baseline", async (ctx) => {
      await ctx.measure("loop", () => ((now += 0.5), 5e8), { label: "raw", unit: MIPS, repeats: 3 });
    }),
    synthetic("broken", async (ctx) => {
      await ctx.measure("first", () => ((now += 1), 1), { label: "first", unit: perSecond("x"), repeats: 1 });
      throw new Error("lost the machine");
    }),
    synthetic(
      "machine",
      async (ctx) => {
        await ctx.measure("q1k", () => ((now += 0.5), 1e8), {
          label: "q1k",
          unit: MIPS,
          repeats: 1,
          baseline: "baseline.loop",
        });
      },
      { budgetSeconds: 0.5 },
    ),
  ];
  const run = await runSections(sections, { clock, progress });
  t.deepEqual(events, [
    "section baseline 1/3",
    "result baseline.loop",
    "end baseline",
    "section broken 2/3",
    "result broken.first",
    "end broken failed",
    "section machine 3/3",
    "result machine.q1k",
    "end machine over",
    "done",
  ]);
  t.deepEqual(
    run.results.map((r) => r.key),
    ["baseline.loop", "broken.first", "machine.q1k"],
  );
  t.is(run.sections[1].error, "lost the machine");
  t.is(run.sections[0].error, undefined);
  t.is(run.sections[0].seconds, 2, "warm-up + 3 runs of 0.5 s");
  const q = run.results[2];
  t.is(q.median, 200);
  t.is(q.ofRawUnicorn, 0.2);
  t.deepEqual(q.ratio, { to: "baseline.loop", label: "raw", value: 0.2 });
  t.deepEqual(run.warnings, ["section machine took 1.0 s (budget 0.5 s)"]);
  t.is(run.seconds, 5, "2 s + 2 s + 1 s, warm-up runs included");
  t.false(run.quick);
});
