/**
 * The simulated kernel's physical memory map (MMU off: addresses are
 * physical, as on QEMU's `virt` board where RAM starts at 0x4000_0000).
 *
 *   0x0001_0000  sentinel page (runtime/machine)
 *   0x4000_0000  kernel image: .text, .rodata, .data, .bss    (≤ 16 MiB)
 *   0x4100_0000  modules: bpf_testmod and user modules          (16 MiB)
 *   0x4200_0000  BPF text pool (JIT images, trampolines)        (32 MiB)
 *                within ±128 MiB of kernel text: `bl` reaches it directly
 *   0x4400_0000  kernel heap (kmalloc, vmalloc, maps, percpu)   (64 MiB)
 *   0x4800_0000  task stacks: THREAD_SIZE + guard page each     (64 MiB)
 *   0x6000_0000  far BPF text pool: beyond ±128 MiB of the kernel and of
 *                the near pool, to exercise PLT slots           (16 MiB)
 */

export const KERNEL_BASE = 0x4000_0000n;
export const KERNEL_MAX_SIZE = 16 << 20;

export const MODULES_BASE = 0x4100_0000n;
export const MODULES_SIZE = 16 << 20;

export const BPF_TEXT_BASE = 0x4200_0000n;
export const BPF_TEXT_SIZE = 32 << 20;

export const HEAP_BASE = 0x4400_0000n;
export const HEAP_SIZE = 64 << 20;

export const STACKS_BASE = 0x4800_0000n;
export const STACKS_SIZE = 64 << 20;
/** arm64 THREAD_SIZE (16 KiB without KASAN). */
export const THREAD_SIZE = 16 << 10;

export const FAR_BPF_TEXT_BASE = 0x6000_0000n;
export const FAR_BPF_TEXT_SIZE = 16 << 20;
