/**
 * The kfunc registry (kernel/bpf/btf.c register_btf_kfunc_id_set,
 * btf_kfunc_id_set_contains; the BTF_KFUNCS_START/BTF_ID_FLAGS sets): which
 * kernel functions BPF programs may call, with their KF_* flags. The
 * prototype of each one comes from the BTF of the image that defines it
 * (vmlinux or a module), so a kfunc is typed exactly as the kernel's C.
 *
 *   name ──registry──► KF flags, program types
 *   name ──BTF objects (vmlinux = 1, modules)──► (btf obj, FUNC id, FUNC_PROTO)
 *   name ──kallsyms──► address the JIT calls
 *
 * Defaults: the bpf_testmod kfuncs of the simulated kernel, bpf_throw
 * (a TypeScript service, see service_decls.ts and runtime/bpf/exceptions)
 * and the RCU / preemption / IRQ region kfuncs (TypeScript services too).
 */
import { EEXIST, ENOENT } from "../../errno.js";
import { BpfError } from "../../errors.js";
import type { Btf } from "../btf/btf.js";
import type { BtfFuncProto } from "../btf/types.js";
import {
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_STRUCT_OPS,
  BPF_PROG_TYPE_SYSCALL,
  BPF_PROG_TYPE_TRACING,
  BPF_PROG_TYPE_XDP,
} from "../object/uapi.js";

/** BTF_ID_FLAGS(func, name, flags). */
export interface KfuncDef {
  readonly name: string;
  /** KF_SLEEPABLE. */
  readonly sleepable?: boolean;
  /** KF_DESTRUCTIVE. */
  readonly destructive?: boolean;
  /** KF_RET_NULL. */
  readonly retNull?: boolean;
  /** KF_ACQUIRE: returns a reference the program must release. */
  readonly acquire?: boolean;
  /** KF_RELEASE: releases the reference its argument carries. */
  readonly release?: boolean;
  /** Program types that may call it (the kfunc set's hook); undefined: all. */
  readonly progTypes?: readonly number[];
}

/** A BTF object of the running kernel (struct btf with its btf_obj_id). */
export interface KernelBtfObject {
  readonly objId: number;
  readonly name: string;
  readonly btf: Btf;
}

/** A kfunc found in the kernel's BTF. */
export interface ResolvedKfunc {
  readonly def: KfuncDef;
  readonly obj: KernelBtfObject;
  readonly btfId: number;
  readonly proto: BtfFuncProto;
}

/** The registered kfunc id sets. */
export class KfuncRegistry {
  readonly #defs = new Map<string, KfuncDef>();

  /** register_btf_kfunc_id_set(): add definitions (EEXIST for a name registered twice). */
  register(...defs: readonly KfuncDef[]): void {
    for (const d of defs) {
      if (this.#defs.has(d.name)) throw new BpfError(EEXIST, `kfunc already registered: ${d.name}`);
      this.#defs.set(d.name, d);
    }
  }

  /** The definition of `name`, if it is a registered kfunc. */
  get(name: string): KfuncDef | undefined {
    return this.#defs.get(name);
  }

  /** Registered names. */
  names(): string[] {
    return [...this.#defs.keys()];
  }
}

/** The bpf_testmod kfuncs (bpf_testmod_common_kfunc_ids / bpf_testmod_check_kfunc_ids). */
export const BPF_TESTMOD_KFUNCS: readonly KfuncDef[] = [
  { name: "bpf_kfunc_common_test" },
  { name: "bpf_kfunc_call_test1" },
  { name: "bpf_kfunc_call_test2" },
  { name: "bpf_kfunc_call_test3" },
  { name: "bpf_kfunc_call_test4" },
  { name: "bpf_kfunc_call_test5" },
  { name: "bpf_kfunc_call_stack_arg" },
];

/**
 * The part of kernel/bpf/helpers.c generic_kfunc_set this runtime
 * implements: bpf_throw and the allocated-object kfuncs bpf_obj_new_impl
 * (KF_ACQUIRE | KF_RET_NULL) and bpf_obj_drop_impl (KF_RELEASE), for the
 * program types kfunc_init() registers the set for (tracing, sched_cls,
 * xdp, struct_ops, syscall; an extension program counts as its target's
 * type).
 */
const GENERIC_PROG_TYPES: readonly number[] = [
  BPF_PROG_TYPE_TRACING,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_XDP,
  BPF_PROG_TYPE_STRUCT_OPS,
  BPF_PROG_TYPE_SYSCALL,
];

export const GENERIC_KFUNCS: readonly KfuncDef[] = [
  { name: "bpf_throw", progTypes: GENERIC_PROG_TYPES },
  { name: "bpf_obj_new_impl", acquire: true, retNull: true, progTypes: GENERIC_PROG_TYPES },
  { name: "bpf_obj_drop_impl", release: true, progTypes: GENERIC_PROG_TYPES },
];

/**
 * The region kfuncs of kernel/bpf/helpers.c's common_kfunc_set (registered
 * for every program type, BPF_PROG_TYPE_UNSPEC): RCU read-side sections,
 * preemption and local IRQ control. The verifier tracks the regions they
 * open (runtime/bpf/verifier/regions.ts); the simulated kernel runs them on
 * the calling task (runtime/kernel/services/core.ts).
 */
export const COMMON_KFUNCS: readonly KfuncDef[] = [
  { name: "bpf_rcu_read_lock" },
  { name: "bpf_rcu_read_unlock" },
  { name: "bpf_preempt_disable" },
  { name: "bpf_preempt_enable" },
  { name: "bpf_local_irq_save" },
  { name: "bpf_local_irq_restore" },
];

/** A registry with the default sets. */
export function defaultKfuncRegistry(): KfuncRegistry {
  const r = new KfuncRegistry();
  r.register(...BPF_TESTMOD_KFUNCS);
  r.register(...GENERIC_KFUNCS);
  r.register(...COMMON_KFUNCS);
  return r;
}

/** Find FUNC `name` in the kernel's BTF objects, vmlinux first (libbpf find_ksym_btf_id). */
export function findKernelFunc(
  objs: readonly KernelBtfObject[],
  name: string,
): { obj: KernelBtfObject; btfId: number; proto: BtfFuncProto } | undefined {
  for (const obj of objs) {
    const f = obj.btf.find(name, "func");
    if (!f) continue;
    const proto = obj.btf.type(f.type);
    if (proto.kind !== "func_proto") continue;
    return { obj, btfId: f.id, proto };
  }
  return undefined;
}

/** Resolve a registered kfunc against the kernel's BTF (ENOENT when either is missing). */
export function resolveKfunc(reg: KfuncRegistry, objs: readonly KernelBtfObject[], name: string): ResolvedKfunc {
  const def = reg.get(name);
  const found = findKernelFunc(objs, name);
  if (!found) throw new BpfError(ENOENT, `extern (func ksym) '${name}': not found in kernel or module BTFs`);
  if (!def) throw new BpfError(ENOENT, `calling kernel function ${name} is not allowed`);
  return { def, ...found };
}
