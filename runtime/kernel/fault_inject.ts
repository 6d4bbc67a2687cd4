/**
 * Fault-injection switches: each removes one step of the trampoline update /
 * teardown protocol (kernel/bpf/trampoline.c, arch/arm64/net/bpf_jit_comp.c),
 * so the race explorer can show that every step is needed. All off by
 * default. Each switch is consulted in exactly one place: the code of the
 * step it removes (search for its name).
 *
 *   skip-first-rcu-tasks-wait   bpf_tramp_image_put: the first wait — call_rcu_tasks
 *                               before percpu_ref_kill (images with ip_after_call), or
 *                               call_rcu_tasks_trace (fentry-only images) — is skipped
 *   skip-percpu-ref-wait        the image is freed without waiting for its percpu_ref
 *                               to drop to zero (tasks inside the original call)
 *   skip-final-rcu-tasks-wait   the call_rcu_tasks after the ref's release (or after the
 *                               tasks-trace GP) is skipped: freed while tasks may still
 *                               execute the trampoline's edge instructions
 *   rcu-tasks-as-plain-rcu      call_rcu_tasks is replaced by call_rcu: preempted tasks
 *                               inside the trampoline are not waited for
 *   poke-without-text-mutex     bpf_arch_text_poke and the ftrace-style patching skip
 *                               mutex_lock(&text_mutex)
 *   skip-icache-sync            text pokes skip the cache maintenance: other CPUs keep
 *                               executing their stale copy of the patched instruction
 */
import { EINVAL } from "../errno.js";
import { KernelError } from "../errors.js";

export const FAULT_SWITCHES = [
  "skip-first-rcu-tasks-wait",
  "skip-percpu-ref-wait",
  "skip-final-rcu-tasks-wait",
  "rcu-tasks-as-plain-rcu",
  "poke-without-text-mutex",
  "skip-icache-sync",
] as const;

export type FaultSwitch = (typeof FAULT_SWITCHES)[number];

/** The set of switches turned on for one kernel. */
export class FaultInjection {
  readonly #on = new Set<FaultSwitch>();

  constructor(on: Iterable<string> = []) {
    for (const s of on) this.enable(s);
  }

  /** Turn a switch on; unknown names are an EINVAL listing the valid ones. */
  enable(name: string): void {
    if (!(FAULT_SWITCHES as readonly string[]).includes(name)) {
      throw new KernelError(EINVAL, `unknown fault-injection switch: ${name} (known: ${FAULT_SWITCHES.join(", ")})`);
    }
    this.#on.add(name as FaultSwitch);
  }

  /** Is `name` on? */
  has(name: FaultSwitch): boolean {
    return this.#on.has(name);
  }

  /** The switches that are on. */
  list(): FaultSwitch[] {
    return [...this.#on];
  }
}
