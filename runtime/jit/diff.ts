/**
 * Two engines, one answer: run a program on the JIT (emulated CPU, through
 * a Kernel) and on the reference interpreter (runtime/bpf/interp.ts) over
 * the same emulated memory, and compare r0 and the memory they changed.
 *
 *   kernel heap   ┌──────────────────────┐ SCRATCH (r1), r2 = its length
 *                 │ case data  │ dump    │ the dump area receives the main
 *                 └──────────────────────┘ frame's stack before exit
 *                 ┌──────────────────────┐
 *                 │ interpreter stack    │ 8 frames of 512 bytes + slack
 *                 └──────────────────────┘
 *   task stack    JIT frames (a fresh task per run)
 *
 * Both runs start from the same scratch bytes; the JIT's result is read
 * back before the interpreter runs. Helpers are TypeScript functions
 * registered once as kernel services (for the JIT) and handed to the
 * interpreter; both see the same emulated memory. A helper may "unwind"
 * (end the whole program with its return value, bpf_conformance's helper
 * 5): the JIT side returns straight to the task's exit path, the
 * interpreter side calls requestExit().
 *
 * `stackDump` makes the main frame's stack visible: a copy of its lowest
 * `depth` bytes is stored into the dump area just before the main
 * program's last exit (its only exit, for generated programs).
 */
import { FaultError } from "../machine/fault.js";
import * as B from "../bpf/builder.js";
import type { Insn } from "../bpf/insn.js";
import { bpfInterp, BudgetExceededError, INTERP_STACK_SIZE, type BpfCall } from "../bpf/interp.js";
import { physMemoryBpf, type BpfMemory } from "../bpf/interp_mem.js";
import { BPF_DW, opInfo } from "../bpf/opcodes.js";
import { validateInsns } from "../bpf/codec.js";
import { Kernel } from "../kernel/kernel.js";
import { longjmpTaskCall } from "../kernel/sched.js";
import { bpfIntJitCompile, bpfJitFree, type JitEnv, type JitInput, type JitOptions } from "./jit.js";
import { insertInsns } from "./insn_patch.js";

/** A helper both engines can call: args r1..r5, the memory the program sees; returns r0. */
export interface TestHelper {
  readonly name: string;
  fn(args: readonly bigint[], mem: BpfMemory): bigint;
  /** End the whole program after the call when this returns true for the result. */
  unwind?(ret: bigint): boolean;
}

/** Options of {@link createDiffEnv}. */
export interface DiffEnvOptions {
  /** Largest scratch buffer a case may use (default 4096). */
  maxScratch?: number;
  /** Helpers by id. */
  helpers?: Readonly<Record<number, TestHelper>>;
  /** CPUs of the kernel (default 1). */
  cpus?: number;
}

/** A kernel and the memory both engines share. */
export interface DiffEnv {
  readonly k: Kernel;
  readonly jitEnv: JitEnv;
  /** Scratch buffer address (r1). */
  readonly scratch: bigint;
  readonly maxScratch: number;
  /** r10 of the interpreter's main frame. */
  readonly interpStack: bigint;
  readonly helpers: Readonly<Record<number, TestHelper>>;
}

/** Bytes mapped above the interpreter's r10 (programs that write a little past their frame). */
const STACK_SLACK = 64;

/** Boot a kernel and lay out the shared memory. Close it with `env.k.close()`. */
export function createDiffEnv(opts: DiffEnvOptions = {}): DiffEnv {
  const k = new Kernel({ cpus: opts.cpus ?? 1 });
  try {
    const maxScratch = opts.maxScratch ?? 4096;
    const scratch = k.slab.kzalloc(maxScratch);
    const stackBase = k.slab.kzalloc(INTERP_STACK_SIZE + STACK_SLACK);
    const helpers = opts.helpers ?? {};
    const addrs = new Map<number, bigint>();
    const taskReturn = k.symbolAddress("a64bpf_task_return");
    const mem = physMemoryBpf(k.machine.memory);
    for (const [idText, h] of Object.entries(helpers)) {
      const id = Number(idText);
      const addr = k.registerDynamicService(h.name, (call) => {
        const a = call.args();
        const ret = BigInt.asUintN(64, h.fn([a[0], a[1], a[2], a[3], a[4]], mem));
        // Unwind: the stub's `ret` goes straight to the task's exit path with x0 = ret,
        // the caller's callee-saved registers and SP restored (a longjmp past the program).
        if (h.unwind?.(ret)) longjmpTaskCall(call.cpu, call.task, taskReturn);
        return ret;
      });
      addrs.set(id, addr);
    }
    const jitEnv: JitEnv = {
      kernel: k,
      helper: (id) => {
        const a = addrs.get(id);
        if (a === undefined) throw new Error(`unknown helper ${id}`);
        return a;
      },
    };
    return { k, jitEnv, scratch, maxScratch, interpStack: stackBase + BigInt(INTERP_STACK_SIZE), helpers };
  } catch (err) {
    k.close();
    throw err;
  }
}

/** One program run on both engines. */
export interface DiffCase {
  readonly insns: readonly Insn[];
  /** Initial scratch bytes (r1 points at them, r2 = the buffer length). */
  readonly data?: Uint8Array | readonly number[];
  /** Extra scratch bytes after `data` (zeroed; default 0). */
  readonly extra?: number;
  /** JIT aux facts (stack depths, ...). */
  readonly input?: Omit<JitInput, "insns">;
  readonly jit?: JitOptions;
  /** Copy the lowest `depth` bytes of the main frame into scratch at `at` (see the file header). */
  readonly stackDump?: { depth: number; at: number };
  /** Interpreter instruction budget (default 1,000,000). */
  readonly budget?: number;
}

/** What one engine produced. */
export type EngineResult =
  | {
      readonly kind: "ok";
      readonly r0: bigint;
      readonly data: Uint8Array;
      /** BPF instructions executed (interpreter only). */
      readonly insnCount?: number;
    }
  | { readonly kind: "fault"; readonly message: string }
  | { readonly kind: "budget"; readonly message: string };

/** Both results and whether they agree. */
export interface DiffResult {
  readonly jit: EngineResult;
  readonly interp: EngineResult;
  readonly agree: boolean;
  /** Why they disagree ("r0 0x1 != 0x2", "scratch byte 17: 0x3 != 0x4"), or "". */
  readonly why: string;
  /** The program actually run (with the stack dump inserted). */
  readonly insns: readonly Insn[];
}

/** Index of the main program's last exit (the end of function 0). */
function mainExit(insns: readonly Insn[]): number {
  const { subprogs } = validateInsns(insns);
  const end = subprogs.length > 1 ? subprogs[1] : insns.length;
  for (let i = end - 1; i >= 0; i--) if (opInfo(insns[i].code).kind === "exit") return i;
  return end - 1;
}

/**
 * The program with a stack dump before the main program's last exit:
 * r1 = *(u64 *)(r10 - d); *(u64 *)(r6 + at + depth - d) = r1 for each 8 bytes.
 * Uses r1 (dead at exit) and r6 as the scratch base (the generated programs' convention).
 */
export function withStackDump(insns: readonly Insn[], dump: { depth: number; at: number }): Insn[] {
  const code: Insn[] = [];
  for (let d = dump.depth; d > 0; d -= 8) {
    code.push(B.BPF_LDX_MEM(BPF_DW, 1, 10, -d));
    code.push(B.BPF_STX_MEM(BPF_DW, 6, 1, dump.at + dump.depth - d));
  }
  return insertInsns(insns, { at: mainExit(insns), insns: code });
}

function scratchBytes(c: DiffCase): Uint8Array {
  const data = c.data ?? [];
  const out = new Uint8Array(data.length + (c.extra ?? 0));
  out.set(data);
  return out;
}

/** Compile and run `c.insns` on the JIT; the JITed image is freed afterwards. */
export function runJit(env: DiffEnv, c: DiffCase): EngineResult {
  const insns = c.insns;
  const bytes = scratchBytes(c);
  const mem = env.k.machine.memory;
  mem.writeBytes(env.scratch, bytes);
  const jited = bpfIntJitCompile({ ...c.input, insns }, env.jitEnv, c.jit);
  try {
    const r0 = env.k.call(jited.bpfFunc, [env.scratch, BigInt(bytes.length)], { comm: "bpf_test", maxSteps: 2000 });
    return { kind: "ok", r0, data: mem.readBytes(env.scratch, bytes.length) };
  } catch (err) {
    if (err instanceof FaultError) return { kind: "fault", message: err.message.split("\n")[0] };
    throw err;
  } finally {
    bpfJitFree(jited, env.jitEnv);
  }
}

/** The JIT input's incoming_stack_arg_depth per function, keyed by function start for the interpreter. */
function incomingDepths(c: DiffCase): Map<number, number> | undefined {
  const depths = c.input?.incomingStackArgDepth;
  if (!depths) return undefined;
  const starts = c.input?.funcStarts ?? validateInsns(c.insns).subprogs;
  return new Map(starts.map((s, i) => [s, depths[i] ?? 0]));
}

/** Run `c.insns` on the reference interpreter over the same memory. */
export function runInterp(env: DiffEnv, c: DiffCase): EngineResult {
  const insns = c.insns;
  const bytes = scratchBytes(c);
  const phys = env.k.machine.memory;
  phys.writeBytes(env.scratch, bytes);
  const mem = physMemoryBpf(phys);
  const helper = (id: number, call: BpfCall): bigint => {
    const h = env.helpers[id];
    if (!h) throw new Error(`unknown helper ${id}`);
    const ret = BigInt.asUintN(64, h.fn([...call.args], mem));
    if (h.unwind?.(ret)) call.requestExit();
    return ret;
  };
  try {
    const res = bpfInterp(insns, {
      mem,
      stack: env.interpStack,
      args: [env.scratch, BigInt(bytes.length)],
      budget: c.budget ?? 1_000_000,
      helper,
      incomingStackArgDepth: incomingDepths(c),
    });
    return { kind: "ok", r0: res.r0, data: phys.readBytes(env.scratch, bytes.length), insnCount: res.insnCount };
  } catch (err) {
    if (err instanceof BudgetExceededError) return { kind: "budget", message: err.message };
    if (err instanceof Error) return { kind: "fault", message: err.message };
    throw err;
  }
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** Why two results differ, or "" when they agree. */
export function compareResults(a: EngineResult, b: EngineResult): string {
  if (a.kind !== b.kind) return `jit ${a.kind}${"message" in a ? ` (${a.message})` : ""} != interp ${b.kind}`;
  if (a.kind !== "ok" || b.kind !== "ok") return "";
  if (a.r0 !== b.r0) return `r0 ${hex(a.r0)} != ${hex(b.r0)}`;
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] !== b.data[i]) return `scratch byte ${i}: ${hex(a.data[i])} != ${hex(b.data[i])}`;
  }
  return "";
}

/** Run `c` on both engines and compare. */
export function diffRun(env: DiffEnv, c: DiffCase): DiffResult {
  const insns = c.stackDump ? withStackDump(c.insns, c.stackDump) : c.insns;
  const run = { ...c, insns };
  const interp = runInterp(env, run);
  // A program that does not terminate on the interpreter is not run on the CPU.
  if (interp.kind === "budget") return { jit: interp, interp, agree: true, why: "", insns };
  const jit = runJit(env, run);
  const why = compareResults(jit, interp);
  return { jit, interp, agree: why === "", why, insns };
}
