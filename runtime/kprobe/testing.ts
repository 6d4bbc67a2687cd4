/**
 * Test support for kprobes (not a test file): a kernel with the
 * kprobe_testmod module, a kprobe table, and bpf_probe_read_kernel for both
 * engines.
 *
 * bpf_probe_read_kernel (helper 113) is registered here as a dynamic
 * kernel service with the kernel's semantics (kernel/trace/bpf_trace.c
 * bpf_probe_read_kernel_common(): copy_from_kernel_nofault(); on failure the
 * destination is zeroed and -EFAULT returned). The BPF helper table of the
 * loader will provide the real one; until then the tests use this, under
 * the name a64bpf_test_probe_read_kernel so it cannot be mistaken for it.
 */
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { EFAULT } from "../errno.js";
import { BPF_FUNC_probe_read_kernel } from "../bpf/func_ids.js";
import type { BpfCall, HelperFn } from "../bpf/interp.js";
import type { JitEnv } from "../jit/jit.js";
import { bootKernel, type KernelImages } from "../kernel/boot.js";
import type { Kernel } from "../kernel/kernel.js";
import type { PhysMemory } from "../machine/memory.js";
import { createKprobeTable, type KprobeTable } from "./kprobe.js";

/** The C test module's source. */
export const KPROBE_TESTMOD = join(dirname(fileURLToPath(import.meta.url)), "testdata", "kprobe_testmod.c");

/** copy_from_kernel_nofault + zeroing on failure, on the emulated memory; returns r0. */
export function probeReadKernelPhys(mem: PhysMemory, call: { dst: bigint; size: bigint; src: bigint }): bigint {
  const { dst, size, src } = call;
  const n = Number(size);
  if (n < 0 || n > 1 << 20) return BigInt.asUintN(64, -BigInt(EFAULT));
  if (!mem.isMapped(src, n)) {
    if (mem.isMapped(dst, n)) mem.fill(dst, n, 0);
    return BigInt.asUintN(64, -BigInt(EFAULT));
  }
  mem.writeBytes(dst, mem.readBytes(src, n));
  return 0n;
}

/** A booted kernel with the test module, a kprobe table and helper resolution for both engines. */
export interface KprobeTestEnv {
  readonly k: Kernel;
  readonly images: KernelImages;
  readonly table: KprobeTable;
  readonly jitEnv: JitEnv;
  /** The same helpers for the reference interpreter. */
  readonly helper: HelperFn;
  /** Calls of the test probe_read service (JIT side). */
  readonly helperCalls: { n: number };
}

/** Boot (1 CPU by default), load kprobe_testmod, create the table. Close with `env.k.close()`. */
export function createKprobeTestEnv(
  opts: { cpus?: number; seed?: number; unsafeSkipGracePeriods?: boolean } = {},
): KprobeTestEnv {
  const { kernel: k, images } = bootKernel({ cpus: opts.cpus ?? 1, seed: opts.seed ?? 0 });
  try {
    images.loadModule([KPROBE_TESTMOD]);
    const table = createKprobeTable(k, images, { unsafeSkipGracePeriods: opts.unsafeSkipGracePeriods });
    const mem = k.machine.memory;
    const helperCalls = { n: 0 };
    const readAddr = k.registerDynamicService("a64bpf_test_probe_read_kernel", (call) => {
      helperCalls.n++;
      const [dst, size, src] = call.args();
      return probeReadKernelPhys(mem, { dst, size, src });
    });
    const jitEnv: JitEnv = {
      kernel: k,
      helper: (id) => {
        if (id === BPF_FUNC_probe_read_kernel) return readAddr;
        throw new Error(`test env: no helper ${id}`);
      },
    };
    const helper: HelperFn = (id: number, call: BpfCall) => {
      if (id !== BPF_FUNC_probe_read_kernel) throw new Error(`test env: no helper ${id}`);
      const [dst, size, src] = call.args;
      return probeReadKernelPhys(mem, { dst, size, src });
    };
    return { k, images, table, jitEnv, helper, helperCalls };
  } catch (err) {
    k.close();
    throw err;
  }
}
