/**
 * The race world: schedules on a reset kernel are the same, bit for bit, as
 * on a freshly booted one; the watchdog, leak and lost-call detectors fire;
 * bad scenarios are refused.
 */
import test from "ava";
import { EINVAL } from "../../runtime/errno.js";
import { replay, runLogged, WorldPool } from "./explore.js";
import { concurrentAttach } from "./scenarios/concurrent_attach.js";
import { fentryDetach } from "./scenarios/fentry_detach.js";
import { progTargetDetach } from "./scenarios/prog_target_detach.js";
import { sleepableFentry } from "./scenarios/sleepable_fentry.js";
import type { Scenario } from "./scenarios/types.js";
import { UniformChooser } from "./strategies/random.js";
import { TimelineRecorder, type TimelineEvent } from "./timeline.js";
import { encodeToken, makeToken } from "./token.js";
import { RaceWorld } from "./world.js";

function eventText(events: readonly TimelineEvent[]): string {
  return JSON.stringify(events, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
}

for (const scenario of [fentryDetach, concurrentAttach, sleepableFentry]) {
  test(`${scenario.name}: a schedule run after 25 others replays bit for bit on a freshly booted kernel`, (t) => {
    const pool = new WorldPool({ scenario, cpus: scenario.cpus, faults: [] });
    try {
      const recorded: { token: string; events: string; result: string }[] = [];
      for (let i = 0; i < 28; i++) {
        const rec = new TimelineRecorder();
        const run = runLogged(pool, new UniformChooser(1000 + i), rec.observers);
        t.is(run.result.violation, undefined, `schedule ${i}: ${run.result.violation?.message}`);
        if (i < 25) continue;
        const token = encodeToken(
          makeToken(run.log, {
            scenario: scenario.name,
            cpus: scenario.cpus,
            faults: [],
            strategy: "random",
            seed: 0,
            schedule: i,
          }),
        );
        recorded.push({ token, events: eventText(rec.events), result: JSON.stringify(summary(run.result)) });
      }
      t.is(pool.boots, 1, "one kernel for all of them");
      for (const r of recorded) {
        const rec = new TimelineRecorder();
        const again = replay(r.token, { observers: rec.observers });
        t.is(again.diverged, undefined);
        t.is(eventText(rec.events), r.events, "every scheduling and kernel event, in order, with times and addresses");
        t.is(JSON.stringify(summary(again.result)), r.result);
      }
    } finally {
      pool.close();
    }
  });
}

function summary(r: ReturnType<RaceWorld["runSchedule"]>) {
  return {
    steps: r.steps,
    t: r.t.toString(),
    imagesAllocated: r.imagesAllocated,
    imagesFreed: r.imagesFreed,
    progRuns: r.progRuns,
    tasks: r.tasks,
    names: [...r.taskNames],
  };
}

test("the watchdog reports a schedule that does not end as a livelock", (t) => {
  const w = RaceWorld.create({ ...fentryDetach, maxSteps: 6 });
  try {
    const r = w.runSchedule(new UniformChooser(1));
    t.is(r.violation?.kind, "livelock");
    t.regex(r.violation?.message ?? "", /^run: no end after 6 scheduler steps \(a task never returns\)$/);
    t.regex(r.violation?.details?.join("\n") ?? "", /caller0\/\d+/);
    t.true(w.dirty, "the kernel cannot be reset after this");
    t.throws(() => w.runSchedule(new UniformChooser(2)), { message: /dirty/ });
  } finally {
    w.close();
  }
});

test("tasks that can never run again are reported as a deadlock", (t) => {
  const w = RaceWorld.create(progTargetDetach);
  try {
    // text_mutex held by a kernel thread that never lets it go: the control thread's first poke waits forever.
    w.k.textMutex.owner = w.k.sched.liveTasks().find((x) => x.comm === "rcu_preempt");
    const r = w.runSchedule(new UniformChooser(5));
    t.is(r.violation?.kind, "deadlock");
    t.is(r.violation?.message, "run: every task is blocked before the scenario finished");
    t.regex(r.violation?.details?.join("\n") ?? "", /detacher\/\d+ blocked on text_mutex/);
  } finally {
    w.close();
  }
});

test("a patch site that does not hold the expected instruction is a text-poke mismatch (-EFAULT)", (t) => {
  const w = RaceWorld.create(progTargetDetach);
  try {
    const site = (w.progs.get("race_tgt")?.prog.jited.bpfFunc ?? 0n) + 4n;
    let done = false;
    const r = w.runSchedule(new UniformChooser(6), {
      onSched: () => {
        if (done) return;
        done = true;
        w.k.machine.memory.write32(site, 0xaa0903e9); // mov x9, x9: harmless, but not the nop the poke expects
      },
    });
    t.is(r.violation?.kind, "text-poke-mismatch");
    t.regex(
      r.violation?.message ?? "",
      /^detacher: attach fentry fentry_on_prog to race_tgt: bpf_arch_text_poke: bpf_prog_[0-9a-f]{16}_race_tgt\+0x4 holds 0xaa0903e9, expected 0xd503201f$/,
    );
  } finally {
    w.close();
  }
});

test("an image that outlives the schedule is a leak", (t) => {
  const w = RaceWorld.create(fentryDetach);
  try {
    let leaked = false;
    const r = w.runSchedule(new UniformChooser(3), {
      onKernel: (ev) => {
        if (ev.kind === "image_alloc" && !leaked) {
          leaked = true;
          w.k.bpfText.alloc(64, "bpf_trampoline_leaked");
        }
      },
    });
    t.is(r.violation?.kind, "leak");
    t.is(r.violation?.message, "trampoline text still allocated: bpf_trampoline_leaked");
  } finally {
    w.close();
  }
});

test("a call whose body did not run is a lost call", (t) => {
  const w = RaceWorld.create(fentryDetach);
  try {
    const body = w.k.symbolAddress("race_body");
    let done = false;
    const r = w.runSchedule(new UniformChooser(4), {
      onKernel: (ev) => {
        if (ev.kind === "image_put" && !done) {
          done = true;
          // As if one call of caller0 had skipped the original.
          w.k.machine.memory.write64(body, w.k.machine.memory.read64(body) - 1n);
        }
      },
    });
    t.is(r.violation?.kind, "lost-call");
    t.regex(
      r.violation?.message ?? "",
      /^caller0\/\d+: 6 calls expected, 6 made, body ran 5 times, 6 returned the right value$/,
    );
  } finally {
    w.close();
  }
});

test("without faults a schedule frees every image and loses no call", (t) => {
  const w = RaceWorld.create(fentryDetach);
  try {
    for (let i = 0; i < 20; i++) {
      const r = w.runSchedule(new UniformChooser(50 + i));
      t.is(r.violation, undefined);
      t.is(r.imagesAllocated, 4, "fentry_a, fentry_s, then replaced twice");
      t.is(r.imagesFreed, 4);
      t.is(r.calls, 9);
    }
  } finally {
    w.close();
  }
});

const bad = (patch: Partial<Scenario>): Scenario => ({ ...fentryDetach, ...patch });
const BAD: [string, Scenario, RegExp][] = [
  [
    "unknown program in a step",
    bad({ controllers: [{ comm: "c", steps: [{ op: "open-gate" }, { op: "attach", prog: "nope" }] }] }),
    /scenario fentry-detach: c: unknown nope/,
  ],
  [
    "attach never detached",
    bad({ controllers: [{ comm: "c", steps: [{ op: "attach", prog: "fentry_a" }, { op: "open-gate" }] }] }),
    /c: fentry_a never detached/,
  ],
  [
    "gated callers without a gate",
    bad({ controllers: [{ comm: "c", steps: [{ op: "yield" }] }] }),
    /gated callers but no controller opens the gate/,
  ],
  [
    "too many callers",
    bad({ callers: Array.from({ length: 9 }, (_, i) => ({ comm: `c${i}`, fn: "race_caller", calls: 1 })) }),
    /at most 8 callers/,
  ],
  ["no quanta", bad({ quanta: [] }), /no quanta/],
];

for (const [what, scenario, msg] of BAD) {
  test(`a bad scenario is refused before booting: ${what}`, (t) => {
    const err = t.throws(() => RaceWorld.create(scenario), { message: msg });
    t.is((err as { errno?: number }).errno, EINVAL);
  });
}
