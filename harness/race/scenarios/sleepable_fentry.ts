/**
 * sleepable-fentry: a sleepable fentry program (it calls race_sleep_kfunc,
 * which sleeps in msleep, as a sleepable program may in
 * bpf_copy_from_user) detached while tasks run it. The trampoline enters it
 * with __bpf_prog_enter_sleepable_recur (rcu_read_lock_trace +
 * migrate_disable), so a task can block inside the program, inside the
 * trampoline's frame. RCU-tasks does not wait for a blocked task; the
 * fentry-only teardown therefore starts with call_rcu_tasks_trace, which
 * does:
 *
 *   bpf_tramp_image_put ─► call_rcu_tasks_trace (waits for the sleeping
 *     program) ─► call_rcu_tasks ─► workqueue free
 *
 * Exposes skip-first-rcu-tasks-wait: the image is freed while the program
 * sleeps, and the task returns into freed text.
 */
import type { Scenario } from "./types.js";

/** The sleepable-fentry scenario. */
export const sleepableFentry: Scenario = {
  name: "sleepable-fentry",
  description: "sleepable fentry program that sleeps (rcu_read_lock_trace) detached while tasks run it",
  cpus: 2,
  callers: [
    { comm: "caller0", fn: "race_caller", calls: 3, gated: true },
    { comm: "caller1", fn: "race_caller", calls: 3, gated: true },
  ],
  progs: [
    { name: "fentry_sleepy", body: "sleep_count", kind: "fentry", target: { func: "race_target" }, sleepable: true },
  ],
  controllers: [
    {
      comm: "detacher",
      steps: [
        { op: "attach", prog: "fentry_sleepy" },
        { op: "open-gate" },
        { op: "pause", ns: 500_000 },
        { op: "detach", prog: "fentry_sleepy" },
      ],
    },
  ],
  quanta: [2000, 300, 80, 20, 5],
  exposes: ["skip-first-rcu-tasks-wait", "poke-without-text-mutex", "skip-icache-sync"],
};
