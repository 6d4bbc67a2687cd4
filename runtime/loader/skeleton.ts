/**
 * A skeleton-style API over the loader (libbpf's bpf_object__open/load,
 * bpf_program__set_autoload/set_attach_target/attach, the generated
 * skeleton's open_and_load/attach/destroy and its ->bss/->data/->rodata).
 *
 *   BpfObject.open(path | bytes)      parse (object/open.ts); set options
 *     .program("test1").autoload = false
 *     .program("ext").setAttachTarget(otherProg, "global_func")
 *     .rodata.limit = 10
 *   obj.load(kernel)                  externs → maps (+ initial data, .rodata frozen)
 *                                     → relocate → BPF_PROG_LOAD each autoload program
 *                                     → prog arrays' initial slots
 *   obj.attach()                      every autoload tracing program through the
 *                                     trampoline (0 or -errno, as libbpf)
 *   obj.bss.test1_result              globals by name (skeleton_globals.ts)
 *   obj.destroy()                     detach, wait for trampoline teardown, close
 *                                     programs and maps: nothing left
 *
 * Errors are ObjectErrors with libbpf's context ("libbpf: prog 'test1':
 * failed to load: -EINVAL", "libbpf: prog 'test1': failed to attach:
 * -ENOTSUPP") and the kernel's errno; a failed load leaves nothing loaded.
 */
import { readFileSync } from "node:fs";
import { EBUSY, EINVAL, ENOENT, ENOTSUPP, ESRCH } from "../errno.js";
import { BpfError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import { findKernelFunc } from "../bpf/kfuncs/registry.js";
import { bpfSys, type BpfSys } from "./bpf_sys.js";
import type { BpfProg } from "./prog.js";
import { bpfProgLoad } from "./prog_load.js";
import { errStr, ObjectError, objectErrorFrom } from "../bpf/object/errors.js";
import { kconfigValue } from "../bpf/object/kconfig.js";
import type { BpfObjectModel } from "../bpf/object/model.js";
import { bpfObjectOpen, objectNameFromPath } from "../bpf/object/open.js";
import { relocateProgram, type ResolvedExtern } from "../bpf/object/relocate.js";
import { buildBpfProg } from "./progs_build.js";
import { GlobalsSection, type GlobalValue } from "./skeleton_globals.js";
import { BpfLink, BpfMapHandle, BpfProgram, trampKind } from "./skeleton_program.js";
import { BPF_OBJ_NAME_LEN, BPF_PROG_TYPE_EXT, BPF_PROG_TYPE_TRACING } from "../bpf/object/uapi.js";

export { BpfLink, BpfMapHandle, BpfProgram } from "./skeleton_program.js";

/** Options of {@link BpfObject.open}. */
export interface ObjectOpenOpts {
  /** Object name (default: from the path, or "bpf_object" for bytes). */
  objectName?: string;
  /** .kconfig values overriding the simulated kernel's ("CONFIG_X": "y"). */
  kconfig?: Readonly<Record<string, string>>;
}

/** Options of {@link BpfObject.load}. */
export interface ObjectLoadOpts {
  /** Verifier log level for every program (per-program `logLevel` wins). */
  logLevel?: number;
}

/** An opened (and maybe loaded) BPF object. */
export class BpfObject {
  readonly model: BpfObjectModel;
  readonly programs: readonly BpfProgram[];
  readonly maps: readonly BpfMapHandle[];
  readonly #kconfig: Readonly<Record<string, string>>;
  readonly #links = new Set<BpfLink>();
  readonly #sections = new Map<string, GlobalsSection>();
  #kernel: Kernel | undefined;
  #destroyed = false;

  private constructor(model: BpfObjectModel, opts: ObjectOpenOpts) {
    this.model = model;
    this.#kconfig = opts.kconfig ?? {};
    this.programs = model.programs.filter((p) => !p.isSubprog).map((p) => new BpfProgram(this, p));
    this.maps = model.maps.map((m) => new BpfMapHandle(m));
    const btf = model.btf;
    if (btf) {
      for (const h of this.maps) {
        if (h.model.kind === "btf") continue;
        this.#sections.set(
          h.model.realName,
          new GlobalsSection(
            h.model,
            btf,
            {
              addr: () =>
                h.map && "elemAddr" in h.map ? (h.map as { elemAddr(i: number): bigint }).elemAddr(0) : undefined,
              memory: () => this.#kernel?.machine.memory,
              frozen: () => h.map?.frozen ?? false,
            },
            h.model.varOffsets,
          ),
        );
      }
    }
  }

  /** bpf_object__open_file() / bpf_object__open_mem(). Throws ObjectError. */
  static open(src: string | Uint8Array, opts: ObjectOpenOpts = {}): BpfObject {
    let bytes: Uint8Array;
    let name = opts.objectName;
    if (typeof src === "string") {
      try {
        bytes = new Uint8Array(readFileSync(src));
      } catch (err) {
        throw new ObjectError(ENOENT, `elf: failed to open ${src}: ${(err as Error).message}`, { cause: err });
      }
      name ??= objectNameFromPath(src);
    } else {
      bytes = src;
    }
    return new BpfObject(bpfObjectOpen(bytes, { objectName: name ?? "bpf_object" }), opts);
  }

  get name(): string {
    return this.model.name;
  }

  /** The kernel it is loaded into. */
  get kernel(): Kernel | undefined {
    return this.#kernel;
  }

  get loaded(): boolean {
    return this.#kernel !== undefined;
  }

  /** bpf_object__find_program_by_name() (ENOENT as an ObjectError). */
  program(name: string): BpfProgram {
    const p = this.programs.find((x) => x.name === name);
    if (!p) throw new ObjectError(ENOENT, `object '${this.name}': no program '${name}'`);
    return p;
  }

  /** bpf_object__find_map_by_name(). */
  map(name: string): BpfMapHandle {
    const m = this.maps.find((x) => x.name === name || x.model.realName === name);
    if (!m) throw new ObjectError(ENOENT, `object '${this.name}': no map '${name}'`);
    return m;
  }

  /** Globals of a data section (".bss", ".data", ".rodata", ".data.foo"), or undefined. */
  globals(secName: string): GlobalsSection | undefined {
    return this.#sections.get(secName);
  }

  /** skel->bss. */
  get bss(): Record<string, GlobalValue> | undefined {
    return this.#sections.get(".bss")?.proxy();
  }

  /** skel->data. */
  get data(): Record<string, GlobalValue> | undefined {
    return this.#sections.get(".data")?.proxy();
  }

  /** skel->rodata. */
  get rodata(): Record<string, GlobalValue> | undefined {
    return this.#sections.get(".rodata")?.proxy();
  }

  /** @internal */
  rememberLink(l: BpfLink): void {
    this.#links.add(l);
  }

  /** @internal */
  forgetLink(l: BpfLink): void {
    this.#links.delete(l);
  }

  /** bpf_object__load(): everything or nothing. Throws ObjectError. */
  load(k: Kernel, opts: ObjectLoadOpts = {}): void {
    if (this.#destroyed) throw new ObjectError(EINVAL, `object '${this.name}': destroyed`);
    if (this.#kernel) throw new ObjectError(EBUSY, `object '${this.name}': already loaded`);
    const sys = bpfSys(k);
    this.#kernel = k;
    try {
      const externs = this.#resolveExterns(sys);
      this.#createMaps(sys);
      for (const p of this.programs) {
        if (!p.autoload) continue;
        p.setLoaded(this.#loadProgram(sys, p, externs, opts));
      }
      this.#initProgArrays(sys);
      for (const h of this.maps) {
        if (h.map && (h.model.kind === "rodata" || h.model.kind === "kconfig")) h.map.frozen = true;
      }
    } catch (err) {
      this.#unload(sys);
      this.#kernel = undefined;
      if (err instanceof ObjectError) throw err;
      throw objectErrorFrom(`failed to load object '${this.name}'`, err, EINVAL);
    }
  }

  #resolveExterns(sys: BpfSys): { resolved: ResolvedExtern[]; fdArray: number[] } {
    const objs = sys.btfObjects();
    const fdArray: number[] = [0];
    const kcfgIdx = this.model.maps.findIndex((m) => m.kind === "kconfig");
    const resolved = this.model.externs.map((ext): ResolvedExtern => {
      if (ext.type === "kcfg") {
        const v = kconfigValue(this.model.btf!, ext, this.#kconfig);
        if (v) this.model.maps[kcfgIdx].initial!.set(v, ext.kcfgOff);
        return { kind: "kcfg", mapFd: -1, off: ext.kcfgOff };
      }
      if (!ext.isFunc) {
        // Typed __ksym variables need PTR_TO_BTF_ID/percpu support this runtime does not have.
        if (ext.weak) return { kind: "missing_weak" };
        throw new ObjectError(
          ENOTSUPP,
          `extern (var ksym) '${ext.name}': ksym variables are not supported by this runtime`,
        );
      }
      const found = findKernelFunc(objs, ext.name);
      if (!found) {
        if (ext.weak) return { kind: "missing_weak" };
        throw new ObjectError(ESRCH, `extern (func ksym) '${ext.name}': not found in kernel or module BTFs`);
      }
      let idx = 0;
      if (found.obj.objId !== 1) {
        idx = fdArray.indexOf(found.obj.objId);
        if (idx < 0) idx = fdArray.push(found.obj.objId) - 1;
      }
      return { kind: "kfunc", btfId: found.btfId, btfFdIdx: idx };
    });
    return { resolved, fdArray };
  }

  #createMaps(sys: BpfSys): void {
    for (const h of this.maps) {
      const m = h.model;
      try {
        const { fd, map } = sys.mapCreate({
          mapType: m.type,
          keySize: m.keySize,
          valueSize: m.valueSize,
          maxEntries: m.maxEntries,
          mapFlags: m.mapFlags,
          name: m.name.slice(0, BPF_OBJ_NAME_LEN - 1),
          btfKeyTypeId: m.btfKeyTypeId,
          btfValueTypeId: m.btfValueTypeId,
          // libbpf passes the object's BTF fd with the type ids (bpf_map_create btf_fd).
          btf: m.btfValueTypeId ? this.model.btf : undefined,
        });
        h.fd = fd;
        h.map = map;
        if (m.initial) map.update(new Uint8Array(4), m.initial.slice(0, m.valueSize));
      } catch (err) {
        const errno = err instanceof BpfError ? err.errno : EINVAL;
        throw new ObjectError(errno, `map '${m.name}': failed to create: ${errStr(errno)}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  #attachAttrs(sys: BpfSys, p: BpfProgram): { attachBtfObjId?: number; attachBtfId?: number; attachProgFd?: number } {
    const def = p.model.def!;
    if (!def.attachBtf) return {};
    const tgt = p.attachTarget;
    if (tgt && tgt.prog !== undefined) {
      const target =
        tgt.prog instanceof BpfProgram ? tgt.prog.prog : typeof tgt.prog === "number" ? sys.prog(tgt.prog) : tgt.prog;
      if (!target || !target.btf) {
        throw new ObjectError(EINVAL, `prog '${p.name}': target program for '${tgt.func}' is not loaded or has no BTF`);
      }
      const f = target.btf.find(tgt.func, "func");
      if (!f)
        throw new ObjectError(
          ESRCH,
          `prog '${p.name}': failed to find BTF for '${tgt.func}' in the target program: -ESRCH`,
        );
      return { attachProgFd: target.fd, attachBtfId: f.id };
    }
    const name = tgt?.func ?? p.model.attachTo;
    if (!name) throw new ObjectError(EINVAL, `prog '${p.name}': missing attach target for SEC("${p.secName}")`);
    const found = findKernelFunc(sys.btfObjects(), name);
    if (!found)
      throw new ObjectError(ESRCH, `prog '${p.name}': failed to find kernel BTF type ID of '${name}': -ESRCH`);
    return { attachBtfObjId: found.obj.objId, attachBtfId: found.btfId };
  }

  #loadProgram(
    sys: BpfSys,
    p: BpfProgram,
    ext: { resolved: ResolvedExtern[]; fdArray: number[] },
    opts: ObjectLoadOpts,
  ): BpfProg {
    const def = p.model.def;
    if (!def)
      throw new ObjectError(EINVAL, `prog '${p.name}': missing BPF prog type, check ELF section name '${p.secName}'`);
    const kcfgIdx = this.model.maps.findIndex((m) => m.kind === "kconfig");
    const rel = relocateProgram(this.model, p.model, {
      mapFd: (i) => this.maps[i].fd,
      extern: (i) => {
        const r = ext.resolved[i];
        return r.kind === "kcfg" ? { ...r, mapFd: this.maps[kcfgIdx].fd } : r;
      },
      coreTargets: sys.btfObjects().map((o) => ({ btf: o.btf, objId: o.objId })),
    });
    const progTypeIsTracing = def.progType === BPF_PROG_TYPE_TRACING || def.progType === BPF_PROG_TYPE_EXT;
    try {
      const res = bpfProgLoad(sys, {
        progType: def.progType,
        expectedAttachType: def.expectedAttachType,
        insns: rel.insns,
        license: this.model.license,
        name: p.name.slice(0, BPF_OBJ_NAME_LEN - 1),
        sleepable: def.sleepable,
        ...(progTypeIsTracing ? this.#attachAttrs(sys, p) : {}),
        btf: this.model.btf,
        funcs: rel.funcs,
        lineInfo: rel.lineInfo,
        logLevel: p.logLevel ?? opts.logLevel,
        kfuncBtfObjIds: ext.fdArray,
      });
      p.log = res.log;
      return res.prog;
    } catch (err) {
      if (err instanceof ObjectError) throw err;
      const errno = err instanceof BpfError ? err.errno : EINVAL;
      const log = (err as { log?: string }).log;
      if (log) p.log = log;
      const reason = err instanceof Error ? err.message : String(err);
      throw new ObjectError(errno, `prog '${p.name}': failed to load: ${errStr(errno)}: ${reason}`, { cause: err });
    }
  }

  #initProgArrays(sys: BpfSys): void {
    for (const h of this.maps) {
      for (const [slot, progName] of h.model.initSlots) {
        const p = this.programs.find((x) => x.name === progName);
        if (!p?.prog)
          throw new ObjectError(EINVAL, `map '${h.name}': can't use BPF program '${progName}' (was it loaded?)`);
        sys.progArrayUpdate(h.fd, slot, p.fd);
      }
    }
  }

  /**
   * The failure of the last {@link attach}, as libbpf logs it ("prog 'p':
   * failed to attach: -ENOTSUPP: <reason>"), or undefined after a success.
   */
  attachError: ObjectError | undefined;

  /** bpf_object__attach_skeleton(): attach every loaded tracing program; 0 or the first -errno. */
  attach(): number {
    this.attachError = undefined;
    for (const p of this.programs) {
      if (!p.prog || !trampKind(p.prog)) continue;
      if (p.prog.type === BPF_PROG_TYPE_EXT && !p.attachTarget) continue;
      try {
        p.attach();
      } catch (err) {
        const errno = err instanceof BpfError ? err.errno : EINVAL;
        this.attachError =
          err instanceof ObjectError
            ? err
            : new ObjectError(errno, `prog '${p.name}': failed to attach: ${errStr(errno)}: ${String(err)}`, {
                cause: err,
              });
        return -errno;
      }
    }
    return 0;
  }

  /** bpf_object__detach_skeleton(): destroy every link. */
  detach(): void {
    for (const l of [...this.#links]) l.detach();
  }

  /** Let trampoline teardown (RCU-tasks, percpu_ref, workqueue) finish. */
  #settle(sys: BpfSys): void {
    const k = sys.k;
    const stats = sys.trampolines.stats;
    for (let i = 0; i < 100 && stats.imagesFreed < stats.imagesAllocated; i++) {
      k.runKthread("settle", function* () {
        yield { op: "sleep", ns: 10_000_000n, reason: "bpf_object settle" };
      });
    }
  }

  #unload(sys: BpfSys): void {
    for (const p of this.programs) {
      const prog = p.prog;
      p.setLoaded(undefined);
      if (prog && prog.fd >= 0 && sys.openFds.includes(prog.fd)) sys.close(prog.fd);
    }
    for (const h of this.maps) {
      if (h.fd >= 0 && sys.openFds.includes(h.fd)) sys.close(h.fd);
      h.fd = -1;
      h.map = undefined;
    }
  }

  /** skel__destroy(): detach, let teardown finish, unload programs and maps. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const k = this.#kernel;
    if (!k) return;
    const sys = bpfSys(k);
    this.detach();
    this.#settle(sys);
    this.#unload(sys);
    this.#kernel = undefined;
  }
}

/**
 * skel__open_and_load(): build (cached) and open `selftests/progs/<name>.c`
 * (or an object path / bytes), load it into `k`. Returns the object, or the
 * ObjectError (so ported tests can ASSERT_OK_PTR it).
 */
export function openAndLoad(
  k: Kernel,
  src: string | Uint8Array,
  opts: ObjectOpenOpts & ObjectLoadOpts = {},
): BpfObject | ObjectError {
  let obj: BpfObject;
  try {
    if (typeof src === "string" && !src.includes("/") && !src.endsWith(".o")) {
      obj = BpfObject.open(buildBpfProg(src).bytes, { ...opts, objectName: opts.objectName ?? src });
    } else {
      obj = BpfObject.open(src, opts);
    }
    obj.load(k, opts);
    return obj;
  } catch (err) {
    if (err instanceof ObjectError) return err;
    if (err instanceof BpfError) return new ObjectError(err.errno, err.message, { cause: err });
    throw err;
  }
}
