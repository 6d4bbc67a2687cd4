/**
 * Annotated trampoline listings: capstone disassembly of an image with the
 * frame offsets and the builder's notes, as `a64bpf prog dump jited
 * --trampoline <func>` prints and the golden files record.
 *
 *   ; bpf_trampoline for bpf_testmod_fentry_test11: fentry 1, fexit 1, fmod_ret 0
 *   ; flags CALL_ORIG|SKIP_FRAME; 11 args, 11 ctx slots, 24 bytes of stacked args
 *   ; frame: stack_size 144, oargs 0, run_ctx 24, nfuncargs 40, bargs 48, retval 136 ...
 *   ; args: a: x0 -> ctx[0] ...
 *   0000: a9bf27fd  stp x29, x9, [sp, #-0x10]!   ; frame record of the parent (fp, x9)
 *
 * Requires initDisassembler() to have run.
 */
import { disassemble } from "../a64/disasm.js";
import { formatArgLayout, type ArgLayout } from "./arg_layout.js";
import {
  BPF_TRAMP_F_CALL_ORIG,
  BPF_TRAMP_F_IP_ARG,
  BPF_TRAMP_F_RESTORE_REGS,
  BPF_TRAMP_F_RET_FENTRY_RET,
  BPF_TRAMP_F_SKIP_FRAME,
  type TrampImage,
  type TrampLinks,
} from "./prepare.js";

const FLAG_NAMES: [number, string][] = [
  [BPF_TRAMP_F_RESTORE_REGS, "RESTORE_REGS"],
  [BPF_TRAMP_F_CALL_ORIG, "CALL_ORIG"],
  [BPF_TRAMP_F_SKIP_FRAME, "SKIP_FRAME"],
  [BPF_TRAMP_F_IP_ARG, "IP_ARG"],
  [BPF_TRAMP_F_RET_FENTRY_RET, "RET_FENTRY_RET"],
];

/** "CALL_ORIG|SKIP_FRAME". */
export function formatTrampFlags(flags: number): string {
  return FLAG_NAMES.filter(([bit]) => flags & bit)
    .map(([, n]) => n)
    .join("|");
}

/** The annotated listing of a built trampoline placed at `base`. */
export function formatTrampoline(
  img: TrampImage,
  opts: { func: string; base: bigint; flags: number; links: TrampLinks; layout: ArgLayout },
): string {
  const { frame } = img;
  const out: string[] = [];
  out.push(
    `; bpf_trampoline for ${opts.func}: fentry ${opts.links.fentry.length}, fexit ${opts.links.fexit.length}, fmod_ret ${opts.links.fmodRet.length}`,
  );
  out.push(
    `; flags ${formatTrampFlags(opts.flags) || "0"}; ${opts.layout.args.length} args, ${opts.layout.ctxSlots} ctx slots, ${opts.layout.stackBytes} bytes of stacked args`,
  );
  out.push(
    `; frame: stack_size ${frame.stackSize}, oargs ${frame.oargsOff}, run_ctx ${frame.runCtxOff}, ` +
      `${opts.flags & BPF_TRAMP_F_IP_ARG ? `ip ${frame.ipOff}, ` : ""}nfuncargs ${frame.nfuncargsOff}, bargs ${frame.bargsOff}, ` +
      `retval ${frame.retvalOff}, regs ${frame.regsOff}, retaddr ${frame.retaddrOff}`,
  );
  for (const line of formatArgLayout(opts.layout).split("\n")) if (line) out.push(`; arg ${line}`);
  if (img.ipAfterCall !== undefined) out.push(`; ip_after_call +0x${img.ipAfterCall.toString(16)}`);
  if (img.ipEpilogue !== undefined) out.push(`; ip_epilogue +0x${img.ipEpilogue.toString(16)}`);
  const insns = disassemble(img.words, opts.base);
  insns.forEach((insn, i) => {
    const note = img.notes.get(i);
    const text = `${(i * 4).toString(16).padStart(4, "0")}: ${insn.word.toString(16).padStart(8, "0")}  ${insn.text}`;
    out.push(note ? `${text.padEnd(52)} ; ${note}` : text);
  });
  return `${out.join("\n")}\n`;
}
