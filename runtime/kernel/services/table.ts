/**
 * The kernel services implemented in TypeScript and reachable from emulated
 * code, as plain data: name, hypercall number, C prototype.
 *
 * The kernel build turns this table into
 *   - an assembly file with one stub per service (`name: svc #nr; ret`),
 *     so each service is a real symbol in kallsyms and in backtraces;
 *   - a header `a64bpf_services.h` with the prototypes, included by the C
 *     sources of the simulated kernel and of user modules.
 * The handlers live beside the subsystem that implements them and are bound
 * by name at boot; a service without a handler is reported when called.
 *
 * Numbering (svc immediates, 16 bits):
 *   0x0001..0x00ff  core kernel (tasks, sleep, locks, RCU, memory, printk)
 *   0x0100..0x01ff  BPF runtime (trampoline enter/exit, prog run helpers)
 *   0x0200..0x03ff  BPF helpers: 0x200 + the uapi helper ID
 *   0x0400..0x04ff  kfuncs
 *   0x0500..0x05ff  simulated devices (sysfs files of bpf_testmod, ...)
 * Changing an entry changes the kernel build hash: the image is rebuilt.
 * BPF helpers and kfuncs are declared in runtime/bpf/service_decls.ts.
 */
import { BPF_HELPER_SERVICES, BPF_KFUNC_SERVICES } from "../../bpf/service_decls.js";

export type { ServiceDecl } from "../../bpf/service_decls.js";
import type { ServiceDecl } from "../../bpf/service_decls.js";

export const CORE_SERVICES: readonly ServiceDecl[] = [
  { nr: 0x01, name: "a64bpf_task_return", proto: "void a64bpf_task_return(long ret)" },
  { nr: 0x02, name: "printk", proto: "int printk(const char *fmt, ...)" },
  { nr: 0x03, name: "kmalloc", proto: "void *kmalloc(unsigned long size, unsigned int flags)" },
  { nr: 0x04, name: "kzalloc", proto: "void *kzalloc(unsigned long size, unsigned int flags)" },
  { nr: 0x05, name: "kfree", proto: "void kfree(const void *ptr)" },
  { nr: 0x06, name: "msleep", proto: "void msleep(unsigned int msecs)" },
  { nr: 0x07, name: "cond_resched", proto: "int cond_resched(void)" },
  { nr: 0x08, name: "schedule", proto: "void schedule(void)" },
  { nr: 0x09, name: "mutex_lock", proto: "void mutex_lock(struct mutex *lock)" },
  { nr: 0x0a, name: "mutex_unlock", proto: "void mutex_unlock(struct mutex *lock)" },
  { nr: 0x0b, name: "__rcu_read_lock", proto: "void __rcu_read_lock(void)" },
  { nr: 0x0c, name: "__rcu_read_unlock", proto: "void __rcu_read_unlock(void)" },
  { nr: 0x0d, name: "rcu_read_lock_trace", proto: "void rcu_read_lock_trace(void)" },
  { nr: 0x0e, name: "rcu_read_unlock_trace", proto: "void rcu_read_unlock_trace(void)" },
  { nr: 0x0f, name: "migrate_disable", proto: "void migrate_disable(void)" },
  { nr: 0x10, name: "migrate_enable", proto: "void migrate_enable(void)" },
  { nr: 0x11, name: "preempt_count_add", proto: "void preempt_count_add(int val)" },
  { nr: 0x12, name: "preempt_count_sub", proto: "void preempt_count_sub(int val)" },
  { nr: 0x13, name: "ktime_get_ns", proto: "unsigned long long ktime_get_ns(void)" },
  { nr: 0x14, name: "raw_smp_processor_id", proto: "int raw_smp_processor_id(void)" },
  {
    nr: 0x15,
    name: "copy_from_kernel_nofault",
    proto: "long copy_from_kernel_nofault(void *dst, const void *src, unsigned long size)",
  },
  { nr: 0x16, name: "__warn_printk", proto: "void __warn_printk(const char *fmt, ...)" },
  { nr: 0x17, name: "a64bpf_bug", proto: "void a64bpf_bug(const char *file, int line)" },
  { nr: 0x18, name: "synchronize_rcu", proto: "void synchronize_rcu(void)" },
  { nr: 0x19, name: "synchronize_rcu_tasks", proto: "void synchronize_rcu_tasks(void)" },
  { nr: 0x1a, name: "udelay", proto: "void udelay(unsigned long usecs)" },
];

export const BPF_RUNTIME_SERVICES: readonly ServiceDecl[] = [
  {
    nr: 0x100,
    name: "__bpf_prog_enter",
    proto: "unsigned long long __bpf_prog_enter(struct bpf_prog *prog, struct bpf_tramp_run_ctx *run_ctx)",
  },
  {
    nr: 0x101,
    name: "__bpf_prog_exit",
    proto: "void __bpf_prog_exit(struct bpf_prog *prog, unsigned long long start, struct bpf_tramp_run_ctx *run_ctx)",
  },
  {
    nr: 0x102,
    name: "__bpf_prog_enter_sleepable",
    proto: "unsigned long long __bpf_prog_enter_sleepable(struct bpf_prog *prog, struct bpf_tramp_run_ctx *run_ctx)",
  },
  {
    nr: 0x103,
    name: "__bpf_prog_exit_sleepable",
    proto:
      "void __bpf_prog_exit_sleepable(struct bpf_prog *prog, unsigned long long start, struct bpf_tramp_run_ctx *run_ctx)",
  },
  {
    nr: 0x104,
    name: "__bpf_prog_enter_recur",
    proto: "unsigned long long __bpf_prog_enter_recur(struct bpf_prog *prog, struct bpf_tramp_run_ctx *run_ctx)",
  },
  {
    nr: 0x105,
    name: "__bpf_prog_exit_recur",
    proto:
      "void __bpf_prog_exit_recur(struct bpf_prog *prog, unsigned long long start, struct bpf_tramp_run_ctx *run_ctx)",
  },
  {
    nr: 0x106,
    name: "__bpf_prog_enter_sleepable_recur",
    proto:
      "unsigned long long __bpf_prog_enter_sleepable_recur(struct bpf_prog *prog, struct bpf_tramp_run_ctx *run_ctx)",
  },
  {
    nr: 0x107,
    name: "__bpf_prog_exit_sleepable_recur",
    proto:
      "void __bpf_prog_exit_sleepable_recur(struct bpf_prog *prog, unsigned long long start, struct bpf_tramp_run_ctx *run_ctx)",
  },
  { nr: 0x108, name: "__bpf_tramp_enter", proto: "void __bpf_tramp_enter(struct bpf_tramp_image *tr)" },
  { nr: 0x109, name: "__bpf_tramp_exit", proto: "void __bpf_tramp_exit(struct bpf_tramp_image *tr)" },
];

/** Every declared service, in hypercall-number order. */
export function allServices(): ServiceDecl[] {
  return [...CORE_SERVICES, ...BPF_RUNTIME_SERVICES, ...BPF_HELPER_SERVICES, ...BPF_KFUNC_SERVICES].sort(
    (a, b) => a.nr - b.nr,
  );
}
