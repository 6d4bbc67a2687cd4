/**
 * A minimal kernel image built in TypeScript, without the C toolchain: one
 * hypercall stub per declared service, `dummy_tramp` (the arm64 JIT's PLT
 * target when no trampoline is attached), and the `text_mutex` object. Unit
 * tests of the scheduler and the sync primitives boot it in milliseconds;
 * everything that needs real kernel functions boots the built image.
 *
 *   KERNEL_BASE          stubs, 8 bytes each: svc #nr; ret   (RX)
 *   KERNEL_BASE+0x10000  data: text_mutex, scratch           (RW)
 */
import type { Machine } from "../machine/machine.js";
import { PAGE_SIZE, PROT_RW, PROT_RX } from "../machine/memory.js";
import { KERNEL_BASE } from "./layout.js";
import type { Btf } from "../bpf/btf/btf.js";
import type { ImageFile } from "./image.js";
import { Kallsyms, type KsymEntry } from "./kallsyms.js";
import { allServices } from "./services/table.js";

/** What the kernel core needs from a loaded image. */
export interface LoadedKernelImage {
  readonly name: string;
  /** kallsyms, holding the image's symbols (modules and BPF symbols are added later). */
  readonly kallsyms: Kallsyms;
  /** The kernel's BTF (absent for the synthetic image). */
  readonly btf?: Btf;
  /** The parsed image (absent for the synthetic image). */
  readonly image?: ImageFile;
}

/** Something that can be mapped into a machine as the kernel image. */
export interface BootImage {
  readonly name: string;
  load(machine: Machine): LoadedKernelImage;
}

const SVC = (nr: number) => (0xd4000001 | (nr << 5)) >>> 0;
const RET = 0xd65f03c0;

/** The synthetic image: service stubs and text_mutex only. */
export function syntheticImage(): BootImage {
  return {
    name: "synthetic",
    load(machine: Machine): LoadedKernelImage {
      const services = allServices();
      const textSize = Math.ceil((services.length * 8 + 16) / PAGE_SIZE) * PAGE_SIZE;
      const text = machine.map({ name: "kernel text", base: KERNEL_BASE, size: textSize, perms: PROT_RX });
      const dataBase = KERNEL_BASE + 0x10000n;
      machine.map({ name: "kernel data", base: dataBase, size: PAGE_SIZE, perms: PROT_RW });
      const syms = new Map<string, { addr: bigint; size: number }>();
      services.forEach((s, i) => {
        text.block.view.setUint32(i * 8, SVC(s.nr), true);
        text.block.view.setUint32(i * 8 + 4, RET, true);
        syms.set(s.name, { addr: KERNEL_BASE + BigInt(i * 8), size: 8 });
      });
      // dummy_tramp: mov x10, x30; mov x30, x9; ret x10
      const dt = services.length * 8;
      [0xaa1e03ea, 0xaa0903fe, 0xd65f0140].forEach((w, i) => text.block.view.setUint32(dt + i * 4, w, true));
      syms.set("dummy_tramp", { addr: KERNEL_BASE + BigInt(dt), size: 12 });
      syms.set("text_mutex", { addr: dataBase, size: 32 });
      syms.set("a64bpf_scratch", { addr: dataBase + 0x100n, size: 0xf00 });
      const kallsyms = new Kallsyms();
      kallsyms.addImage(
        [...syms.entries()].map(
          ([name, v]): KsymEntry => ({
            name,
            addr: v.addr,
            size: v.size,
            type: name === "text_mutex" || name === "a64bpf_scratch" ? "D" : "T",
            rank: 0,
          }),
        ),
      );
      return { name: "synthetic", kallsyms };
    },
  };
}
