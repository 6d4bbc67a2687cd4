/**
 * concurrent-attach: two control threads attach and detach programs on the
 * same BPF program target at the same time, while tasks run it. Every image
 * update goes through the trampoline's mutex, and every text poke — the
 * target's patch site and the old images' ip_after_call — through
 * text_mutex: the two threads race through both.
 *
 *   ctl_a: attach fentry_a … detach fentry_a   (twice)
 *   ctl_b: attach fexit_b  … detach fexit_b    (twice)
 *
 * Exposes poke-without-text-mutex (lockdep: a poke made without the lock)
 * and, with a fexit program in the mix, the percpu_ref and RCU-tasks steps
 * (skip-first-rcu-tasks-wait, skip-final-rcu-tasks-wait,
 * rcu-tasks-as-plain-rcu).
 */
import type { Scenario } from "./types.js";

/** The concurrent-attach scenario. */
export const concurrentAttach: Scenario = {
  name: "concurrent-attach",
  description: "two control threads attach/detach on one BPF program target at once (text_mutex, tr->mutex)",
  cpus: 2,
  callers: [{ comm: "runner0", fn: "race_call_prog", calls: 5, prog: "race_tgt" }],
  progs: [
    { name: "race_tgt", body: "target" },
    { name: "fentry_a", body: "count", kind: "fentry", target: { prog: "race_tgt" } },
    { name: "fexit_b", body: "count", kind: "fexit", target: { prog: "race_tgt" } },
  ],
  controllers: [
    {
      comm: "ctl_a",
      steps: [{ op: "attach", prog: "fentry_a" }, { op: "yield" }, { op: "detach", prog: "fentry_a" }],
      repeat: 2,
    },
    {
      comm: "ctl_b",
      steps: [{ op: "attach", prog: "fexit_b" }, { op: "yield" }, { op: "detach", prog: "fexit_b" }],
      repeat: 2,
    },
  ],
  quanta: [2000, 300, 80, 20, 5],
  exposes: [
    "skip-first-rcu-tasks-wait",
    "skip-final-rcu-tasks-wait",
    "rcu-tasks-as-plain-rcu",
    "poke-without-text-mutex",
  ],
};
