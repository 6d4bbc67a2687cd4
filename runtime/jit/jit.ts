/**
 * bpf_int_jit_compile() and jit_subprogs() for the emulated arm64 kernel
 * (arch/arm64/net/bpf_jit_comp.c, kernel/bpf/verifier.c jit_subprogs,
 * kernel/bpf/core.c bpf_jit_binary_pack_alloc / bpf_prog_kallsyms_add).
 *
 *   JitInput ──validate──► functions ──┬─ pass 1: size ─► alloc text ─► pass 2: write ─► pass 3: validate
 *   (insns, name, aux)   (main + subprogs) │   (calls to subprograms use a placeholder address)
 *                        funcStarts from the verifier (subprog_info), else
 *                        0 + call targets (misses an uncalled exception callback)
 *                                        └─ extra pass (calls or function pointers): rewrite every function with
 *                                           the callee addresses, same length, validate again
 *                          ──► copy into BPF text, PLT target = dummy_tramp, extable entries,
 *                              ksyms bpf_prog_<tag>_<name>  ──► JitedProg
 *
 * Every failure frees everything it allocated: nothing stays in the text
 * pool, the exception tables or the symbol tables.
 *
 * Stack arguments (r12, stack_args.ts) need each function's
 * incoming_stack_arg_depth and stack_arg_depth, which the verifier computes
 * (SubprogInfo); without them only the main program may use r12.
 *
 * Each function gets its own image, as in the kernel (func[i]->bpf_func):
 * the main program under the program's name, subprograms as
 * bpf_prog_<tag>_F (or their BTF name when given), each tag being the
 * SHA-1 of that function's own instructions. Simplification: the kernel
 * also keeps a second ksym for the main program on top of func[0]'s; here
 * func[0] carries the program's name and tag and there is one symbol per
 * image.
 */
import { EACCES, EINVAL, ENOTSUPP } from "../errno.js";
import { BpfError } from "../errors.js";
import { branchTarget, validateInsns, type ProgLayout } from "../bpf/codec.js";
import { funcIdName } from "../bpf/func_ids.js";
import type { Insn } from "../bpf/insn.js";
import { InsnError } from "../bpf/insn_error.js";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, MAX_BPF_STACK, opInfo } from "../bpf/opcodes.js";
import type { ExtableEntry } from "../kernel/extable.js";
import type { TextAllocation } from "../kernel/text_alloc.js";
import { writePass, sizePass, type FuncCode } from "./build.js";
import type { JitCodegenOptions, JitCtx, JitFunc, JitResolve } from "./ctx.js";
import { JitError } from "./jit_error.js";
import { writePltTarget } from "./plt.js";
import { pokeOffset, prologueOffset } from "./regs.js";
import { estimateStackDepth } from "./stack_depth.js";
import { MAX_STACK_ARG_TOTAL, scanStackArgUse } from "./stack_args.js";
import { MAX_STACK_ARG_DEPTH, STACK_ARG_SLOT } from "../bpf/stack_arg.js";
import { bpfProgCalcTag, tagHex } from "./tag.js";

/** What the JIT needs of the kernel (a runtime/kernel Kernel satisfies it). */
export interface JitKernel {
  readonly bpfText: JitTextPool;
  readonly farBpfText?: JitTextPool;
  readonly machine: {
    writeText(addr: bigint, data: Uint8Array, opts?: { sync?: boolean }): void;
    invalidateText(begin: bigint, end: bigint): void;
  };
  symbolAddress(name: string): bigint;
  readonly extable: { add(entries: readonly ExtableEntry[]): void; remove(entries: readonly ExtableEntry[]): void };
  readonly symbolizers: ((addr: bigint) => string | undefined)[];
  /** kallsyms, when the kernel has one (BPF symbols are added there too). */
  readonly kallsyms?: {
    addBpf(sym: { name: string; start: bigint; end: bigint }): void;
    removeBpf(name: string): void;
  };
}

/** An executable text pool (runtime/kernel/text_alloc.ts TextAllocator). */
export interface JitTextPool {
  alloc(size: number, name: string): TextAllocation;
  free(addr: bigint): void;
}

/** The kernel plus the resolvers of the program's external references. */
export interface JitEnv {
  readonly kernel: JitKernel;
  /** Helper id → address (bpf_jit_get_func_addr for helpers); without it helper calls are refused. */
  readonly helper?: (id: number) => bigint;
  /** kfunc BTF id and BTF fd index → address; without it kfunc calls are refused. */
  readonly kfunc?: (btfId: number, off: number) => bigint;
  /** Value of a ld_imm64 with a map/BTF pseudo source; without it such loads are refused. */
  readonly pseudoLd?: (first: Insn, second: Insn) => bigint;
}

/** A program to JIT, with the facts the verifier would have attached (prog->aux). */
export interface JitInput {
  /** The instructions, RFC 9669 wire form (ld_imm64 as two slots). */
  readonly insns: readonly Insn[];
  /** prog->aux->name (BPF_OBJ_NAME_LEN: up to 15 of [A-Za-z0-9_.]); default none. */
  readonly name?: string;
  /** stack_depth per function (or one number for all); default: estimated from r10 accesses. */
  readonly stackDepth?: number | readonly number[];
  /** The main program is an exception boundary (it or a callee may bpf_throw). */
  readonly exceptionBoundary?: boolean;
  /** Index of the function that is the exception callback. */
  readonly exceptionCb?: number;
  /**
   * First slot of every function, ascending, [0] = 0 (the verifier's
   * subprog_info starts). Default: 0 and the targets of bpf-to-bpf calls and
   * function pointers, which misses functions nothing calls (an exception
   * callback). Must include those targets; no jump may cross a start.
   */
  readonly funcStarts?: readonly number[];
  /** Slots of loads the verifier turned into BPF_PROBE_MEM (a fault gives 0). */
  readonly probeMem?: readonly number[];
  /** BTF func_info names per function (ksym names); default bpf_prog_<tag>_F for subprograms. */
  readonly funcNames?: readonly string[];
  /**
   * aux->incoming_stack_arg_depth per function (bytes of stack arguments it
   * takes, 0..56, multiples of 8; the verifier's SubprogInfo). Default 0;
   * then only the main program may use r12 (it takes no stack arguments),
   * a subprogram that does is refused: its r12 offsets depend on it.
   */
  readonly incomingStackArgDepth?: readonly number[];
  /**
   * aux->stack_arg_depth per function (incoming + the deepest outgoing
   * stack arguments it writes). Default: from its r12 stores.
   */
  readonly stackArgDepth?: readonly number[];
}

/** Build-time switches (what the kernel gets from its config and CPU caps). */
export interface JitOptions {
  /** CONFIG_ARM64_BTI_KERNEL (default false, as a v6.16 kernel built without it). */
  readonly bti?: boolean;
  /** CONFIG_ARM64_PTR_AUTH_KERNEL (default false). */
  readonly pac?: boolean;
  /** ARM64_HAS_LSE_ATOMICS (default true: the emulated CPU has LSE). */
  readonly lse?: boolean;
  /** Allocate from the far text pool (beyond ±128 MiB of the kernel), default false. */
  readonly far?: boolean;
  /**
   * TEST ONLY: build exception frames without the x23/x24 pair (see
   * JitCodegenOptions.testDropX23X24). Defaults to the
   * A64BPF_TEST_EXC_DROP_X23_X24 environment variable ("1"), so a selftest
   * run can be broken on purpose.
   */
  readonly testDropX23X24?: boolean;
}

/** The per-program PLT: its instructions and the target quad. */
export interface JitedPlt {
  /** Address of `ldr x10, target`. */
  readonly addr: bigint;
  /** Address of the 8-byte target (dummy_tramp until a far trampoline is attached). */
  readonly target: bigint;
}

/** One JITed function (func[i] of the kernel). */
export interface JitedFunc {
  /** Function index (0: main). */
  readonly index: number;
  /** First slot of the function in the program. */
  readonly start: number;
  /** Slots of the function. */
  readonly len: number;
  /** Entry point (prog->bpf_func). */
  readonly bpfFunc: bigint;
  /** The instructions as written (jited_len / 4 words). */
  readonly image: Uint32Array;
  /** jited_len in bytes (instructions, without the PLT target quad). */
  readonly size: number;
  /** ctx.offset: A64 instruction index (from bpfFunc) of each slot of the function; [len] = epilogue. */
  readonly offsets: Int32Array;
  /** Index of the first epilogue instruction. */
  readonly epilogue: number;
  readonly plt: JitedPlt;
  /** 16 hex digits (bpf_prog_calc_tag of the function's instructions). */
  readonly tag: string;
  /** ksym name: bpf_prog_<tag>_<name>. */
  readonly symbol: string;
  /** round_up(stack_depth, 16). */
  readonly stackSize: number;
  readonly extable: readonly ExtableEntry[];
  /** The text allocation holding the image. */
  readonly alloc: TextAllocation;
}

/** A JITed program: its main function's fields plus every function. */
export interface JitedProg extends JitedFunc {
  readonly insns: readonly Insn[];
  /** Every function, [0] = the main program. */
  readonly subprogs: readonly JitedFunc[];
  /** Every exception-table entry of the program (all functions; subprogs[i].extable has each one's). */
  readonly extable: readonly ExtableEntry[];
  /** POKE_OFFSET and PROLOGUE_OFFSET of this build (instructions). */
  readonly pokeOffset: number;
  readonly prologueOffset: number;
  readonly opts: Required<Pick<JitOptions, "bti" | "pac" | "lse" | "far">>;
  /** The pool the images live in. */
  readonly pool: JitTextPool;
  /** Undoes the symbol registrations (used by bpfJitFree). */
  readonly unregister: () => void;
}

const NAME_RE = /^[A-Za-z0-9_.]*$/;
/** BPF_OBJ_NAME_LEN. */
const BPF_OBJ_NAME_LEN = 16;

function checkName(name: string): void {
  if (name.length >= BPF_OBJ_NAME_LEN || !NAME_RE.test(name)) {
    throw new JitError(`invalid program name: ${JSON.stringify(name)} (up to 15 of [A-Za-z0-9_.])`);
  }
}

/** validateInsns() with its InsnError turned into a JitError. */
function validate(insns: readonly Insn[]): ProgLayout {
  try {
    return validateInsns(insns);
  } catch (err) {
    if (err instanceof InsnError) throw JitError.fromInsnError(err, insns);
    throw err;
  }
}

function stackDepthOf(input: JitInput, f: number, range: { start: number; end: number }): number {
  const { start, end } = range;
  const given = input.stackDepth;
  const explicit = typeof given === "number" ? given : given?.[f];
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < 0 || explicit > MAX_BPF_STACK) {
      throw new JitError(`invalid stack depth of function ${f}: ${explicit} (0..${MAX_BPF_STACK})`);
    }
    return explicit;
  }
  const est = estimateStackDepth(input.insns, { start, end });
  if (est.depth > MAX_BPF_STACK) {
    throw new JitError(`stack access out of range: ${est.depth} bytes below r10 (max ${MAX_BPF_STACK})`, {
      errno: EACCES,
      at: { insns: input.insns, index: est.slot },
    });
  }
  return est.depth;
}

/**
 * The function starts: the given ones (checked: ascending from 0, inside
 * the program, not a ld_imm64 second slot, every call target among them,
 * no jump across a boundary) or the call targets.
 */
function funcStartsOf(input: JitInput, layout: ProgLayout): readonly number[] {
  const given = input.funcStarts;
  if (given === undefined) return layout.subprogs;
  const { insns } = input;
  if (given[0] !== 0) throw new JitError(`invalid function starts: the first must be 0, not ${given[0]}`);
  const second = new Set<number>();
  for (let i = 0; i < insns.length; i++) if (opInfo(insns[i].code).kind === "ldimm64") second.add(++i);
  given.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0 || s >= insns.length || (i > 0 && s <= given[i - 1])) {
      throw new JitError(`invalid function starts: ${given.join(",")} (ascending slots of the program)`);
    }
    if (second.has(s)) throw new JitError(`function start in the middle of ld_imm64: ${s}`);
  });
  const set = new Set(given);
  for (const t of layout.subprogs) {
    if (!set.has(t)) throw new JitError(`function starts lack the call target ${t}`);
  }
  given.forEach((start, f) => {
    const end = f + 1 < given.length ? given[f + 1] : insns.length;
    const last = second.has(end - 1) ? end - 2 : end - 1;
    const lastKind = opInfo(insns[last].code).kind;
    // check_subprogs(): exit, a jump, or a call to bpf_throw (a kfunc; the verifier knows which).
    if (
      lastKind !== "exit" &&
      lastKind !== "ja" &&
      !(lastKind === "call" && insns[last].src === BPF_PSEUDO_KFUNC_CALL)
    ) {
      failAt(insns, last, `last insn of the function at insn ${start} is not an exit or jmp`);
    }
    for (let i = start; i < end; i++) {
      const kind = opInfo(insns[i].code).kind;
      if (kind === "jcond" || kind === "ja") {
        const t = branchTarget(insns[i], i)!;
        if (t < start || t >= end) {
          failAt(insns, i, `jump out of range: target ${t} (outside the function at insn ${start})`);
        }
      }
      if (kind === "ldimm64") i++;
    }
  });
  return given;
}

/** The functions of the program, with their aux facts checked. */
function splitFuncs(input: JitInput, layout: ProgLayout): JitFunc[] {
  const { insns } = input;
  const starts = funcStartsOf(input, layout);
  const probe = new Set<number>();
  for (const s of input.probeMem ?? []) {
    const kind = insns[s] === undefined ? undefined : opInfo(insns[s].code).kind;
    if (kind !== "ldx") {
      throw new JitError(`BPF_PROBE_MEM mark on a slot that is not a load: ${s}`, {
        at: kind === undefined ? undefined : { insns, index: s },
      });
    }
    probe.add(s);
  }
  const cb = input.exceptionCb;
  if (cb !== undefined && (!Number.isInteger(cb) || cb <= 0 || cb >= starts.length)) {
    throw new JitError(`invalid exception callback: function ${cb} (1..${starts.length - 1})`);
  }
  return starts.map((start, index) => {
    const end = index + 1 < starts.length ? starts[index + 1] : insns.length;
    const probeMem = new Set<number>();
    for (const s of probe) if (s >= start && s < end) probeMem.add(s);
    return {
      insns,
      start,
      end,
      index,
      stackDepth: stackDepthOf(input, index, { start, end }),
      exceptionBoundary: index === 0 && (input.exceptionBoundary ?? false),
      exceptionCb: cb === index,
      probeMem,
      ...stackArgDepthsOf(input, index, { start, end, isCb: cb === index }),
    };
  });
}

function checkDepth(what: string, f: number, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max || v % STACK_ARG_SLOT !== 0) {
    throw new JitError(`invalid ${what} of function ${f}: ${v} (0..${max}, a multiple of ${STACK_ARG_SLOT})`);
  }
  return v;
}

/** incoming_stack_arg_depth and stack_arg_depth of function `f` (see JitInput), checked. */
function stackArgDepthsOf(
  input: JitInput,
  f: number,
  range: { start: number; end: number; isCb: boolean },
): { incomingStackArgDepth: number; stackArgDepth: number } {
  const use = scanStackArgUse(input.insns, range);
  const given = input.incomingStackArgDepth?.[f];
  if (given === undefined && f > 0 && (use.readSlot >= 0 || use.writeSlot >= 0)) {
    const slot = use.readSlot >= 0 ? use.readSlot : use.writeSlot;
    failAt(input.insns, slot, `stack arguments of function ${f} need its incoming_stack_arg_depth (from the verifier)`);
  }
  const incoming = checkDepth("incoming_stack_arg_depth", f, given ?? 0, MAX_STACK_ARG_DEPTH);
  if (incoming > 0 && (f === 0 || range.isCb)) {
    throw new JitError(`function ${f} cannot take stack arguments: ${f === 0 ? "the main program" : "a callback"}`);
  }
  // Default: the deepest store (a store past argument 12 is refused where it is emitted).
  const total =
    input.stackArgDepth?.[f] ?? Math.max(incoming, Math.min(use.writeDepth, incoming + MAX_STACK_ARG_DEPTH));
  checkDepth("stack_arg_depth", f, total, MAX_STACK_ARG_TOTAL);
  if (total < incoming || total > incoming + MAX_STACK_ARG_DEPTH) {
    throw new JitError(
      `invalid stack_arg_depth of function ${f}: ${total} (incoming_stack_arg_depth ${incoming} .. ${incoming + MAX_STACK_ARG_DEPTH})`,
    );
  }
  return { incomingStackArgDepth: incoming, stackArgDepth: total };
}

function failAt(insns: readonly Insn[], slot: number, reason: string, errno = EINVAL): never {
  throw new JitError(reason, { errno, at: { insns, index: slot } });
}

/** JitResolve over the env's resolvers; `funcAddrs` is filled in as images are allocated. */
function makeResolve(env: JitEnv, insns: readonly Insn[], funcs: JitFunc[], funcAddrs: bigint[]): JitResolve {
  const byStart = new Map<number, number>();
  funcs.forEach((f) => byStart.set(f.start, f.index));
  const call = <T extends unknown[]>(slot: number, what: string, fn: ((...a: T) => bigint) | undefined, ...args: T) => {
    if (!fn) failAt(insns, slot, `no address for ${what}`, ENOTSUPP);
    let v: bigint;
    try {
      v = fn(...args);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new JitError(`cannot resolve ${what}: ${msg}`, { errno: ENOTSUPP, cause: err, at: { insns, index: slot } });
    }
    if (typeof v !== "bigint") failAt(insns, slot, `resolver for ${what} returned ${typeof v}, not bigint`);
    return v;
  };
  return {
    helper: (id, slot) => call(slot, `helper ${funcIdName(id)}#${id}`, env.helper, id),
    kfunc: (btfId, off, slot) => call(slot, `kfunc btf_id ${btfId}`, env.kfunc, btfId, off),
    pseudoLd: (first, second, slot) => call(slot, `ld_imm64 source ${first.src}`, env.pseudoLd, first, second),
    func: (index) => funcAddrs[index] ?? 0n,
    funcAt: (slot) => {
      const f = byStart.get(slot);
      if (f === undefined) throw new JitError(`JIT bug: no function starts at insn ${slot}`);
      return f;
    },
  };
}

/** True when some instruction calls or takes the address of a function of the program. */
function refersToFuncs(insns: readonly Insn[]): boolean {
  for (const insn of insns) {
    const kind = opInfo(insn.code).kind;
    if ((kind === "call" && insn.src === BPF_PSEUDO_CALL) || (kind === "ldimm64" && insn.src === BPF_PSEUDO_FUNC)) {
      return true;
    }
  }
  return false;
}

function wordsToBytes(words: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(i * 4, words[i], true);
  return bytes;
}

/** Per function while compiling. */
interface Building {
  func: JitFunc;
  sized: JitCtx;
  code: FuncCode;
  alloc: TextAllocation;
  tag: string;
  symbol: string;
}

/**
 * bpf_int_jit_compile() (+ jit_subprogs for multi-function programs):
 * compile `input` into the kernel's BPF text. Throws a JitError naming the
 * offending instruction for anything it cannot JIT; on any error nothing
 * stays allocated.
 */
export function bpfIntJitCompile(input: JitInput, env: JitEnv, opts: JitOptions = {}): JitedProg {
  const { insns } = input;
  const name = input.name ?? "";
  checkName(name);
  const layout = validate(insns);
  const funcs = splitFuncs(input, layout);
  const resolved = {
    bti: opts.bti ?? false,
    pac: opts.pac ?? false,
    lse: opts.lse ?? true,
    far: opts.far ?? false,
  };
  const kernel = env.kernel;
  const pool = resolved.far ? kernel.farBpfText : kernel.bpfText;
  if (!pool) throw new JitError("no far BPF text pool in this kernel", { errno: ENOTSUPP });
  const testDropX23X24 = opts.testDropX23X24 ?? process.env.A64BPF_TEST_EXC_DROP_X23_X24 === "1";
  const cg: JitCodegenOptions = { ...resolved, dummyTramp: kernel.symbolAddress("dummy_tramp"), testDropX23X24 };
  const funcAddrs: bigint[] = [];
  const resolve = makeResolve(env, insns, funcs, funcAddrs);
  const progTag = tagHex(bpfProgCalcTag(insns));
  const built: Building[] = [];
  try {
    for (const func of funcs) {
      const tag = func.index === 0 ? progTag : tagHex(bpfProgCalcTag(insns.slice(func.start, func.end)));
      const fname = func.index === 0 ? name : input.funcNames?.[func.index] || "F";
      const symbol = fname ? `bpf_prog_${tag}_${fname}` : `bpf_prog_${tag}`;
      const sized = sizePass(func, cg, resolve);
      const bytes = sized.idx * 4 + 8;
      const alloc = pool.alloc(bytes, symbol);
      built.push({ func, sized, code: undefined!, alloc, tag, symbol });
      const b = built[built.length - 1];
      // Pass 2 and 3 with callee addresses still unknown (the first round of jit_subprogs).
      b.code = writePass(sized, resolve);
      funcAddrs[func.index] = alloc.addr;
    }
    if (funcs.length > 1 || refersToFuncs(insns)) {
      // The extra pass: every call and function pointer now gets its callee's address.
      for (const b of built) b.code = writePass(b.code.ctx, resolve);
    }
    return install(built, { input, env, pool, resolved, progTag });
  } catch (err) {
    for (const b of built) pool.free(b.alloc.addr);
    if (err instanceof JitError) throw err;
    if (err instanceof BpfError) throw new JitError(`JIT failed: ${err.message}`, { errno: err.errno, cause: err });
    throw err;
  }
}

/** Copy the images into text, set PLT targets, register extable entries and symbols. */
function install(
  built: Building[],
  c: { input: JitInput; env: JitEnv; pool: JitTextPool; resolved: JitedProg["opts"]; progTag: string },
): JitedProg {
  const kernel = c.env.kernel;
  const dummyTramp = built[0].sized.opts.dummyTramp;
  const out: JitedFunc[] = [];
  const added: ExtableEntry[] = [];
  const ksyms: string[] = [];
  let symbolizer: ((addr: bigint) => string | undefined) | undefined;
  try {
    for (const b of built) {
      const { words, insnCount, ctx } = b.code;
      writePltTarget(words, { offset: ctx.pltOffset, target: dummyTramp });
      const addr = b.alloc.addr;
      kernel.machine.writeText(addr, wordsToBytes(words), { sync: false });
      kernel.machine.invalidateText(addr, addr + BigInt(b.alloc.size));
      const extable = ctx.exentries.map((e) => {
        const insn = addr + BigInt(e.idx * 4);
        return { insn, fixup: insn + 4n, dstReg: e.dstReg };
      });
      kernel.extable.add(extable);
      added.push(...extable);
      const pltAddr = addr + BigInt(ctx.pltOffset * 4);
      out.push({
        index: b.func.index,
        start: b.func.start,
        len: b.func.end - b.func.start,
        bpfFunc: addr,
        image: words.slice(0, insnCount),
        size: insnCount * 4,
        offsets: ctx.offset,
        epilogue: ctx.epilogueOffset,
        plt: { addr: pltAddr, target: pltAddr + 8n },
        tag: b.tag,
        symbol: b.symbol,
        stackSize: ctx.stackSize,
        extable,
        alloc: b.alloc,
      });
    }
    if (kernel.kallsyms) {
      for (const f of out) {
        kernel.kallsyms.addBpf({ name: f.symbol, start: f.bpfFunc, end: f.bpfFunc + BigInt(f.size) });
        ksyms.push(f.symbol);
      }
    }
    const ranges = out.map((f) => ({ start: f.bpfFunc, end: f.bpfFunc + BigInt(f.size), f }));
    symbolizer = (a: bigint) => {
      for (const r of ranges) {
        if (a >= r.start && a < r.end)
          return `${r.f.symbol}+0x${(a - r.start).toString(16)}/0x${r.f.size.toString(16)}`;
      }
      return undefined;
    };
    kernel.symbolizers.push(symbolizer);
  } catch (err) {
    kernel.extable.remove(added);
    for (const s of ksyms) kernel.kallsyms?.removeBpf(s);
    throw err;
  }
  const sym = symbolizer;
  const unregister = (): void => {
    const i = kernel.symbolizers.indexOf(sym);
    if (i >= 0) kernel.symbolizers.splice(i, 1);
    for (const s of ksyms) kernel.kallsyms?.removeBpf(s);
  };
  const o = c.resolved;
  return {
    ...out[0],
    insns: c.input.insns,
    subprogs: out,
    extable: added,
    pokeOffset: pokeOffset(o),
    prologueOffset: prologueOffset(o),
    opts: o,
    pool: c.pool,
    unregister,
  };
}

/** bpf_jit_free(): remove the program's symbols and extable entries and free its text. */
export function bpfJitFree(jited: JitedProg, env: JitEnv): void {
  jited.unregister();
  env.kernel.extable.remove(jited.extable);
  for (const f of jited.subprogs) jited.pool.free(f.alloc.addr);
}
