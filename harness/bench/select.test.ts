import test from "ava";
import { SECTIONS } from "./sections/index.js";
import { BenchUsageError, selectSections, type SectionEntry } from "./select.js";
import type { Section } from "./types.js";

function entry(name: string, requires: string[] = [], moduleName = name): SectionEntry {
  const section: Section = { name: moduleName, description: name, budgetSeconds: 1, requires, async run() {} };
  return { name, load: async () => ({ section }) };
}

const REGISTRY = [entry("baseline"), entry("machine", ["baseline"]), entry("jit", ["machine"]), entry("race")];

const names = (s: Section[]) => s.map((x) => x.name);

test("no names: every section, in registry order", async (t) => {
  t.deepEqual(names(await selectSections([], REGISTRY)), ["baseline", "machine", "jit", "race"]);
});

test("named sections bring what they require, transitively, in registry order", async (t) => {
  t.deepEqual(names(await selectSections(["machine"], REGISTRY)), ["baseline", "machine"]);
  t.deepEqual(names(await selectSections(["jit"], REGISTRY)), ["baseline", "machine", "jit"]);
  t.deepEqual(names(await selectSections(["race", "baseline"], REGISTRY)), ["baseline", "race"]);
  t.deepEqual(names(await selectSections(["machine", "machine"], REGISTRY)), ["baseline", "machine"]);
});

test("unknown names, unknown requirements, cycles and mismatched modules are usage errors", async (t) => {
  await t.throwsAsync(selectSections(["nope"], REGISTRY), {
    instanceOf: BenchUsageError,
    message: "unknown bench section: nope (known: baseline, machine, jit, race)",
  });
  await t.throwsAsync(selectSections([], [entry("a", ["ghost"])]), {
    instanceOf: BenchUsageError,
    message: "bench section a requires unknown section: ghost",
  });
  await t.throwsAsync(selectSections(["a"], [entry("a", ["b"]), entry("b", ["a"])]), {
    instanceOf: BenchUsageError,
    message: "circular bench section requirement: a -> b -> a",
  });
  await t.throwsAsync(selectSections([], [entry("a", [], "b")]), {
    instanceOf: BenchUsageError,
    message: "bench section module does not match its registry line: a",
  });
});

test("the real registry loads: baseline first, machine requires it", async (t) => {
  const all = await selectSections([], SECTIONS);
  t.deepEqual(names(all).slice(0, 2), ["baseline", "machine"]);
  t.deepEqual(names(await selectSections(["machine"], SECTIONS)), ["baseline", "machine"]);
  for (const s of all) {
    t.true(s.budgetSeconds > 0 && s.description.length > 0, s.name);
  }
  const total = all.reduce((sum, s) => sum + s.budgetSeconds, 0);
  t.true(total <= 300, `the budgets add up to ${total} s: a full run must stay under 5 minutes`);
});
