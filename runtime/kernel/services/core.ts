/**
 * Handlers of the core kernel services (table.ts, 0x01..0xff): printk,
 * kmalloc/kfree, sleeping, scheduling, mutexes, RCU read sides, migration
 * and preemption control, time, CPU id, nofault copies, WARN/BUG; and the
 * region kfuncs BPF programs call (kernel/bpf/helpers.c bpf_rcu_read_lock,
 * bpf_preempt_disable, bpf_local_irq_save and their pairs) and the
 * allocated-object ones (bpf_obj_new_impl, bpf_obj_drop_impl), declared in
 * runtime/bpf/service_decls.ts.
 *
 * Each handler is the C function of the same name; blocking ones return a
 * generator (see registry.ts). Misuse found here (unlocking a mutex one does
 * not hold, unbalanced rcu_read_unlock) is reported as the kernel would: a
 * WARNING with a backtrace, and the kernel goes on.
 */
import { EFAULT } from "../../errno.js";
import type { PhysMemory } from "../../machine/memory.js";
import type { GpEngine } from "../../rcu/gp.js";
import { rcuReadLock, rcuReadUnlock } from "../../rcu/rcu.js";
import { rcuReadLockTrace, rcuReadUnlockTrace } from "../../rcu/tasks_trace.js";
import type { BugLog } from "../bug.js";
import { LockError, Mutex, mutexLock, mutexUnlock } from "../mutex.js";
import { vsnprintf, type ArgReader } from "../printk.js";
import type { Scheduler } from "../sched.js";
import type { Slab } from "../slab.js";
import type { KGen, Task } from "../task.js";
import type { ServiceCall, ServiceFn } from "./registry.js";

/** `struct mutex` objects by address; text_mutex is registered at boot. */
export class MutexTable {
  readonly #byAddr = new Map<bigint, Mutex>();

  add(m: Mutex): Mutex {
    if (m.addr !== undefined) this.#byAddr.set(m.addr, m);
    return m;
  }

  /** The mutex at `addr` (created on first use, as DEFINE_MUTEX'd memory would be). */
  at(addr: bigint): Mutex {
    let m = this.#byAddr.get(addr);
    if (!m) this.#byAddr.set(addr, (m = new Mutex(`mutex@0x${addr.toString(16)}`, addr)));
    return m;
  }
}

/**
 * PSR_I_BIT | PSR_F_BIT: the DAIF bits arm64's arch_local_irq_save() sets
 * and returns in its flags when IRQs were already masked (0 when they were
 * on, as in ordinary kernel context).
 */
export const IRQ_FLAGS_DISABLED = 0xc0n;
const PSR_I_BIT = 0x80n;

/** Tasks that run with local IRQs masked (by bpf_local_irq_save). */
const irqsOff = new WeakSet<Task>();

/** irqs_disabled() for `task`. */
export function irqsDisabled(task: Task): boolean {
  return irqsOff.has(task);
}

/**
 * Mask or unmask local IRQs for `task`. The scheduler's tick is the timer
 * IRQ and is only taken with preempt_count 0, so a masked section holds
 * one preempt_count reference (simplification: the kernel keeps the mask
 * in DAIF, not in preempt_count). Returns true when the task became
 * preemptible again.
 */
function setIrqsOff(task: Task, off: boolean): boolean {
  if (off === irqsOff.has(task)) return false;
  if (off) {
    irqsOff.add(task);
    task.preemptCount++;
    return false;
  }
  irqsOff.delete(task);
  task.preemptCount--;
  if (task.preemptCount > 0) return false;
  task.preemptEnables++;
  return true;
}

/** A preemption point (preempt_enable() reaching 0, IRQs unmasked): the tick may switch tasks here. */
function* preemptionPoint(): KGen<void> {
  yield { op: "yield", voluntary: false };
}

export interface CoreServiceDeps {
  sched: Scheduler;
  memory: PhysMemory;
  slab: Slab;
  rcu: GpEngine;
  rcuTasks: GpEngine;
  mutexes: MutexTable;
  bugs: BugLog;
  symbolize: (addr: bigint) => string | undefined;
  /** Receives every printk line (with its log level). */
  printk: (level: number | undefined, text: string) => void;
}

/** Report a WARNING from a service, with the calling task's backtrace. */
export function serviceWarn(deps: { bugs: BugLog; sched: Scheduler }, call: ServiceCall, message: string): void {
  const f = call.cpu.buildFault("bug", { leaf: true });
  deps.bugs.report({
    kind: "WARNING",
    message,
    cpu: call.cpu.index,
    task: { pid: call.task.pid, comm: call.task.comm },
    backtrace: f.backtrace,
    t: deps.sched.now,
  });
}

/** Stop the calling task with a BUG (an oops of the task). */
export function serviceBug(call: ServiceCall, message: string): void {
  call.cpu.requestStop({ kind: "fault", fault: call.cpu.buildFault("bug", { detail: message, leaf: true }) });
}

/** AAPCS64 variadic reader: x(first)..x7, then 8-byte stack slots from sp. */
function varargs(call: ServiceCall, memory: PhysMemory, first: number): ArgReader {
  const regs = call.args();
  let i = first;
  let sp = call.cpu.sp;
  return () => {
    if (i < 8) return regs[i++];
    const v = memory.isMapped(sp, 8) ? memory.read64(sp) : 0n;
    sp += 8n;
    return v;
  };
}

export function coreServices(d: CoreServiceDeps): Record<string, ServiceFn> {
  const fmtEnv = {
    readCString: (a: bigint) => (d.memory.isMapped(a) ? d.memory.readCString(a) : `(efault)`),
    symbolize: d.symbolize,
  };
  const format = (call: ServiceCall) => {
    const fmtAddr = call.args()[0];
    const fmt = d.memory.isMapped(fmtAddr) ? d.memory.readCString(fmtAddr) : "";
    return vsnprintf(fmt, varargs(call, d.memory, 1), fmtEnv);
  };
  return {
    printk(call) {
      const { level, text } = format(call);
      d.printk(level, text);
      return text.length;
    },
    __warn_printk(call) {
      const { text } = format(call);
      d.printk(4, text);
      serviceWarn(d, call, text.trimEnd());
    },
    a64bpf_bug(call) {
      const [file, line] = call.args();
      const where = d.memory.isMapped(file) ? d.memory.readCString(file) : "?";
      serviceBug(call, `kernel BUG at ${where}:${Number(BigInt.asIntN(32, line))}!`);
    },
    kmalloc: (call) => d.slab.kmalloc(Number(call.args()[0])),
    kzalloc: (call) => d.slab.kzalloc(Number(call.args()[0])),
    kfree(call) {
      try {
        d.slab.kfree(call.args()[0]);
      } catch (err) {
        serviceWarn(d, call, (err as Error).message);
      }
    },
    *msleep(call) {
      const ms = BigInt.asUintN(32, call.args()[0]);
      yield { op: "sleep", ns: ms * 1_000_000n, reason: "msleep" };
    },
    *udelay(call) {
      // A busy wait: time passes, the task stays on its CPU (a preemption point).
      d.sched.now += BigInt.asUintN(32, call.args()[0]) * 1000n;
      yield { op: "yield", voluntary: false };
    },
    *cond_resched() {
      yield { op: "yield", voluntary: true };
      return 0n;
    },
    *schedule() {
      yield { op: "yield", voluntary: true };
    },
    mutex_lock(call) {
      const m = d.mutexes.at(call.args()[0]);
      if (m.owner === call.task) {
        serviceBug(call, `possible recursive locking detected: ${call.task} already holds ${m.name}`);
        return;
      }
      return mutexLock(m, call.task);
    },
    mutex_unlock(call) {
      const m = d.mutexes.at(call.args()[0]);
      try {
        mutexUnlock(m, call.task);
      } catch (err) {
        if (err instanceof LockError) serviceWarn(d, call, err.message);
        else throw err;
      }
    },
    __rcu_read_lock: (call) => rcuReadLock(call.task),
    __rcu_read_unlock(call) {
      try {
        rcuReadUnlock(call.task);
      } catch (err) {
        serviceWarn(d, call, (err as Error).message);
      }
    },
    rcu_read_lock_trace: (call) => rcuReadLockTrace(call.task),
    rcu_read_unlock_trace(call) {
      try {
        rcuReadUnlockTrace(call.task);
      } catch (err) {
        serviceWarn(d, call, (err as Error).message);
      }
    },
    migrate_disable(call) {
      call.task.migrateDisable++;
    },
    migrate_enable(call) {
      if (call.task.migrateDisable <= 0)
        serviceWarn(d, call, `migrate_enable() without migrate_disable() in ${call.task}`);
      else call.task.migrateDisable--;
    },
    preempt_count_add(call) {
      call.task.preemptCount += Number(BigInt.asIntN(32, call.args()[0]));
    },
    preempt_count_sub(call) {
      const v = Number(BigInt.asIntN(32, call.args()[0]));
      if (call.task.preemptCount < v) {
        serviceWarn(d, call, `preempt_count underflow in ${call.task}`);
        call.task.preemptCount = 0;
      } else {
        call.task.preemptCount -= v;
      }
      if (call.task.preemptCount === 0) call.task.preemptEnables++;
    },
    // kernel/bpf/helpers.c common_kfunc_set: RCU, preemption and IRQ regions of BPF programs.
    bpf_rcu_read_lock: (call) => rcuReadLock(call.task),
    bpf_rcu_read_unlock(call) {
      try {
        rcuReadUnlock(call.task);
      } catch (err) {
        serviceWarn(d, call, (err as Error).message);
      }
    },
    bpf_preempt_disable(call) {
      call.task.preemptCount++;
    },
    bpf_preempt_enable(call) {
      if (call.task.preemptCount <= 0) {
        serviceWarn(d, call, `preempt_count underflow in ${call.task}`);
        return;
      }
      if (--call.task.preemptCount > 0) return;
      call.task.preemptEnables++;
      return preemptionPoint();
    },
    bpf_local_irq_save(call) {
      const flags = call.args()[0];
      d.memory.write64(flags, irqsOff.has(call.task) ? IRQ_FLAGS_DISABLED : 0n);
      setIrqsOff(call.task, true);
    },
    bpf_local_irq_restore(call) {
      const flags = d.memory.read64(call.args()[0]);
      if (setIrqsOff(call.task, (flags & PSR_I_BIT) !== 0n)) return preemptionPoint();
    },
    // kernel/bpf/helpers.c generic_kfunc_set: objects a BPF program allocates (bpf_mem_alloc does not
    // zero them; the verifier passes the size in R1 and no struct meta in R2, so no field needs init).
    bpf_obj_new_impl(call) {
      const size = Number(BigInt.asUintN(32, call.args()[0]));
      try {
        return d.slab.kmalloc(size);
      } catch {
        return 0n;
      }
    },
    bpf_obj_drop_impl(call) {
      try {
        d.slab.kfree(call.args()[0]);
      } catch (err) {
        serviceWarn(d, call, (err as Error).message);
      }
    },
    ktime_get_ns: () => d.sched.now,
    raw_smp_processor_id: (call) => call.cpu.index,
    copy_from_kernel_nofault(call) {
      const [dst, src, size] = call.args();
      const n = Number(size);
      if (!d.memory.isMapped(src, n) || !d.memory.isMapped(dst, n)) {
        if (d.memory.isMapped(dst, n)) d.memory.fill(dst, n, 0);
        return -BigInt(EFAULT);
      }
      d.memory.writeBytes(dst, d.memory.readBytes(src, n));
      return 0n;
    },
    synchronize_rcu: () => d.rcu.synchronize(),
    synchronize_rcu_tasks: () => d.rcuTasks.synchronize(),
  };
}
