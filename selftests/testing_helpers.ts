/**
 * What the ported tests share, as tools/testing/selftests/bpf/test_progs.c
 * and testing_helpers.c give the kernel's prog_tests: the booted kernel
 * (one per worker process, with bpf_testmod loaded, as test_progs loads
 * bpf_testmod.ko at start) and trigger_module_test_read().
 */
import { ENOENT } from "../runtime/errno.js";
import { getTestEnv, assertGe, testLog } from "../harness/test_progs/test_progs.js";
import type { GlobalValue } from "../runtime/loader/skeleton_globals.js";
import { bootBpfKernel } from "../runtime/loader/testing.js";
import type { KernelImages } from "../runtime/kernel/boot.js";
import type { Kernel } from "../runtime/kernel/kernel.js";

/**
 * The skeleton's `bss`/`data` as the C struct the kernel's tests read
 * (`skel->bss->x`): scalar globals only, for the ASSERT_* macros.
 */
export function globals(sec: Record<string, GlobalValue> | undefined): Record<string, number | bigint> {
  const out: Record<string, number | bigint> = {};
  for (const [k, v] of Object.entries(sec ?? {})) if (typeof v !== "object") out[k] = v;
  return out;
}

/** BPF_TESTMOD_TEST_FILE: the sysfs bin file whose .read is bpf_testmod_test_read(). */
export const BPF_TESTMOD_TEST_FILE = "/sys/kernel/bpf_testmod";

interface BootedKernel {
  kernel: Kernel;
  images: KernelImages;
}

function booted(): BootedKernel {
  return getTestEnv<BootedKernel>("kernel", () => {
    try {
      const b = bootBpfKernel({ cpus: 2 });
      // An oops during a test goes into that test's log, as dmesg would show it.
      b.kernel.registerDieNotifier((_fault, report) => testLog("%s\n", report));
      return b;
    } catch (err) {
      testLog("WARNING! Selftests relying on bpf_testmod.ko will be skipped.\n");
      throw err;
    }
  });
}

/** The kernel of this worker process (booted on first use, shared by later tests). */
export function testKernel(): Kernel {
  return booted().kernel;
}

/**
 * trigger_module_test_read(): open BPF_TESTMOD_TEST_FILE read-only, read
 * `readSz` bytes (bpf_testmod_test_read() runs every test function and
 * returns -EIO, which is ignored), close it. Returns 0.
 */
export function trigger_module_test_read(readSz: number): number {
  const { kernel: k, images } = booted();
  // The simulated sysfs: the file exists while bpf_testmod is loaded (fd 3), else -ENOENT.
  const fd = images.modules.module("bpf_testmod") ? 3 : -ENOENT;
  if (!assertGe(fd, 0, "testmod_file_open")) return -1;
  // read(fd, NULL, read_sz): bpf_testmod_test_read(file, kobj, bin_attr, buf = NULL, off = 0, len)
  k.call("bpf_testmod_test_read", [0n, 0n, 0n, 0n, 0n, BigInt(readSz)]);
  return 0;
}
