/**
 * bpf_check() (kernel/bpf/verifier.c): the order of the passes and the
 * result the loader and the JIT use.
 *
 *   ld_imm64 shape ─► check_subprogs ─► exception callback (decl tag)
 *     ─► check_cfg (reachability from insn 0 and the callback)
 *     ─► do_check: the main program from insn 0 (R1 = ctx), then every
 *        global function and the exception callback on its own (arguments
 *        from its BTF; the callback's prototype checked)
 *     ─► check_max_stack_depth (combined stack of a call chain ≤ 512,
 *        sync callbacks counted on their caller's chain, async ones as roots;
 *        no bpf_throw under a callback)
 *     ─► convert_ctx_accesses, do_misc_fixups (+ the hidden default
 *        exception callback when the program throws and names none)
 *
 * The exception rules are in exceptions.ts.
 *     ─► "processed N insns (limit 1000000) ..." in the log
 *
 * Failures throw a VerifierError: the kernel's message as `reason`, the
 * rejected instruction in the message, the log (level 1 or the level asked
 * for) in `log`, errno EINVAL / EACCES / E2BIG as the kernel returns.
 *
 * What is and is not checked is listed in ARCHITECTURE.md ("Verifier").
 */
import { EACCES, EINVAL } from "../../errno.js";
import { formatInsnWithCode } from "../format.js";
import type { Insn } from "../insn.js";
import { BPF_COMPLEXITY_LIMIT_INSNS, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, MAX_BPF_STACK, opInfo } from "../opcodes.js";
import { BPF_PROG_TYPE_EXT } from "../object/uapi.js";
import { checkCfg, checkSubprogs, CfgError, ldImm64Halves } from "./cfg.js";
import { Reject, type Checker, type InsnAux } from "./checker.js";
import { doCheck, mainEntryRegs, type CheckStats } from "./do_check.js";
import type { SubprogInfo, VerifierInput, VerifierResult } from "./env.js";
import {
  addDefaultExceptionCb,
  btfPrepareFuncArgs,
  checkExceptionCbProto,
  checkThrowInCallback,
  findExceptionCb,
} from "./exceptions.js";
import { subprogEffects } from "./effects.js";
import { convertCtxAccesses, doMiscFixups, type Patchable } from "./fixups.js";
import { BPF_LOG_LEVEL1, VerifierError, VerifierLog } from "./log.js";
import { fixupObjKfuncCalls } from "./references.js";
import { pointer, UNKNOWN_SCALAR } from "./reg_state.js";
import { initSubprogStackArgs } from "./stack_args.js";
import { newFuncState, newVerifierState, type VerifierState } from "./state.js";

function subprogInfos(input: VerifierInput, starts: readonly number[]): SubprogInfo[] {
  return starts.map((start, i) => {
    const f = input.funcs?.find((x) => x.start === start);
    return {
      start,
      stackDepth: 0,
      name: f?.name ?? (i === 0 ? input.progName : `F${i}`),
      global: i > 0 && (f?.global ?? false),
      isExceptionCb: false,
      incomingStackArgDepth: 0,
      stackArgDepth: 0,
    };
  });
}

/** The entry state of a global function: arguments from its BTF (btf_prepare_func_args). */
function globalEntryState(input: VerifierInput, sp: SubprogInfo): VerifierState {
  const frame = newFuncState(0, -1, sp.start);
  frame.regs[10] = pointer("fp", { frameno: 0 });
  const f = input.funcs?.find((x) => x.start === sp.start);
  const btf = input.btf;
  const func = f && btf ? btf.type(f.btfId) : undefined;
  const proto = func?.kind === "func" && btf ? btf.type(func.type) : undefined;
  if (proto?.kind === "func_proto" && btf) {
    proto.params.forEach((p, i) => {
      if (i >= 5) return;
      const t = btf.resolved(p.type);
      if (t.kind === "ptr") {
        const pointee = btf.resolved(t.type);
        const isCtx =
          pointee.kind === "struct" &&
          ["__sk_buff", "xdp_md", "pt_regs", "bpf_raw_tracepoint_args"].includes(pointee.name);
        frame.regs[i + 1] = isCtx
          ? pointer("ctx")
          : pointer("mem", {
              maybeNull: true,
              id: 1000 + i,
              memSize: pointee.kind === "void" ? 0 : btf.sizeof(pointee.id),
            });
      } else {
        frame.regs[i + 1] = UNKNOWN_SCALAR;
      }
    });
  } else {
    frame.regs[1] = pointer("ctx");
  }
  return newVerifierState([frame]);
}

/**
 * Static callees of each subprogram: bpf-to-bpf calls, and the callbacks
 * whose address it takes unless they are async (those run on their own
 * stack and are roots of their own).
 */
function callGraph(insns: VerifierInput["insns"], subprogs: SubprogInfo[]): number[][] {
  const idxOf = (start: number) => subprogs.findIndex((s) => s.start === start);
  return subprogs.map((sp, s) => {
    const end = s + 1 < subprogs.length ? subprogs[s + 1].start : insns.length;
    const out: number[] = [];
    for (let i = sp.start; i < end; i++) {
      const insn = insns[i];
      const kind = opInfo(insn.code).kind;
      if (kind === "call" && insn.src === BPF_PSEUDO_CALL) out.push(idxOf(i + 1 + insn.imm));
      if (kind === "ldimm64") {
        const callee = insn.src === BPF_PSEUDO_FUNC ? idxOf(i + 1 + insn.imm) : -1;
        if (callee >= 0 && !subprogs[callee].isAsyncCb) out.push(callee);
        i++;
      }
    }
    return out;
  });
}

/**
 * check_max_stack_depth(): the deepest call chain from each root (main,
 * global functions, the exception callback), and no bpf_throw under a
 * callback (checkThrowInCallback).
 */
function checkMaxStackDepth(c: Checker): void {
  const { insns, subprogs } = c;
  const graph = callGraph(insns, subprogs);
  const isThrow = (insn: Insn) => c.input.kfunc?.(insn.imm, insn.off)?.name === "bpf_throw";
  const round = (d: number) => Math.ceil(Math.max(d, 0) / 16) * 16;
  const walk = (s: number, depth: number, chain: number[]): void => {
    checkThrowInCallback(insns, subprogs, { idx: s, chain, isThrow });
    const d = depth + round(subprogs[s].stackDepth);
    if (d > MAX_BPF_STACK)
      throw new Reject(`combined stack size of ${chain.length + 1} calls is ${d}. Too large`, EACCES);
    for (const callee of graph[s]) {
      if (callee < 0 || callee === s || chain.includes(callee)) continue;
      walk(callee, d, [...chain, s]);
    }
  };
  subprogs.forEach((sp, s) => {
    if (s === 0 || sp.global || sp.isExceptionCb || sp.isAsyncCb) walk(s, 0, []);
  });
}

function statsLine(stats: CheckStats): string {
  return (
    `processed ${stats.insnProcessed} insns (limit ${BPF_COMPLEXITY_LIMIT_INSNS}) ` +
    `max_states_per_insn ${stats.maxStatesPerInsn} total_states ${stats.totalStates} ` +
    `peak_states ${stats.totalStates} mark_read 0\n`
  );
}

/**
 * bpf_check(): verify `input` and return the rewritten program, or throw a
 * VerifierError with the kernel's message and the log.
 */
export function bpfCheck(input: VerifierInput): VerifierResult {
  const requested = input.logLevel ?? 0;
  const log = new VerifierLog(requested & 3 ? requested : requested | BPF_LOG_LEVEL1);
  const insns = input.insns.slice();
  const stats: CheckStats = { insnProcessed: 0, totalStates: 0, peakStates: 0, maxStatesPerInsn: 0 };
  const aux: InsnAux[] = insns.map(() => ({ seen: false }));
  let c: Checker | undefined;
  try {
    if (insns.length === 0) throw new Reject("empty program", EINVAL);
    if (insns.length > BPF_COMPLEXITY_LIMIT_INSNS) throw new Reject(`program too large: ${insns.length} insns`, EINVAL);
    const second = ldImm64Halves(insns);
    const cb = findExceptionCb(input);
    const starts = checkSubprogs(insns, second, cb === undefined ? [] : [cb]);
    const subprogs = subprogInfos(input, starts);
    if (cb !== undefined) subprogs.find((s) => s.start === cb)!.isExceptionCb = true;
    initSubprogStackArgs(input, subprogs);
    checkCfg(insns, second, cb === undefined ? [0] : [0, cb]);
    const progType =
      input.progType === BPF_PROG_TYPE_EXT ? (input.extTargetProgType ?? input.progType) : input.progType;
    c = {
      input,
      insns,
      log,
      subprogs,
      aux,
      progType,
      cur: newVerifierState([]),
      insnIdx: 0,
      nextId: 0,
      callGetFuncIp: false,
      exceptionBoundary: false,
      root: "main",
      usedMaps: new Set(),
      scratched: new Set(),
      effects: subprogEffects(insns, subprogs, (x) => input.kfunc?.(x.imm, x.off)),
      pushBranch: () => {
        throw new Error("push_stack outside do_check");
      },
    };
    const main = newFuncState(0, -1, 0);
    main.regs = mainEntryRegs();
    doCheck(c, 0, newVerifierState([main]), stats);
    for (const sp of subprogs) {
      if (sp.start === 0 || !(sp.global || sp.isExceptionCb)) continue;
      log.line(`Validating ${sp.name}() func#${subprogs.indexOf(sp)}...`);
      c.insnIdx = sp.start;
      const args = btfPrepareFuncArgs(
        input.btf,
        input.funcs?.find((f) => f.start === sp.start),
      );
      if (sp.isExceptionCb) checkExceptionCbProto(args);
      c.root = sp.isExceptionCb ? "exception_cb" : "global";
      doCheck(c, sp.start, globalEntryState(input, sp), stats);
    }
    c.root = "main";
    c.insnIdx = 0;
    checkMaxStackDepth(c);
  } catch (err) {
    if (err instanceof Reject || err instanceof CfgError) {
      const idx = err instanceof Reject ? err.insnIdx : err.insnIdx;
      const errno = err instanceof Reject ? err.errno : EINVAL;
      log.always(`${err.message}\n`);
      log.always(statsLine(stats));
      const text = idx !== undefined && idx >= 0 && idx < insns.length ? safeText(input, idx) : undefined;
      throw new VerifierError(err.message, { errno, log: log.text, insnIdx: idx, insnText: text });
    }
    throw err;
  }
  const p: Patchable = {
    insns,
    aux,
    lineInfo: [...(input.lineInfo ?? [])],
    subprogStarts: c.subprogs.map((s) => s.start),
  };
  convertCtxAccesses(p);
  fixupObjKfuncCalls(p);
  doMiscFixups(p, { progType: input.progType, expectedAttachType: input.expectedAttachType });
  const subprogs = c.subprogs.map((s, i) => ({ ...s, start: p.subprogStarts[i] }));
  // The default exception callback: a program that may throw and names none returns the cookie.
  if (c.exceptionBoundary && !subprogs.some((s) => s.isExceptionCb)) subprogs.push(addDefaultExceptionCb(p));
  log.write(statsLine(stats));
  return {
    insns: p.insns,
    subprogs,
    log: requested ? log.text : "",
    insnProcessed: stats.insnProcessed,
    callGetFuncIp: c.callGetFuncIp,
    probeMem: p.aux.flatMap((a, i) => (a.probeMem ? [i] : [])),
    usedMaps: [...c.usedMaps],
    lineInfo: p.lineInfo,
    exceptionBoundary: c.exceptionBoundary,
  };
}

function safeText(input: VerifierInput, idx: number): string {
  try {
    return formatInsnWithCode(input.insns, idx, { kfuncName: (x) => input.kfunc?.(x.imm, x.off)?.name });
  } catch {
    return `(${input.insns[idx].code.toString(16)})`;
  }
}
