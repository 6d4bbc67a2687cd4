/**
 * prog-target-detach: fentry on a BPF program. The target is a JITed
 * program (race_tgt) that two tasks run in loops, as bpf_prog_run() runs
 * one (race_call_prog: rcu_read_lock, migrate_disable, bpf_func(ctx)). The
 * attach pokes the program's patch site (the nop at POKE_OFFSET after
 * `mov x9, x30`) with bpf_arch_text_poke: nop ⇄ bl <trampoline>. One
 * instruction changes, so attaching while callers are in flight is safe,
 * and the controller attaches and detaches in a loop.
 *
 * Exposes rcu-tasks-as-plain-rcu and skip-final-rcu-tasks-wait (a task
 * preempted in the trampoline's asm, or a CPU still running the stale
 * `bl` at the patch site, when the image is freed) and
 * poke-without-text-mutex.
 */
import type { Scenario } from "./types.js";

/** The prog-target-detach scenario. */
export const progTargetDetach: Scenario = {
  name: "prog-target-detach",
  description: "fentry on a JITed BPF program (its patch site is poked) attached and detached in a loop",
  cpus: 2,
  callers: [
    { comm: "runner0", fn: "race_call_prog", calls: 5, prog: "race_tgt" },
    { comm: "runner1", fn: "race_call_prog", calls: 5, prog: "race_tgt" },
  ],
  progs: [
    { name: "race_tgt", body: "target" },
    { name: "fentry_on_prog", body: "count", kind: "fentry", target: { prog: "race_tgt" } },
  ],
  controllers: [
    {
      comm: "detacher",
      steps: [{ op: "attach", prog: "fentry_on_prog" }, { op: "yield" }, { op: "detach", prog: "fentry_on_prog" }],
      repeat: 2,
    },
  ],
  quanta: [2000, 300, 80, 20, 5],
  exposes: ["skip-final-rcu-tasks-wait", "rcu-tasks-as-plain-rcu", "poke-without-text-mutex"],
};
