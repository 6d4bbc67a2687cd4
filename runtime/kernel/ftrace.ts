/**
 * ftrace_init_nop() (arch/arm64/kernel/ftrace.c), as boot and module load
 * run it over every ftrace location: a function built with
 * -fpatchable-function-entry=2 starts with two nops, and the first becomes
 * `mov x9, x30` once and for all.
 *
 *   compiled:           after ftrace init:      traced:
 *   nop                 mov x9, x30             mov x9, x30
 *   nop                 nop                     bl  <trampoline>
 *
 * From then on, attaching and detaching toggle a single instruction (the
 * second), which other CPUs see either old or new — never half of a
 * two-instruction change (runtime/tramp/text_poke.ts ftraceDirectPatch).
 */
import { a64Nop, a64Orr } from "../a64/jit_macros.js";
import { A64_ZR } from "../a64/regs.js";
import type { Machine } from "../machine/machine.js";

/** `mov x9, x30` as aarch64_insn_gen_move_reg writes it (ORR form, 0xaa1e03e9). */
export const FTRACE_MOV_X9_LR = a64Orr(true, 9, A64_ZR, 30);

/**
 * Turn the first nop of every ftrace location into `mov x9, x30`. Runs
 * before anything executes the image (boot, module load), so no CPU can
 * hold an old translation. Locations not starting with two nops are left
 * alone (and will not be traceable).
 */
export function ftraceInitNops(machine: Machine, locations: readonly bigint[]): number {
  const nop = a64Nop();
  let n = 0;
  for (const ip of locations) {
    const mem = machine.memory;
    if (mem.read32(ip) !== nop || mem.read32(ip + 4n) !== nop) continue;
    machine.writeInsn(ip, FTRACE_MOV_X9_LR, { sync: false });
    machine.invalidateText(ip, ip + 4n);
    n++;
  }
  return n;
}
