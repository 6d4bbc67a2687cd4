/**
 * BPF_PROG_LOAD (kernel/bpf/syscall.c bpf_prog_load, bpf_check_attach_target,
 * bpf_prog_select_runtime): name and license, the attach target of tracing
 * and extension programs, verification, JIT, struct bpf_prog, fd.
 *
 *   attr ─► name (≤ 15 of [A-Za-z0-9_.]) ─► license ─► attach target
 *        ─► bpf_check (runtime/bpf/verifier) ─► bpf_int_jit_compile (runtime/jit)
 *           with every function the verifier knows (jit_subprogs: also the
 *           exception callback nothing calls, or the hidden default one)
 *        ─► struct bpf_prog in kernel memory, registered for __bpf_prog_enter
 *        ─► fd
 *
 * Attach-target rules kept (with the kernel's messages, EINVAL unless
 * noted): "Tracing programs must provide btf_id", "attach_btf_id %u is not a
 * function", "The address of function %s cannot be found" (ENOENT),
 * fmod_ret only on functions that allow error injection ("%s() is not
 * modifiable") and never on BPF programs ("can't modify return codes of BPF
 * programs"), fentry/fexit/freplace not on exception callbacks, freplace
 * only of global functions ("%s() is not a global function"). As in
 * bpf_check_attach_target, these refusals are written to the verifier log.
 * kfuncs are allowed by the program's resolved type (an extension counts
 * as its target's type).
 */
import { EACCES, EINVAL, ENOENT } from "../errno.js";
import { BpfError } from "../errors.js";
import { bpfIntJitCompile, type JitEnv } from "../jit/jit.js";
import { btfCheckTypeMatch } from "./btf_type_match.js";
import { btfDistillFuncProto } from "../tramp/func_model.js";
import { BPF_HELPER_SERVICES, HELPER_SERVICE_BASE } from "../bpf/service_decls.js";
import type { Btf } from "../bpf/btf/btf.js";
import type { Insn } from "../bpf/insn.js";
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../bpf/opcodes.js";
import { ArrayMap } from "../bpf/maps/array.js";
import {
  BPF_MODIFY_RETURN,
  BPF_PROG_TYPE_EXT,
  BPF_PROG_TYPE_TRACING,
  BPF_TRACE_FENTRY,
  BPF_TRACE_FEXIT,
  BPF_TRACE_RAW_TP,
  BPF_OBJ_NAME_LEN,
} from "../bpf/object/uapi.js";
import { bpfCheck } from "../bpf/verifier/verifier.js";
import { VerifierError } from "../bpf/verifier/log.js";
import type { AttachTarget, VerifierKfunc, VerifierLineInfo } from "../bpf/verifier/env.js";
import type { VerifierMap } from "../bpf/verifier/reg_state.js";
import type { BpfSys } from "./bpf_sys.js";
import { BpfProg, type ProgAttach, type ProgFunc } from "./prog.js";

/** union bpf_attr for BPF_PROG_LOAD (the fields this runtime uses). */
export interface ProgLoadAttr {
  readonly progType: number;
  readonly expectedAttachType: number;
  readonly insns: readonly Insn[];
  readonly license: string;
  /** prog_name (libbpf passes the function name, truncated to 15 characters). */
  readonly name: string;
  /** BPF_F_SLEEPABLE. */
  readonly sleepable?: boolean;
  /** Tracing programs on kernel functions: attach_btf_obj_fd's BTF object id and attach_btf_id. */
  readonly attachBtfObjId?: number;
  readonly attachBtfId?: number;
  /** fentry/fexit/freplace on a BPF program: its fd and the function's BTF id in its BTF. */
  readonly attachProgFd?: number;
  /** The program's BTF, func_info (as functions) and line_info. */
  readonly btf?: Btf;
  readonly funcs?: readonly (ProgFunc & { readonly declTags?: readonly string[] })[];
  readonly lineInfo?: readonly VerifierLineInfo[];
  readonly logLevel?: number;
  /** fd_array for kfunc calls: insn.off → BTF object id (index 0 is vmlinux). */
  readonly kfuncBtfObjIds?: readonly number[];
}

/** The result of a load: the program and the verifier log. */
export interface ProgLoadResult {
  readonly prog: BpfProg;
  readonly fd: number;
  readonly log: string;
}

const GPL_COMPATIBLE = new Set([
  "GPL",
  "GPL v2",
  "GPL and additional rights",
  "Dual BSD/GPL",
  "Dual MIT/GPL",
  "Dual MPL/GPL",
]);

/** license_is_gpl_compatible(). */
export function licenseIsGplCompatible(license: string): boolean {
  return GPL_COMPATIBLE.has(license);
}

/**
 * Kernel functions fmod_ret may attach to: the error-injection list of the
 * simulated kernel (ALLOW_ERROR_INJECTION and the bpf_test_modify_return set).
 */
export const MODIFY_RETURN_ALLOWED: ReadonlySet<string> = new Set([
  "bpf_modify_return_test",
  "bpf_modify_return_test2",
  "bpf_modify_return_test_tp",
  "bpf_fentry_test1",
  "bpf_testmod_test_read",
  "bpf_testmod_fentry_test1",
  "bpf_testmod_fentry_test2",
  "bpf_testmod_fentry_test3",
  "bpf_testmod_fentry_test7",
  "bpf_testmod_fentry_test11",
]);

function checkName(name: string): void {
  if (name.length >= BPF_OBJ_NAME_LEN || !/^[A-Za-z0-9_.]*$/.test(name)) {
    throw new BpfError(EINVAL, `invalid program name: ${JSON.stringify(name)}`);
  }
}

function funcProtoOf(btf: Btf, btfId: number, what: string) {
  const f = btf.types[btfId];
  if (!f || f.kind !== "func") throw new BpfError(EINVAL, `attach_btf_id ${btfId} is not a function`);
  const proto = btf.type(f.type);
  if (proto.kind !== "func_proto") throw new BpfError(EINVAL, `attach_btf_id ${btfId} is not a function`);
  return { name: f.name || what, func: f, proto };
}

/** bpf_check_attach_target(). */
function resolveAttach(sys: BpfSys, attr: ProgLoadAttr): ProgAttach | undefined {
  const tracing = attr.progType === BPF_PROG_TYPE_TRACING || attr.progType === BPF_PROG_TYPE_EXT;
  if (!tracing) return undefined;
  const eat = attr.expectedAttachType;
  if (attr.attachProgFd !== undefined) {
    const target = sys.prog(attr.attachProgFd);
    if (!target.btf) throw new BpfError(EINVAL, "Can't attach to a program without BTF");
    const { name, func, proto } = funcProtoOf(target.btf, attr.attachBtfId ?? 0, "");
    const isCb = target.verifier.subprogs.find((s) => s.name === name)?.isExceptionCb ?? false;
    if (attr.progType === BPF_PROG_TYPE_EXT) {
      if (isCb) throw new BpfError(EINVAL, "Extension programs cannot attach to exception callback");
      if (func.linkage !== "global") throw new BpfError(EINVAL, `${name}() is not a global function`);
      const main = attr.funcs?.find((f) => f.start === 0);
      if (!attr.btf || !main) throw new BpfError(EINVAL, "Program extension requires BTF");
      btfCheckTypeMatch({ btf: attr.btf, funcId: main.btfId }, { btf: target.btf, funcId: func.id });
    } else {
      if (eat === BPF_MODIFY_RETURN) throw new BpfError(EINVAL, "can't modify return codes of BPF programs");
      if (isCb && (eat === BPF_TRACE_FENTRY || eat === BPF_TRACE_FEXIT)) {
        throw new BpfError(EINVAL, "FENTRY/FEXIT programs cannot attach to exception callback");
      }
    }
    const subprog = target.subprogIndex(name);
    if (subprog === undefined) throw new BpfError(EINVAL, `Subprog ${name} doesn't exist`);
    const model = btfDistillFuncProto(target.btf, name);
    return { kind: "prog", funcName: name, target, subprog, btfId: func.id, proto, model };
  }
  if (attr.progType === BPF_PROG_TYPE_EXT) throw new BpfError(EINVAL, "Program extension requires a target program");
  if (!attr.attachBtfId) throw new BpfError(EINVAL, "Tracing programs must provide btf_id");
  const obj = sys.btfObject(attr.attachBtfObjId ?? 1);
  if (!obj) throw new BpfError(EINVAL, `no kernel BTF object with id ${attr.attachBtfObjId ?? 1}`);
  const { name, proto } = funcProtoOf(obj.btf, attr.attachBtfId, "");
  if (eat === BPF_TRACE_RAW_TP) throw new BpfError(EINVAL, "tp_btf programs are not supported by this runtime");
  let addr: bigint;
  try {
    addr = sys.k.symbolAddress(name);
  } catch {
    throw new BpfError(ENOENT, `The address of function ${name} cannot be found`);
  }
  if (eat === BPF_MODIFY_RETURN && !MODIFY_RETURN_ALLOWED.has(name) && !name.startsWith("security_")) {
    throw new BpfError(EINVAL, `${name}() is not modifiable`);
  }
  const model = btfDistillFuncProto(obj.btf, name, { aligns: sys.abiAligns(obj.objId) });
  return {
    kind: "kernel",
    funcName: name,
    addr,
    btf: obj.btf,
    btfObjId: obj.objId,
    btfId: attr.attachBtfId,
    proto,
    model,
  };
}

function verifierMap(sys: BpfSys, fd: number): VerifierMap | undefined {
  const m = sys.findMap(fd);
  if (!m) return undefined;
  return {
    fd,
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
    name: m.name,
    btf: m.btf,
    btfValueTypeId: m.btf ? m.btfValueTypeId : undefined,
  };
}

/** add_kfunc_call(): the kfunc an instruction names. */
function kfuncOf(
  sys: BpfSys,
  attr: ProgLoadAttr & { readonly resolvedProgType: number },
  btfId: number,
  off: number,
): (VerifierKfunc & { objId: number }) | undefined {
  const objId = off === 0 ? 1 : attr.kfuncBtfObjIds?.[off];
  if (objId === undefined) return undefined;
  const obj = sys.btfObject(objId);
  const f = obj?.btf.types[btfId];
  if (!obj || !f || f.kind !== "func") return undefined;
  const proto = obj.btf.type(f.type);
  if (proto.kind !== "func_proto") return undefined;
  const def = sys.kfuncs.get(f.name);
  return {
    name: f.name,
    btf: obj.btf,
    btfId,
    proto,
    // btf_kfunc_id_set_contains(resolve_prog_type(prog)): an extension counts as its target's type.
    allowed: def !== undefined && (def.progTypes === undefined || def.progTypes.includes(attr.resolvedProgType)),
    flags: { sleepable: def?.sleepable, destructive: def?.destructive },
    objId,
  };
}

/** The helper stubs by id (bpf_jit_get_func_addr for helpers). */
function helperAddr(sys: BpfSys, id: number): bigint {
  const decl = BPF_HELPER_SERVICES.find((d) => d.nr === HELPER_SERVICE_BASE + id);
  if (!decl) throw new BpfError(EINVAL, `helper ${id} has no kernel function in this runtime`);
  return sys.k.symbolAddress(decl.name);
}

/** The value of a map / BTF ld_imm64 (resolve_pseudo_ldimm64). */
function pseudoLd(sys: BpfSys, first: Insn, second: Insn): bigint {
  if (first.src === BPF_PSEUDO_MAP_FD) return sys.map(first.imm).addr;
  if (first.src === BPF_PSEUDO_MAP_VALUE) {
    const m = sys.map(first.imm);
    if (!(m instanceof ArrayMap) || m.percpu) throw new BpfError(EINVAL, `map '${m.name}' has no direct value access`);
    return m.elemAddr(0) + BigInt(second.imm >>> 0);
  }
  if (first.src === BPF_PSEUDO_BTF_ID) throw new BpfError(EINVAL, "ksym variables are not supported by this runtime");
  throw new BpfError(EINVAL, `ld_imm64 source ${first.src} is not supported`);
}

/**
 * check_attach_btf_id(): bpf_check_attach_target() writes its refusals
 * ("FENTRY/FEXIT programs cannot attach to exception callback", ...) into
 * the verifier log; they come back as a VerifierError whose log has the
 * message, with the same errno.
 */
function checkAttachBtfId(sys: BpfSys, attr: ProgLoadAttr): ProgAttach | undefined {
  try {
    return resolveAttach(sys, attr);
  } catch (err) {
    if (!(err instanceof BpfError) || err instanceof VerifierError) throw err;
    throw new VerifierError(err.message, { errno: err.errno, log: `${err.message}\n`, cause: err });
  }
}

/** BPF_PROG_LOAD: verify and JIT `attr`, return the program and its fd. */
export function bpfProgLoad(sys: BpfSys, attr: ProgLoadAttr): ProgLoadResult {
  checkName(attr.name);
  const attach = checkAttachBtfId(sys, attr);
  const verifierAttach: AttachTarget | undefined = attach
    ? {
        funcName: attach.funcName,
        btf: attach.kind === "kernel" ? attach.btf : attach.target.btf!,
        proto: attach.proto,
        isProg: attach.kind === "prog",
      }
    : undefined;
  const kfuncs = new Map<string, VerifierKfunc & { objId: number }>();
  const result = bpfCheck({
    insns: attr.insns,
    progType: attr.progType,
    expectedAttachType: attr.expectedAttachType,
    progName: attr.name,
    sleepable: attr.sleepable,
    gplCompatible: licenseIsGplCompatible(attr.license),
    btf: attr.btf,
    funcs: attr.funcs,
    lineInfo: attr.lineInfo,
    attach: verifierAttach,
    extTargetProgType: attach?.kind === "prog" ? attach.target.type : undefined,
    map: (fd) => verifierMap(sys, fd),
    kfunc: (btfId, off) => {
      const resolvedProgType =
        attach?.kind === "prog" && attr.progType === BPF_PROG_TYPE_EXT ? attach.target.type : attr.progType;
      const k = kfuncOf(sys, { ...attr, resolvedProgType }, btfId, off);
      if (k) kfuncs.set(`${btfId}:${off}`, k);
      return k;
    },
    logLevel: attr.logLevel,
  });
  const env: JitEnv = {
    kernel: sys.k,
    helper: (id) => helperAddr(sys, id),
    kfunc: (btfId, off) => {
      const k = kfuncs.get(`${btfId}:${off}`);
      if (!k) throw new BpfError(EACCES, `kfunc btf_id ${btfId} was not verified`);
      return sys.k.symbolAddress(k.name);
    },
    pseudoLd: (first, second) => pseudoLd(sys, first, second),
  };
  // Every function the verifier knows (jit_subprogs): also the exception
  // callback nothing calls and the hidden default one.
  const funcs = result.subprogs;
  const cbIdx = funcs.findIndex((s) => s.isExceptionCb);
  const jited = bpfIntJitCompile(
    {
      insns: result.insns,
      name: attr.name,
      funcStarts: funcs.map((s) => s.start),
      stackDepth: funcs.map((s) => s.stackDepth),
      incomingStackArgDepth: funcs.map((s) => s.incomingStackArgDepth),
      stackArgDepth: funcs.map((s) => s.stackArgDepth),
      exceptionBoundary: result.exceptionBoundary,
      exceptionCb: cbIdx > 0 ? cbIdx : undefined,
      probeMem: result.probeMem,
      funcNames: funcs.map((s, i) => (i === 0 ? attr.name : s.name.slice(0, BPF_OBJ_NAME_LEN - 1))),
    },
    env,
  );
  const prog = new BpfProg(sys.k, {
    name: attr.name,
    type: attr.progType,
    expectedAttachType: attr.expectedAttachType,
    sleepable: attr.sleepable ?? false,
    origInsns: attr.insns,
    verifier: result,
    jited,
    attach,
    btf: attr.btf,
    funcs: (attr.funcs ?? []).map((f) => ({
      ...f,
      start: result.subprogs.find((s) => s.name === f.name)?.start ?? f.start,
    })),
  });
  const fd = sys.progInstall(prog);
  prog.fd = fd;
  return { prog, fd, log: result.log };
}
