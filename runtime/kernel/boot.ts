/**
 * Booting the simulated kernel from the real image: vmlinux built from the
 * C sources (cached by content hash), kallsyms, the kernel's BTF, and — as
 * test_progs does at start — the bpf_testmod module.
 *
 *   bootKernel()  ──► buildKernel (cached) ──► map segments ──► Kernel core
 *                 ──► ModuleLoader ──► bpf_testmod (built at the module area)
 *
 * BTF objects are numbered like the kernel's btf_obj_id: vmlinux is 1,
 * modules follow in load order.
 */
import type { Btf } from "../bpf/btf/btf.js";
import { ENOENT } from "../errno.js";
import { KernelError } from "../errors.js";
import type { Machine } from "../machine/machine.js";
import { ftraceInitNops } from "./ftrace.js";
import { kernelImageFile, loadKernel, type LoadedKernel } from "./image.js";
import { Kernel, type KernelOptions } from "./kernel.js";
import { ModuleLoader, type LoadedModule } from "./module.js";
import type { BootImage } from "./synthetic_image.js";

export interface BootOptions extends Omit<KernelOptions, "image"> {
  /** Load bpf_testmod at boot (default true). */
  testmod?: boolean;
}

/** A function found in the BTF of vmlinux or of a module. */
export interface KernelFunc {
  name: string;
  addr: bigint;
  btf: Btf;
  /** btf_obj_id of the BTF object (1 for vmlinux). */
  btfObjId: number;
  /** BTF id of the FUNC. */
  btfId: number;
  /** Module name, undefined for vmlinux. */
  module?: string;
  /** The entry is a patchable ftrace location. */
  traceable: boolean;
}

/** The running kernel's images: vmlinux plus loaded modules. */
export class KernelImages {
  readonly vmlinux: LoadedKernel;
  readonly modules: ModuleLoader;

  constructor(vmlinux: LoadedKernel, modules: ModuleLoader) {
    this.vmlinux = vmlinux;
    this.modules = modules;
  }

  /** Load a module built from C files (kernel.loadModule); its ftrace locations get ftrace_init_nop. */
  loadModule(cFiles: readonly string[], opts: { name?: string } = {}): LoadedModule {
    const m = this.modules.load(cFiles, opts);
    ftraceInitNops(this.modules.machine, m.image.ftraceLocations);
    return m;
  }

  /** Load bpf_testmod, as test_progs loads bpf_testmod.ko at start. */
  loadBpfTestmod(): LoadedModule {
    const m = this.modules.loadBpfTestmod();
    ftraceInitNops(this.modules.machine, m.image.ftraceLocations);
    return m;
  }

  /** Find function `name` with its BTF: vmlinux first, then modules in load order. */
  findFunc(name: string): KernelFunc | undefined {
    const objs: { btf: Btf; image: LoadedKernel["image"]; module?: string }[] = [
      { btf: this.vmlinux.btf, image: this.vmlinux.image },
      ...this.modules.modules.map((m) => ({ btf: m.image.btf, image: m.image, module: m.name })),
    ];
    for (let i = 0; i < objs.length; i++) {
      const o = objs[i];
      const func = o.btf.find(name, "func");
      const sym = o.image.symbol(name);
      if (!func || !sym) continue;
      return {
        name,
        addr: sym.addr,
        btf: o.btf,
        btfObjId: i + 1,
        btfId: func.id,
        module: o.module,
        traceable: o.image.ftraceLocations.includes(sym.addr),
      };
    }
    return undefined;
  }

  /** Like findFunc, or ENOENT. */
  func(name: string): KernelFunc {
    const f = this.findFunc(name);
    if (!f) throw new KernelError(ENOENT, `no BTF for function ${name} in vmlinux or any loaded module`);
    return f;
  }
}

/** Boot a Kernel on the built vmlinux (and bpf_testmod, unless disabled). */
export function bootKernel(opts: BootOptions = {}): { kernel: Kernel; images: KernelImages } {
  let vmlinux: LoadedKernel | undefined;
  const image: BootImage = {
    name: "vmlinux",
    load(machine: Machine) {
      vmlinux = loadKernel(machine, kernelImageFile());
      ftraceInitNops(machine, vmlinux.image.ftraceLocations);
      return vmlinux;
    },
  };
  const kernel = new Kernel({ ...opts, image });
  try {
    const images = new KernelImages(vmlinux as LoadedKernel, new ModuleLoader(kernel.machine, vmlinux as LoadedKernel));
    if (opts.testmod !== false) images.loadBpfTestmod();
    return { kernel, images };
  } catch (err) {
    kernel.close();
    throw err;
  }
}
