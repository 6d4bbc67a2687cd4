/**
 * BPF helpers and kfuncs that exist as kernel functions of the simulated
 * kernel: each gets a hypercall stub (and a kallsyms symbol) in the image,
 * and the JIT calls it by address. See runtime/kernel/services/table.ts
 * for the numbering; this file is plain data so the kernel build can hash
 * it without loading the BPF runtime.
 */

export interface ServiceDecl {
  /** Hypercall number (svc immediate). */
  nr: number;
  /** The kernel's name of the function (the stub's symbol). */
  name: string;
  /** C prototype, without the final semicolon. */
  proto: string;
}

/** BPF helper ID n is hypercall HELPER_SERVICE_BASE + n. */
export const HELPER_SERVICE_BASE = 0x200;
/** kfuncs are numbered from here. */
export const KFUNC_SERVICE_BASE = 0x400;

/** Helpers (uapi `enum bpf_func_id` names without the `BPF_FUNC_` prefix, kernel function names). */
export const BPF_HELPER_SERVICES: readonly ServiceDecl[] = [];

/** kfuncs (bpf_throw, ...). */
export const BPF_KFUNC_SERVICES: readonly ServiceDecl[] = [];
