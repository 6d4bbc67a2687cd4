/**
 * BPF helpers implemented in TypeScript, bound to their svc stubs
 * (service_decls.ts). Each is the kernel function of the same name
 * (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c):
 *
 *   bpf_map_lookup_elem(map, key)          map->ops->map_lookup_elem: value address or NULL
 *   bpf_map_update_elem(map, key, v, fl)   0 / -EINVAL / -E2BIG / -EEXIST / -ENOENT
 *   bpf_map_delete_elem(map, key)          0 / -EINVAL / -ENOENT
 *   bpf_ktime_get_ns()                     the virtual clock
 *   bpf_trace_printk(fmt, size, a1..a3)    a trace_pipe line; the length written
 *   bpf_user_rnd_u32()                     a per-CPU PRNG (prandom)
 *   bpf_get_smp_processor_id()             the CPU index
 *   bpf_get_current_pid_tgid()             tgid << 32 | pid of the current task
 *   bpf_probe_read_kernel[_str](dst, n, p) copy_from_kernel_nofault; -EFAULT zeroes dst
 *   bpf_ktime_get_boot_ns()                the virtual clock
 *   bpf_get_func_ip_tracing(ctx)           ctx[-2] (normally inlined by the verifier)
 *   bpf_spin_lock(lock) / _unlock(lock)    the u32 lock word: 0 free, 1 held; the holder
 *                                          is not preemptible (one preempt_count reference
 *                                          stands for local_irq_save + preempt_disable);
 *                                          a waiter spins at preemption points (other
 *                                          CPUs run), a lockup or an unlock of a free
 *                                          lock is a kernel BUG (oops of the task)
 *   bpf_loop(nr, cb, ctx, flags)           bpf_loop.ts: the callback as task calls
 *
 * Key and value pointers come from verified programs; an unmapped one is a
 * kernel bug and oopses the calling task (the registry turns the throw into
 * a fault).
 */
import { EFAULT, EINVAL } from "../../errno.js";
import type { PhysMemory } from "../../machine/memory.js";
import type { BpfMap } from "../maps/map.js";
import { bpfLoopService } from "./bpf_loop.js";

/** The part of a service call a helper uses (runtime/kernel ServiceCall). */
export interface HelperCall {
  readonly cpu: { readonly index: number };
  readonly task: {
    readonly pid: number;
    readonly comm: string;
    /** preempt_count: > 0 means the task is not preemptible. */
    preemptCount: number;
    /** Incremented each time preempt_count drops to 0 (an RCU quiescent point). */
    preemptEnables: number;
  };
  args(): BigUint64Array;
}

/** What a helper that must wait or call back into BPF code asks the scheduler (a subset of SchedRequest). */
export type HelperRequest =
  /** A preemption point (voluntary: false), e.g. a spin. */
  | { readonly op: "yield"; readonly voluntary: boolean }
  /** Call `fn(args)` on the calling task (a BPF callback); resumes with its x0. */
  | { readonly op: "call"; readonly fn: bigint; readonly args: readonly bigint[] };

/** A helper that yields requests and returns its value (a kernel generator service). */
export type HelperGen = Generator<HelperRequest, bigint | void, bigint | undefined>;

/** A helper's implementation. */
export type HelperFn = (call: HelperCall) => bigint | number | void | HelperGen;

/** Spins on a held bpf_spin_lock before the lockup is reported as a kernel BUG. */
export const SPIN_LOCKUP_SPINS = 1_000_000;

/** A preemption point once preempt_count is back to 0 (preempt_enable(), local_irq_restore()). */
function* preemptionPoint(): HelperGen {
  yield { op: "yield", voluntary: false };
}

/** What bindBpfHelpers needs of the kernel (runtime/kernel Kernel satisfies it). */
export interface HelperKernel {
  readonly services: { bind(name: string, fn: HelperFn): void; unbound(): string[] };
  readonly machine: { readonly memory: PhysMemory };
  readonly sched: { readonly now: bigint };
  readonly dmesg: string[];
}

/** The BPF state the helpers consult. */
export interface HelperDeps {
  /** The map whose struct bpf_map is at `addr`. */
  mapAt(addr: bigint): BpfMap | undefined;
  /** A trace_pipe line from bpf_trace_printk. */
  trace(line: string): void;
}

/**
 * The formats bpf_trace_printk accepts (kernel/bpf/helpers.c
 * bpf_bprintf_prepare): %d %i %u %x %X with l/ll, %p, %s, %c, %%, flags and
 * width; at most three arguments.
 */
function formatTrace(fmt: string, args: readonly bigint[], readStr: (a: bigint) => string): string {
  let n = 0;
  return fmt.replace(
    /%([-0 +#]*\d*)(ll|l|h|hh)?([diuxXps%c])/g,
    (m, flags: string, len: string | undefined, conv: string) => {
      if (conv === "%") return "%";
      const v = args[n++] ?? 0n;
      const bits = len === "ll" || len === "l" || conv === "p" ? 64 : 32;
      const width = Number(/\d+/.exec(flags)?.[0] ?? 0);
      const pad = (s: string) =>
        width > s.length
          ? flags.includes("-")
            ? s.padEnd(width)
            : s.padStart(width, flags.includes("0") ? "0" : " ")
          : s;
      switch (conv) {
        case "d":
        case "i":
          return pad(BigInt.asIntN(bits, v).toString());
        case "u":
          return pad(BigInt.asUintN(bits, v).toString());
        case "x":
          return pad(BigInt.asUintN(bits, v).toString(16));
        case "X":
          return pad(BigInt.asUintN(bits, v).toString(16).toUpperCase());
        case "p":
          return `0x${BigInt.asUintN(64, v).toString(16)}`;
        case "c":
          return String.fromCharCode(Number(v & 0xffn));
        case "s":
          return pad(readStr(v));
        default:
          return m;
      }
    },
  );
}

function xorshift(state: Uint32Array, cpu: number): number {
  let x = state[cpu] || 0x9e3779b9 + cpu;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[cpu] = x >>> 0;
  return x >>> 0;
}

const depsByKernel = new WeakMap<HelperKernel, HelperDeps>();

/** Provide (or replace) the BPF state the helpers of kernel `k` consult. */
export function setHelperDeps(k: HelperKernel, deps: HelperDeps): void {
  depsByKernel.set(k, deps);
}

function depsOf(k: HelperKernel): HelperDeps {
  const d = depsByKernel.get(k);
  if (!d) throw new Error("BPF helper called before the BPF state of this kernel exists");
  return d;
}

/** The helper implementations, by kernel function name; the BPF state is looked up at call time. */
export function bpfHelperFns(k: HelperKernel): Record<string, HelperFn> {
  const mem = k.machine.memory;
  const rnd = new Uint32Array(64);
  const mapOf = (addr: bigint): BpfMap => {
    const m = depsOf(k).mapAt(addr);
    if (!m) throw new Error(`no bpf_map at 0x${addr.toString(16)}`);
    return m;
  };
  const readStr = (a: bigint) => (mem.isMapped(a) ? mem.readCString(a, 512) : "(efault)");
  const probeRead = (str: boolean) => (call: HelperCall) => {
    const [dst, size, src] = call.args();
    const n = Number(size & 0xffffffffn);
    if (n === 0) return 0n;
    if (!mem.isMapped(src, str ? 1 : n)) {
      mem.fill(dst, n, 0);
      return -BigInt(EFAULT);
    }
    if (!str) {
      mem.writeBytes(dst, mem.readBytes(src, n));
      return 0n;
    }
    let len = 0;
    while (len < n - 1 && mem.isMapped(src + BigInt(len)) && mem.read8(src + BigInt(len)) !== 0) len++;
    mem.writeBytes(dst, mem.readBytes(src, len));
    mem.write8(dst + BigInt(len), 0);
    return BigInt(len + 1);
  };
  return {
    bpf_map_lookup_elem(call) {
      const [map, key] = call.args();
      const m = mapOf(map);
      return m.lookupElemAddr(mem.readBytes(key, m.keySize), call.cpu.index);
    },
    bpf_map_update_elem(call) {
      const [map, key, value, flags] = call.args();
      const m = mapOf(map);
      return BigInt(
        m.updateElemBpf(mem.readBytes(key, m.keySize), mem.readBytes(value, m.valueSize), flags, call.cpu.index),
      );
    },
    bpf_map_delete_elem(call) {
      const [map, key] = call.args();
      const m = mapOf(map);
      return BigInt(m.deleteElemBpf(mem.readBytes(key, m.keySize)));
    },
    bpf_ktime_get_ns: () => k.sched.now,
    bpf_ktime_get_boot_ns: () => k.sched.now,
    bpf_trace_printk(call) {
      const [fmt, size, a1, a2, a3] = call.args();
      const n = Number(size & 0xffffffffn);
      if (n === 0 || !mem.isMapped(fmt, n) || mem.read8(fmt + BigInt(n - 1)) !== 0) return -BigInt(EINVAL);
      const text = formatTrace(mem.readCString(fmt, n), [a1, a2, a3], readStr).replace(/\n$/, "");
      depsOf(k).trace(
        `${call.task.comm}-${call.task.pid} [${String(call.cpu.index).padStart(3, "0")}] bpf_trace_printk: ${text}`,
      );
      return BigInt(text.length + 1);
    },
    bpf_user_rnd_u32: (call) => BigInt(xorshift(rnd, call.cpu.index)),
    bpf_get_smp_processor_id: (call) => BigInt(call.cpu.index),
    bpf_get_current_pid_tgid: (call) => (BigInt(call.task.pid) << 32n) | BigInt(call.task.pid),
    bpf_probe_read_kernel: probeRead(false),
    bpf_probe_read_kernel_str: probeRead(true),
    bpf_get_func_ip_tracing: (call) => mem.read64(call.args()[0] - 16n),
    *bpf_spin_lock(call) {
      const lock = call.args()[0];
      // __bpf_spin_lock_irqsave(): IRQs off and preemption off until the unlock.
      call.task.preemptCount++;
      for (let spins = 0; mem.read32(lock) !== 0; spins++) {
        if (spins >= SPIN_LOCKUP_SPINS) {
          throw new Error(`BUG: spinlock lockup suspected on CPU#${call.cpu.index}, lock 0x${lock.toString(16)}`);
        }
        yield { op: "yield", voluntary: false };
      }
      mem.write32(lock, 1);
      return 0n;
    },
    bpf_spin_unlock(call) {
      const lock = call.args()[0];
      if (mem.read32(lock) === 0) throw new Error(`BUG: spinlock already unlocked, lock 0x${lock.toString(16)}`);
      mem.write32(lock, 0);
      if (call.task.preemptCount <= 0) throw new Error("bpf_spin_unlock: preempt_count underflow");
      if (--call.task.preemptCount > 0) return 0n;
      call.task.preemptEnables++;
      return preemptionPoint();
    },
    bpf_loop: bpfLoopService,
  };
}

/**
 * Bind every helper of service_decls.ts to its implementation (the call
 * the kernel's boot makes; `deps` may come later through setHelperDeps, as
 * runtime/loader/bpf_sys.ts provides them when the BPF state of the
 * kernel is created). Helpers already bound are left alone, so the call is
 * idempotent.
 */
export function bindBpfHelpers(k: HelperKernel, deps?: HelperDeps): void {
  if (deps) setHelperDeps(k, deps);
  const unbound = new Set(k.services.unbound());
  for (const [name, fn] of Object.entries(bpfHelperFns(k))) {
    if (unbound.has(name)) k.services.bind(name, fn);
  }
}
