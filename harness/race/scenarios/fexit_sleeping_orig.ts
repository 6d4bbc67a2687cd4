/**
 * fexit-sleeping-orig: the e21aa341785c case ("bpf: Fix fexit trampoline").
 * The original function sleeps (msleep inside race_target_sleep) while the
 * trampoline that called it is replaced and detached. A sleeping task is in
 * a voluntary context switch, so RCU-tasks does not wait for it: only the
 * image's percpu_ref (taken by __bpf_tramp_enter before the original is
 * called, dropped by __bpf_tramp_exit after it returns) keeps the image
 * alive until the task comes back into it at ip_after_call.
 *
 *   caller: bl race_target_sleep ─► trampoline ─► __bpf_tramp_enter (ref)
 *           ─► original: msleep(1) … image replaced, old image put …
 *           ─► returns to ip_after_call (b ip_epilogue) ─► __bpf_tramp_exit
 *
 * Exposes skip-percpu-ref-wait (freed while the task sleeps inside the
 * original) and rcu-tasks-as-plain-rcu.
 */
import type { Scenario } from "./types.js";

/** The fexit-sleeping-orig scenario. */
export const fexitSleepingOrig: Scenario = {
  name: "fexit-sleeping-orig",
  description: "fexit image replaced and detached while the original (race_target_sleep) sleeps in msleep",
  cpus: 2,
  callers: [
    { comm: "sleeper0", fn: "race_caller_sleep", calls: 3, gated: true },
    { comm: "sleeper1", fn: "race_caller_sleep", calls: 3, gated: true },
  ],
  progs: [
    { name: "fexit_a", body: "count", kind: "fexit", target: { func: "race_target_sleep" } },
    { name: "fexit_b", body: "count", kind: "fexit", target: { func: "race_target_sleep" } },
  ],
  controllers: [
    {
      comm: "detacher",
      steps: [
        { op: "attach", prog: "fexit_a" },
        { op: "open-gate" },
        { op: "pause", ns: 300_000 },
        { op: "attach", prog: "fexit_b" },
        { op: "pause", ns: 300_000 },
        { op: "detach", prog: "fexit_a" },
        { op: "yield" },
        { op: "detach", prog: "fexit_b" },
      ],
    },
  ],
  quanta: [2000, 300, 80, 20, 5],
  exposes: [
    "skip-percpu-ref-wait",
    "skip-final-rcu-tasks-wait",
    "rcu-tasks-as-plain-rcu",
    "poke-without-text-mutex",
    "skip-icache-sync",
  ],
};
