/**
 * The helpers a BPF trampoline calls around each program and around the
 * original function (kernel/bpf/trampoline.c):
 *
 *   __bpf_prog_enter[_recur|_sleepable|_sleepable_recur](prog, run_ctx) → start
 *       rcu_read_lock (sleepable: rcu_read_lock_trace), migrate_disable,
 *       run_ctx->saved_run_ctx = bpf_set_run_ctx(&run_ctx->run_ctx);
 *       _recur: if this_cpu_inc_return(prog->active) != 1 → misses++, return 0
 *       return bpf_prog_start_time()  (sched_clock with stats on, else 1)
 *   __bpf_prog_exit[...](prog, start, run_ctx)
 *       bpf_reset_run_ctx(saved), stats, _recur: this_cpu_dec(prog->active),
 *       migrate_enable, rcu_read_unlock[_trace]
 *   __bpf_tramp_enter(im) / __bpf_tramp_exit(im): percpu_ref_get/put(&im->pcref)
 *
 * A return of 0 from enter makes the trampoline skip the program (but still
 * call exit). `struct bpf_tramp_run_ctx` is { run_ctx (empty); u64
 * bpf_cookie; struct bpf_run_ctx *saved_run_ctx; }: saved_run_ctx at +8.
 */
import type { PhysMemory } from "../../machine/memory.js";
import { rcuReadLock, rcuReadUnlock } from "../../rcu/rcu.js";
import { rcuReadLockTrace, rcuReadUnlockTrace } from "../../rcu/tasks_trace.js";
import type { BugLog } from "../bug.js";
import type { BpfRunRegistry } from "../bpf_prog_run.js";
import type { Scheduler } from "../sched.js";
import { serviceWarn } from "./core.js";
import type { ServiceCall, ServiceFn } from "./registry.js";

/** NO_START_TIME: what enter returns when BPF stats are off. */
export const NO_START_TIME = 1n;
/** offsetof(struct bpf_tramp_run_ctx, saved_run_ctx). */
export const RUN_CTX_SAVED_OFF = 8n;

export interface BpfRunServiceDeps {
  sched: Scheduler;
  memory: PhysMemory;
  bugs: BugLog;
  registry: BpfRunRegistry;
}

export function bpfRunServices(d: BpfRunServiceDeps): Record<string, ServiceFn> {
  const startTime = (): bigint => {
    if (!d.registry.statsEnabled) return NO_START_TIME;
    return d.sched.now === 0n ? NO_START_TIME : d.sched.now;
  };
  const setRunCtx = (call: ServiceCall, runCtx: bigint): void => {
    d.memory.write64(runCtx + RUN_CTX_SAVED_OFF, call.task.bpfCtx);
    call.task.bpfCtx = runCtx;
  };
  const resetRunCtx = (call: ServiceCall, runCtx: bigint): void => {
    call.task.bpfCtx = d.memory.read64(runCtx + RUN_CTX_SAVED_OFF);
  };
  const enter = (sleepable: boolean, recur: boolean) => (call: ServiceCall) => {
    const [progAddr, runCtx] = call.args();
    const prog = d.registry.prog(progAddr);
    if (sleepable) rcuReadLockTrace(call.task);
    else rcuReadLock(call.task);
    call.task.migrateDisable++;
    setRunCtx(call, runCtx);
    if (recur && ++prog.active[call.cpu.index] !== 1) {
      prog.misses++;
      return 0n;
    }
    prog.runs++;
    return startTime();
  };
  const exit = (sleepable: boolean, recur: boolean) => (call: ServiceCall) => {
    const [progAddr, , runCtx] = call.args();
    const prog = d.registry.prog(progAddr);
    resetRunCtx(call, runCtx);
    if (recur) prog.active[call.cpu.index]--;
    if (call.task.migrateDisable > 0) call.task.migrateDisable--;
    try {
      if (sleepable) rcuReadUnlockTrace(call.task);
      else rcuReadUnlock(call.task);
    } catch (err) {
      serviceWarn(d, call, (err as Error).message);
    }
  };
  return {
    __bpf_prog_enter: enter(false, false),
    __bpf_prog_exit: exit(false, false),
    __bpf_prog_enter_recur: enter(false, true),
    __bpf_prog_exit_recur: exit(false, true),
    __bpf_prog_enter_sleepable: enter(true, false),
    __bpf_prog_exit_sleepable: exit(true, false),
    __bpf_prog_enter_sleepable_recur: enter(true, true),
    __bpf_prog_exit_sleepable_recur: exit(true, true),
    __bpf_tramp_enter(call) {
      d.registry.image(call.args()[0]).pcref.get(call.cpu.index);
    },
    __bpf_tramp_exit(call) {
      try {
        d.registry.image(call.args()[0]).pcref.put(call.cpu.index);
      } catch (err) {
        serviceWarn(d, call, (err as Error).message);
      }
    },
  };
}
