/**
 * kprobes at function entries with a BPF program attached (kernel/kprobes.c
 * register_kprobe / unregister_kprobe / enable_kprobe / disable_kprobe,
 * KPROBES_ON_FTRACE's kprobe_ftrace_handler, kernel/trace/trace_kprobe.c
 * kprobe_perf_func and kernel/trace/bpf_trace.c trace_call_bpf), the way
 * perf attached a BPF program to a probe event.
 *
 *   register_kprobe(symbol, prog)
 *     resolve: kallsyms → -ENOENT; entry only (offset 0), an ftrace location
 *     (patchable entry), no other kprobe there            → -ENOTSUPP / -EBUSY
 *     kmalloc struct kprobe, generate the handler stub (handler_stub.ts) in BPF text
 *     arm: under text_mutex, entry `nop; nop` → `mov x9, x30; bl stub`
 *          (ftraceDirectPatch: -EBUSY when fentry/fexit or another owner has it)
 *
 *   probe hit (stub)          a64bpf_kprobe_enter(kp, regs)                    → 0: skip
 *     kprobe disabled?            yes → 0
 *     kprobe_running() on this CPU? yes → kp->nmissed++, 0
 *     preempt_disable; current_kprobe = kp; kp->hits++
 *     trace_call_bpf: this_cpu_inc_return(bpf_prog_active) != 1
 *                                  → prog misses++, undo, 0
 *     rcu_read_lock                                                             → 1
 *   bpf_func(regs)
 *                             a64bpf_kprobe_exit(kp, ret)
 *     rcu_read_unlock; bpf_prog_active--; ret != 0 → kp->events++ (perf would
 *     submit the sample, kprobe_perf_func); current_kprobe = NULL; preempt_enable
 *
 *   unregister_kprobe(kp)
 *     disarm: `mov x9, x30; bl stub` → `nop; nop` under text_mutex
 *     synchronize_rcu (the kernel's), then synchronize_rcu_tasks (ours: the
 *     stub is per-kprobe text a preempted task may still be in), free the
 *     stub (fenced: a late execution is a use-after-free fault) and kp.
 *
 * Choice (documented in ARCHITECTURE terms): arm64 mainline places a kprobe
 * with `brk #0x004` (KPROBES_BRK_IMM) and single-steps the original
 * instruction out of line; here every kprobe is on a function's patchable
 * entry, as KPROBES_ON_FTRACE does on x86, riscv, s390 and powerpc. That
 * keeps the program on the emulated CPU, called from emulated code, and
 * shares the entry-patching protocol (and its race checks) with fentry.
 * Consequences: only ftrace locations (traceable functions, offset 0) can
 * be probed (-ENOTSUPP otherwise); a kprobe and an fentry/fexit trampoline
 * on one function exclude each other (-EBUSY); several kprobes at one
 * address (the kernel's aggr_kprobe) are refused with -EBUSY; kretprobes,
 * pre/post handlers other than the BPF program, bpf_override_return and
 * the BPF run context (bpf_get_attach_cookie) are not modelled.
 */
import { EBUSY, EEXIST, EINVAL, ENOENT } from "../errno.js";
import type { Btf } from "../bpf/btf/btf.js";
import { KernelError, NotSupportedError, wrapError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import type { KernelImages } from "../kernel/boot.js";
import type { KGen, Task } from "../kernel/task.js";
import type { TextAllocation } from "../kernel/text_alloc.js";
import { rcuReadLock, rcuReadUnlock } from "../rcu/rcu.js";
import { ftraceDirectPatch, type TextPokeEnv } from "../tramp/text_poke.js";
import { genKprobeHandlerStub } from "./handler_stub.js";
import { ptRegsLayout, type PtRegsLayout } from "./pt_regs.js";

/** Kernels that have a table (the stub services are registered once per kernel). */
const TABLES = new WeakSet<Kernel>();

/** sizeof(struct kprobe) for the kmalloc that gives each kprobe its address. */
const KPROBE_STRUCT_SIZE = 96;

/** A probed address as the kprobe layer resolves a symbol. */
export interface KprobeSite {
  readonly addr: bigint;
  /** The entry is an ftrace location (patchable, traceable). */
  readonly traceable: boolean;
}

/** The BPF program a kprobe runs (a JITed kprobe program). */
export interface KprobeProg {
  readonly name: string;
  /** prog->bpf_func. */
  readonly bpfFunc: bigint;
}

/** A registered kprobe with its counters. */
export class Kprobe {
  /** p->addr: the probed function's entry. */
  readonly addr: bigint;
  readonly symbol: string;
  /** struct kprobe * in kernel memory. */
  readonly kp: bigint;
  readonly prog: KprobeProg;
  readonly stub: TextAllocation;
  /** Times the probe was hit and the program ran (or was skipped by bpf_prog_active). */
  hits = 0;
  /** kprobes_inc_nmissed_count(): hits while another kprobe was running on the CPU. */
  nmissed = 0;
  /** bpf_prog_inc_misses_counters(): runs skipped by bpf_prog_active. */
  progMisses = 0;
  /** Program runs that returned non-zero (kprobe_perf_func would submit a sample). */
  events = 0;
  /** Program runs that returned 0 (the sample is dropped). */
  filtered = 0;
  /** KPROBE_FLAG_DISABLED. */
  disabled = false;
  /** Unregistered. */
  gone = false;

  constructor(init: { addr: bigint; symbol: string; kp: bigint; prog: KprobeProg; stub: TextAllocation }) {
    this.addr = init.addr;
    this.symbol = init.symbol;
    this.kp = init.kp;
    this.prog = init.prog;
    this.stub = init.stub;
  }
}

/** Options of {@link KprobeTable}. */
export interface KprobeTableOptions {
  /** Symbol → site; default: the kernel's kallsyms, every function assumed not traceable. */
  resolve?: (symbol: string) => KprobeSite | undefined;
  /**
   * Race exploration only: free the stub right after the disarm, without
   * the grace periods (what unregister would do wrong without them).
   */
  unsafeSkipGracePeriods?: boolean;
}

/** Resolve symbols through the loaded images (vmlinux, then modules): address and ftrace location. */
export function kprobeResolverFromImages(images: KernelImages): (symbol: string) => KprobeSite | undefined {
  return (symbol) => {
    for (const image of [images.vmlinux.image, ...images.modules.modules.map((m) => m.image)]) {
      const s = image.symbol(symbol);
      if (s && s.kind === "func") return { addr: s.addr, traceable: image.isFtraceLocation(s.addr) };
    }
    return undefined;
  };
}

/** A table for a kernel booted with bootKernel(): vmlinux BTF for pt_regs, symbols from the images. */
export function createKprobeTable(
  kernel: Kernel,
  images: KernelImages,
  opts: Omit<KprobeTableOptions, "resolve"> = {},
): KprobeTable {
  return new KprobeTable(kernel, { ...opts, btf: images.vmlinux.btf, resolve: kprobeResolverFromImages(images) });
}

/** Per-CPU state of the handler path. */
interface CpuState {
  /** current_kprobe. */
  current: Kprobe | undefined;
  /** bpf_prog_active. */
  bpfProgActive: number;
}

/**
 * The kprobes of one kernel (kprobe_table) and the enter/exit services of
 * their stubs. One table per kernel: a second one is -EEXIST.
 */
export class KprobeTable {
  readonly kernel: Kernel;
  readonly layout: PtRegsLayout;
  readonly #resolve: (symbol: string) => KprobeSite | undefined;
  readonly #byAddr = new Map<bigint, Kprobe>();
  readonly #byKp = new Map<bigint, Kprobe>();
  readonly #cpus: CpuState[];
  readonly #enter: bigint;
  readonly #exit: bigint;
  readonly #skipGracePeriods: boolean;

  constructor(kernel: Kernel, opts: KprobeTableOptions & { btf: Btf }) {
    this.kernel = kernel;
    this.layout = ptRegsLayout(opts.btf);
    this.#skipGracePeriods = opts.unsafeSkipGracePeriods ?? false;
    this.#resolve =
      opts.resolve ??
      ((symbol) => {
        const addr = kernel.kallsyms.addressOf(symbol);
        return addr === undefined ? undefined : { addr, traceable: false };
      });
    this.#cpus = kernel.machine.cpus.map(() => ({ current: undefined, bpfProgActive: 0 }));
    if (TABLES.has(kernel)) throw new KernelError(EEXIST, "this kernel already has a kprobe table");
    TABLES.add(kernel);
    this.#enter = kernel.registerDynamicService("a64bpf_kprobe_enter", (call) => {
      const [kp] = call.args();
      return this.#handlerEnter(kp, call.cpu.index, call.task);
    });
    this.#exit = kernel.registerDynamicService("a64bpf_kprobe_exit", (call) => {
      const [kp, ret] = call.args();
      this.#handlerExit(kp, ret, call.cpu.index, call.task);
    });
  }

  /** The kprobe at `addr`, if any. */
  at(addr: bigint): Kprobe | undefined {
    return this.#byAddr.get(addr);
  }

  /** Registered kprobes. */
  get kprobes(): readonly Kprobe[] {
    return [...this.#byAddr.values()];
  }

  /** get_kprobe() by the struct kprobe address the stub passes. */
  #get(kp: bigint): Kprobe {
    const p = this.#byKp.get(kp);
    if (!p) throw new KernelError(EINVAL, `no kprobe at struct kprobe 0x${kp.toString(16)}`);
    return p;
  }

  #handlerEnter(kpAddr: bigint, cpu: number, task: Task): bigint {
    const p = this.#get(kpAddr);
    const c = this.#cpus[cpu];
    if (p.disabled) return 0n;
    if (c.current) {
      p.nmissed++;
      return 0n;
    }
    task.preemptCount++;
    c.current = p;
    p.hits++;
    if (++c.bpfProgActive !== 1) {
      p.progMisses++;
      c.bpfProgActive--;
      c.current = undefined;
      task.preemptCount--;
      return 0n;
    }
    rcuReadLock(task);
    return 1n;
  }

  #handlerExit(kpAddr: bigint, ret: bigint, cpu: number, task: Task): void {
    const p = this.#get(kpAddr);
    const c = this.#cpus[cpu];
    rcuReadUnlock(task);
    c.bpfProgActive--;
    if (ret !== 0n) p.events++;
    else p.filtered++;
    c.current = undefined;
    task.preemptCount--;
  }

  /** Register a kprobe (see the file header); the entry is patched before this returns. */
  *register(task: Task, spec: RegisterKprobeSpec): KGen<Kprobe> {
    const k = this.kernel;
    const offset = spec.offset ?? 0;
    const site = this.#resolve(spec.symbol);
    if (!site) throw new KernelError(ENOENT, `register_kprobe: unknown symbol: ${spec.symbol}`);
    if (offset !== 0) {
      throw new NotSupportedError(`register_kprobe: only function entries can be probed: ${spec.symbol}+${offset}`);
    }
    if (!site.traceable) {
      throw new NotSupportedError(
        `register_kprobe: ${spec.symbol} has no patchable entry (notrace); brk-based kprobes are not modelled`,
      );
    }
    if (this.#byAddr.has(site.addr)) {
      throw new KernelError(
        EBUSY,
        `register_kprobe: ${spec.symbol} already has a kprobe (aggregated kprobes are not modelled)`,
      );
    }
    const kp = k.slab.kzalloc(KPROBE_STRUCT_SIZE);
    let stub: TextAllocation | undefined;
    try {
      const words = genKprobeHandlerStub({
        kp,
        bpfFunc: spec.prog.bpfFunc,
        enter: this.#enter,
        exit: this.#exit,
        layout: this.layout,
      }).words;
      stub = k.bpfText.alloc(words.length * 4, `kprobe_stub_${spec.symbol}`);
      const addr = stub.addr;
      k.machine.writeText(addr, new Uint8Array(words.buffer, words.byteOffset, words.byteLength), { sync: false });
      k.machine.invalidateText(addr, addr + BigInt(words.length * 4));
      const p = new Kprobe({ addr: site.addr, symbol: spec.symbol, kp, prog: spec.prog, stub });
      this.#byAddr.set(site.addr, p);
      this.#byKp.set(kp, p);
      const end = addr + BigInt(words.length * 4);
      this.#symbolizers.set(p, (a) =>
        !p.gone && a >= addr && a < end ? `kprobe_stub_${spec.symbol}+0x${(a - addr).toString(16)}` : undefined,
      );
      k.symbolizers.push(this.#symbolizers.get(p) as (a: bigint) => string | undefined);
      try {
        yield* ftraceDirectPatch(this.#pokeEnv(task), site.addr, undefined, addr);
      } catch (err) {
        this.#forget(p);
        throw err;
      }
      return p;
    } catch (err) {
      if (stub) k.bpfText.free(stub.addr);
      k.slab.kfree(kp);
      throw wrapError(`register_kprobe ${spec.symbol}`, err);
    }
  }

  /** Unregister `p`: disarm, wait for every CPU and task to leave the stub, free it. */
  *unregister(task: Task, p: Kprobe): KGen<void> {
    if (p.gone || this.#byAddr.get(p.addr) !== p) {
      throw new KernelError(EINVAL, `unregister_kprobe: ${p.symbol} is not registered`);
    }
    const k = this.kernel;
    yield* ftraceDirectPatch(this.#pokeEnv(task), p.addr, p.stub.addr, undefined);
    this.#byAddr.delete(p.addr);
    if (!this.#skipGracePeriods) {
      yield* k.rcu.synchronize();
      yield* k.rcuTasks.synchronize();
    }
    this.#forget(p);
    k.bpfText.free(p.stub.addr);
    k.slab.kfree(p.kp);
  }

  /** disable_kprobe(): the stub stays, the program is skipped. */
  disable(p: Kprobe): void {
    p.disabled = true;
  }

  /** enable_kprobe(). */
  enable(p: Kprobe): void {
    p.disabled = false;
  }

  readonly #symbolizers = new Map<Kprobe, (a: bigint) => string | undefined>();

  #forget(p: Kprobe): void {
    p.gone = true;
    this.#byKp.delete(p.kp);
    if (this.#byAddr.get(p.addr) === p) this.#byAddr.delete(p.addr);
    const s = this.#symbolizers.get(p);
    if (s) {
      const i = this.kernel.symbolizers.indexOf(s);
      if (i >= 0) this.kernel.symbolizers.splice(i, 1);
      this.#symbolizers.delete(p);
    }
  }

  #pokeEnv(task: Task): TextPokeEnv {
    return {
      kernel: this.kernel,
      task,
      bpfAddressLookup: () => undefined,
      dummyTramp: this.kernel.symbolAddress("dummy_tramp"),
    };
  }
}

/** What to probe and which program to run. */
export interface RegisterKprobeSpec {
  /** kp.symbol_name. */
  readonly symbol: string;
  /** kp.offset (only 0: the entry). */
  readonly offset?: number;
  readonly prog: KprobeProg;
}

/** Options of {@link registerKprobe}. */
export interface RegisterKprobeOptions extends RegisterKprobeSpec {
  /** The task doing the registration (it may sleep on text_mutex). */
  readonly task: Task;
}

/** register_kprobe() in a kernel thread's context. */
export function registerKprobe(table: KprobeTable, opts: RegisterKprobeOptions): KGen<Kprobe> {
  return table.register(opts.task, opts);
}

/** unregister_kprobe() in a kernel thread's context. */
export function unregisterKprobe(table: KprobeTable, opts: { task: Task; kprobe: Kprobe }): KGen<void> {
  return table.unregister(opts.task, opts.kprobe);
}

/** register_kprobe() run in a fresh kernel thread until it returns. */
export function attachKprobe(table: KprobeTable, spec: RegisterKprobeSpec): Kprobe {
  return table.kernel.runKthread("kprobe_attach", (task) => table.register(task, spec));
}

/** unregister_kprobe() run in a fresh kernel thread until it returns. */
export function detachKprobe(table: KprobeTable, p: Kprobe): void {
  table.kernel.runKthread("kprobe_detach", (task) => table.unregister(task, p));
}
