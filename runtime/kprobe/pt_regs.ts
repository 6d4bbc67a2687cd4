/**
 * arm64 `struct pt_regs` as a kprobe handler fills it
 * (arch/arm64/include/asm/ptrace.h; the uapi prefix `struct user_pt_regs`
 * of arch/arm64/include/uapi/asm/ptrace.h, which libbpf's PT_REGS_* macros
 * and perf's register offsets index):
 *
 *   offset  field                     the kprobe stub stores
 *   0       regs[0..29]               x0..x29 at the probe
 *   240     regs[30]                  lr at the probe (the parent's return address)
 *   248     sp                        sp at the probe (the caller's sp)
 *   256     pc                        the probed address (the function's entry)
 *   264     pstate                    NZCV | DAIF | CurrentEL | SPSel (EL1h: 0x5)
 *   272     orig_x0, syscallno, pmr,  zero
 *           sdei_ttbr1, stackframe,
 *           lockdep_hardirqs, exit_rcu
 *   336     sizeof(struct pt_regs)
 *
 * The layout is read from the kernel's BTF and checked against the uapi
 * prefix, so a change to the simulated kernel's header is caught here
 * rather than mis-read by programs.
 */
import type { Btf } from "../bpf/btf/btf.js";
import { EINVAL } from "../errno.js";
import { KernelError } from "../errors.js";
import type { PhysMemory } from "../machine/memory.js";

/** PSR_MODE_EL1h (arch/arm64/include/uapi/asm/ptrace.h). */
export const PSR_MODE_EL1h = 0x5;
/** PSR_MODE_MASK. */
export const PSR_MODE_MASK = 0xf;

/** Byte offsets of struct pt_regs. */
export interface PtRegsLayout {
  /** sizeof(struct pt_regs). */
  readonly size: number;
  /** offsetof(regs[0]). */
  readonly regs: number;
  readonly sp: number;
  readonly pc: number;
  readonly pstate: number;
}

/** The uapi user_pt_regs prefix every layout must have. */
export const USER_PT_REGS: Omit<PtRegsLayout, "size"> = { regs: 0, sp: 248, pc: 256, pstate: 264 };

/** struct pt_regs from `btf` (the vmlinux BTF), checked against the user_pt_regs prefix. */
export function ptRegsLayout(btf: Btf): PtRegsLayout {
  const t = btf.find("pt_regs", "struct");
  if (!t) throw new KernelError(EINVAL, "kernel BTF has no struct pt_regs");
  const layout: PtRegsLayout = {
    size: btf.sizeof(t.id),
    regs: btf.offsetof(t.id, "regs"),
    sp: btf.offsetof(t.id, "sp"),
    pc: btf.offsetof(t.id, "pc"),
    pstate: btf.offsetof(t.id, "pstate"),
  };
  for (const k of ["regs", "sp", "pc", "pstate"] as const) {
    if (layout[k] !== USER_PT_REGS[k]) {
      throw new KernelError(
        EINVAL,
        `struct pt_regs: ${k} at ${layout[k]}, the uapi user_pt_regs has it at ${USER_PT_REGS[k]}`,
      );
    }
  }
  if (layout.size % 16 !== 0 || layout.size < USER_PT_REGS.pstate + 8 || layout.size > 480) {
    throw new KernelError(EINVAL, `struct pt_regs: size ${layout.size} is not a 16-byte multiple in 272..480`);
  }
  return layout;
}

/** The user_pt_regs part of a pt_regs in memory. */
export interface PtRegs {
  /** x0..x30. */
  readonly regs: readonly bigint[];
  readonly sp: bigint;
  readonly pc: bigint;
  readonly pstate: bigint;
}

/** Read the user_pt_regs prefix of the pt_regs at `addr`. */
export function readPtRegs(mem: PhysMemory, addr: bigint): PtRegs {
  const regs = Array.from({ length: 31 }, (_, i) => mem.read64(addr + BigInt(USER_PT_REGS.regs + 8 * i)));
  return {
    regs,
    sp: mem.read64(addr + BigInt(USER_PT_REGS.sp)),
    pc: mem.read64(addr + BigInt(USER_PT_REGS.pc)),
    pstate: mem.read64(addr + BigInt(USER_PT_REGS.pstate)),
  };
}
