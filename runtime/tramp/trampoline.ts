/**
 * struct bpf_trampoline and its lifecycle (kernel/bpf/trampoline.c):
 * linking and unlinking programs, bpf_trampoline_update, and attaching to
 * kernel functions (ftrace-style direct calls) or to BPF programs (their
 * patch site), plus freplace.
 *
 *   link prog ──► progs[kind] ──► bpf_trampoline_update(tr)
 *                                    │ no progs left: unregister, put image
 *                                    │ flags: fexit|fmod_ret → CALL_ORIG|SKIP_FRAME,
 *                                    │        fentry only   → RESTORE_REGS,
 *                                    │        get_func_ip   → IP_ARG
 *                                    ▼
 *                      size → image alloc → arch_prepare → write text
 *                                    │
 *                      first image: register (nop → bl new)
 *                      later:       modify   (bl old → bl new)
 *                                    │
 *                      bpf_tramp_image_put(old image)   (image.ts)
 *
 * Rules kept from the kernel: at most BPF_MAX_TRAMP_LINKS (38) programs;
 * a program already linked (-EBUSY); fentry/fexit while an extension is
 * attached and an extension while fentry/fexit are (-EBUSY); the newest
 * program of a kind runs first (hlist_add_head); the trampoline mutex
 * serialises updates; on any error nothing changes.
 */
import { E2BIG, EBUSY, EINVAL, ENOENT } from "../errno.js";
import { BpfError, KernelError, wrapError } from "../errors.js";
import { createLogger } from "../log.js";
import type { Kernel } from "../kernel/kernel.js";
import { Mutex, mutexLock, mutexUnlock } from "../kernel/mutex.js";
import type { KGen, Task } from "../kernel/task.js";
import type { TextAllocator } from "../kernel/text_alloc.js";
import { aapcs64ArgLayout, type ArgLayout } from "./arg_layout.js";
import type { FuncModel } from "./func_model.js";
import { BpfTrampImage, bpfTrampImageAlloc, bpfTrampImagePut } from "./image.js";
import {
  archPrepareBpfTrampoline,
  BPF_TRAMP_F_CALL_ORIG,
  BPF_TRAMP_F_IP_ARG,
  BPF_TRAMP_F_RESTORE_REGS,
  BPF_TRAMP_F_SKIP_FRAME,
  BPF_TRAMP_MAX_SIZE,
  type TrampLink,
} from "./prepare.js";
import { bpfArchTextPoke, ftraceDirectPatch, type TextPokeEnv } from "./text_poke.js";

const log = createLogger("tramp");

/** BPF_MAX_TRAMP_LINKS. */
export const BPF_MAX_TRAMP_LINKS = 38;

export type TrampKind = "fentry" | "fexit" | "fmod_ret" | "freplace";

/** A program as the trampoline needs it. */
export interface TrampProg {
  name: string;
  /** struct bpf_prog * (its kernel address). */
  prog: bigint;
  /** prog->bpf_func. */
  bpfFunc: bigint;
  sleepable: boolean;
  /** The program calls bpf_get_func_ip (needs BPF_TRAMP_F_IP_ARG). */
  callGetFuncIp?: boolean;
}

/** struct bpf_tramp_link. */
export interface BpfTrampLink {
  readonly prog: TrampProg;
  readonly kind: TrampKind;
  readonly cookie: bigint;
  /** The trampoline it is linked into, while linked. */
  tr: BpfTrampoline | undefined;
}

/** What a trampoline is attached to. */
export type TrampTarget =
  | { kind: "kernel"; name: string; addr: bigint; model: FuncModel; btfObjId: number; btfId: number }
  | {
      kind: "prog";
      name: string;
      /** Entry of the target (sub)program: its bpf_func. */
      addr: bigint;
      model: FuncModel;
      /** The target program's id (aux->id) and the BTF id of the function. */
      progId: number;
      btfId: number;
    };

/** bpf_trampoline_compute_key(). */
export function bpfTrampolineComputeKey(target: TrampTarget): bigint {
  if (target.kind === "prog") return (BigInt(target.progId) << 32n) | BigInt(target.btfId);
  return (BigInt(target.btfObjId) << 32n) | 0x8000_0000n | BigInt(target.btfId);
}

/** struct bpf_trampoline. */
export class BpfTrampoline {
  readonly key: bigint;
  readonly target: TrampTarget;
  readonly layout: ArgLayout;
  readonly mutex: Mutex;
  readonly links: Record<"fentry" | "fexit" | "fmod_ret", BpfTrampLink[]> = { fentry: [], fexit: [], fmod_ret: [] };
  extensionProg: TrampProg | undefined;
  curImage: BpfTrampImage | undefined;
  flags = 0;
  refcnt = 0;

  constructor(key: bigint, target: TrampTarget) {
    this.key = key;
    this.target = target;
    this.layout = aapcs64ArgLayout(target.name, target.model.args);
    this.mutex = new Mutex(`bpf_trampoline_${key}.mutex`);
  }

  /** Programs linked, all kinds. */
  get progCount(): number {
    return this.links.fentry.length + this.links.fexit.length + this.links.fmod_ret.length;
  }
}

/** Options of a trampoline table. */
export interface TrampTableOptions {
  /** Emit BTI landing pads. */
  bti?: boolean;
  /** Allocate images for BPF-program targets from the far pool (exercises the PLT). */
  farImagesForProgs?: boolean;
  /**
   * TEST ONLY: build trampolines that do not copy this argument (0-based)
   * into the BPF context. Defaults to the A64BPF_TEST_TRAMP_DROP_ARG
   * environment variable, so a selftest run can be broken on purpose.
   */
  testDropArg?: number;
}

/** The trampolines of one kernel (trampoline_table), and their image statistics. */
export class TrampolineTable {
  readonly kernel: Kernel;
  readonly opts: TrampTableOptions;
  readonly #byKey = new Map<bigint, BpfTrampoline>();
  readonly stats = { imagesAllocated: 0, imagesFreed: 0, updates: 0 };

  constructor(kernel: Kernel, opts: TrampTableOptions = {}) {
    this.kernel = kernel;
    const env = process.env.A64BPF_TEST_TRAMP_DROP_ARG;
    this.opts = { ...opts, testDropArg: opts.testDropArg ?? (env ? Number(env) : undefined) };
  }

  /** bpf_trampoline_get(): find or create. */
  get(target: TrampTarget): BpfTrampoline {
    const key = bpfTrampolineComputeKey(target);
    let tr = this.#byKey.get(key);
    if (!tr) {
      tr = new BpfTrampoline(key, target);
      this.#byKey.set(key, tr);
    }
    tr.refcnt++;
    return tr;
  }

  /** bpf_trampoline_put(): drop a reference; forget it once unused. */
  put(tr: BpfTrampoline): void {
    if (--tr.refcnt > 0) return;
    if (tr.progCount > 0 || tr.extensionProg || tr.curImage) {
      throw new KernelError(EBUSY, `bpf_trampoline_put: ${tr.target.name} still has programs or an image`);
    }
    this.#byKey.delete(tr.key);
  }

  lookup(key: bigint): BpfTrampoline | undefined {
    return this.#byKey.get(key);
  }

  all(): BpfTrampoline[] {
    return [...this.#byKey.values()];
  }

  /** The text pool for a trampoline of `target`. */
  poolFor(target: TrampTarget): TextAllocator {
    return target.kind === "prog" && this.opts.farImagesForProgs ? this.kernel.farBpfText : this.kernel.bpfText;
  }

  /** A TextPokeEnv for `task`. */
  pokeEnv(task: Task): TextPokeEnv {
    const k = this.kernel;
    return {
      kernel: k,
      task,
      bpfAddressLookup: (a) => k.kallsyms.bpfAddressLookup(a),
      dummyTramp: k.symbolAddress("dummy_tramp"),
      bti: this.opts.bti,
    };
  }
}

/** bpf_trampoline_enter(prog): fentry/fexit/fmod_ret programs take the _recur variants. */
function enterExitFor(k: Kernel, p: TrampProg): { enter: bigint; exit: bigint } {
  return p.sleepable
    ? {
        enter: k.symbolAddress("__bpf_prog_enter_sleepable_recur"),
        exit: k.symbolAddress("__bpf_prog_exit_sleepable_recur"),
      }
    : { enter: k.symbolAddress("__bpf_prog_enter_recur"), exit: k.symbolAddress("__bpf_prog_exit_recur") };
}

function trampLinks(k: Kernel, links: readonly BpfTrampLink[]): TrampLink[] {
  return links.map((l) => ({
    prog: l.prog.prog,
    bpfFunc: l.prog.bpfFunc,
    cookie: l.cookie,
    ...enterExitFor(k, l.prog),
  }));
}

/** Patch the target from `oldImage` to `newImage` (either may be undefined). */
function* patchTarget(
  table: TrampolineTable,
  task: Task,
  tr: BpfTrampoline,
  oldAddr?: bigint,
  newAddr?: bigint,
): KGen<void> {
  const env = table.pokeEnv(task);
  if (tr.target.kind === "kernel") yield* ftraceDirectPatch(env, tr.target.addr, oldAddr, newAddr);
  else yield* bpfArchTextPoke(env, tr.target.addr, "call", oldAddr, newAddr);
}

/** bpf_trampoline_update(): rebuild the image for the current program set. Caller holds tr.mutex. */
export function* bpfTrampolineUpdate(table: TrampolineTable, task: Task, tr: BpfTrampoline): KGen<void> {
  const k = table.kernel;
  table.stats.updates++;
  if (tr.progCount === 0) {
    if (tr.curImage) {
      // unregister_fentry(): the patch site goes back to nops.
      yield* patchTarget(table, task, tr, tr.curImage.image, undefined);
      const old = tr.curImage;
      tr.curImage = undefined;
      yield* bpfTrampImagePut(table.pokeEnv(task), old);
    }
    return;
  }
  let flags = 0;
  if (tr.links.fexit.length || tr.links.fmod_ret.length) flags |= BPF_TRAMP_F_CALL_ORIG | BPF_TRAMP_F_SKIP_FRAME;
  else flags |= BPF_TRAMP_F_RESTORE_REGS;
  const all = [...tr.links.fentry, ...tr.links.fexit, ...tr.links.fmod_ret];
  if (all.some((l) => l.prog.callGetFuncIp)) flags |= BPF_TRAMP_F_IP_ARG;
  tr.flags = flags;

  const pool = table.poolFor(tr.target);
  const links = {
    fentry: trampLinks(k, tr.links.fentry),
    fexit: trampLinks(k, tr.links.fexit),
    fmodRet: trampLinks(k, tr.links.fmod_ret),
  };
  const spec = (im: bigint) => ({
    layout: tr.layout,
    flags,
    links,
    funcAddr: tr.target.addr,
    im,
    trampEnter: k.symbolAddress("__bpf_tramp_enter"),
    trampExit: k.symbolAddress("__bpf_tramp_exit"),
    bti: table.opts.bti,
    dropArg: table.opts.testDropArg,
  });
  // arch_bpf_trampoline_size(): a dry run with a placeholder image address.
  const size = archPrepareBpfTrampoline(spec(0n)).words.length * 4;
  if (size > BPF_TRAMP_MAX_SIZE) throw new BpfError(E2BIG, `trampoline for ${tr.target.name} needs ${size} bytes`);
  const im = bpfTrampImageAlloc(k, tr.key, size, pool);
  table.stats.imagesAllocated++;
  im.onFreed = () => table.stats.imagesFreed++;
  try {
    const built = archPrepareBpfTrampoline(spec(im.im));
    im.built = { img: built, spec: spec(im.im) };
    const bytes = new Uint8Array(built.words.buffer, built.words.byteOffset, built.words.byteLength);
    // bpf_arch_text_copy into fresh text: no CPU can be running it yet.
    k.machine.writeText(im.image, bytes, { sync: false });
    k.machine.invalidateText(im.image, im.image + BigInt(bytes.length));
    if (built.ipAfterCall !== undefined) im.ipAfterCall = im.image + BigInt(built.ipAfterCall);
    if (built.ipEpilogue !== undefined) im.ipEpilogue = im.image + BigInt(built.ipEpilogue);
    yield* patchTarget(table, task, tr, tr.curImage?.image, im.image);
  } catch (err) {
    // Nothing was published: free the new image at once.
    k.kallsyms.removeBpf(im.ksym, im.image);
    pool.free(im.image);
    k.bpfRun.unregisterImage(im.im);
    k.slab.kfree(im.im);
    im.state = "freed";
    im.onFreed?.();
    throw err;
  }
  const old = tr.curImage;
  tr.curImage = im;
  log.debug({ tr: tr.target.name, image: im.ksym, flags }, "bpf_trampoline_update");
  if (old) yield* bpfTrampImagePut(table.pokeEnv(task), old);
}

/** __bpf_trampoline_link_prog(). */
export function* bpfTrampolineLinkProg(
  table: TrampolineTable,
  task: Task,
  link: BpfTrampLink,
  tr: BpfTrampoline,
): KGen<void> {
  yield* mutexLock(tr.mutex, task);
  try {
    if (tr.extensionProg) {
      throw new KernelError(EBUSY, `${tr.target.name} has an extension program attached`);
    }
    if (link.kind === "freplace") {
      if (tr.progCount > 0)
        throw new KernelError(
          EBUSY,
          `cannot attach an extension to ${tr.target.name}: fentry/fexit programs are attached`,
        );
      if (tr.target.kind !== "prog")
        throw new KernelError(EINVAL, `freplace needs a BPF program target, not ${tr.target.name}`);
      yield* bpfArchTextPoke(table.pokeEnv(task), tr.target.addr, "jump", undefined, link.prog.bpfFunc);
      tr.extensionProg = link.prog;
      link.tr = tr;
      return;
    }
    if (tr.progCount >= BPF_MAX_TRAMP_LINKS) {
      throw new KernelError(
        E2BIG,
        `${tr.target.name} already has ${BPF_MAX_TRAMP_LINKS} programs (BPF_MAX_TRAMP_LINKS)`,
      );
    }
    const list = tr.links[link.kind];
    if (link.tr || list.some((l) => l.prog.prog === link.prog.prog)) {
      throw new KernelError(EBUSY, `${link.prog.name} is already linked to ${tr.target.name}`);
    }
    list.unshift(link);
    link.tr = tr;
    try {
      yield* bpfTrampolineUpdate(table, task, tr);
    } catch (err) {
      list.splice(list.indexOf(link), 1);
      link.tr = undefined;
      throw err;
    }
  } finally {
    mutexUnlock(tr.mutex, task);
  }
}

/** __bpf_trampoline_unlink_prog(). */
export function* bpfTrampolineUnlinkProg(table: TrampolineTable, task: Task, link: BpfTrampLink): KGen<void> {
  const tr = link.tr;
  if (!tr) throw new KernelError(ENOENT, `${link.prog.name} is not linked`);
  yield* mutexLock(tr.mutex, task);
  try {
    if (link.kind === "freplace") {
      yield* bpfArchTextPoke(table.pokeEnv(task), tr.target.addr, "jump", link.prog.bpfFunc, undefined);
      tr.extensionProg = undefined;
      link.tr = undefined;
      return;
    }
    const list = tr.links[link.kind];
    list.splice(list.indexOf(link), 1);
    link.tr = undefined;
    yield* bpfTrampolineUpdate(table, task, tr);
  } finally {
    mutexUnlock(tr.mutex, task);
  }
}

/**
 * Attach `prog` of `kind` to `target`: get the trampoline, link, and give
 * back the link (bpf_tracing_prog_attach, simplified). Errors carry
 * libbpf-style context and leave nothing behind.
 */
export function* bpfTracingProgAttach(
  table: TrampolineTable,
  task: Task,
  prog: TrampProg,
  kind: TrampKind,
  target: TrampTarget,
  cookie = 0n,
): KGen<BpfTrampLink> {
  let tr: BpfTrampoline;
  try {
    tr = table.get(target);
  } catch (err) {
    throw wrapError(`attach ${kind} ${prog.name} to ${target.name}`, err);
  }
  const link: BpfTrampLink = { prog, kind, cookie, tr: undefined };
  try {
    yield* bpfTrampolineLinkProg(table, task, link, tr);
  } catch (err) {
    table.put(tr);
    throw wrapError(`attach ${kind} ${prog.name} to ${target.name}`, err);
  }
  return link;
}

/** bpf_tracing_link_release(): unlink and drop the trampoline reference. */
export function* bpfTracingLinkRelease(table: TrampolineTable, task: Task, link: BpfTrampLink): KGen<void> {
  const tr = link.tr;
  if (!tr) return;
  yield* bpfTrampolineUnlinkProg(table, task, link);
  table.put(tr);
}
