/**
 * bpf__gen_prologue: the documented instruction sequences (golden listings
 * in runtime/bpf/prologue/golden, formatted with formatProg), the values
 * they fetch on the reference interpreter, and every refusal with perf's
 * code.
 *
 * Review a listing change as a diff; regenerate with
 *   A64BPF_UPDATE_GOLDEN=1 npx ava runtime/bpf/prologue/gen_prologue.test.ts
 */
import test from "ava";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EINVAL, EOPNOTSUPP } from "../../errno.js";
import { BpfError } from "../../errors.js";
import * as B from "../builder.js";
import { formatProg } from "../format.js";
import { BPF_FUNC_probe_read_kernel } from "../func_ids.js";
import type { Insn } from "../insn.js";
import * as O from "../opcodes.js";
import {
  argtypeToLdxSize,
  bpfGenPrologue,
  bpfProloguePrepend,
  BPF_FUNC_probe_read_user,
  BPF_MAXINSNS,
  BPF_PROLOGUE_FETCH_RESULT_REG,
  BPF_PROLOGUE_MAX_ARGS,
  BPF_PROLOGUE_START_ARG_REG,
  JMP_TO_ERROR_CODE,
  JMP_TO_SUCCESS_CODE,
  JMP_TO_USER_CODE,
  prologueRelocate,
} from "./gen_prologue.js";
import {
  BpfLoaderError,
  BPF_LOADER_ERRNO__PROLOGUE,
  BPF_LOADER_ERRNO__PROLOGUE2BIG,
  BPF_LOADER_ERRNO__PROLOGUEOOB,
} from "./loader_errno.js";
import { parseProbeTraceArg, synthesizeProbeTraceArg, type ProbeTraceArg } from "./probe_trace_arg.js";
import { DATA, PT_REGS, prologueMemory, runPrologue, storeArgsUserCode } from "./testutil.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "golden");
const UPDATE = process.env.A64BPF_UPDATE_GOLDEN === "1";

const args = (...texts: string[]): ProbeTraceArg[] => texts.map(parseProbeTraceArg);

function golden(t: import("ava").ExecutionContext, file: string, what: string, a: readonly ProbeTraceArg[]): Insn[] {
  const res = bpfGenPrologue(a);
  const text = [
    `# ${what}`,
    `# args: ${a.map(synthesizeProbeTraceArg).join(" ")}`,
    `# ${res.fastpath ? "fast" : "slow"} path, ${res.insns.length} instructions`,
    formatProg(res.insns),
    "",
  ].join("\n");
  const path = join(DIR, file);
  if (UPDATE || !existsSync(path)) {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(path, text);
    if (!UPDATE) t.fail(`golden ${file} was missing and has been written: review it and run again`);
  }
  t.is(text, readFileSync(path, "utf8"), `golden ${file} (A64BPF_UPDATE_GOLDEN=1 to regenerate)`);
  return res.insns;
}

// ---- the documented sequences -------------------------------------------------

test("fast path: each bare register is one load from pt_regs (r1) into r3.., then r2 = 0", (t) => {
  const insns = golden(t, "fastpath.txt", "fast path: three bare registers", args("%x0", "%x1", "%sp"));
  // Independent of the listing: the exact instructions perf's gen_prologue_fastpath emits.
  t.deepEqual(insns, [
    B.BPF_LDX_MEM(O.BPF_DW, O.BPF_REG_3, O.BPF_REG_1, 0),
    B.BPF_LDX_MEM(O.BPF_DW, O.BPF_REG_4, O.BPF_REG_1, 8),
    B.BPF_LDX_MEM(O.BPF_DW, O.BPF_REG_5, O.BPF_REG_1, 248),
    B.BPF_MOV64_IMM(O.BPF_REG_2, 0),
  ]);
  t.is(BPF_PROLOGUE_START_ARG_REG, O.BPF_REG_3);
  t.is(BPF_PROLOGUE_FETCH_RESULT_REG, O.BPF_REG_2);
});

test("slow path: ctx in r6, each level through its stack slot, relocated error/success/user jumps", (t) => {
  const a = args("+8(+8(%x0)):s64", "%x1", "+16(%x0):u32");
  const insns = golden(t, "slowpath.txt", "slow path: obj->inner->val, x, obj->flags:u32", a);
  const R = O;
  const read = (off: number): Insn[] => [
    ...(off ? [B.BPF_ALU64_IMM(O.BPF_ADD, R.BPF_REG_3, off)] : []),
    B.BPF_MOV64_IMM(R.BPF_REG_2, 8),
    B.BPF_MOV64_REG(R.BPF_REG_1, R.BPF_REG_7),
    B.BPF_EMIT_CALL(BPF_FUNC_probe_read_kernel),
  ];
  const slot = (i: number, reg: number): Insn[] => [
    B.BPF_LDX_MEM(O.BPF_DW, R.BPF_REG_3, R.BPF_REG_6, reg),
    B.BPF_MOV64_REG(R.BPF_REG_7, R.BPF_REG_10),
    B.BPF_ALU64_IMM(O.BPF_ADD, R.BPF_REG_7, -8 * (i + 1)),
    B.BPF_STX_MEM(O.BPF_DW, R.BPF_REG_10, R.BPF_REG_3, -8 * (i + 1)),
  ];
  // Jump offsets are checked against the labels below, so zero them for the shape.
  const shape = insns.map((i) =>
    O.BPF_CLASS(i.code) === O.BPF_JMP && O.BPF_OP(i.code) !== O.BPF_CALL ? { ...i, off: 0 } : i,
  );
  const jne = B.BPF_JMP_IMM(O.BPF_JNE, R.BPF_REG_0, 0, 0);
  t.deepEqual(shape, [
    B.BPF_MOV64_REG(R.BPF_REG_6, R.BPF_REG_1),
    ...slot(0, 0),
    ...read(8),
    jne,
    B.BPF_LDX_MEM(O.BPF_DW, R.BPF_REG_3, R.BPF_REG_10, -8),
    ...read(8),
    jne,
    ...slot(1, 8),
    ...slot(2, 0),
    ...read(16),
    jne,
    B.BPF_LDX_MEM(O.BPF_DW, R.BPF_REG_3, R.BPF_REG_10, -8),
    B.BPF_LDX_MEM(O.BPF_DW, R.BPF_REG_4, R.BPF_REG_10, -16),
    B.BPF_LDX_MEM(O.BPF_W, R.BPF_REG_5, R.BPF_REG_10, -24),
    B.BPF_JMP_A(0),
    B.BPF_MOV64_IMM(R.BPF_REG_2, 1),
    B.BPF_MOV64_IMM(R.BPF_REG_3, 0),
    B.BPF_MOV64_IMM(R.BPF_REG_4, 0),
    B.BPF_MOV64_IMM(R.BPF_REG_5, 0),
    B.BPF_JMP_A(0),
    B.BPF_MOV64_IMM(R.BPF_REG_2, 0),
    B.BPF_MOV64_REG(R.BPF_REG_1, R.BPF_REG_6),
  ]);
  // Labels: ERROR_CODE is `r2 = 1`, SUCCESS_CODE `r2 = 0`, USER_CODE `r1 = r6`.
  const errorCode = insns.findIndex(
    (i) => i.code === (O.BPF_ALU64 | O.BPF_MOV | O.BPF_K) && i.dst === 2 && i.imm === 1,
  );
  const successCode = insns.length - 2;
  const userCode = insns.length - 1;
  insns.forEach((insn, i) => {
    if (O.BPF_CLASS(insn.code) !== O.BPF_JMP || O.BPF_OP(insn.code) === O.BPF_CALL) return;
    const target = i + 1 + insn.off;
    if (O.BPF_OP(insn.code) === O.BPF_JNE) t.is(target, errorCode, `jne at ${i} goes to ERROR_CODE`);
    else if (i < errorCode) t.is(target, successCode, `ja at ${i} goes to SUCCESS_CODE`);
    else t.is(target, userCode, `ja at ${i} goes to USER_CODE`);
  });
});

test("slow path: an offset of 0 emits no add, and +u levels call bpf_probe_read_user from there on", (t) => {
  const insns = golden(t, "slowpath_user.txt", "slow path: +0(%x2), then +u8(+0(%x3)) +4 after the user level", [
    parseProbeTraceArg("+0(%x2)"),
    { value: "%x3", refs: [{ offset: 0n }, { offset: 8n, userAccess: true }, { offset: 4n }] },
  ]);
  const calls = insns
    .filter((i) => O.BPF_OP(i.code) === O.BPF_CALL && O.BPF_CLASS(i.code) === O.BPF_JMP)
    .map((i) => i.imm);
  t.deepEqual(calls, [
    BPF_FUNC_probe_read_kernel,
    BPF_FUNC_probe_read_kernel,
    BPF_FUNC_probe_read_user,
    BPF_FUNC_probe_read_user,
  ]);
  t.false(
    insns.some((i) => i.code === (O.BPF_ALU64 | O.BPF_ADD | O.BPF_K) && i.dst === O.BPF_REG_3 && i.imm === 0),
    "no `r3 += 0`",
  );
  t.is(BPF_FUNC_probe_read_user, 112);
});

test("no arguments: the prologue is r2 = 0; with no room at all it is empty and still succeeds (perf's err = 0)", (t) => {
  t.deepEqual(bpfGenPrologue([]).insns, [B.BPF_MOV64_IMM(O.BPF_REG_2, 0)]);
  t.deepEqual(bpfGenPrologue([], { cntSpace: 2 }).insns, [B.BPF_MOV64_IMM(O.BPF_REG_2, 0)]);
  const empty = bpfGenPrologue([], { cntSpace: 1 });
  t.deepEqual(empty.insns, []);
});

// ---- what the prologue fetches (reference interpreter) ----------------------

/** DATA layout: obj at +0 { tag, inner*, flags }, inner at +0x100 { pad, val }. */
function objects(inner: bigint): Uint8Array {
  const d = new Uint8Array(0x200);
  const v = new DataView(d.buffer);
  v.setBigUint64(8, inner, true); // obj->inner
  v.setBigUint64(16, 0x1122334455667788n, true); // obj->flags
  v.setBigUint64(0x108, 0xfffffffffffffff6n, true); // inner->val = -10
  return d;
}

const SLOW = args("+8(+8(%x0)):s64", "%x1", "+16(%x0):u32");

test("slow path on the interpreter: values of obj->inner->val, x and obj->flags:u32; r1 is ctx again", (t) => {
  const prog = bpfProloguePrepend(SLOW, storeArgsUserCode()).prog;
  const mem = prologueMemory([DATA, 7n], objects(DATA + 0x100n));
  const run = runPrologue(prog, mem);
  t.is(run.r1, PT_REGS, "USER_CODE restored ctx into r1");
  t.is(run.r2, 0n, "fetch result 0");
  t.deepEqual(run.args, [0xfffffffffffffff6n, 7n, 0x55667788n], "s64 loaded whole, the u32 load zero-extends");
  t.deepEqual(run.reads, [
    [BPF_FUNC_probe_read_kernel, DATA + 8n],
    [BPF_FUNC_probe_read_kernel, DATA + 0x100n + 8n],
    [BPF_FUNC_probe_read_kernel, DATA + 16n],
  ]);
});

test("slow path on the interpreter: a faulting dereference gives r2 = 1 and r3..r5 = 0", (t) => {
  const prog = bpfProloguePrepend(SLOW, storeArgsUserCode()).prog;
  // Second level faults: obj->inner points nowhere.
  const bad = runPrologue(prog, prologueMemory([DATA, 7n], objects(0xdead0000n)));
  t.deepEqual({ r1: bad.r1, r2: bad.r2, args: bad.args }, { r1: PT_REGS, r2: 1n, args: [0n, 0n, 0n] });
  t.is(bad.reads.length, 2, "the fetch stops at the first failing read");
  // First level faults: a bad obj pointer (the function would not dereference it for x < 0).
  const first = runPrologue(prog, prologueMemory([0x8n, 0xffffffffffffffffn], new Uint8Array(0)));
  t.deepEqual({ r2: first.r2, args: first.args }, { r2: 1n, args: [0n, 0n, 0n] });
  t.is(first.reads.length, 1);
});

test("fast path on the interpreter: registers straight from pt_regs, r1 untouched", (t) => {
  const prog = bpfProloguePrepend(args("%x0", "%lr", "%sp"), storeArgsUserCode()).prog;
  const regs = Array.from({ length: 32 }, (_, i) => BigInt(0x1000 + i));
  const run = runPrologue(prog, prologueMemory(regs, new Uint8Array(0)));
  t.deepEqual(
    { r1: run.r1, r2: run.r2, args: run.args, reads: run.reads },
    {
      r1: PT_REGS,
      r2: 0n,
      args: [0x1000n, 0x1000n + 30n, 0x1000n + 31n],
      reads: [],
    },
  );
});

// ---- refusals ----------------------------------------------------------------

test("more than BPF_PROLOGUE_MAX_ARGS arguments: the rest is dropped with perf's warning", (t) => {
  const logged: string[] = [];
  const five = args("%x0", "%x1", "%x2", "%x3", "%x4");
  const res = bpfGenPrologue(five, { log: (level, m) => level === "warning" && logged.push(m) });
  t.is(BPF_PROLOGUE_MAX_ARGS, 3);
  t.deepEqual(res.warnings, ["bpf: prologue: 2 arguments are dropped"]);
  t.deepEqual(logged, res.warnings);
  t.deepEqual({ nargs: res.nargs, dropped: res.dropped }, { nargs: 3, dropped: 2 });
  t.deepEqual(res.insns, bpfGenPrologue(five.slice(0, 3)).insns, "same prologue as for the first three");
  // Dropped arguments are not validated: a global in 4th place is no error.
  t.notThrows(() => bpfGenPrologue([...five.slice(0, 3), parseProbeTraceArg("@jiffies")]));
});

test("a global (@sym) is -ENOTSUP with perf's text", (t) => {
  const logged: string[] = [];
  const err = t.throws(
    () => bpfGenPrologue(args("%x0", "+0(@kprobe_global)"), { log: (l, m) => l === "error" && logged.push(m) }),
    { instanceOf: BpfError },
  );
  t.is(err?.errno, EOPNOTSUPP);
  t.is(err?.message, "bpf prologue: global variables are not supported: @kprobe_global+0");
  t.deepEqual(logged, ["bpf: prologue: global @kprobe_global+0 not support"]);
  t.is(
    t.throws(() => bpfGenPrologue(args("@sym")))?.message,
    "bpf prologue: global variables are not supported: @sym+0",
  );
});

test("offsets outside s32 are BPF_LOADER_ERRNO__PROLOGUEOOB; the s32 bounds themselves are accepted", (t) => {
  for (const off of [1n << 31n, -(1n << 31n) - 1n, 1n << 40n]) {
    const err = t.throws(() => bpfGenPrologue([{ value: "%x0", refs: [{ offset: 8n }, { offset: off }] }]), {
      instanceOf: BpfLoaderError,
    });
    t.is(err?.errno, BPF_LOADER_ERRNO__PROLOGUEOOB);
    t.is(err?.ret, -3908);
    t.is(err?.errnoName, "BPF_LOADER_ERRNO__PROLOGUEOOB");
    t.is(err?.message, `offset out of bound for prologue: ${off}`);
  }
  for (const off of [(1n << 31n) - 1n, -(1n << 31n)]) {
    const insns = bpfGenPrologue([{ value: "%x0", refs: [{ offset: off }] }]).insns;
    t.true(
      insns.some((i) => i.code === (O.BPF_ALU64 | O.BPF_ADD | O.BPF_K) && i.imm === Number(off)),
      `r3 += ${off}`,
    );
  }
});

test("an unknown register is -EINVAL (perf's regs_query_register_offset)", (t) => {
  for (const reg of ["%x30", "%pc", "%fp", "x0", "$retval", "+8(%x0)"]) {
    const err = t.throws(() => bpfGenPrologue([{ value: reg, refs: [] }]), { instanceOf: BpfError });
    t.is(err?.errno, EINVAL, reg);
    t.is(err?.message, `bpf prologue: failed to get register: ${reg}`);
  }
  t.throws(() => bpfGenPrologue([{ value: "%x31", refs: [{ offset: 8n }] }]), {
    message: /failed to get register: %x31$/,
  });
});

test("a prologue that does not fit is BPF_LOADER_ERRNO__PROLOGUE2BIG (at most cnt_space - 1 slots)", (t) => {
  for (const a of [SLOW, args("%x0", "%x1")]) {
    const n = bpfGenPrologue(a).insns.length;
    t.is(bpfGenPrologue(a, { cntSpace: n + 1 }).insns.length, n, `${n} instructions fit in cnt_space ${n + 1}`);
    const err = t.throws(() => bpfGenPrologue(a, { cntSpace: n }), { instanceOf: BpfLoaderError });
    t.is(err?.errno, BPF_LOADER_ERRNO__PROLOGUE2BIG);
    t.is(err?.errnoName, "BPF_LOADER_ERRNO__PROLOGUE2BIG");
    t.is(err?.message, `prologue too big for program: more than ${n - 1} instructions`);
  }
  t.is(bpfGenPrologue(SLOW, { cntSpace: 1 << 20 }).insns.length, bpfGenPrologue(SLOW).insns.length, "capped");
});

test("prepending: the budget is BPF_MAXINSNS minus the program, so prologue + program stay below 4096 slots", (t) => {
  const n = bpfGenPrologue(SLOW).insns.length;
  const body = (len: number): Insn[] => [
    ...Array.from({ length: len - 1 }, () => B.BPF_MOV64_IMM(0, 0)),
    B.BPF_EXIT_INSN(),
  ];
  const ok = bpfProloguePrepend(SLOW, body(BPF_MAXINSNS - n - 1));
  t.is(ok.prog.length, BPF_MAXINSNS - 1);
  t.is(ok.prologueCnt, n);
  t.deepEqual(ok.prog.slice(n), body(BPF_MAXINSNS - n - 1), "the program follows unchanged");
  t.throws(() => bpfProloguePrepend(SLOW, body(BPF_MAXINSNS - n)), {
    instanceOf: BpfLoaderError,
    message: /^prologue too big/,
  });
  // A program already longer than BPF_MAXINSNS: perf's size_t wraps, the space is capped at BPF_MAXINSNS.
  t.is(bpfProloguePrepend(SLOW, body(BPF_MAXINSNS + 10)).prologueCnt, n);
});

test("prologue_relocate: an unknown placeholder is BPF_LOADER_ERRNO__PROLOGUE; calls and other classes are left alone", (t) => {
  const labels = { errorCode: 4, successCode: 5, userCode: 6 };
  const insns = [
    B.BPF_EMIT_CALL(113),
    B.BPF_JMP_IMM(O.BPF_JNE, 0, 0, JMP_TO_ERROR_CODE),
    B.BPF_JMP_A(JMP_TO_SUCCESS_CODE),
    B.BPF_JMP_A(JMP_TO_USER_CODE),
    B.BPF_JMP32_IMM(O.BPF_JEQ, 0, 0, -7),
  ];
  const out = prologueRelocate(insns, labels);
  t.deepEqual(
    out.map((i) => i.off),
    [0, 4 - 2, 5 - 3, 6 - 4, -7],
  );
  const err = t.throws(() => prologueRelocate([B.BPF_JMP_A(5)], labels), { instanceOf: BpfLoaderError });
  t.is(err?.errno, BPF_LOADER_ERRNO__PROLOGUE);
  t.is(err?.message, "failed to generate prologue: internal error: relocation failed: insn 0 has jump offset 5");
});

test("argtype_to_ldx_size: sizes from the type's number (atoi after the first character)", (t) => {
  const cases: [string | undefined, number][] = [
    [undefined, O.BPF_DW],
    ["u8", O.BPF_B],
    ["s16", O.BPF_H],
    ["x32", O.BPF_W],
    ["u64", O.BPF_DW],
    ["string", O.BPF_DW],
    ["b8@0/32", O.BPF_B],
    ["b5@3/32", O.BPF_DW],
    ["", O.BPF_DW],
  ];
  for (const [type, size] of cases) t.is(argtypeToLdxSize(type), size, String(type));
});

test("bad cnt_space is a typed error", (t) => {
  t.throws(() => bpfGenPrologue([], { cntSpace: -1 }), {
    instanceOf: BpfError,
    message: "bpf prologue: invalid cnt_space: -1",
  });
  t.throws(() => bpfGenPrologue([], { cntSpace: 1.5 }), { instanceOf: BpfError });
});
