/**
 * Boot: the composition root of the simulated kernel.
 *
 *   Machine (N CPUs) ─► kernel image (+ kallsyms) ─► stacks, heap, text pools
 *     ─► scheduler ─► service registry (svc stubs → TypeScript handlers)
 *     ─► RCU, RCU-tasks, RCU-tasks-trace GP kthreads, kworkers
 *
 * `Kernel` only holds the subsystems; each lives in its own module and takes
 * just the parts it needs. Faults of emulated tasks become oops reports (the
 * task dies, the kernel goes on); a fault inside freed text is named as a
 * use-after-free of the symbol that was freed there.
 */
import { EEXIST, EINVAL, ENOENT, ENOSPC } from "../errno.js";
import { KernelError } from "../errors.js";
import { createLogger } from "../log.js";
import type { Fault } from "../machine/fault.js";
import { FaultError, formatFault } from "../machine/fault.js";
import { Machine } from "../machine/machine.js";
import type { GpEngine } from "../rcu/gp.js";
import { createRcu } from "../rcu/rcu.js";
import { createRcuTasks } from "../rcu/tasks.js";
import { createRcuTasksTrace } from "../rcu/tasks_trace.js";
import { BugLog } from "./bug.js";
import { BpfRunRegistry } from "./bpf_prog_run.js";
import { RandomChooser, type SchedChooser } from "./chooser.js";
import { FaultInjection } from "./fault_inject.js";
import { BPF_TEXT_BASE, BPF_TEXT_SIZE, FAR_BPF_TEXT_BASE, FAR_BPF_TEXT_SIZE } from "./layout.js";
import type { Kallsyms } from "./kallsyms.js";
import { KernelTrace } from "./ktrace.js";
import { Mutex } from "./mutex.js";
import { Scheduler } from "./sched.js";
import { bpfRunServices } from "./services/bpf_run.js";
import { coreServices, MutexTable } from "./services/core.js";
import { ServiceRegistry, type ServiceFn } from "./services/registry.js";
import { ExceptionTables } from "./extable.js";
import { allServices } from "./services/table.js";
import { Slab } from "./slab.js";
import { StackAllocator } from "./stacks.js";
import { syntheticImage, type BootImage, type LoadedKernelImage } from "./synthetic_image.js";
import type { KGen, Task } from "./task.js";
import { TextAllocator } from "./text_alloc.js";
import { Workqueue } from "./workqueue.js";

const log = createLogger("kernel");

/** svc numbers for services created at run time (registerDynamicService). */
const DYNAMIC_SERVICE_BASE = 0x600;
const DYNAMIC_SERVICE_LAST = 0x6ff;

export interface KernelOptions {
  /** CPUs (default 2). */
  cpus?: number;
  /** Seed of the default random chooser (default 0). */
  seed?: number;
  /** Scheduling decisions (default: RandomChooser(seed)). */
  chooser?: SchedChooser;
  /** Quanta offered to the chooser, in instructions. */
  quanta?: readonly number[];
  /** Fault-injection switches to turn on. */
  faults?: Iterable<string>;
  /** The image to boot (default: the synthetic service-stub image). */
  image?: BootImage;
  /** Number of kworker threads (default: one per CPU). */
  kworkers?: number;
  /**
   * KASAN for freed BPF text: a read of freed text by emulated code oopses
   * ("BUG: KASAN: use-after-free", naming the freed allocation). Off by
   * default: it takes a Unicorn memory-read hook, which makes every load of
   * emulated code several times slower.
   */
  kasanText?: boolean;
}

export class Kernel {
  readonly machine: Machine;
  readonly image: LoadedKernelImage;
  /** kallsyms: vmlinux, modules and BPF symbols. */
  readonly kallsyms: Kallsyms;
  readonly sched: Scheduler;
  readonly services: ServiceRegistry;
  readonly rcu: GpEngine;
  readonly rcuTasks: GpEngine;
  readonly rcuTasksTrace: GpEngine;
  readonly systemWq: Workqueue;
  readonly textMutex: Mutex;
  readonly mutexes = new MutexTable();
  readonly slab: Slab;
  readonly stacks: StackAllocator;
  /** BPF text near the kernel (direct `bl` reach). */
  readonly bpfText: TextAllocator;
  /** BPF text beyond ±128 MiB (exercises PLT slots). */
  readonly farBpfText: TextAllocator;
  readonly bpfRun: BpfRunRegistry;
  readonly faultInject: FaultInjection;
  readonly bugs = new BugLog();
  /** Kernel events (pokes, grace periods, refs, images, oopses) for traces and detectors. */
  readonly ktrace = new KernelTrace();
  readonly oopses: Fault[] = [];
  readonly dmesg: string[] = [];
  readonly #dieNotifiers: Array<(fault: Fault, report: string) => void> = [];
  /** Exception tables of JITed programs (BPF_PROBE_MEM fixups). */
  readonly extable = new ExceptionTables();
  /** Extra symbolizers (kallsyms of modules, BPF programs, trampolines), consulted first. */
  readonly symbolizers: ((addr: bigint) => string | undefined)[] = [];

  constructor(opts: KernelOptions = {}) {
    this.machine = new Machine({ cpus: opts.cpus ?? 2 });
    try {
      this.faultInject = new FaultInjection(opts.faults ?? []);
      this.image = (opts.image ?? syntheticImage()).load(this.machine);
      this.kallsyms = this.image.kallsyms;
      this.machine.symbolizer = (a) => this.symbolize(a);
      this.bugs.symbolize = (a) => this.symbolize(a);
      this.bugs.onReport = (r) =>
        this.ktrace.emit({ kind: "warn", t: r.t, cpu: r.cpu, pid: r.task?.pid ?? -1, message: r.message });
      this.stacks = new StackAllocator(this.machine);
      this.slab = new Slab(this.machine);
      const now = () => this.sched.now;
      this.bpfText = new TextAllocator(this.machine, {
        name: "bpf text",
        base: BPF_TEXT_BASE,
        size: BPF_TEXT_SIZE,
        now,
      });
      this.farBpfText = new TextAllocator(this.machine, {
        name: "far bpf text",
        base: FAR_BPF_TEXT_BASE,
        size: FAR_BPF_TEXT_SIZE,
        now,
      });
      if (opts.kasanText) this.#installKasanText();
      const taskReturn = this.#requireSymbol("a64bpf_task_return");
      this.sched = new Scheduler(this.machine, {
        chooser: opts.chooser ?? new RandomChooser(opts.seed ?? 0),
        stacks: this.stacks,
        taskReturn,
        quanta: opts.quanta,
      });
      this.sched.onOops = (task, fault) => this.#onOops(task, fault);
      this.sched.onFaultFixup = (cpu, fault) => this.extable.fixup(cpu, fault);
      this.services = new ServiceRegistry(this.machine, allServices(), (cpu) => this.sched.curr[cpu]);
      this.rcu = createRcu(this.sched);
      const tasks = createRcuTasks(this.sched);
      this.rcuTasks = tasks.engine;
      this.rcuTasksTrace = createRcuTasksTrace(this.sched);
      this.systemWq = new Workqueue("events");
      this.bpfRun = new BpfRunRegistry(this.machine.cpus.length);
      this.textMutex = this.mutexes.add(new Mutex("text_mutex", this.#requireSymbol("text_mutex")));

      this.services.bindAll(
        coreServices({
          sched: this.sched,
          memory: this.machine.memory,
          slab: this.slab,
          rcu: this.rcu,
          rcuTasks: this.rcuTasks,
          mutexes: this.mutexes,
          bugs: this.bugs,
          symbolize: (a) => this.symbolize(a),
          printk: (level, text) => this.#printk(level, text),
        }),
      );
      this.services.bindAll(
        bpfRunServices({ sched: this.sched, memory: this.machine.memory, bugs: this.bugs, registry: this.bpfRun }),
      );

      for (const gp of [this.rcu, this.rcuTasks, this.rcuTasksTrace]) {
        gp.onGpStart = (flavour, t) => this.ktrace.emit({ kind: "gp_start", t, flavour });
        gp.onGp = (flavour, _start, end) => this.ktrace.emit({ kind: "gp_end", t: end, flavour });
      }
      this.sched.spawnKthread("rcu_preempt", this.rcu.kthread());
      tasks.flavour.self = this.sched.spawnKthread("rcu_tasks_kthre", this.rcuTasks.kthread());
      this.sched.spawnKthread("rcu_tasks_trace", this.rcuTasksTrace.kthread());
      const workers = opts.kworkers ?? this.machine.cpus.length;
      for (let i = 0; i < workers; i++) this.sched.spawnKthread(`kworker/${i}:0`, this.systemWq.worker());
    } catch (err) {
      this.machine.close();
      throw err;
    }
  }

  /**
   * A kernel function implemented in TypeScript, created at run time: a
   * `name: svc #nr; ret` stub in BPF text bound to `fn` (for test helpers,
   * the conformance plugin's helpers, ...). Returns the stub's address.
   */
  registerDynamicService(name: string, fn: ServiceFn): bigint {
    if (this.#dynamic.has(name)) throw new KernelError(EEXIST, `dynamic service already registered: ${name}`);
    const nr = DYNAMIC_SERVICE_BASE + this.#dynamic.size;
    if (nr > DYNAMIC_SERVICE_LAST)
      throw new KernelError(
        ENOSPC,
        `too many dynamic services (max ${DYNAMIC_SERVICE_LAST - DYNAMIC_SERVICE_BASE + 1})`,
      );
    this.services.declareDynamic(this.machine, { nr, name, proto: `long ${name}(long, long, long, long, long)` }, fn);
    const stub = this.bpfText.alloc(8, name);
    const bytes = new Uint8Array(8);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, (0xd4000001 | (nr << 5)) >>> 0, true);
    dv.setUint32(4, 0xd65f03c0, true);
    this.machine.writeText(stub.addr, bytes, { sync: false });
    this.machine.invalidateText(stub.addr, stub.addr + 8n);
    this.#dynamic.set(name, stub.addr);
    return stub.addr;
  }

  /** Address of a symbol, or ENOENT. */
  symbolAddress(name: string): bigint {
    const dyn = this.#dynamic.get(name);
    if (dyn !== undefined) return dyn;
    const a = this.kallsyms.addressOf(name);
    if (a === undefined) throw new KernelError(ENOENT, `unknown symbol: ${name}`);
    return a;
  }

  /** "name+0xoff/0xsize [module]" for any address known to the kernel. */
  symbolize(addr: bigint): string | undefined {
    for (const s of this.symbolizers) {
      const r = s(addr);
      if (r) return r;
    }
    for (const [name, a] of this.#dynamic)
      if (addr >= a && addr < a + 8n) return `${name}+0x${(addr - a).toString(16)}/0x8`;
    return this.kallsyms.formatAddress(addr);
  }

  /**
   * Run `fn(args...)` on a fresh task until it returns; other tasks
   * (kthreads, workers) interleave as the chooser decides. An oops of the
   * task is thrown as a FaultError.
   */
  call(
    fn: string | bigint,
    args: readonly bigint[] = [],
    opts: { comm?: string; maxSteps?: number; wallMs?: number } = {},
  ): bigint {
    const addr = typeof fn === "string" ? this.symbolAddress(fn) : fn;
    // TASK_COMM_LEN is 16: 15 characters and the NUL.
    const name = typeof fn === "string" ? fn : (this.symbolize(addr)?.split("+")[0] ?? "call");
    const comm = (opts.comm ?? name).slice(0, 15);
    const task = this.sched.spawnCall(comm, addr, args);
    try {
      this.runTask(task, opts);
    } finally {
      // Forget exited tasks: callers hold on to the Task they care about.
      if (task.state === "dead") this.sched.reap();
    }
    return task.exitValue ?? 0n;
  }

  /**
   * Run TypeScript kernel code in a fresh kernel thread until it returns,
   * interleaved with everything else; its result is returned and an error
   * it throws is re-thrown here (not turned into an oops).
   */
  runKthread<T>(comm: string, body: (task: Task) => KGen<T>, opts: { maxSteps?: number; wallMs?: number } = {}): T {
    let result: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    let self: Task | undefined;
    const wrapper = function* (): KGen<void> {
      try {
        result = { ok: true, value: yield* body(self as Task) };
      } catch (error) {
        result = { ok: false, error };
      }
    };
    self = this.sched.spawnKthread(comm.slice(0, 15), wrapper());
    this.sched.runUntil(() => self!.state === "dead", opts);
    if (!result)
      throw new KernelError(EINVAL, `kthread ${comm} died without a result${self.oops ? `: ${self.oops.detail}` : ""}`);
    if (!result.ok) throw result.error;
    return result.value;
  }

  /** Step the scheduler until `task` has exited; throws its oops as a FaultError. */
  runTask(task: Task, opts: { maxSteps?: number; wallMs?: number } = {}): void {
    this.sched.runUntil(() => task.state === "dead", opts);
    if (task.oops) throw new FaultError(task.oops, (a) => this.symbolize(a));
  }

  /** Kernel-oops text of a fault, symbolised. */
  formatFault(f: Fault): string {
    return formatFault(f, (a) => this.symbolize(a));
  }

  close(): void {
    this.machine.close();
  }

  readonly #dynamic = new Map<string, bigint>();

  #requireSymbol(name: string): bigint {
    const a = this.kallsyms.addressOf(name);
    if (a === undefined) throw new KernelError(EINVAL, `kernel image ${this.image.name} lacks required symbol ${name}`);
    return a;
  }

  #printk(level: number | undefined, text: string): void {
    for (const line of text.split("\n")) {
      if (line === "") continue;
      this.dmesg.push(line);
      log.info({ level: level ?? 4 }, line);
    }
    if (this.dmesg.length > 10000) this.dmesg.splice(0, this.dmesg.length - 10000);
  }

  #onOops(task: Task, fault: Fault): void {
    // Name freed text when the fault is inside it (a KASAN report names it already).
    for (const addr of fault.kind === "kasan" ? [] : [fault.pc, fault.address]) {
      if (addr === undefined) continue;
      for (const pool of [this.bpfText, this.farBpfText]) {
        const freed = pool.contains(addr) ? pool.findFreed(addr) : undefined;
        if (freed) {
          const what = `use-after-free of ${freed.name} (freed at ${freed.freedAt} ns)`;
          fault.detail = fault.detail ? `${what}; ${fault.detail}` : what;
          break;
        }
      }
    }
    if (fault.address !== undefined && this.stacks.isGuard(fault.address)) {
      fault.detail = `stack guard page hit (kernel stack overflow)${fault.detail ? `; ${fault.detail}` : ""}`;
    }
    this.oopses.push(fault);
    this.ktrace.emit({
      kind: "oops",
      t: this.sched.now,
      cpu: fault.cpu,
      pid: task.pid,
      pc: fault.pc,
      detail: `${fault.kind}${fault.detail ? `: ${fault.detail}` : ""}`,
    });
    // die(): the report goes to the kernel log at KERN_EMERG, then to the die notifier chain.
    const report = this.formatFault(fault);
    this.#printk(0, report);
    for (const fn of this.#dieNotifiers) fn(fault, report);
    if (log.isLevelEnabled("error")) log.error({ task: task.pid }, report);
  }

  /**
   * A read hook over both text pools on every CPU: a load from a freed chunk
   * stops the CPU with a KASAN-style fault. Installed before any code runs,
   * so every translated block calls it.
   */
  #installKasanText(): void {
    for (const pool of [this.bpfText, this.farBpfText]) {
      for (const c of this.machine.cpus) {
        c.uc.addMemReadHook(pool.base, pool.base + BigInt(pool.size) - 1n, (address, size) => {
          const freed = pool.findFreed(address);
          if (!freed) return;
          const detail = `read of size ${size} in freed ${freed.name} (freed at ${freed.freedAt} ns)`;
          c.requestStop({ kind: "fault", fault: c.buildFault("kasan", { address, size, detail }) });
        });
      }
    }
  }

  /**
   * register_die_notifier(): `fn` hears of every oops with its report (as
   * written to dmesg). Returns the unregister function.
   */
  registerDieNotifier(fn: (fault: Fault, report: string) => void): () => void {
    this.#dieNotifiers.push(fn);
    return () => {
      const i = this.#dieNotifiers.indexOf(fn);
      if (i >= 0) this.#dieNotifiers.splice(i, 1);
    };
  }
}
