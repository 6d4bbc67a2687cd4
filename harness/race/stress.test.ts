/**
 * Issue 6's stress acceptance, through the race explorer: attach/detach
 * stress on 2–4 CPUs with tasks calling the traced function in loops — no
 * fault, no lost call, every image eventually freed, the teardown protocol
 * intact; and with each fault-injection switch on, a seed that produces a
 * use-after-free or stale-execution report (for poke-without-text-mutex,
 * whose pokes cannot tear in this model, the lockdep report).
 */
import test from "ava";
import { FAULT_SWITCHES } from "../../runtime/kernel/fault_inject.js";
import { explore, replay, WorldPool } from "./explore.js";
import { scenarioByName } from "./scenarios/index.js";
import type { ViolationKind } from "./violation.js";

const STRESS = ["fentry-detach", "fexit-detach", "fexit-sleeping-orig", "prog-target-detach"];

for (const cpus of [2, 3, 4]) {
  test(`attach/detach stress on ${cpus} CPUs: no violation, no lost call, every image freed`, (t) => {
    for (const name of STRESS) {
      const scenario = scenarioByName(name);
      for (const strategy of ["random", "pct"]) {
        const pool = new WorldPool({ scenario, cpus, faults: [] });
        try {
          const r = explore(pool, { strategy, schedules: 30, seed: cpus });
          t.is(r.failure, undefined, `${name} ${strategy}: ${r.failure?.violation.message}`);
          t.is(r.schedules, 30);
          t.true(r.imagesAllocated >= 30, `${name}: ${r.imagesAllocated} images`);
          t.is(r.imagesFreed, r.imagesAllocated, `${name} ${strategy}: every image freed`);
          t.is(pool.boots, 1);
        } finally {
          pool.close();
        }
      }
    }
  });
}

/** Where each switch shows, and what the run leads to when it goes on after the first report. */
const CATCH: Record<string, { scenario: string; first: ViolationKind[]; leadsTo: ViolationKind[] }> = {
  "skip-first-rcu-tasks-wait": {
    scenario: "sleepable-fentry",
    first: ["freed-while-inside"],
    leadsTo: ["use-after-free"],
  },
  "skip-percpu-ref-wait": {
    scenario: "fexit-sleeping-orig",
    first: ["freed-while-inside"],
    leadsTo: ["use-after-free"],
  },
  "skip-final-rcu-tasks-wait": {
    scenario: "fentry-detach",
    first: ["freed-while-inside", "stale-instruction", "use-after-free"],
    leadsTo: ["use-after-free", "stale-instruction"],
  },
  "rcu-tasks-as-plain-rcu": {
    scenario: "fexit-detach",
    first: ["freed-while-inside", "stale-instruction", "use-after-free"],
    leadsTo: ["use-after-free", "stale-instruction"],
  },
  "poke-without-text-mutex": {
    scenario: "concurrent-attach",
    first: ["text-poke-unlocked"],
    leadsTo: ["text-poke-unlocked"],
  },
  "skip-icache-sync": {
    scenario: "fentry-detach",
    first: ["stale-instruction"],
    leadsTo: ["stale-instruction"],
  },
};

test("every fault-injection switch has a stress case", (t) => {
  t.deepEqual(Object.keys(CATCH).sort(), [...FAULT_SWITCHES].sort());
});

for (const fault of FAULT_SWITCHES) {
  test(`with ${fault} a seed produces a ${CATCH[fault].leadsTo.join(" or ")} report`, (t) => {
    const c = CATCH[fault];
    const scenario = scenarioByName(c.scenario);
    const pool = new WorldPool({ scenario, cpus: 2, faults: [fault] });
    let token: string;
    try {
      const r = explore(pool, { strategy: "random", schedules: 1000, seed: 1 });
      if (!r.failure) return t.fail(`${fault}: nothing in ${r.schedules} schedules of ${c.scenario}`);
      t.true(c.first.includes(r.failure.violation.kind), `first report: ${r.failure.violation.kind}`);
      t.log(`${fault}: ${c.scenario} schedule ${r.failure.index}: ${r.failure.violation.message}`);
      token = r.failure.token;
    } finally {
      pool.close();
    }
    // Going on after the first report: the task really executes freed text (or the stale branch).
    const again = replay(token, { observers: { continueAfterViolation: true } });
    const kinds = again.result.all.map((v) => v.kind);
    t.true(
      kinds.some((k) => c.leadsTo.includes(k)),
      `reports when the run goes on: ${kinds.join(", ")}`,
    );
    const exec = again.result.all.find((v) => v.kind === "use-after-free" || v.kind === "stale-instruction");
    if (exec) {
      t.regex(
        exec.symbol ?? "",
        /^bpf_trampoline_\d+\+0x[0-9a-f]+\/0x[0-9a-f]+ \(freed\)$/,
        "the PC is in freed trampoline text",
      );
      t.true((exec.backtrace?.length ?? 0) >= 2, "with a backtrace");
    }
  });
}
