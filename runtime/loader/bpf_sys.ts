/**
 * The kernel side of the bpf(2) syscall for one simulated kernel
 * (kernel/bpf/syscall.c): the fd table, map and program ids, the maps by
 * their struct bpf_map address (what the helpers get), the kernel's BTF
 * objects, the kfunc registry, the trampoline table and the trace_pipe.
 *
 *   bpfSys(k) ──► BpfSys (one per Kernel, created on first use)
 *                  ├─ fds: 3, 4, ... → BpfMap | BpfProg      (BPF_MAP_CREATE, BPF_PROG_LOAD)
 *                  ├─ maps by address                          (helpers: map pointer in R1)
 *                  ├─ btfObjects: vmlinux = 1, modules 2..     (btf_obj_id)
 *                  ├─ kfuncs                                   (registry)
 *                  ├─ trampolines                              (one table per kernel)
 *                  └─ tracePipe                                (bpf_trace_printk lines)
 *
 * Creating it binds the BPF helper services (bindBpfHelpers) and the
 * bpf_throw kfunc (bindBpfThrow, which finds programs by address with
 * progKsymFind) if the boot did not. Module BTF comes from the KernelImages registered for the kernel
 * (registerKernelImages, called by whoever booted it); without them only
 * vmlinux BTF is known.
 */
import { EBADF, EINVAL } from "../errno.js";
import { BpfError } from "../errors.js";
import type { KernelImages } from "../kernel/boot.js";
import type { Kernel } from "../kernel/kernel.js";
import { TrampolineTable } from "../tramp/trampoline.js";
import { bindBpfHelpers } from "../bpf/helpers/helpers.js";
import { bindBpfThrow, type BpfKsymProg } from "../bpf/exceptions/bpf_throw.js";
import { defaultKfuncRegistry, type KernelBtfObject, type KfuncRegistry } from "../bpf/kfuncs/registry.js";
import { bpfMapCreate } from "../bpf/maps/create.js";
import type { BpfMap, MapCreateAttr, MapEnv } from "../bpf/maps/map.js";
import { ProgArrayMap } from "../bpf/maps/prog_array.js";
import { buildKernel } from "../kernel/build.js";
import { dwarfAlignments, type AlignTable } from "../tramp/dwarf_align.js";
import type { BpfProg } from "./prog.js";

const images = new WeakMap<Kernel, KernelImages>();
const states = new WeakMap<Kernel, BpfSys>();

/** Tell the BPF layer which images (vmlinux + modules) kernel `k` runs. */
export function registerKernelImages(k: Kernel, imgs: KernelImages): void {
  images.set(k, imgs);
}

/** The per-kernel BPF state. */
export class BpfSys {
  readonly k: Kernel;
  readonly kfuncs: KfuncRegistry;
  readonly trampolines: TrampolineTable;
  /** bpf_trace_printk output (trace_pipe). */
  readonly tracePipe: string[] = [];
  readonly #fds = new Map<number, BpfMap | BpfProg>();
  readonly #mapsByAddr = new Map<bigint, BpfMap>();
  #nextFd = 3;
  #nextMapId = 1;
  #nextProgId = 1;

  constructor(k: Kernel) {
    this.k = k;
    this.kfuncs = defaultKfuncRegistry();
    this.trampolines = new TrampolineTable(k);
    bindBpfHelpers(k, {
      mapAt: (addr) => this.#mapsByAddr.get(addr),
      trace: (line) => {
        this.tracePipe.push(line);
        k.dmesg.push(line);
      },
    });
    bindBpfThrow(k, (ip) => this.progKsymFind(ip));
  }

  /**
   * bpf_prog_ksym_find(): the loaded program whose JITed function contains
   * `ip`, as bpf_throw's stack walker sees it.
   */
  progKsymFind(ip: bigint): BpfKsymProg | undefined {
    for (const o of this.#fds.values()) {
      if ("keySize" in o || o.freed) continue;
      const f = o.jited.subprogs.find((s) => ip >= s.bpfFunc && ip < s.bpfFunc + BigInt(s.size));
      if (!f) continue;
      const cb = o.verifier.subprogs.findIndex((s) => s.isExceptionCb);
      return {
        isSubprog: f.index > 0,
        aux: {
          name: o.name,
          exceptionBoundary: o.verifier.exceptionBoundary,
          bpfExceptionCb: cb > 0 ? o.jited.subprogs[cb]?.bpfFunc : undefined,
        },
      };
    }
    return undefined;
  }

  /** The kernel's BTF objects: vmlinux (id 1) and loaded modules (2, 3, ...). */
  btfObjects(): KernelBtfObject[] {
    const imgs = images.get(this.k);
    const out: KernelBtfObject[] = [];
    const vmlinux = this.k.image.btf;
    if (vmlinux) out.push({ objId: 1, name: "vmlinux", btf: vmlinux });
    imgs?.modules.modules.forEach((m, i) => {
      try {
        out.push({ objId: i + 2, name: m.name, btf: m.image.btf });
      } catch {
        // A module without BTF offers no types.
      }
    });
    return out;
  }

  /** The BTF object with id `objId`. */
  btfObject(objId: number): KernelBtfObject | undefined {
    return this.btfObjects().find((o) => o.objId === objId);
  }

  /**
   * DWARF alignment attributes of the image behind BTF object `objId`
   * (vmlinux or a module): what BTF cannot say about struct arguments'
   * AAPCS64 placement (runtime/tramp/dwarf_align.ts). Undefined when the
   * image is not known here.
   */
  abiAligns(objId: number): AlignTable | undefined {
    if (objId === 1) {
      if (!this.k.image.image) return undefined;
      const b = buildKernel();
      return dwarfAlignments(`vmlinux:${b.hash}`, b.bytes);
    }
    const m = images.get(this.k)?.modules.modules[objId - 2];
    return m ? dwarfAlignments(`${m.name}:${m.build.hash}`, m.build.bytes) : undefined;
  }

  /** What maps need of the kernel. */
  get mapEnv(): MapEnv {
    return { memory: this.k.machine.memory, slab: this.k.slab, ncpus: this.k.machine.cpus.length };
  }

  /** BPF_MAP_CREATE: a new map and its fd. */
  mapCreate(attr: MapCreateAttr): { fd: number; map: BpfMap } {
    const map = bpfMapCreate(this.mapEnv, attr);
    map.id = this.#nextMapId++;
    const fd = this.#nextFd++;
    this.#fds.set(fd, map);
    this.#mapsByAddr.set(map.addr, map);
    return { fd, map };
  }

  /** Install a loaded program under a new fd. */
  progInstall(prog: BpfProg): number {
    prog.id = this.#nextProgId++;
    const fd = this.#nextFd++;
    this.#fds.set(fd, prog);
    return fd;
  }

  /** The map behind `fd` (EBADF otherwise). */
  map(fd: number): BpfMap {
    const o = this.#fds.get(fd);
    if (!o || !("keySize" in o)) throw new BpfError(EBADF, `fd ${fd} is not a map`);
    return o;
  }

  /** The map behind `fd`, or undefined. */
  findMap(fd: number): BpfMap | undefined {
    const o = this.#fds.get(fd);
    return o && "keySize" in o ? o : undefined;
  }

  /** The map whose struct bpf_map is at `addr`. */
  mapAt(addr: bigint): BpfMap | undefined {
    return this.#mapsByAddr.get(addr);
  }

  /** The program behind `fd` (EBADF otherwise). */
  prog(fd: number): BpfProg {
    const o = this.#fds.get(fd);
    if (!o || "keySize" in o) throw new BpfError(EBADF, `fd ${fd} is not a program`);
    return o;
  }

  /** Store program `progFd` in slot `index` of prog array `mapFd` (map_update_elem on a prog array). */
  progArrayUpdate(mapFd: number, index: number, progFd: number): void {
    const m = this.map(mapFd);
    if (!(m instanceof ProgArrayMap)) throw new BpfError(EINVAL, `map '${m.name}' is not a prog array`);
    const p = this.prog(progFd);
    m.setProg(index, { addr: p.addr, name: p.name, progType: p.type, fd: progFd });
  }

  /** close(fd): release the object (maps are freed; programs unloaded). */
  close(fd: number): void {
    const o = this.#fds.get(fd);
    if (!o) throw new BpfError(EBADF, `fd ${fd} is not open`);
    this.#fds.delete(fd);
    if ("keySize" in o) {
      this.#mapsByAddr.delete(o.addr);
      o.free();
      return;
    }
    for (const other of this.#fds.values()) if (other instanceof ProgArrayMap) other.dropProg(o.addr);
    o.free();
  }

  /** Open fds (for leak checks). */
  get openFds(): number[] {
    return [...this.#fds.keys()];
  }
}

/** The BPF state of kernel `k` (created, with the helpers bound, on first use). */
export function bpfSys(k: Kernel): BpfSys {
  let s = states.get(k);
  if (!s) {
    s = new BpfSys(k);
    states.set(k, s);
  }
  return s;
}
