/**
 * Test helpers for the BPF loader: boot the built kernel (with bpf_testmod)
 * and make its images known to the BPF layer, so module BTF (kfuncs,
 * tracing targets in bpf_testmod) resolves.
 */
import { bootKernel, type BootOptions, type KernelImages } from "../kernel/boot.js";
import type { Kernel } from "../kernel/kernel.js";
import { registerKernelImages } from "./bpf_sys.js";

/** bootKernel() + registerKernelImages(). */
export function bootBpfKernel(opts: BootOptions = {}): { kernel: Kernel; images: KernelImages } {
  const booted = bootKernel({ cpus: 2, ...opts });
  registerKernelImages(booted.kernel, booted.images);
  return booted;
}
