/**
 * The program, link and map handles of the skeleton API (libbpf's struct
 * bpf_program, struct bpf_link, struct bpf_map): per-program options before
 * load (autoload, attach target, log level), attach through the lead's
 * trampoline API (fentry/fexit/fmod_ret/freplace), BPF_PROG_TEST_RUN.
 * runtime/loader/skeleton.ts holds the object that owns them.
 */
import { EINVAL, EOPNOTSUPP } from "../errno.js";
import { BpfError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import {
  bpfTracingLinkRelease,
  bpfTracingProgAttach,
  type BpfTrampLink,
  type TrampKind,
  type TrampTarget,
} from "../tramp/trampoline.js";
import { bpfSys } from "./bpf_sys.js";
import type { BpfProg } from "./prog.js";
import type { BpfMap } from "../bpf/maps/map.js";
import { errStr, ObjectError } from "../bpf/object/errors.js";
import type { ObjMap, ObjProgram } from "../bpf/object/model.js";
import { bpfProgTestRun, type TestRunOpts, type TestRunResult } from "./test_run.js";
import {
  BPF_MODIFY_RETURN,
  BPF_PROG_TYPE_EXT,
  BPF_PROG_TYPE_TRACING,
  BPF_TRACE_FENTRY,
  BPF_TRACE_FEXIT,
} from "../bpf/object/uapi.js";

/** What programs and links need of the object that owns them. */
export interface ProgramOwner {
  readonly kernel: Kernel | undefined;
  readonly loaded: boolean;
  rememberLink(l: BpfLink): void;
  forgetLink(l: BpfLink): void;
}

/** An attachment (struct bpf_link). */
export class BpfLink {
  readonly prog: BpfProgram;
  readonly #tramp: BpfTrampLink;
  #detached = false;

  constructor(prog: BpfProgram, tramp: BpfTrampLink) {
    this.prog = prog;
    this.#tramp = tramp;
  }

  get detached(): boolean {
    return this.#detached;
  }

  /** bpf_link__destroy(): unlink from the trampoline. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const k = this.prog.object.kernel!;
    const table = bpfSys(k).trampolines;
    k.runKthread("detach", (task) => bpfTracingLinkRelease(table, task, this.#tramp));
    this.prog.object.forgetLink(this);
  }
}

/** A program of an object (struct bpf_program). */
export class BpfProgram {
  readonly object: ProgramOwner;
  readonly model: ObjProgram;
  /** Verifier log level for this program (bpf_program__set_log_level). */
  logLevel: number | undefined;
  /** The verifier log of the last load. */
  log = "";
  #attachTarget: { prog: BpfProg | BpfProgram | number | undefined; func: string } | undefined;
  #loaded: BpfProg | undefined;

  constructor(object: ProgramOwner, model: ObjProgram) {
    this.object = object;
    this.model = model;
  }

  get name(): string {
    return this.model.name;
  }

  get secName(): string {
    return this.model.secName;
  }

  /** bpf_program__autoload(). */
  get autoload(): boolean {
    return this.model.autoload;
  }

  /** bpf_program__set_autoload() (before load only). */
  set autoload(v: boolean) {
    if (this.object.loaded) throw new ObjectError(EINVAL, `prog '${this.name}': cannot change autoload after load`);
    this.model.autoload = v;
  }

  /**
   * bpf_program__set_attach_target(prog, attach_prog_fd, attach_func_name):
   * a target program (object, loaded program or fd) and function for
   * fentry/fexit/freplace on BPF programs, or no program and a kernel function.
   */
  setAttachTarget(target: BpfProgram | BpfProg | number | undefined, funcName: string): void {
    if (this.object.loaded) throw new ObjectError(EINVAL, `prog '${this.name}': cannot set attach target after load`);
    if (!funcName) throw new ObjectError(EINVAL, `prog '${this.name}': attach function name is required`);
    this.#attachTarget = { prog: target, func: funcName };
  }

  /** The attach target set before load, if any. */
  get attachTarget(): { prog: BpfProg | BpfProgram | number | undefined; func: string } | undefined {
    return this.#attachTarget;
  }

  /** The loaded kernel program (after load, for autoloaded programs). */
  get prog(): BpfProg | undefined {
    return this.#loaded;
  }

  /** bpf_program__fd(): -1 until loaded. */
  get fd(): number {
    return this.#loaded?.fd ?? -1;
  }

  /** @internal set by BpfObject.load. */
  setLoaded(p: BpfProg | undefined): void {
    this.#loaded = p;
  }

  /** bpf_program__attach(): a tracing program through the trampoline. Throws ObjectError. */
  attach(): BpfLink {
    const prog = this.#loaded;
    const k = this.object.kernel;
    if (!prog || !k)
      throw new ObjectError(EINVAL, `prog '${this.name}': can't attach BPF program without FD (was it loaded?)`);
    const kind = trampKind(prog);
    if (!kind || !prog.attach)
      throw new ObjectError(EOPNOTSUPP, `prog '${this.name}': no attach function for SEC("${this.secName}")`);
    const a = prog.attach;
    const target: TrampTarget =
      a.kind === "kernel"
        ? { kind: "kernel", name: a.funcName, addr: a.addr, model: a.model, btfObjId: a.btfObjId, btfId: a.btfId }
        : {
            kind: "prog",
            name: a.funcName,
            addr: a.target.jited.subprogs[a.subprog].bpfFunc,
            model: a.model,
            progId: a.target.id,
            btfId: a.btfId,
          };
    const table = bpfSys(k).trampolines;
    let tramp: BpfTrampLink;
    try {
      tramp = k.runKthread("attach", (task) => bpfTracingProgAttach(table, task, prog.trampProg(), kind, target));
    } catch (err) {
      const errno = err instanceof BpfError ? err.errno : EINVAL;
      // libbpf's line, then what the kernel side refused (libbpf only sees the errno).
      const reason = err instanceof Error ? `: ${err.message}` : "";
      throw new ObjectError(errno, `prog '${this.name}': failed to attach: ${errStr(errno)}${reason}`, { cause: err });
    }
    const link = new BpfLink(this, tramp);
    this.object.rememberLink(link);
    return link;
  }

  /** bpf_prog_test_run_opts(). Throws BpfError with the syscall's errno. */
  testRun(opts: TestRunOpts = {}): TestRunResult {
    const prog = this.#loaded;
    const k = this.object.kernel;
    if (!prog || !k) throw new ObjectError(EINVAL, `prog '${this.name}': not loaded`);
    return bpfProgTestRun(k, prog, opts);
  }
}

export function trampKind(prog: BpfProg): TrampKind | undefined {
  if (prog.type === BPF_PROG_TYPE_EXT) return "freplace";
  if (prog.type !== BPF_PROG_TYPE_TRACING) return undefined;
  switch (prog.expectedAttachType) {
    case BPF_TRACE_FENTRY:
      return "fentry";
    case BPF_TRACE_FEXIT:
      return "fexit";
    case BPF_MODIFY_RETURN:
      return "fmod_ret";
    default:
      return undefined;
  }
}

/** A map of an object (struct bpf_map). */
export class BpfMapHandle {
  readonly model: ObjMap;
  /** The kernel map and its fd after load. */
  map: BpfMap | undefined;
  fd = -1;

  constructor(model: ObjMap) {
    this.model = model;
  }

  get name(): string {
    return this.model.name;
  }
}
