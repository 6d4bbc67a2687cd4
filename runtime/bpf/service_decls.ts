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

function helper(id: number, name: string, proto: string): ServiceDecl {
  return { nr: HELPER_SERVICE_BASE + id, name, proto };
}

/**
 * Helpers implemented in TypeScript (runtime/bpf/helpers), by uapi id, under
 * the kernel's function names (BPF_CALL_x(bpf_map_lookup_elem, ...) defines
 * `bpf_map_lookup_elem`; get_prandom_u32 is `bpf_user_rnd_u32`, get_func_ip
 * for tracing programs `bpf_get_func_ip_tracing`). Prototypes use u64 as
 * BPF_CALL does. bpf_tail_call is inlined by the JIT and
 * bpf_get_func_arg/_ret/_arg_cnt by the verifier, so they have no stub.
 */
export const BPF_HELPER_SERVICES: readonly ServiceDecl[] = [
  helper(1, "bpf_map_lookup_elem", "unsigned long long bpf_map_lookup_elem(void *map, void *key)"),
  helper(
    2,
    "bpf_map_update_elem",
    "unsigned long long bpf_map_update_elem(void *map, void *key, void *value, unsigned long long flags)",
  ),
  helper(3, "bpf_map_delete_elem", "unsigned long long bpf_map_delete_elem(void *map, void *key)"),
  helper(5, "bpf_ktime_get_ns", "unsigned long long bpf_ktime_get_ns(void)"),
  helper(
    6,
    "bpf_trace_printk",
    "unsigned long long bpf_trace_printk(char *fmt, unsigned int fmt_size, unsigned long long a1, unsigned long long a2, unsigned long long a3)",
  ),
  helper(7, "bpf_user_rnd_u32", "unsigned long long bpf_user_rnd_u32(void)"),
  helper(8, "bpf_get_smp_processor_id", "unsigned long long bpf_get_smp_processor_id(void)"),
  helper(14, "bpf_get_current_pid_tgid", "unsigned long long bpf_get_current_pid_tgid(void)"),
  helper(
    113,
    "bpf_probe_read_kernel",
    "unsigned long long bpf_probe_read_kernel(void *dst, unsigned int size, const void *unsafe_ptr)",
  ),
  helper(
    115,
    "bpf_probe_read_kernel_str",
    "unsigned long long bpf_probe_read_kernel_str(void *dst, unsigned int size, const void *unsafe_ptr)",
  ),
  helper(93, "bpf_spin_lock", "unsigned long long bpf_spin_lock(struct bpf_spin_lock *lock)"),
  helper(94, "bpf_spin_unlock", "unsigned long long bpf_spin_unlock(struct bpf_spin_lock *lock)"),
  helper(125, "bpf_ktime_get_boot_ns", "unsigned long long bpf_ktime_get_boot_ns(void)"),
  helper(173, "bpf_get_func_ip_tracing", "unsigned long long bpf_get_func_ip_tracing(void *ctx)"),
  helper(
    181,
    "bpf_loop",
    "unsigned long long bpf_loop(unsigned int nr_loops, void *callback_fn, void *callback_ctx, unsigned long long flags)",
  ),
];

function kfunc(n: number, name: string, proto: string): ServiceDecl {
  return { nr: KFUNC_SERVICE_BASE + n, name, proto };
}

/**
 * kfuncs implemented in TypeScript, numbered from KFUNC_SERVICE_BASE, with
 * kernel/bpf/helpers.c's prototypes (parameter names matter: the verifier
 * recognises an irq flag by its `__irq_flag` suffix in BTF). bpf_throw is
 * runtime/bpf/exceptions/bpf_throw.ts; the region kfuncs act on the calling
 * task and the object kfuncs allocate from the kernel's slab
 * (runtime/kernel/services/core.ts).
 */
export const BPF_KFUNC_SERVICES: readonly ServiceDecl[] = [
  kfunc(0, "bpf_throw", "void bpf_throw(u64 cookie)"),
  kfunc(1, "bpf_rcu_read_lock", "void bpf_rcu_read_lock(void)"),
  kfunc(2, "bpf_rcu_read_unlock", "void bpf_rcu_read_unlock(void)"),
  kfunc(3, "bpf_preempt_disable", "void bpf_preempt_disable(void)"),
  kfunc(4, "bpf_preempt_enable", "void bpf_preempt_enable(void)"),
  kfunc(5, "bpf_local_irq_save", "void bpf_local_irq_save(unsigned long *flags__irq_flag)"),
  kfunc(6, "bpf_local_irq_restore", "void bpf_local_irq_restore(unsigned long *flags__irq_flag)"),
  kfunc(7, "bpf_obj_new_impl", "void *bpf_obj_new_impl(u64 local_type_id__k, void *meta__ign)"),
  kfunc(8, "bpf_obj_drop_impl", "void bpf_obj_drop_impl(void *p__alloc, void *meta__ign)"),
];
