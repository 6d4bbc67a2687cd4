/**
 * Binds the service table (table.ts) to TypeScript handlers and dispatches
 * hypercalls from emulated code.
 *
 *   emulated code ── bl mutex_lock ──► stub: svc #0x09 ─► dispatch()
 *        ▲                                                │
 *        │          handler returns a value ──────────────┤ x0 = value, continue
 *        │                                                │
 *        │          handler returns a generator:          │
 *        │            first step done ────────────────────┤ x0 = value, continue
 *        │            first step yields a request ────────┘ push ts frame, stop CPU;
 *        └──── the scheduler drives the generator; when it returns, x0 = value
 *
 * Non-blocking services therefore cost one hook call and no context switch.
 * A service called with no current task, or one without a handler, is a
 * kernel bug reported as a fault of the calling CPU.
 */
import { EEXIST, EINVAL } from "../../errno.js";
import { KernelError } from "../../errors.js";
import type { Cpu } from "../../machine/cpu.js";
import type { HypercallAction } from "../../machine/hypercall.js";
import type { Machine } from "../../machine/machine.js";
import type { KGen, SchedRequest, Task } from "../task.js";
import type { ServiceDecl } from "./table.js";
import { TASK_RETURN_NR } from "../sched.js";

/** What a service handler sees: the calling CPU (registers) and task. */
export interface ServiceCall {
  readonly cpu: Cpu;
  readonly task: Task;
  /** x0..x7 (read once per call). */
  args(): BigUint64Array;
}

/** A value for x0, nothing (void), or a generator for services that may block. */
export type ServiceResult = bigint | number | void | KGen<bigint | void>;

export type ServiceFn = (call: ServiceCall) => ServiceResult;

function isGenerator(v: unknown): v is KGen<bigint | void> {
  return typeof v === "object" && v !== null && typeof (v as { next?: unknown }).next === "function";
}

export class ServiceRegistry {
  readonly #decls = new Map<string, ServiceDecl>();
  readonly #fns = new Map<string, ServiceFn>();
  readonly #current: (cpu: number) => Task | undefined;
  /** Calls per service name (statistics). */
  readonly calls = new Map<string, number>();

  /**
   * Register every declared service on the machine's svc table. `current`
   * gives the task running on a CPU.
   */
  constructor(machine: Machine, decls: readonly ServiceDecl[], current: (cpu: number) => Task | undefined) {
    this.#current = current;
    for (const d of decls) {
      this.#decls.set(d.name, d);
      if (d.nr === TASK_RETURN_NR) {
        machine.svc.register(d.nr, d.name, () => "stop");
        continue;
      }
      machine.svc.register(d.nr, d.name, (cpu) => this.#dispatch(cpu, d));
    }
  }

  /**
   * Declare and bind a service at run time (one not in the static table):
   * registers its svc number on the machine. The caller provides the stub.
   */
  declareDynamic(machine: Machine, decl: ServiceDecl, fn: ServiceFn): void {
    if (this.#decls.has(decl.name)) throw new KernelError(EEXIST, `service already declared: ${decl.name}`);
    machine.svc.register(decl.nr, decl.name, (cpu) => this.#dispatch(cpu, decl));
    this.#decls.set(decl.name, decl);
    this.#fns.set(decl.name, fn);
  }

  /** Bind a handler to a declared service. */
  bind(name: string, fn: ServiceFn): void {
    if (!this.#decls.has(name)) throw new KernelError(EINVAL, `unknown service: ${name} (not in the service table)`);
    if (this.#fns.has(name)) throw new KernelError(EEXIST, `service already bound: ${name}`);
    this.#fns.set(name, fn);
  }

  /** Bind several handlers. */
  bindAll(fns: Record<string, ServiceFn>): void {
    for (const [name, fn] of Object.entries(fns)) this.bind(name, fn);
  }

  /** Declared services without a handler. */
  unbound(): string[] {
    return [...this.#decls.keys()].filter((n) => !this.#fns.has(n) && this.#decls.get(n)?.nr !== TASK_RETURN_NR);
  }

  #dispatch(cpu: Cpu, decl: ServiceDecl): HypercallAction {
    const task = this.#current(cpu.index);
    if (!task) {
      cpu.requestStop({ kind: "fault", fault: cpu.buildFault("bug", { detail: `${decl.name} called with no task` }) });
      return "continue";
    }
    const fn = this.#fns.get(decl.name);
    if (!fn) {
      cpu.requestStop({
        kind: "fault",
        fault: cpu.buildFault("bug", { detail: `service ${decl.name} (svc #${decl.nr}) has no handler` }),
      });
      return "continue";
    }
    this.calls.set(decl.name, (this.calls.get(decl.name) ?? 0) + 1);
    let argsCache: BigUint64Array | undefined;
    let res: ServiceResult;
    let step: IteratorResult<unknown, bigint | void> | undefined;
    try {
      res = fn({ cpu, task, args: () => (argsCache ??= cpu.args()) });
      if (isGenerator(res)) step = res.next(undefined);
    } catch (err) {
      // A kernel bug detected by the service (or in it): oops the calling task.
      const detail = `${decl.name}: ${err instanceof Error ? err.message : String(err)}`;
      cpu.requestStop({ kind: "fault", fault: cpu.buildFault("bug", { detail, leaf: true }) });
      return "continue";
    }
    if (isGenerator(res) && step) {
      if (step.done) {
        if (step.value !== undefined) cpu.setX(0, BigInt.asUintN(64, step.value));
        return "continue";
      }
      task.frames.push({ kind: "ts", gen: res, resume: undefined, request: step.value as SchedRequest });
      return "stop";
    }
    if (typeof res === "bigint") cpu.setX(0, BigInt.asUintN(64, res));
    else if (typeof res === "number") cpu.setX(0, BigInt.asUintN(64, BigInt(res)));
    return "continue";
  }
}
