/**
 * Section `tramp` (issue 6's benchmark): the cost of tracing a kernel
 * function on the emulated CPU. An emulated loop calls
 * bpf_testmod_fentry_test1(1) N times:
 *
 *   plain            untraced
 *   fentry+fexit     through a trampoline (CALL_ORIG|SKIP_FRAME) running one
 *                    fentry and one fexit program (small A64 stand-ins that
 *                    return 0: the trampoline's own cost), each bracketed by
 *                    __bpf_prog_enter/exit_recur, plus __bpf_tramp_enter/exit
 *
 * Reported as calls per second, the traced one also as a ratio to plain.
 */
import { initAssembler } from "../../../runtime/a64/asm.js";
import { EFAULT } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { bootKernel } from "../../../runtime/kernel/boot.js";
import { asmFunction, asmRaw } from "../../../runtime/kernel/testing.js";
import { btfDistillFuncProto } from "../../../runtime/tramp/func_model.js";
import {
  bpfTracingLinkRelease,
  bpfTracingProgAttach,
  TrampolineTable,
  type TrampProg,
} from "../../../runtime/tramp/trampoline.js";
import type { Section } from "../types.js";
import { perSecond } from "../units.js";

export const section: Section = {
  name: "tramp",
  description: "fentry+fexit round trips per second vs a plain call of the same function",
  budgetSeconds: 20,
  requires: ["baseline"],
  async run(ctx) {
    await initAssembler();
    const { kernel: k, images } = bootKernel({ cpus: 1, seed: 3 });
    try {
      const n = ctx.quick ? 5_000 : 50_000;
      const loop = asmFunction(
        k,
        "call_loop",
        [
          "mov x19, x0",
          "mov x20, #0",
          "loop:",
          "mov x0, #1",
          "call bpf_testmod_fentry_test1",
          "add x20, x20, x0",
          "subs x19, x19, #1",
          "b.ne loop",
          "mov x0, x20",
          "ret",
        ].join("\n"),
      );
      const run = () => {
        const sum = k.call(loop, [BigInt(n)]);
        if (sum !== BigInt(2 * n)) throw new BpfError(EFAULT, `bench tramp: wrong sum ${sum}`);
        return n;
      };
      await ctx.measure("plain", run, { label: "plain call of bpf_testmod_fentry_test1", unit: perSecond("calls") });

      const f = images.func("bpf_testmod_fentry_test1");
      const target = {
        kind: "kernel" as const,
        name: f.name,
        addr: f.addr,
        model: btfDistillFuncProto(f.btf, f.name),
        btfObjId: f.btfObjId,
        btfId: f.btfId,
      };
      const prog = (name: string): TrampProg => {
        const addr = k.slab.kzalloc(64);
        k.bpfRun.registerProg({ addr, name, sleepable: false });
        return { name, prog: addr, bpfFunc: asmRaw(k, name, "mov x0, #0\nret"), sleepable: false };
      };
      const table = new TrampolineTable(k);
      const links = [
        k.runKthread("attach", (t) => bpfTracingProgAttach(table, t, prog("fentry_bench"), "fentry", target)),
        k.runKthread("attach", (t) => bpfTracingProgAttach(table, t, prog("fexit_bench"), "fexit", target)),
      ];
      await ctx.measure("fentry_fexit", run, {
        label: "call through a trampoline with fentry + fexit",
        unit: perSecond("calls"),
        baseline: "plain",
      });
      for (const l of links) k.runKthread("detach", (t) => bpfTracingLinkRelease(table, t, l));
    } finally {
      k.close();
    }
  },
};
