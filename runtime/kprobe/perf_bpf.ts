/**
 * perf's BPF-on-kprobe flow for one program (tools/perf/util/bpf-loader.c
 * bpf__probe(), hook_load_preprocessor(), preproc_gen_prologue(),
 * bpf__load(), bpf__foreach_tev()) on the simulated kernel:
 *
 *   section name "ev=func a->b x"
 *     │ parseProgConfig          (prog_config.ts)        config errors 3900..3905
 *     │ find func               vmlinux, then modules    -ENOENT; `module=` picks one
 *     │ convert arguments        (convert.ts, BTF)        -EINVAL / -ENOENT / -EOPNOTSUPP
 *     │ no argument at all?      no prologue              (hook_load_preprocessor)
 *     │ bpfProloguePrepend       (gen_prologue.ts)        PROLOGUE2BIG / PROLOGUEOOB / -ENOTSUP
 *     ▼
 *   bpfIntJitCompile ──► registerKprobe(func) with the JITed program
 *
 * What perf accepts but this kernel cannot probe is refused with -ENOTSUPP:
 * uprobes (`exec=`), return probes (`%return`), offsets, lines and lazy
 * patterns (kprobes here sit on function entries only). perf's tevs (one
 * per inlined instance, grouped by argument layout in map_prologue) reduce
 * to one: functions are probed at their single out-of-line entry.
 */
import type { Btf } from "../bpf/btf/btf.js";
import type { BtfFuncProto } from "../bpf/btf/types.js";
import type { Insn } from "../bpf/insn.js";
import { convertPerfProbeArg, probeFuncParams, type ProbeFunc } from "../bpf/prologue/convert.js";
import { bpfProloguePrepend, type PrologueLogLevel, type ProloguePrependResult } from "../bpf/prologue/gen_prologue.js";
import { parseProgConfig, type PerfProbeEvent } from "../bpf/prologue/prog_config.js";
import type { ProbeTraceArg } from "../bpf/prologue/probe_trace_arg.js";
import { ENOENT } from "../errno.js";
import { KernelError, NotSupportedError, wrapError } from "../errors.js";
import { bpfIntJitCompile, bpfJitFree, type JitEnv, type JitOptions, type JitedProg } from "../jit/jit.js";
import type { KernelImages } from "../kernel/boot.js";
import type { ImageFile } from "../kernel/image.js";
import { attachKprobe, detachKprobe, type Kprobe, type KprobeTable } from "./kprobe.js";

/** A perf BPF program: its section name (the probe definition) and instructions. */
export interface PerfKprobeProgram {
  /** The section name, perf's config string ("lock_page=__lock_page page->flags"). */
  readonly config: string;
  /** The program as compiled (r1 = struct pt_regs *; r2..r5 from the prologue). */
  readonly insns: readonly Insn[];
}

/** The probed function with its BTF. */
export interface PerfProbeFunc extends ProbeFunc {
  readonly addr: bigint;
  /** Module name; undefined for vmlinux. */
  readonly module?: string;
}

/** A program ready to load: the probe, its fetch arguments and the program with its prologue. */
export interface PreparedPerfKprobe {
  readonly event: PerfProbeEvent;
  readonly func: PerfProbeFunc;
  /** The probe_trace_args handed to the prologue generator. */
  readonly args: readonly ProbeTraceArg[];
  /** The prologue and the prefixed program; undefined when the probe has no argument. */
  readonly prologue?: ProloguePrependResult;
  /** What gets JITed: prologue + program, or the program alone. */
  readonly insns: readonly Insn[];
}

/** Options of {@link preparePerfKprobe}. */
export interface PreparePerfKprobeOptions {
  /** The kernel's images (BTF and symbols of vmlinux and modules). */
  readonly images: KernelImages;
  /** perf's debug/warning/error lines. */
  readonly log?: (level: PrologueLogLevel, message: string) => void;
}

function imagesToSearch(images: KernelImages, module: string | undefined): { image: ImageFile; module?: string }[] {
  const mods = images.modules.modules.map((m) => ({ image: m.image, module: m.name }));
  if (module !== undefined) {
    const m = mods.find((x) => x.module === module);
    if (!m) throw new KernelError(ENOENT, `module not loaded: ${module}`);
    return [m];
  }
  return [{ image: images.vmlinux.image }, ...mods];
}

function findProbeFunc(images: KernelImages, name: string, module: string | undefined): PerfProbeFunc {
  for (const { image, module: mod } of imagesToSearch(images, module)) {
    const sym = image.symbol(name);
    if (!sym || sym.kind !== "func") continue;
    let btf: Btf;
    try {
      btf = image.btf;
    } catch {
      continue;
    }
    const sig = btf.funcSignature(name);
    if (!sig) continue;
    return {
      name,
      btf,
      proto: sig.proto as BtfFuncProto,
      addr: sym.addr,
      ...(mod !== undefined ? { module: mod } : {}),
    };
  }
  throw new KernelError(ENOENT, `failed to find symbol ${name} in ${module ?? "the kernel"} (no function with BTF)`);
}

function isGlobalIn(images: KernelImages): (name: string) => boolean {
  return (name) =>
    [images.vmlinux.image, ...images.modules.modules.map((m) => m.image)].some(
      (i) => i.symbol(name)?.kind === "object",
    );
}

/** bpf__probe() + the load preprocessor for one program: probe, arguments, prologue. */
export function preparePerfKprobe(prog: PerfKprobeProgram, opts: PreparePerfKprobeOptions): PreparedPerfKprobe {
  const event = parseProgConfig(prog.config, { warn: (m) => opts.log?.("warning", m) });
  const p = event.point;
  const where = `'${prog.config}'`;
  if (event.uprobes) throw new NotSupportedError(`${where}: uprobes (exec=${event.target}) are not modelled`);
  if (p.retprobe) throw new NotSupportedError(`${where}: return probes are not modelled`);
  if (p.function === undefined || p.line || p.lazyLine !== undefined || p.file !== undefined) {
    throw new NotSupportedError(`${where}: only function entries can be probed (no file, line or pattern)`);
  }
  if (p.offset !== 0) throw new NotSupportedError(`${where}: only function entries can be probed: +${p.offset}`);
  try {
    const func = findProbeFunc(opts.images, p.function, event.target);
    const params = probeFuncParams(func);
    const isGlobal = isGlobalIn(opts.images);
    const args = event.args.map((a) => convertPerfProbeArg(func, a, { params, isGlobal }));
    if (args.length === 0) return { event, func, args, insns: [...prog.insns] };
    const prologue = bpfProloguePrepend(args, prog.insns, { log: opts.log });
    return { event, func, args, prologue, insns: prologue.prog };
  } catch (err) {
    throw wrapError(`bpf probe ${event.group}:${event.event}`, err);
  }
}

/** A perf kprobe program loaded and attached. */
export interface LoadedPerfKprobe {
  readonly prepared: PreparedPerfKprobe;
  readonly jited: JitedProg;
  readonly kprobe: Kprobe;
}

/** Options of {@link loadPerfKprobe}. */
export interface LoadPerfKprobeOptions extends PreparePerfKprobeOptions {
  readonly table: KprobeTable;
  /** Helper resolution for the JIT (bpf_probe_read_kernel, ...). */
  readonly jitEnv: JitEnv;
  readonly jit?: JitOptions;
}

/** Prepare, JIT and attach `prog`; everything is undone on failure. */
export function loadPerfKprobe(prog: PerfKprobeProgram, opts: LoadPerfKprobeOptions): LoadedPerfKprobe {
  const prepared = preparePerfKprobe(prog, opts);
  const name = prepared.event.event.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
  const jited = bpfIntJitCompile({ insns: prepared.insns, name }, opts.jitEnv, opts.jit);
  try {
    const kprobe = attachKprobe(opts.table, { symbol: prepared.func.name, prog: { name, bpfFunc: jited.bpfFunc } });
    return { prepared, jited, kprobe };
  } catch (err) {
    bpfJitFree(jited, opts.jitEnv);
    throw err;
  }
}

/** Detach (unregister, grace periods) and free the JITed program. */
export function unloadPerfKprobe(loaded: LoadedPerfKprobe, opts: { table: KprobeTable; jitEnv: JitEnv }): void {
  detachKprobe(opts.table, loaded.kprobe);
  bpfJitFree(loaded.jited, opts.jitEnv);
}
