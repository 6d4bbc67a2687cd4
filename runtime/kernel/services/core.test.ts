import test from "ava";
import { initAssembler } from "../../a64/asm.js";
import { Kernel } from "../kernel.js";
import { asmFunction } from "../testing.js";
import { IRQ_FLAGS_DISABLED, irqsDisabled } from "./core.js";

test.before(async () => {
  await initAssembler();
});

/** What the probe service saw of the calling task at each call. */
interface Seen {
  rcu: number;
  preempt: number;
  irqsOff: boolean;
}

function withProbe(k: Kernel): { seen: Seen[] } {
  const seen: Seen[] = [];
  k.registerDynamicService("probe_regions", (call) => {
    seen.push({ rcu: call.task.rcuReadLockNesting, preempt: call.task.preemptCount, irqsOff: irqsDisabled(call.task) });
    return 0n;
  });
  return { seen };
}

test("region kfuncs act on the calling task: RCU nesting, preempt_count, IRQ flags as arm64 saves them", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const { seen } = withProbe(k);
    // Two 8-byte flag slots at [sp] (outer) and [sp+8] (nested save while IRQs are already off).
    const f = asmFunction(
      k,
      "regions",
      [
        "sub sp, sp, #16",
        "call probe_regions",
        "call bpf_rcu_read_lock",
        "call bpf_preempt_disable",
        "call probe_regions",
        "mov x0, sp",
        "call bpf_local_irq_save",
        "call probe_regions",
        "add x0, sp, #8",
        "call bpf_local_irq_save",
        "ldr x19, [sp, #8]",
        "ldr x20, [sp]",
        "add x0, sp, #8",
        "call bpf_local_irq_restore",
        "call probe_regions",
        "mov x0, sp",
        "call bpf_local_irq_restore",
        "call probe_regions",
        "call bpf_preempt_enable",
        "call bpf_rcu_read_unlock",
        "call probe_regions",
        "orr x0, x20, x19, lsl #16",
        "add sp, sp, #16",
        "ret",
      ].join("\n"),
    );
    const ret = k.call(f, []);
    t.is(ret & 0xffffn, 0n, "the outer save found IRQs on: flags 0");
    t.is(ret >> 16n, IRQ_FLAGS_DISABLED, "the nested save found them off: PSR_I_BIT | PSR_F_BIT");
    t.deepEqual(seen, [
      { rcu: 0, preempt: 0, irqsOff: false },
      { rcu: 1, preempt: 1, irqsOff: false },
      { rcu: 1, preempt: 2, irqsOff: true },
      { rcu: 1, preempt: 2, irqsOff: true },
      { rcu: 1, preempt: 1, irqsOff: false },
      { rcu: 0, preempt: 0, irqsOff: false },
    ]);
    t.is(k.bugs.reports.length, 0, "balanced: no WARNING");
  } finally {
    k.close();
  }
});

test("unbalanced bpf_rcu_read_unlock and bpf_preempt_enable are kernel WARNINGs, and the task goes on", (t) => {
  const k = new Kernel({ cpus: 1 });
  try {
    const f = asmFunction(
      k,
      "unbalanced",
      ["call bpf_rcu_read_unlock", "call bpf_preempt_enable", "mov x0, #7", "ret"].join("\n"),
    );
    t.is(k.call(f, []), 7n);
    const warnings = k.bugs.reports.map((r) => [r.kind, r.message]);
    t.is(warnings.length, 2);
    t.deepEqual(
      warnings.map(([kind]) => kind),
      ["WARNING", "WARNING"],
    );
    t.regex(String(warnings[0][1]), /rcu_read_unlock\(\) without rcu_read_lock\(\)/);
    t.regex(String(warnings[1][1]), /preempt_count underflow/);
  } finally {
    k.close();
  }
});
