/**
 * The BPF programs of the race scenarios: real BPF, built with the builder
 * DSL (runtime/bpf/builder.ts) and JITed by runtime/jit, then registered as
 * `struct bpf_prog` objects the trampoline's enter/exit helpers know.
 *
 *   body          what it does (ctx: the trampoline's u64 slots)
 *   count         lock *(u64 *)(runs) += 1; r0 = 0
 *   check_ret     fexit on race_target(id, a): counts, and counts an error
 *                 when ctx[2] (the return value) is not 2*a+1
 *   sleep_count   sleepable: race_sleep_kfunc(1) (a kfunc that msleeps, as a
 *                 sleepable program may sleep in bpf_copy_from_user), then count
 *   target        a program other programs trace (prog-target-detach): given
 *                 ctx[0] = i returns 2*i+1 and counts its runs
 *
 * Each program owns two u64 counters in the kernel heap: runs and errors
 * (a global of the program, as a `.bss` would be).
 */
import * as B from "../../runtime/bpf/builder.js";
import type { Insn } from "../../runtime/bpf/insn.js";
import * as O from "../../runtime/bpf/opcodes.js";
import { EINVAL } from "../../runtime/errno.js";
import { KernelError } from "../../runtime/errors.js";
import { bpfIntJitCompile, type JitedProg } from "../../runtime/jit/jit.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";
import type { TrampProg } from "../../runtime/tramp/trampoline.js";

const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_6: R6 } = O;

/** What a program does. */
export type ProgBody = "count" | "check_ret" | "sleep_count" | "target";

/** A JITed, registered program and its counters. */
export interface RaceProg {
  readonly name: string;
  readonly body: ProgBody;
  readonly tramp: TrampProg;
  readonly jited: JitedProg;
  /** Address of the u64 run counter. */
  readonly runsAddr: bigint;
  /** Address of the u64 error counter (check_ret). */
  readonly errorsAddr: bigint;
}

/** sizeof(struct bpf_prog) stand-in: gives each program a unique kernel address. */
const BPF_PROG_SIZE = 64;
/** kfunc BTF id the sleepable program's call names (resolved by address below). */
const RACE_SLEEP_KFUNC_ID = 1;

function countInsns(runs: bigint): Insn[] {
  return B.prog(B.BPF_LD_IMM64(R2, runs), B.BPF_MOV64_IMM(R3, 1), B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_ADD, R2, R3, 0));
}

function insnsFor(body: ProgBody, runs: bigint, errors: bigint): Insn[] {
  const exit0 = [B.BPF_MOV64_IMM(R0, 0), B.BPF_EXIT_INSN()];
  switch (body) {
    case "count":
      return B.prog(...countInsns(runs), ...exit0);
    case "check_ret":
      // race_target(int id, int a) returns 2a+1: ctx[1] = a, ctx[2] = return value.
      return B.prog(
        ...countInsns(runs),
        B.BPF_LDX_MEM(O.BPF_W, R2, R1, 8),
        B.BPF_ALU32_IMM(O.BPF_MUL, R2, 2),
        B.BPF_ALU32_IMM(O.BPF_ADD, R2, 1),
        B.BPF_LDX_MEM(O.BPF_W, R3, R1, 16),
        B.BPF_JMP_REG(O.BPF_JEQ, R2, R3, 4),
        B.BPF_LD_IMM64(R2, errors),
        B.BPF_MOV64_IMM(R3, 1),
        B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_ADD, R2, R3, 0),
        ...exit0,
      );
    case "sleep_count":
      return B.prog(
        B.BPF_MOV64_REG(R6, R1),
        B.BPF_MOV64_IMM(R1, 1),
        B.BPF_CALL_KFUNC(0, RACE_SLEEP_KFUNC_ID),
        ...countInsns(runs),
        ...exit0,
      );
    case "target":
      return B.prog(
        ...countInsns(runs),
        B.BPF_LDX_MEM(O.BPF_DW, R0, R1, 0),
        B.BPF_ALU64_IMM(O.BPF_LSH, R0, 1),
        B.BPF_ALU64_IMM(O.BPF_ADD, R0, 1),
        B.BPF_EXIT_INSN(),
      );
  }
}

/**
 * JIT program `name` with `body` into `k`'s BPF text and register it
 * (prog->active, stats) so a trampoline can run it.
 */
export function loadRaceProg(k: Kernel, spec: { name: string; body: ProgBody; sleepable?: boolean }): RaceProg {
  const sleepable = spec.sleepable ?? false;
  if (sleepable !== (spec.body === "sleep_count")) {
    throw new KernelError(EINVAL, `program ${spec.name}: only sleep_count programs are sleepable (and must be)`);
  }
  const runsAddr = k.slab.kzalloc(16);
  const errorsAddr = runsAddr + 8n;
  const jited = bpfIntJitCompile(
    { insns: insnsFor(spec.body, runsAddr, errorsAddr), name: spec.name },
    {
      kernel: k,
      kfunc: (btfId) => {
        if (btfId !== RACE_SLEEP_KFUNC_ID) throw new KernelError(EINVAL, `unknown kfunc btf_id ${btfId}`);
        return k.symbolAddress("race_sleep_kfunc");
      },
    },
  );
  const prog = k.slab.kzalloc(BPF_PROG_SIZE);
  k.bpfRun.registerProg({ addr: prog, name: spec.name, sleepable });
  return {
    name: spec.name,
    body: spec.body,
    tramp: { name: spec.name, prog, bpfFunc: jited.bpfFunc, sleepable },
    jited,
    runsAddr,
    errorsAddr,
  };
}
