/**
 * fentry-detach: fentry-only images (BPF_TRAMP_F_RESTORE_REGS: no
 * ip_after_call, no percpu_ref) on race_target and race_target_sleep,
 * replaced and detached while two tasks call them in loops. Teardown of
 * each old image: call_rcu_tasks_trace → call_rcu_tasks → workqueue free
 * (kernel/bpf/trampoline.c bpf_tramp_image_put).
 *
 *   detacher: attach fentry_a (race_target), fentry_s (race_target_sleep)
 *             open the gate ─► attach fentry_b (image replaced: bl old → bl new)
 *             ─► detach fentry_a (replaced again) ─► detach fentry_b, fentry_s
 *             (the entries go back to nops) while the callers run
 *
 * What exposes a missing step: a task preempted by a tick inside the
 * trampoline's asm, outside __bpf_prog_enter/exit's rcu_read_lock, when its
 * image goes (only RCU-tasks waits for it: rcu-tasks-as-plain-rcu,
 * skip-final-rcu-tasks-wait); a CPU that keeps a stale `bl <old image>` at
 * the entry of race_target_sleep after the image is freed, while the
 * sleeping caller comes back for its next call (skip-icache-sync).
 *
 * The callers start once the first attach is done (see fentry-reattach for
 * why an attach to an entry with callers in flight is not safe here).
 */
import type { Scenario } from "./types.js";

/** The fentry-detach scenario. */
export const fentryDetach: Scenario = {
  name: "fentry-detach",
  description: "fentry-only images replaced and detached while 2 tasks call race_target/race_target_sleep",
  cpus: 2,
  callers: [
    { comm: "caller0", fn: "race_caller", calls: 6, gated: true },
    { comm: "caller1", fn: "race_caller_sleep", calls: 3, gated: true },
  ],
  progs: [
    { name: "fentry_a", body: "count", kind: "fentry", target: { func: "race_target" } },
    { name: "fentry_b", body: "count", kind: "fentry", target: { func: "race_target" } },
    { name: "fentry_s", body: "count", kind: "fentry", target: { func: "race_target_sleep" } },
  ],
  controllers: [
    {
      comm: "detacher",
      steps: [
        { op: "attach", prog: "fentry_a" },
        { op: "attach", prog: "fentry_s" },
        { op: "open-gate" },
        { op: "yield" },
        { op: "attach", prog: "fentry_b" },
        { op: "yield" },
        { op: "detach", prog: "fentry_a" },
        { op: "yield" },
        { op: "detach", prog: "fentry_b" },
        { op: "detach", prog: "fentry_s" },
      ],
    },
  ],
  quanta: [2000, 300, 80, 20, 5],
  exposes: ["skip-final-rcu-tasks-wait", "rcu-tasks-as-plain-rcu", "poke-without-text-mutex", "skip-icache-sync"],
};
