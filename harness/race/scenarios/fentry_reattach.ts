/**
 * fentry-reattach: attach and detach a fentry program on race_target in a
 * loop while two tasks call it from the start (no gate), so callers run
 * through the function entry while it is patched both ways.
 *
 * This scenario found a real bug in an earlier ftraceDirectPatch(), which
 * rewrote both patchable instructions at attach (nop → mov x9, x30, then
 * nop → bl tramp) and at detach: a task that executed the first while still
 * a nop and the second once it was `bl tramp` entered the trampoline with x9
 * (the parent's return address) unset and returned to garbage (replay
 * r1:fentry-reattach:2:none:shrunk:1:105:38:784ab599:Y2BgYGBiYGZkANMgzMLIAMVgQQYGIAUA).
 * Fixed as the arm64 kernel does it: ftrace_init_nop() writes `mov x9, x30`
 * once at boot and module load (runtime/kernel/ftrace.ts), so only the single
 * NOP ⇄ BL instruction changes at run time.
 */
import type { Scenario } from "./types.js";

/** The fentry-reattach scenario. */
export const fentryReattach: Scenario = {
  name: "fentry-reattach",
  description: "fentry attached and detached in a loop while tasks call race_target (the ftrace entry race)",
  cpus: 2,
  callers: [
    { comm: "caller0", fn: "race_caller", calls: 6 },
    { comm: "caller1", fn: "race_caller", calls: 6 },
  ],
  progs: [{ name: "fentry_cnt", body: "count", kind: "fentry", target: { func: "race_target" } }],
  controllers: [
    {
      comm: "detacher",
      steps: [{ op: "attach", prog: "fentry_cnt" }, { op: "yield" }, { op: "detach", prog: "fentry_cnt" }],
      repeat: 2,
    },
  ],
  quanta: [2000, 300, 80, 20, 5],
  exposes: [],
};
