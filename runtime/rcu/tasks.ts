/**
 * RCU Tasks (kernel/rcu/tasks.h), as a model.
 *
 * Protects code that tasks may be executing without holding anything — a
 * trampoline's instructions, the edge of a patched function. A grace period
 * ends once every task that was on a CPU or preempted (on a run queue) when
 * it started has made a voluntary context switch, exited, or is idle:
 *
 *   start: holdouts = { t : t running or runnable, t != this kthread },
 *          snapshot t.rcuTasksQs (bumped at every voluntary schedule)
 *   poll:  drop t when t.rcuTasksQs changed, or t is blocked/sleeping
 *          (it got there voluntarily), or dead
 *
 * A task preempted involuntarily — by a timer tick in the middle of a
 * trampoline — stays a holdout until it runs again and switches voluntarily.
 * Idle CPUs have no task and hold nothing.
 *
 * Simplifications: no pre/post synchronize_rcu() around the scan, no
 * exit-path tracking; polling every `pollNs` of virtual time.
 */
import type { KGen, Task } from "../kernel/task.js";
import { GpEngine, type GpFlavour } from "./gp.js";
import type { TaskSource } from "./rcu.js";

export const RCU_TASKS_POLL_NS = 50_000n;

export class RcuTasksFlavour implements GpFlavour {
  readonly name = "rcu_tasks";
  readonly #tasks: TaskSource;
  readonly #pollNs: bigint;
  /** The GP kthread itself (excluded from its own holdouts). */
  self: Task | undefined;

  constructor(tasks: TaskSource, pollNs = RCU_TASKS_POLL_NS) {
    this.#tasks = tasks;
    this.#pollNs = pollNs;
  }

  *waitGp(): KGen<void> {
    let holdouts = this.#tasks
      .liveTasks()
      .filter((t) => t !== this.self && (t.state === "running" || t.state === "runnable"))
      .map((t) => ({ t, qs: t.rcuTasksQs }));
    while (holdouts.length > 0) {
      yield { op: "sleep", ns: this.#pollNs, reason: "rcu_tasks_wait_gp" };
      holdouts = holdouts.filter(
        ({ t, qs }) => t.state !== "dead" && t.state !== "blocked" && t.state !== "sleeping" && t.rcuTasksQs === qs,
      );
    }
  }
}

/** RCU Tasks: call_rcu_tasks / synchronize_rcu_tasks over a GP kthread. */
export function createRcuTasks(tasks: TaskSource): { engine: GpEngine; flavour: RcuTasksFlavour } {
  const flavour = new RcuTasksFlavour(tasks);
  return { engine: new GpEngine(flavour, () => tasks.now), flavour };
}
