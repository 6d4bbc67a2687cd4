/**
 * Test helpers for the kernel core: assemble small emulated functions into
 * the BPF text pool of a kernel booted on the synthetic image, with calls to
 * kernel services by name.
 *
 *   const f = asmFunction(k, "loop", `
 *     mov x19, #100
 *   1: call cond_resched
 *     subs x19, x19, #1
 *     b.ne 1b
 *     ret`);
 *
 * `call <symbol>` expands to a movz/movk sequence into x16 and `blr x16`
 * (the caller's frame record is pushed and popped by the prologue/epilogue
 * that asmFunction adds around the body).
 */
import { assembleWords } from "../a64/asm.js";
import type { Kernel } from "./kernel.js";

function movImm(reg: string, v: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const part = (v >> BigInt(16 * i)) & 0xffffn;
    if (i === 0) out.push(`movz ${reg}, #${part}`);
    else if (part !== 0n) out.push(`movk ${reg}, #${part}, lsl #${16 * i}`);
  }
  return out;
}

/** Expand `call sym` and `adr_sym xN, sym` pseudo-instructions. */
export function expandPseudo(k: Kernel, body: string): string {
  return body
    .split("\n")
    .flatMap((line) => {
      const call = /^\s*call\s+([\w.]+)\s*$/.exec(line);
      if (call) return [...movImm("x16", k.symbolAddress(call[1])), "blr x16"];
      const adr = /^\s*adr_sym\s+(x\d+),\s*([\w.]+)\s*$/.exec(line);
      if (adr) return movImm(adr[1], k.symbolAddress(adr[2]));
      return [line];
    })
    .join("\n");
}

/** Assemble `body` as a function with a frame record; returns its address. */
export function asmFunction(k: Kernel, name: string, body: string): bigint {
  const text = ["stp x29, x30, [sp, #-32]!", "mov x29, sp", "stp x19, x20, [sp, #16]", expandPseudo(k, body)].join(
    "\n",
  );
  const epilogue = "ldp x19, x20, [sp, #16]\nldp x29, x30, [sp], #32\nret";
  const full = text.replace(/^\s*ret\s*$/gm, epilogue);
  // Assemble twice: once to size, once at the final address (branches are PC-relative).
  const a = k.bpfText.alloc(assembleWords(full, 0n).length * 4, name);
  const words = assembleWords(full, a.addr);
  if (words.length * 4 > a.size) throw new Error(`asmFunction ${name}: grew past its allocation`);
  k.machine.writeText(a.addr, new Uint8Array(new Uint32Array(words).buffer), { sync: false });
  k.machine.invalidateText(a.addr, a.addr + BigInt(a.size));
  const end = a.addr + BigInt(words.length * 4);
  k.symbolizers.push((addr) =>
    addr >= a.addr && addr < end
      ? `${name}+0x${(addr - a.addr).toString(16)}/0x${(end - a.addr).toString(16)}`
      : undefined,
  );
  return a.addr;
}

/**
 * Assemble `body` verbatim (no prologue added) at a fresh text address; with
 * `patchable`, the entry is an ftrace location as boot leaves it: the two
 * nops of -fpatchable-function-entry=2, the first already turned into
 * `mov x9, x30` by ftrace_init_nop.
 */
export function asmRaw(k: Kernel, name: string, body: string, opts: { patchable?: boolean } = {}): bigint {
  const full = (opts.patchable ? "orr x9, xzr, x30\nnop\n" : "") + expandPseudo(k, body);
  const a = k.bpfText.alloc(assembleWords(full, 0n).length * 4, name);
  const words = assembleWords(full, a.addr);
  k.machine.writeText(a.addr, new Uint8Array(new Uint32Array(words).buffer), { sync: false });
  k.machine.invalidateText(a.addr, a.addr + BigInt(a.size));
  const end = a.addr + BigInt(words.length * 4);
  k.symbolizers.push((addr) =>
    addr >= a.addr && addr < end
      ? `${name}+0x${(addr - a.addr).toString(16)}/0x${(end - a.addr).toString(16)}`
      : undefined,
  );
  return a.addr;
}
