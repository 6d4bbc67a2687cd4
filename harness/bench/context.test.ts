import test from "ava";
import { BpfError } from "../../runtime/errors.js";
import { createContext, DEFAULT_REPEATS, QUICK_REPEATS, type ProgressSink } from "./context.js";
import type { Section } from "./types.js";
import { MIB, MIPS, MS, perSecond } from "./units.js";

function section(extra: Partial<Section> = {}): Section {
  return { name: "syn", description: "synthetic", budgetSeconds: 100, async run() {}, ...extra };
}

/** A clock that advances only when told. */
function fakeClock() {
  let now = 1000;
  return { clock: () => now, advance: (s: number) => (now += s) };
}

test("measure: warm-up then repeats, each timed by the clock, median/min/max in the unit", async (t) => {
  const { clock, advance } = fakeClock();
  const seen: number[] = [];
  // Run k takes 0.1 s for 1e8·(k+1) instructions: 1000, 2000, … MIPS.
  const { ctx, results } = createContext(section(), { clock });
  const r = await ctx.measure(
    "loop",
    (rep) => {
      seen.push(rep);
      advance(0.1);
      return 1e8 * (rep + 1);
    },
    { label: "loop", unit: MIPS, repeats: 4, warmup: 2 },
  );
  t.deepEqual(seen, [0, 1, 2, 3, 4, 5], "2 warm-up runs then 4 timed runs");
  t.is(r.key, "syn.loop");
  t.is(r.section, "syn");
  t.deepEqual(
    r.values.map((v) => Math.round(v)),
    [3000, 4000, 5000, 6000],
    "warm-up runs are not samples",
  );
  t.is(Math.round(r.median), 4500);
  t.is(Math.round(r.min), 3000);
  t.is(Math.round(r.max), 6000);
  t.is(r.n, 4);
  t.is(r.repeats, 4);
  t.deepEqual(results, [r]);
});

test("measure: a function may time itself to leave its set-up out", async (t) => {
  const { clock, advance } = fakeClock();
  const { ctx } = createContext(section(), { clock });
  const r = await ctx.measure(
    "self",
    async () => {
      advance(10); // set-up the harness must not count
      return { units: 500, seconds: 0.002 };
    },
    { label: "self-timed", unit: perSecond("calls"), repeats: 3 },
  );
  t.deepEqual(r.values, [250_000, 250_000, 250_000]);
});

test("measure: repeats come from --repeats, then the measurement, then the section, then the default", async (t) => {
  const count = async (opts: { cli?: number; own?: number; sec?: number; quick?: boolean }) => {
    let runs = 0;
    const { ctx } = createContext(section(opts.sec === undefined ? {} : { repeats: opts.sec }), {
      ...(opts.cli === undefined ? {} : { repeats: opts.cli }),
      quick: opts.quick === true,
    });
    const r = await ctx.measure("x", () => (runs++, 1), {
      label: "x",
      unit: perSecond("x"),
      warmup: 0,
      ...(opts.own === undefined ? {} : { repeats: opts.own }),
    });
    t.is(r.n, runs);
    return runs;
  };
  t.is(await count({}), DEFAULT_REPEATS);
  t.is(await count({ sec: 7 }), 7);
  t.is(await count({ sec: 7, own: 2 }), 2);
  t.is(await count({ sec: 7, own: 2, cli: 4 }), 4);
  t.is(await count({ sec: 7, quick: true }), QUICK_REPEATS, "--quick caps repeats");
  t.is(await count({ own: 1, quick: true }), 1);
  t.is(await count({ sec: 7, quick: true, cli: 6 }), 6, "--repeats wins over --quick");
});

test("measure: stops repeating once the section's budget is spent, keeping at least one sample", async (t) => {
  const { clock, advance } = fakeClock();
  const { ctx } = createContext(section({ budgetSeconds: 1 }), { clock });
  const a = await ctx.measure("a", () => (advance(0.3), 1), { label: "a", unit: MS, repeats: 10, warmup: 0 });
  t.is(a.n, 4, "0.3 s runs: the budget of 1 s is over after the 4th");
  t.is(a.repeats, 10);
  t.true(ctx.budgetLeft() < 0);
  const b = await ctx.measure("b", () => (advance(0.3), 1), { label: "b", unit: MS, repeats: 10 });
  t.is(b.n, 1, "over budget: one sample only");
});

test("measure reports progress: start with the run count, one tick per run, end with the result", async (t) => {
  const events: string[] = [];
  const progress: ProgressSink = {
    measureStart: (key, label, runs) => events.push(`start ${key} ${label} ${runs}`),
    tick: () => events.push("tick"),
    measureEnd: (r) => events.push(`end ${r.key} n=${r.n}`),
  };
  const { ctx } = createContext(section(), { progress });
  await ctx.measure("p", () => 1, { label: "P", unit: perSecond("x"), repeats: 2, warmup: 1 });
  t.deepEqual(events, ["start syn.p P 3", "tick", "tick", "tick", "end syn.p n=2"]);
});

test("record keeps values measured elsewhere, in raw units", (t) => {
  const { ctx, results } = createContext(section());
  const rss = ctx.record("rss", [100 * 2 ** 20, 300 * 2 ** 20, 200 * 2 ** 20], { label: "peak RSS", unit: MIB });
  t.deepEqual(rss.values, [100, 300, 200]);
  t.is(rss.median, 200);
  const wall = ctx.record("wall", [1.5, 2.5], { label: "wall", unit: MS });
  t.deepEqual(wall.values, [1500, 2500]);
  t.is(wall.median, 2000);
  t.deepEqual(
    results.map((r) => r.key),
    ["syn.rss", "syn.wall"],
  );
});

test("bad keys, duplicate keys, bad repeats and bad samples are typed errors", async (t) => {
  const { ctx } = createContext(section());
  await ctx.measure("k", () => 1, { label: "k", unit: perSecond("x"), repeats: 1 });
  await t.throwsAsync(
    ctx.measure("k", () => 1, { label: "k", unit: perSecond("x") }),
    {
      instanceOf: BpfError,
      message: "duplicate measurement key: syn.k",
    },
  );
  await t.throwsAsync(
    ctx.measure("bad key", () => 1, { label: "k", unit: perSecond("x") }),
    {
      instanceOf: BpfError,
      message: 'invalid measurement key: "bad key"',
    },
  );
  await t.throwsAsync(
    ctx.measure("r", () => 1, { label: "r", unit: perSecond("x"), repeats: 0 }),
    {
      instanceOf: BpfError,
      message: "invalid repeats: 0 (must be a positive integer)",
    },
  );
  await t.throwsAsync(
    ctx.measure("neg", () => -5, { label: "n", unit: MIPS, repeats: 1, warmup: 0 }),
    {
      instanceOf: BpfError,
      message: "syn.neg: invalid sample: -5 units",
    },
  );
});
