/**
 * Section `kernel` (issue 4's benchmark): what the simulated kernel costs.
 *
 *   boot             bootKernel(): cached vmlinux, kallsyms, kthreads, bpf_testmod
 *   hypercall        an emulated loop calling a non-blocking service (ktime_get_ns)
 *   ctxsw            two emulated tasks on one CPU calling schedule() in a loop:
 *                    every call is a voluntary context switch
 *   rcu_tasks.gp     synchronize_rcu_tasks() from a kthread while two emulated
 *                    tasks run busy loops on 2 CPUs (wall time per grace period;
 *                    the note gives the virtual time)
 *
 * Every run checks that the work happened (loop counts, switch counters).
 */
import { initAssembler } from "../../../runtime/a64/asm.js";
import { EFAULT } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { bootKernel } from "../../../runtime/kernel/boot.js";
import type { Kernel } from "../../../runtime/kernel/kernel.js";
import type { KGen } from "../../../runtime/kernel/task.js";
import { asmFunction } from "../../../runtime/kernel/testing.js";
import type { Section } from "../types.js";
import { MS, perSecond } from "../units.js";

function check(cond: boolean, what: string): void {
  if (!cond) throw new BpfError(EFAULT, `bench kernel: ${what}`);
}

/** A function calling `service` x0 times. */
function serviceLoop(k: Kernel, name: string, service: string): bigint {
  return asmFunction(
    k,
    name,
    ["mov x19, x0", "loop:", `call ${service}`, "subs x19, x19, #1", "b.ne loop", "mov x0, #1", "ret"].join("\n"),
  );
}

export const section: Section = {
  name: "kernel",
  description: "simulated kernel: boot, hypercalls/s, context switches/s, RCU-tasks grace period",
  budgetSeconds: 20,
  requires: ["baseline"],
  async run(ctx) {
    await initAssembler();
    await ctx.measure(
      "boot",
      () => {
        const t0 = performance.now();
        const { kernel } = bootKernel({ cpus: 2 });
        const seconds = (performance.now() - t0) / 1e3;
        check(kernel.kallsyms.addressOf("bpf_testmod_fentry_test11") !== undefined, "bpf_testmod not loaded");
        kernel.close();
        return { units: 1, seconds };
      },
      { label: "boot (cached vmlinux + bpf_testmod, 2 CPUs)", unit: MS },
    );

    const { kernel: k } = bootKernel({ cpus: 2, seed: 1 });
    try {
      const calls = ctx.quick ? 20_000 : 200_000;
      const hloop = serviceLoop(k, "hcall_loop", "ktime_get_ns");
      await ctx.measure(
        "hypercall",
        () => {
          check(k.call(hloop, [BigInt(calls)]) === 1n, "service loop did not finish");
          return calls;
        },
        {
          label: "service call from emulated code (bl → svc → TS → ret)",
          unit: perSecond("calls"),
          note: "ktime_get_ns",
        },
      );

      const switches = ctx.quick ? 2_000 : 20_000;
      const sloop = serviceLoop(k, "sched_loop", "schedule");
      const k1 = bootKernel({ cpus: 1, seed: 2 }).kernel;
      const s1 = serviceLoop(k1, "sched_loop", "schedule");
      try {
        await ctx.measure(
          "ctxsw",
          () => {
            const a = k1.sched.spawnCall("pinga", s1, [BigInt(switches)]);
            const b = k1.sched.spawnCall("pingb", s1, [BigInt(switches)]);
            const t0 = performance.now();
            k1.sched.runUntil(() => a.state === "dead" && b.state === "dead");
            const seconds = (performance.now() - t0) / 1e3;
            check(a.nvcsw >= switches && b.nvcsw >= switches, "too few voluntary switches");
            return { units: a.nvcsw + b.nvcsw, seconds };
          },
          { label: "voluntary context switches (schedule() ping-pong, 1 CPU)", unit: perSecond("switches") },
        );
      } finally {
        k1.close();
      }
      void sloop;

      const gps = ctx.quick ? 5 : 20;
      const busy = asmFunction(
        k,
        "busy_loop",
        ["mov x19, x0", "loop:", "subs x19, x19, #1", "b.ne loop", "call cond_resched", "ret"].join("\n"),
      );
      let virt = 0n;
      await ctx.measure(
        "rcu_tasks.gp",
        () => {
          const t1 = k.sched.spawnCall("busy1", busy, [200_000n]);
          const t2 = k.sched.spawnCall("busy2", busy, [200_000n]);
          const t0 = performance.now();
          const v0 = k.sched.now;
          k.runKthread("gp_bench", function* (): KGen<void> {
            for (let i = 0; i < gps; i++) yield* k.rcuTasks.synchronize();
          });
          const seconds = (performance.now() - t0) / 1e3;
          virt = (k.sched.now - v0) / BigInt(gps);
          k.sched.runUntil(() => t1.state === "dead" && t2.state === "dead");
          return { units: gps, seconds };
        },
        { label: "RCU-tasks grace period (synchronize_rcu_tasks, 2 busy tasks)", unit: MS },
      );
      ctx.record("rcu_tasks.gp.virtual", [Number(virt) / 1e9], {
        label: "RCU-tasks grace period, virtual time",
        unit: MS,
        note: "1 ns of virtual time per instruction of a full slice",
      });
    } finally {
      k.close();
    }
  },
};
