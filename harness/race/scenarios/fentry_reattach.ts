/**
 * fentry-reattach: attach and detach a fentry program on race_target in a
 * loop while two tasks call it from the start (no gate). A finding, not a
 * protocol step: it fails with no fault injected.
 *
 * runtime/tramp/text_poke.ts ftraceDirectPatch() writes both patchable
 * instructions of the entry at attach (nop → mov x9, x30, then nop → bl
 * tramp) and puts both back to nops at detach. A task that executed the
 * first instruction while it was still a nop and the second after it became
 * `bl tramp` enters the trampoline with x9 (the parent's return address the
 * trampoline returns through) never set: it returns to garbage. The arm64
 * kernel avoids this by writing `mov x9, x30` once, at ftrace_init_nop()
 * (module load / boot), so that only the single NOP ⇄ BL instruction
 * changes at run time (arch/arm64/kernel/ftrace.c). Architecturally, only a
 * single B/BL/NOP may be modified under concurrent execution.
 */
import type { Scenario } from "./types.js";

/** The fentry-reattach scenario (a known issue). */
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
  knownIssue:
    "ftrace entry race: both patchable nops are rewritten at attach/detach; the kernel writes `mov x9, x30` once at ftrace_init_nop()",
};
