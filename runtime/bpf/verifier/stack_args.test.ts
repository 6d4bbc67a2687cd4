/**
 * The verifier's stack-argument rules (stack_args.ts): the depths it
 * reports, the transfer at calls, and each rejection with its message. The
 * rejection programs are r12 versions of the series' verifier_stack_arg.c
 * cases (its "stack_arg: ..." descriptions are kept in the test titles).
 */
import test from "ava";
import { EACCES, EINVAL } from "../../errno.js";
import * as B from "../builder.js";
import { BPF_FUNC_get_prandom_u32, BPF_FUNC_map_lookup_elem } from "../func_ids.js";
import type { Insn } from "../insn.js";
import { BPF_MAP_TYPE_HASH } from "../object/uapi.js";
import {
  BPF_ADD,
  BPF_DW,
  BPF_JEQ,
  BPF_JGT,
  BPF_JNE,
  BPF_JSGT,
  BPF_PSEUDO_FUNC,
  BPF_REG_STACK_ARG_BASE as R12,
  BPF_W,
} from "../opcodes.js";
import {
  chainProg,
  kfuncProg,
  linkFuncs,
  stackArgBtf,
  stackArgVerifierInput,
  twoCallsProg,
  type FuncSource,
  type StackArgProg,
} from "../stack_arg_progs.js";
import type { VerifierInput } from "./env.js";
import { VerifierError } from "./log.js";
import type { VerifierMap } from "./reg_state.js";
import { bpfCheck } from "./verifier.js";

const EXIT = B.BPF_EXIT_INSN();
const HASH: VerifierMap = {
  fd: 3,
  type: BPF_MAP_TYPE_HASH,
  keySize: 8,
  valueSize: 8,
  maxEntries: 1,
  flags: 0,
  name: "map_hash_8b",
};

/** r1..r5 = 1..5. */
const REGS: Insn[] = [1, 2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, r));

/** A function returning the sum of its `nargs` arguments (reading stack args 6..nargs). */
function sumFunc(name: string, nargs: number): FuncSource {
  const code: Insn[] = [B.BPF_MOV64_REG(0, 1)];
  for (let r = 2; r <= 5; r++) code.push(B.BPF_ALU64_REG(BPF_ADD, 0, r));
  for (let k = 6; k <= nargs; k++) {
    code.push(B.BPF_LDX_MEM(BPF_DW, 1, R12, -8 * (k - 5)), B.BPF_ALU64_REG(BPF_ADD, 0, 1));
  }
  code.push(EXIT);
  return { name, nargs, code };
}

/** `long subprog_deref_arg6(a..e, long *f) { return *f; }` */
const DEREF_ARG6: FuncSource = {
  name: "subprog_deref_arg6",
  nargs: 6,
  code: [B.BPF_LDX_MEM(BPF_DW, 1, R12, -8), B.BPF_LDX_MEM(BPF_DW, 0, 1, 0), EXIT],
};

function program(main: FuncSource["code"], subs: FuncSource[]): StackArgProg {
  return { ...linkFuncs([{ name: "main", nargs: 1, code: main }, ...subs]), oracle: () => 0n };
}

function input(p: StackArgProg, extra: Partial<VerifierInput> = {}): VerifierInput {
  return stackArgVerifierInput(p, { map: (fd) => (fd === HASH.fd ? HASH : undefined), ...extra });
}

function rejects(t: import("ava").ExecutionContext, inp: VerifierInput, reason: string, errno = EACCES): VerifierError {
  const e = t.throws(() => bpfCheck(inp), { instanceOf: VerifierError }) as VerifierError;
  t.is(e.reason, reason);
  t.is(e.errno, errno);
  t.true(e.log.includes(`${reason}\n`), "the log ends with the reason");
  return e;
}

function depths(inp: VerifierInput): [string, number, number][] {
  return bpfCheck(inp).subprogs.map((s) => [s.name, s.incomingStackArgDepth, s.stackArgDepth]);
}

test("chain foo(7) → bar(8) → baz(9): incoming_stack_arg_depth and stack_arg_depth per function", (t) => {
  t.deepEqual(depths(input(chainProg())), [
    ["main", 0, 16],
    ["foo", 16, 40],
    ["bar", 24, 56],
    ["baz", 32, 32],
  ]);
});

test("two calls with outgoing depths 8 and 24: stack_arg_depth is the deeper one", (t) => {
  t.deepEqual(depths(input(twoCallsProg())), [
    ["main", 0, 24],
    ["f6", 8, 8],
    ["f8", 24, 24],
  ]);
});

test("a kfunc with 10 u64 arguments: arguments 6..10 from the outgoing slots", (t) => {
  const { btf, funcIds } = stackArgBtf([{ name: "bpf_kfunc_call_stack_arg", nargs: 10, global: true }]);
  const id = funcIds.get("bpf_kfunc_call_stack_arg")!;
  const kfunc: VerifierInput["kfunc"] = (btfId) => {
    const f = btf.type(btfId);
    if (btfId !== id || f.kind !== "func") return undefined;
    const proto = btf.type(f.type);
    return proto.kind === "func_proto" ? { name: f.name, btf, btfId, proto, allowed: true } : undefined;
  };
  const p = kfuncProg({ btfId: id, off: 0 });
  t.deepEqual(depths(input(p, { kfunc })), [["main", 0, 40]]);
  // Without argument 10's store the call is refused.
  const short = { ...p, insns: p.insns.filter((_, i) => i !== p.insns.length - 3) };
  rejects(t, input(short, { kfunc }), "stack arg#10 not properly initialized");
  // A pointer where the BTF says u64.
  const ptr = p.insns.map((insn, i) => (i === p.insns.length - 3 ? B.BPF_STX_MEM(BPF_DW, R12, 10, -40) : insn));
  rejects(t, input({ ...p, insns: ptr }, { kfunc }), "stack arg#10 is not a scalar", EINVAL);
});

test("stack_arg: read from uninitialized stack arg slot (main has no incoming arguments)", (t) => {
  const p = program([B.BPF_LDX_MEM(BPF_DW, 0, R12, -8), B.BPF_MOV64_IMM(0, 0), EXIT], []);
  const e = rejects(t, input(p), "invalid read from stack arg off -8 depth 0");
  t.is(e.insnIdx, 0);
});

test("a read past the callee's incoming arguments, and a read of its own outgoing slot", (t) => {
  const past = program(
    [...REGS, B.BPF_ST_MEM(BPF_DW, R12, -8, 6), { call: "f" }, EXIT],
    [{ name: "f", nargs: 6, code: [B.BPF_LDX_MEM(BPF_DW, 0, R12, -16), EXIT] }],
  );
  rejects(t, input(past), "invalid read from stack arg off -16 depth 8");
  const own = program([B.BPF_ST_MEM(BPF_DW, R12, -8, 6), B.BPF_LDX_MEM(BPF_DW, 0, R12, -8), EXIT], []);
  rejects(t, input(own), "invalid read from stack arg off -8 depth 0");
});

test("stack_arg: gap at offset -8, only wrote -16", (t) => {
  const p = program([...REGS, B.BPF_ST_MEM(BPF_DW, R12, -16, 30), { call: "f7" }, EXIT], [sumFunc("f7", 7)]);
  const e = rejects(t, input(p), "stack arg#6 not properly initialized");
  t.is(e.insnIdx, 6, "at the call");
});

test("stack_arg: incorrect size of stack arg write; misaligned and out-of-area offsets", (t) => {
  const at = (store: Insn) => program([...REGS, store, { call: "f6" }, EXIT], [sumFunc("f6", 6)]);
  rejects(t, input(at(B.BPF_ST_MEM(BPF_W, R12, -8, 30))), "stack arg write must be 8 bytes, got 4", EINVAL);
  rejects(t, input(at(B.BPF_STX_MEM(BPF_W, R12, 1, -4))), "stack arg write must be 8 bytes, got 4", EINVAL);
  rejects(t, input(at(B.BPF_ST_MEM(BPF_DW, R12, -12, 30))), "stack arg write offset -12 is misaligned", EINVAL);
  rejects(t, input(at(B.BPF_ST_MEM(BPF_DW, R12, 8, 30))), "stack arg write offset 8 is not below r12", EINVAL);
  const f = program([B.BPF_LDX_MEM(BPF_W, 0, R12, -8), EXIT], []);
  rejects(t, input(f), "stack arg read must be 8 bytes, got 4", EINVAL);
});

test("stack_arg: write beyond max outgoing depth (past argument 12)", (t) => {
  const p = program(
    [
      ...REGS,
      B.BPF_ST_MEM(BPF_DW, R12, -80, 99),
      B.BPF_ST_MEM(BPF_DW, R12, -16, 20),
      B.BPF_ST_MEM(BPF_DW, R12, -8, 10),
      { call: "f7" },
      EXIT,
    ],
    [sumFunc("f7", 7)],
  );
  rejects(t, input(p), "stack arg write offset -80 exceeds max 7 stack args", EINVAL);
  // In a callee the limit counts from its incoming area: bar (24 bytes in) may write down to r12-80.
  const deep = program(
    [...REGS, ...[6, 7, 8].map((k) => B.BPF_ST_MEM(BPF_DW, R12, -8 * (k - 5), k)), { call: "bar" }, EXIT],
    [
      {
        name: "bar",
        nargs: 8,
        code: [
          ...[6, 7, 8, 9, 10, 11, 12].map((k) => B.BPF_ST_MEM(BPF_DW, R12, -24 - 8 * (k - 5), k)),
          { call: "f12" },
          EXIT,
        ],
      },
      sumFunc("f12", 12),
    ],
  );
  t.deepEqual(depths(input(deep)), [
    ["main", 0, 24],
    ["bar", 24, 80],
    ["f12", 56, 56],
  ]);
});

test("stack_arg: sequential calls reuse slots (every call forgets the outgoing slots)", (t) => {
  const p = program(
    [
      ...REGS,
      B.BPF_ST_MEM(BPF_DW, R12, -8, 6),
      B.BPF_ST_MEM(BPF_DW, R12, -16, 7),
      { call: "f7" },
      ...REGS,
      { call: "f7" },
      EXIT,
    ],
    [sumFunc("f7", 7)],
  );
  rejects(t, input(p), "stack arg#6 not properly initialized");
  // A helper call in between forgets them too (the JIT's x5-x7 do not survive it).
  const helper = program(
    [B.BPF_ST_MEM(BPF_DW, R12, -8, 6), B.BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32), ...REGS, { call: "f6" }, EXIT],
    [sumFunc("f6", 6)],
  );
  rejects(t, input(helper), "stack arg#6 not properly initialized");
});

/** The series' "missing store on one branch" / "share a store for both branches" shape. */
function branches(storeOnBothPaths: boolean): StackArgProg {
  const path2 = storeOnBothPaths ? [B.BPF_ST_MEM(BPF_DW, R12, -8, 30)] : [];
  return program(
    [
      B.BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32),
      ...REGS,
      B.BPF_ST_MEM(BPF_DW, R12, -16, 20),
      B.BPF_JMP_IMM(BPF_JGT, 0, 0, 8),
      B.BPF_ST_MEM(BPF_DW, R12, -8, 10),
      ...REGS,
      { call: "f7" },
      B.BPF_JMP_A(6 + path2.length),
      ...path2,
      ...REGS,
      { call: "f7" },
      B.BPF_MOV64_IMM(0, 0),
      EXIT,
    ],
    [sumFunc("f7", 7)],
  );
}

test("stack_arg: missing store on one branch / share a store for both branches", (t) => {
  rejects(t, input(branches(false)), "stack arg#6 not properly initialized");
  t.notThrows(() => bpfCheck(input(branches(true))));
});

test("stack_arg: pruning with different stack arg types (a stack pointer on one path, 42 on the other)", (t) => {
  const p = program(
    [
      B.BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32),
      B.BPF_MOV64_REG(6, 0),
      B.BPF_MOV64_IMM(7, 0),
      B.BPF_STX_MEM(BPF_DW, 10, 7, -8),
      B.BPF_JMP_IMM(BPF_JSGT, 6, 3, 5),
      B.BPF_MOV64_REG(7, 10),
      B.BPF_ALU64_IMM(BPF_ADD, 7, -8),
      B.BPF_STX_MEM(BPF_DW, R12, 7, -8),
      B.BPF_MOV64_IMM(7, 0),
      B.BPF_JMP_A(1),
      B.BPF_ST_MEM(BPF_DW, R12, -8, 42),
      B.BPF_MOV64_REG(1, 6),
      ...[2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, 0)),
      { call: "subprog_deref_arg6" },
      EXIT,
    ],
    [DEREF_ARG6],
  );
  // The paths join at insn 11 with equal registers and stacks: only the stack
  // argument differs, and the scalar path must not be pruned by the pointer one.
  rejects(t, input(p), "R1 invalid mem access 'scalar'");
});

test("stack_arg: null propagation rejects deref on null branch", (t) => {
  const p = program(
    [
      B.BPF_MOV64_IMM(1, 0),
      B.BPF_STX_MEM(BPF_DW, 10, 1, -8),
      B.BPF_MOV64_REG(2, 10),
      B.BPF_ALU64_IMM(BPF_ADD, 2, -8),
      ...B.BPF_LD_MAP_FD(1, HASH.fd),
      B.BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
      B.BPF_STX_MEM(BPF_DW, R12, 0, -8),
      B.BPF_JMP_IMM(BPF_JNE, 0, 0, 6),
      ...[1, 2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, 0)),
      { call: "subprog_deref_arg6" },
      B.BPF_MOV64_IMM(0, 0),
      EXIT,
    ],
    [DEREF_ARG6],
  );
  rejects(t, input(p), "R1 invalid mem access 'scalar'");
  // On the non-null branch the same slot is a map value pointer: dereferencing it is fine.
  const nonNull = p.insns.map((insn) => (insn.code === 0x55 ? B.BPF_JMP_IMM(BPF_JEQ, 0, 0, 6) : insn));
  t.notThrows(() => bpfCheck(input({ ...p, insns: nonNull })));
});

test("a stack pointer passed as a stack argument is the caller's frame in the callee", (t) => {
  const p = program(
    [
      B.BPF_ST_MEM(BPF_DW, 10, -8, 77),
      B.BPF_MOV64_REG(1, 10),
      B.BPF_ALU64_IMM(BPF_ADD, 1, -8),
      B.BPF_STX_MEM(BPF_DW, R12, 1, -8),
      ...[1, 2, 3, 4, 5].map((r) => B.BPF_MOV64_IMM(r, 0)),
      { call: "subprog_deref_arg6" },
      EXIT,
    ],
    [DEREF_ARG6],
  );
  t.notThrows(() => bpfCheck(input(p)));
});

test("other uses of r12 are invalid registers", (t) => {
  const p = program([B.BPF_RAW_INSN(0xbf, 0, 12, 0, 0), EXIT], []);
  rejects(t, input(p), "R12 is invalid", EINVAL);
});

test("global functions and callbacks cannot take stack arguments", (t) => {
  const global = program([...REGS, B.BPF_ST_MEM(BPF_DW, R12, -8, 6), { call: "g6" }, EXIT], [sumFunc("g6", 6)]);
  const inp = input(global);
  const funcs = inp.funcs!.map((f) => (f.name === "g6" ? { ...f, global: true } : f));
  rejects(t, { ...inp, funcs }, "Global function g6() with 6 > 5 args. Buggy compiler.", EINVAL);
  // A function whose address is taken (a bpf_loop-style callback) with 6 arguments.
  const cb = program(
    [...B.BPF_LD_IMM64_RAW(2, BPF_PSEUDO_FUNC, 3), B.BPF_MOV64_IMM(0, 0), EXIT, B.BPF_MOV64_IMM(0, 0), EXIT],
    [],
  );
  const cbProg = { ...cb, funcs: [...cb.funcs, { start: 4, name: "cb6", nargs: 6 }] };
  const e = rejects(
    t,
    input(cbProg),
    "callback subprog cb6 has 6 > 5 args: stack arguments are not supported for callbacks",
    EINVAL,
  );
  t.is(e.insnIdx, 0, "names the ld_imm64 that takes its address");
  // More than 12 arguments.
  const many = program([...REGS, { call: "f13" }, EXIT], [sumFunc("f13", 13)]);
  rejects(t, input(many), "Function f13 has 13 > 12 args", EINVAL);
});
