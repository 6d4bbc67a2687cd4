/**
 * fexit-detach: images with ip_after_call (BPF_TRAMP_F_CALL_ORIG |
 * SKIP_FRAME: the trampoline calls the original between __bpf_tramp_enter
 * and __bpf_tramp_exit) replaced and detached while two tasks call
 * race_target. Teardown of each old image (bpf_tramp_image_put):
 *
 *   poke ip_after_call → b ip_epilogue ─► call_rcu_tasks ─► percpu_ref_kill
 *     ─► (ref hits 0) call_rcu_tasks ─► workqueue free
 *
 * The fexit program checks the return value (2a+1) it sees in ctx[2].
 *
 * What exposes a missing step: a task preempted between the `bl` into the
 * trampoline and __bpf_tramp_enter when the ref is killed takes a reference
 * on a dead, released ref (skip-first-rcu-tasks-wait); a CPU that has not
 * synchronised since the detach poke still runs `bl <old image>` after the
 * free (rcu-tasks-as-plain-rcu: RCU-tasks' voluntary switches are also what
 * synchronises every CPU). Not here: skip-percpu-ref-wait, since a task
 * inside the (non-sleeping) original is a running task RCU-tasks waits for
 * anyway — fexit-sleeping-orig shows that one.
 */
import type { Scenario } from "./types.js";

/** The fexit-detach scenario. */
export const fexitDetach: Scenario = {
  name: "fexit-detach",
  description: "fexit images (ip_after_call, percpu_ref) replaced and detached while 2 tasks call race_target",
  cpus: 2,
  callers: [
    { comm: "caller0", fn: "race_caller", calls: 6, gated: true },
    { comm: "caller1", fn: "race_caller", calls: 6, gated: true },
  ],
  progs: [
    { name: "fexit_a", body: "check_ret", kind: "fexit", target: { func: "race_target" } },
    { name: "fexit_b", body: "check_ret", kind: "fexit", target: { func: "race_target" } },
  ],
  controllers: [
    {
      comm: "detacher",
      steps: [
        { op: "attach", prog: "fexit_a" },
        { op: "open-gate" },
        { op: "yield" },
        { op: "attach", prog: "fexit_b" },
        { op: "yield" },
        { op: "detach", prog: "fexit_a" },
        { op: "yield" },
        { op: "detach", prog: "fexit_b" },
      ],
    },
  ],
  quanta: [2000, 300, 80, 20, 5],
  exposes: ["skip-first-rcu-tasks-wait", "rcu-tasks-as-plain-rcu", "poke-without-text-mutex", "skip-icache-sync"],
};
