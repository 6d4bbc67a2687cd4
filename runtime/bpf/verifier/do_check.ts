/**
 * The abstract interpreter (kernel/bpf/verifier.c do_check, push_stack,
 * pop_stack, is_state_visited): every path of the program is walked with
 * register and stack types; branches whose outcome is known are not
 * followed; states at prune points (jump targets, after calls) are kept
 * and a state covered by a kept one ends its path.
 *
 *   pending ◄── push (the other side of a branch) ──┐
 *     │ pop: log "from A to B: <state>"             │
 *     ▼                                             │
 *   insn ──► prune point? ─ covered by a finished state ──► path ends
 *     │           ├ identical to one still in progress ──► "infinite loop detected at insn %d"
 *     │           └ covered by one still in progress ──► keep going (kernel: miss)
 *     ▼
 *   check (alu / mem / jmp / call / exit) ─ jcond ───┘
 *     │
 *   exit of the main frame ──► path ends
 *
 * Loops: a loop head seen more than WIDEN_AFTER times widens the constant
 * scalars that keep changing to unknown ones, so bounded loops converge
 * (the kernel gets the same effect from precision tracking). More than
 * BPF_COMPLEXITY_LIMIT_INSNS processed instructions is E2BIG.
 */
import { E2BIG, EINVAL } from "../../errno.js";
import { formatInsnWithCode } from "../format.js";
import type { Insn } from "../insn.js";
import {
  BPF_COMPLEXITY_LIMIT_INSNS,
  BPF_CMPXCHG,
  BPF_FETCH,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
  MAX_BPF_REG,
  opInfo,
} from "../opcodes.js";
import { BPF_PROG_TYPE_SCHED_ACT, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SOCKET_FILTER } from "../object/uapi.js";
import { stackArgAccess } from "../stack_arg.js";
import { BPF_FUNC_loop } from "../func_ids.js";
import { checkAlu, checkCondJmp, checkEndian, refineBranch } from "./alu_jmp.js";
import { isCallbackCallingHelper } from "./callbacks.js";
import { checkExit, checkFuncCall, checkHelperCall, checkKfuncCall } from "./calls.js";
import { checkDst, checkSrc, regs, reject, setReg, type Checker } from "./checker.js";
import { checkMapProgCompatibility } from "./map_fields.js";
import { checkMemAccess } from "./mem.js";
import { checkResourceLeak } from "./resources.js";
import { checkCallUnderLock } from "./spin_lock.js";
import { checkStackArgRead, checkStackArgWrite } from "./stack_args.js";
import { constScalar, formatReg, NOT_INIT, pointer, UNKNOWN_SCALAR, type RegState } from "./reg_state.js";
import { cloneState, curFrame, statesEqual, updateBranchCounts, type SavedState, type VerifierState } from "./state.js";

/** A loop head visited this many times starts widening. */
const WIDEN_AFTER = 24;
/** States kept per instruction. */
const MAX_STATES_PER_INSN = 64;

interface Pending {
  state: VerifierState;
  insn: number;
  from: number;
}

/** The statistics do_check keeps for the summary line. */
export interface CheckStats {
  insnProcessed: number;
  totalStates: number;
  peakStates: number;
  maxStatesPerInsn: number;
}

/** Helpers that call a BPF callback and come back to their call at its exit (calls_callback). */
const CALLBACK_CALLING_HELPERS: readonly number[] = [BPF_FUNC_loop];

/**
 * Prune points: jump targets, the instructions after jumps and calls, and
 * the callback-calling calls themselves (marked 2: a covering state there,
 * even one still in progress, ends the path).
 */
function pruneTargets(insns: readonly Insn[]): Uint8Array {
  const p = new Uint8Array(insns.length + 1);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    const info = opInfo(insn.code);
    if (info.kind === "jcond") {
      p[i + 1] = 1;
      p[i + 1 + insn.off] = 1;
    } else if (info.kind === "ja") {
      p[i + 1 + (info.width === 64 ? insn.off : insn.imm)] = 1;
    } else if (info.kind === "call") {
      p[i + 1] = 1;
      if (isCallbackCallingHelper(insn, CALLBACK_CALLING_HELPERS)) p[i] = 2;
    } else if (info.kind === "ldimm64") {
      i++;
    }
  }
  return p;
}

/** print_verifier_state(): "R1=ctx() R10=fp0 fp-8=..." */
export function formatState(state: VerifierState, only?: ReadonlySet<number>): string {
  const f = curFrame(state);
  const parts: string[] = [];
  for (let r = 0; r < MAX_BPF_REG; r++) {
    const reg = f.regs[r];
    if (reg.type === "not_init" || (only && !only.has(r))) continue;
    parts.push(`R${r}${reg.written && only ? "_w" : ""}=${formatReg(reg)}`);
  }
  if (!only) {
    for (const [k, s] of [...f.stack.entries()].sort((a, b) => a[0] - b[0])) {
      const name = `fp${-(k + 1) * 8}`;
      if (s.kind === "spill") parts.push(`${name}=${formatReg(s.reg)}`);
      else parts.push(`${name}=${s.kind === "zero" ? "00000000" : s.kind === "irq_flag" ? "ffffffff" : "mmmmmmmm"}`);
    }
  }
  return parts.join(" ");
}

function sourceLine(c: Checker, idx: number, last: { line?: string }): void {
  const li = c.input.lineInfo?.find((l) => l.insnOff === idx);
  if (!li) return;
  const text = `; ${li.line.trim()} @ ${li.fileName.split("/").pop()}:${li.lineNum}`;
  if (text !== last.line) c.log.line(text);
  last.line = text;
}

/** Widen constants that differ from a kept state at the same loop head. */
function widen(cur: VerifierState, old: VerifierState): void {
  if (old.frames.length !== cur.frames.length) return;
  cur.frames.forEach((f, fi) => {
    const o = old.frames[fi];
    f.regs = f.regs.map((r, i) => {
      const p = o.regs[i];
      return r.type === "scalar" && p.type === "scalar" && r.value !== p.value ? UNKNOWN_SCALAR : r;
    });
    for (const [k, s] of f.stack) {
      const p = o.stack.get(k);
      if (
        s.kind === "spill" &&
        s.reg.type === "scalar" &&
        p?.kind === "spill" &&
        p.reg.type === "scalar" &&
        p.reg.value !== s.reg.value
      ) {
        f.stack.set(k, { kind: "spill", reg: UNKNOWN_SCALAR });
      }
    }
  });
}

/** ld_imm64 (check_ld_imm). */
function checkLdImm64(c: Checker, insn: Insn, next: Insn): void {
  checkDst(c, insn.dst);
  const full = (BigInt(next.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
  switch (insn.src) {
    case 0:
      setReg(c, insn.dst, constScalar(full));
      return;
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_VALUE: {
      const map = c.input.map(insn.imm);
      if (!map) reject(c, `fd ${insn.imm} is not pointing to valid bpf_map`, EINVAL);
      c.usedMaps.add(map.fd);
      checkMapProgCompatibility(c, map);
      if (insn.src === BPF_PSEUDO_MAP_FD) {
        setReg(c, insn.dst, pointer("map_ptr", { map }));
        return;
      }
      if (next.imm < 0 || next.imm >= map.valueSize) {
        reject(c, `invalid access to map value pointer, value_size=${map.valueSize} off=${next.imm}`);
      }
      setReg(c, insn.dst, pointer("map_value", { map, off: next.imm }));
      return;
    }
    case BPF_PSEUDO_FUNC: {
      const target = c.insnIdx + insn.imm + 1;
      // check_ld_imm(): a callback must be a static function.
      if (c.subprogs.find((s) => s.start === target)?.global) reject(c, "callback function not static", EINVAL);
      setReg(c, insn.dst, pointer("func", { subprog: target }));
      return;
    }
    case BPF_PSEUDO_BTF_ID:
      setReg(c, insn.dst, pointer("mem", { memSize: 8 }));
      return;
    case BPF_PSEUDO_MAP_IDX:
    case BPF_PSEUDO_MAP_IDX_VALUE:
      reject(c, "BPF_PSEUDO_MAP_IDX needs an fd_array, which this loader does not pass", EINVAL);
      return;
    default:
      reject(c, "invalid bpf_ld_imm64 insn", EINVAL);
  }
}

/** LD_ABS / LD_IND (check_ld_abs). */
function checkLdAbs(c: Checker, insn: Insn): void {
  const t = c.progType;
  if (t !== BPF_PROG_TYPE_SCHED_CLS && t !== BPF_PROG_TYPE_SCHED_ACT && t !== BPF_PROG_TYPE_SOCKET_FILTER) {
    reject(c, "BPF_LD_[ABS|IND] instructions not allowed for this program type", EINVAL);
  }
  checkSrc(c, 6);
  // gen_ld_abs() may end the program at run time: nothing may be held (check_ld_abs).
  checkResourceLeak(c, { exceptionExit: false, checkLock: true, prefix: "BPF_LD_[ABS|IND]" });
  if (regs(c)[6].type !== "ctx") reject(c, "at the time of BPF_LD_ABS|IND R6 != pointer to skb", EINVAL);
  if (opInfo(insn.code).kind === "ldpkt" && (opInfo(insn.code) as { indirect: boolean }).indirect)
    checkSrc(c, insn.src);
  for (let r = 1; r <= 5; r++) setReg(c, r, NOT_INIT);
  setReg(c, 0, UNKNOWN_SCALAR);
}

/** One instruction. Returns the next instruction, "branch" info, or undefined when the path ends. */
function step(c: Checker, pending: Pending[]): number | undefined {
  const i = c.insnIdx;
  const insn = c.insns[i];
  const info = opInfo(insn.code);
  switch (info.kind) {
    case "invalid":
      reject(c, `unknown opcode ${insn.code.toString(16).padStart(2, "0")}`, EINVAL);
      return undefined;
    case "alu":
      if (info.x ? insn.imm !== 0 : insn.src !== 0) reject(c, `BPF_ALU uses reserved fields`, EINVAL);
      checkAlu(c, insn, info);
      return i + 1;
    case "end":
      if (insn.src !== 0 || insn.off !== 0 || ![16, 32, 64].includes(insn.imm))
        reject(c, "BPF_END uses reserved fields", EINVAL);
      checkEndian(c, insn, info.order);
      return i + 1;
    case "ldimm64": {
      if (insn.off !== 0) reject(c, "invalid bpf_ld_imm64 insn", EINVAL);
      checkLdImm64(c, insn, c.insns[i + 1]);
      return i + 2;
    }
    case "ldpkt":
      checkLdAbs(c, insn);
      return i + 1;
    case "ldx": {
      if (insn.imm !== 0) reject(c, "BPF_LDX uses reserved fields", EINVAL);
      const sa = stackArgAccess(insn);
      if (sa) {
        checkDst(c, insn.dst);
        setReg(c, insn.dst, checkStackArgRead(c, sa));
        return i + 1;
      }
      checkSrc(c, insn.src);
      checkDst(c, insn.dst);
      let v = checkMemAccess(c, { regno: insn.src, insnOff: insn.off, size: info.size, write: false });
      if (v.type === "scalar" && v.value !== undefined && info.size < 8) {
        const bits = BigInt(info.size * 8);
        const lo = v.value & ((1n << bits) - 1n);
        v = constScalar(info.signed ? BigInt.asIntN(Number(bits), lo) : lo);
      } else if (info.size < 8 && v.type !== "scalar") {
        v = c.aux[i].ctxConvert ? v : UNKNOWN_SCALAR;
      }
      setReg(c, insn.dst, v);
      return i + 1;
    }
    case "st": {
      if (insn.src !== 0) reject(c, "BPF_ST uses reserved fields", EINVAL);
      const sa = stackArgAccess(insn);
      if (sa) {
        checkStackArgWrite(c, sa, { imm: insn.imm });
        return i + 1;
      }
      checkSrc(c, insn.dst);
      checkMemAccess(c, {
        regno: insn.dst,
        insnOff: insn.off,
        size: info.size,
        write: true,
        value: { imm: BigInt(insn.imm) },
      });
      return i + 1;
    }
    case "stx":
      if (insn.imm !== 0) reject(c, "BPF_STX uses reserved fields", EINVAL);
      if (stackArgAccess(insn)) {
        checkStackArgWrite(c, stackArgAccess(insn)!, { reg: checkSrc(c, insn.src) });
        return i + 1;
      }
      {
        const v = checkSrc(c, insn.src);
        checkSrc(c, insn.dst);
        checkMemAccess(c, { regno: insn.dst, insnOff: insn.off, size: info.size, write: true, value: { reg: v } });
      }
      return i + 1;
    case "atomic": {
      checkSrc(c, insn.src);
      checkSrc(c, insn.dst);
      if (insn.imm === BPF_CMPXCHG) checkSrc(c, 0);
      checkMemAccess(c, { regno: insn.dst, insnOff: insn.off, size: info.size, write: false, atomic: true });
      checkMemAccess(c, { regno: insn.dst, insnOff: insn.off, size: info.size, write: true, atomic: true });
      if (insn.imm === BPF_CMPXCHG) setReg(c, 0, UNKNOWN_SCALAR);
      else if (insn.imm & BPF_FETCH) {
        checkDst(c, insn.src);
        setReg(c, insn.src, UNKNOWN_SCALAR);
      }
      return i + 1;
    }
    case "ja":
      if (insn.dst !== 0 || insn.src !== 0 || (info.width === 64 ? insn.imm !== 0 : insn.off !== 0)) {
        reject(c, "BPF_JA uses reserved fields", EINVAL);
      }
      return i + 1 + (info.width === 64 ? insn.off : insn.imm);
    case "jcond": {
      if (info.x ? insn.imm !== 0 : insn.src !== 0) reject(c, "BPF_JMP/JMP32 uses reserved fields", EINVAL);
      const ops = checkCondJmp(c, insn, info);
      const target = i + 1 + insn.off;
      if (ops.taken === true) return target;
      if (ops.taken === false) return i + 1;
      const other = cloneState(c.cur);
      refineBranch(other, insn, info, true, ops);
      refineBranch(c.cur, insn, info, false, ops);
      if (other.parent) other.parent.branches++;
      pending.push({ state: other, insn: target, from: i });
      return i + 1;
    }
    case "call":
      if (insn.dst !== 0 || (insn.src !== BPF_PSEUDO_KFUNC_CALL && insn.off !== 0)) {
        reject(c, "BPF_CALL uses reserved fields", EINVAL);
      }
      checkCallUnderLock(c, insn);
      if (insn.src === BPF_PSEUDO_CALL) return checkFuncCall(c, insn);
      if (insn.src === BPF_PSEUDO_KFUNC_CALL) return checkKfuncCall(c, insn) ? undefined : i + 1;
      checkHelperCall(c, insn);
      return i + 1;
    case "exit":
      if (insn.dst !== 0 || insn.src !== 0 || insn.off !== 0 || insn.imm !== 0)
        reject(c, "BPF_EXIT uses reserved fields", EINVAL);
      return checkExit(c);
  }
}

/**
 * do_check_common(): explore every path from `start` with `init` as the
 * first state. Throws Reject on the first violation.
 */
export function doCheck(c: Checker, start: number, init: VerifierState, stats: CheckStats): void {
  const prune = pruneTargets(c.insns);
  const explored = new Map<number, SavedState[]>();
  const visits = new Map<number, number>();
  // Loop heads whose states were widened: equal states there mean convergence, not a loop without progress.
  const widened = new Set<number>();
  const pending: Pending[] = [];
  const last: { line?: string } = {};
  c.pushBranch = (state, insn) => {
    if (state.parent) state.parent.branches++;
    pending.push({ state, insn, from: c.insnIdx });
  };
  c.cur = init;
  c.insnIdx = start;
  c.log.line(`${start}: ${formatState(init)}`);
  for (;;) {
    const i = c.insnIdx;
    if (prune[i]) {
      const list = explored.get(i) ?? [];
      let pruned = false;
      for (const s of list) {
        if (!statesEqual(s.state, c.cur)) continue;
        if (s.branches > 0 && prune[i] !== 2) {
          // Still being explored (an ancestor on this path): an identical state is a
          // loop without progress, unless the loop head was widened (convergence).
          if (!statesEqual(s.state, c.cur, true)) continue;
          if (s.state.callbackUnrollDepth !== c.cur.callbackUnrollDepth) continue;
          if (!widened.has(i)) {
            sourceLine(c, i, last);
            reject(c, `infinite loop detected at insn ${i}`, EINVAL);
          }
        }
        pruned = true;
        break;
      }
      if (pruned) {
        c.log.line(`${i}: safe`);
        updateBranchCounts(c.cur.parent);
        if (!popPending(c, pending)) return;
        continue;
      }
      const n = (visits.get(i) ?? 0) + 1;
      visits.set(i, n);
      if (n > WIDEN_AFTER && list.length > 0) {
        widen(c.cur, list[list.length - 1].state);
        widened.add(i);
      }
      const saved: SavedState = { state: cloneState(c.cur), branches: 1, parent: c.cur.parent, insnIdx: i };
      c.cur.parent = saved;
      list.push(saved);
      if (list.length > MAX_STATES_PER_INSN) {
        const idx = list.findIndex((s) => s.branches === 0);
        if (idx >= 0) list.splice(idx, 1);
      }
      explored.set(i, list);
      stats.totalStates++;
      stats.maxStatesPerInsn = Math.max(stats.maxStatesPerInsn, list.length);
    }
    if (++stats.insnProcessed > BPF_COMPLEXITY_LIMIT_INSNS) {
      reject(c, `BPF program is too large. Processed ${stats.insnProcessed} insn`, E2BIG);
    }
    c.aux[i].seen = true;
    sourceLine(c, i, last);
    c.scratched = new Set();
    const text = `${i}: ${formatInsnWithCode(c.insns, i, { kfuncName: (x) => c.input.kfunc?.(x.imm, x.off)?.name })}`;
    c.log.line(text);
    const mark = c.log.length;
    let next: number | undefined;
    try {
      next = step(c, pending);
    } finally {
      if (c.log.level2) {
        const st = formatState(c.cur, c.scratched);
        if (st) c.log.appendAfter(mark, st, 40);
      }
    }
    if (next === undefined) {
      updateBranchCounts(c.cur.parent);
      if (!popPending(c, pending)) return;
      continue;
    }
    c.insnIdx = next;
  }
}

function popPending(c: Checker, pending: Pending[]): boolean {
  const p = pending.pop();
  if (!p) return false;
  c.cur = p.state;
  c.insnIdx = p.insn;
  c.log.line(`from ${p.from} to ${p.insn}: ${formatState(p.state)}`);
  return true;
}

/** The registers a main program starts with: R1 = ctx, R10 = fp. */
export function mainEntryRegs(): RegState[] {
  const r: RegState[] = Array.from({ length: MAX_BPF_REG }, () => NOT_INIT);
  r[1] = pointer("ctx");
  r[10] = pointer("fp", { frameno: 0 });
  return r;
}
