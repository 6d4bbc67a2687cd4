import test from "ava";
import { EINVAL } from "../../errno.js";
import { Btf } from "../btf/btf.js";
import { BtfEncoder } from "../btf/encode.js";
import { BTF_INT_SIGNED, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_PTR } from "../btf/types.js";
import { BPF_CALL_KFUNC, BPF_CALL_REL, BPF_EXIT_INSN, BPF_MOV64_IMM, BPF_MOV64_REG, prog } from "../builder.js";
import { DEFAULT_EXCEPTION_CB } from "../exceptions/default_cb.js";
import type { Insn } from "../insn.js";
import { BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY } from "../object/uapi.js";
import type { VerifierFunc, VerifierInput } from "./env.js";
import { VerifierError } from "./log.js";
import { bpfCheck } from "./verifier.js";

/**
 * BTF of the test: bpf_throw and candidate callbacks.
 *   4 bpf_throw: void (u64)         6 cb: int (u64)          7 cb_void: void (u64)
 *   10 cb_ptr: int *(u64)           12 cb_noarg: int (void)  14 cb_two: int (int, int)
 */
function btf(): Btf {
  const e = new BtfEncoder();
  e.type(BTF_KIND_INT, { name: "int", sizeOrType: 4, extra: [(BTF_INT_SIGNED << 24) | 32] }); // 1
  e.type(BTF_KIND_INT, { name: "unsigned long long", sizeOrType: 8, extra: [64] }); // 2
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 1, sizeOrType: 0, extra: [e.str("cookie"), 2] }); // 3
  e.type(BTF_KIND_FUNC, { name: "bpf_throw", vlen: 1, sizeOrType: 3 }); // 4
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 1, sizeOrType: 1, extra: [e.str("cookie"), 2] }); // 5
  e.type(BTF_KIND_FUNC, { name: "cb", vlen: 1, sizeOrType: 5 }); // 6
  e.type(BTF_KIND_FUNC, { name: "cb_void", vlen: 1, sizeOrType: 3 }); // 7
  e.type(BTF_KIND_PTR, { sizeOrType: 1 }); // 8
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 1, sizeOrType: 8, extra: [e.str("cookie"), 2] }); // 9
  e.type(BTF_KIND_FUNC, { name: "cb_ptr", vlen: 1, sizeOrType: 9 }); // 10
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 0, sizeOrType: 1 }); // 11
  e.type(BTF_KIND_FUNC, { name: "cb_noarg", vlen: 1, sizeOrType: 11 }); // 12
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 2, sizeOrType: 1, extra: [e.str("a"), 1, e.str("b"), 1] }); // 13
  e.type(BTF_KIND_FUNC, { name: "cb_two", vlen: 1, sizeOrType: 13 }); // 14
  return Btf.parse(e.build());
}

const BTF = btf();
const THROW_ID = 4;
const CB_IDS: Record<string, number> = { cb: 6, cb_void: 7, cb_ptr: 10, cb_noarg: 12, cb_two: 14 };
const THROW = BPF_CALL_KFUNC(0, THROW_ID);

function input(insns: Insn[], extra: Partial<VerifierInput> = {}): VerifierInput {
  return {
    insns,
    progType: BPF_PROG_TYPE_SCHED_CLS,
    expectedAttachType: 0,
    progName: "main",
    gplCompatible: true,
    btf: BTF,
    map: () => undefined,
    kfunc: (id) => {
      const f = BTF.types[id];
      if (id !== THROW_ID || f?.kind !== "func") return undefined;
      const proto = BTF.type(f.type);
      return proto.kind === "func_proto" ? { name: f.name, btf: BTF, btfId: id, proto, allowed: true } : undefined;
    },
    logLevel: 1,
    ...extra,
  };
}

const fentry: Partial<VerifierInput> = { progType: BPF_PROG_TYPE_TRACING, expectedAttachType: BPF_TRACE_FENTRY };

/** func_info: main at 0 tagged with `tags`, callback `cbName` (global) at `cbStart`, more functions after. */
function funcs(tags: string[], cbName: string, cbStart: number, more: VerifierFunc[] = []): VerifierFunc[] {
  return [
    { start: 0, name: "main", btfId: 0, global: true, declTags: tags },
    { start: cbStart, name: cbName, btfId: CB_IDS[cbName] ?? 0, global: true },
    ...more,
  ];
}

function rejects(t: import("ava").ExecutionContext, inp: VerifierInput, reason: string, errno = EINVAL): void {
  const e = t.throws(() => bpfCheck(inp), { instanceOf: VerifierError });
  t.is(e?.reason, reason);
  t.is(e?.errno, errno);
}

// r1 = cookie; bpf_throw(r1); r0 = 0; exit
const THROWS = (cookie: number) => [BPF_MOV64_IMM(1, cookie), THROW, BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()];
// a callback returning its argument
const CB_BODY = [BPF_MOV64_REG(0, 1), BPF_EXIT_INSN()];

test("a program that throws is a boundary and gets the hidden default callback r0 = r1; exit", (t) => {
  const r = bpfCheck(input(prog(...THROWS(64))));
  t.true(r.exceptionBoundary);
  t.is(r.insns.length, 6);
  t.deepEqual(r.insns.slice(4), [...DEFAULT_EXCEPTION_CB]);
  t.deepEqual(
    r.subprogs.map((s) => [s.start, s.isExceptionCb, s.global]),
    [
      [0, false, false],
      [4, true, false],
    ],
  );
});

test("a program that does not throw is no boundary, even with a callback tag", (t) => {
  const plain = bpfCheck(input(prog(BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN())));
  t.false(plain.exceptionBoundary);
  t.is(plain.subprogs.length, 1);
  const tagged = bpfCheck(
    input(prog(BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN(), ...CB_BODY), {
      funcs: funcs(["exception_callback:cb"], "cb", 2),
    }),
  );
  t.false(tagged.exceptionBoundary);
  t.deepEqual(
    tagged.subprogs.map((s) => [s.start, s.isExceptionCb]),
    [
      [0, false],
      [2, true],
    ],
  );
});

test("a user callback replaces the default one", (t) => {
  const r = bpfCheck(input(prog(...THROWS(5), ...CB_BODY), { funcs: funcs(["exception_callback:cb"], "cb", 4) }));
  t.true(r.exceptionBoundary);
  t.is(r.insns.length, 6, "nothing appended");
  t.deepEqual(
    r.subprogs.map((s) => [s.start, s.name, s.isExceptionCb]),
    [
      [0, "main", false],
      [4, "cb", true],
    ],
  );
});

test("with the default callback the cookie is the return value: R1 is checked like R0 at exit", (t) => {
  t.notThrows(() => bpfCheck(input(prog(...THROWS(0)), fentry)));
  rejects(
    t,
    input(prog(...THROWS(64)), fentry),
    "At program exit the register R1 has smin=64 smax=64 should have been in [0, 0]",
  );
  // R1 is still the ctx pointer: the kfunc's u64 argument refuses it first.
  rejects(t, input(prog(THROW, BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN())), "R1 is not a scalar");
  // A user callback returns the value instead: its exit is checked.
  rejects(
    t,
    input(prog(...THROWS(64), ...CB_BODY), { ...fentry, funcs: funcs(["exception_callback:cb"], "cb", 4) }),
    "At program exit the register R0 has unknown scalar value should have been in [0, 0]",
  );
});

test("the callback's prototype: a scalar return value and one scalar argument", (t) => {
  const withCb = (name: string) =>
    input(prog(...THROWS(0), ...CB_BODY), { funcs: funcs([`exception_callback:${name}`], name, 4) });
  rejects(t, withCb("cb_void"), "exception cb cannot return void");
  rejects(t, withCb("cb_ptr"), "Global function cb_ptr() return value not void or scalar. Only those are supported.");
  rejects(t, withCb("cb_noarg"), "exception cb only supports single integer argument");
  rejects(t, withCb("cb_two"), "exception cb only supports single integer argument");
});

test("finding the callback: one tag, an existing global function", (t) => {
  const body = prog(...THROWS(0), ...CB_BODY);
  rejects(
    t,
    input(body, { funcs: funcs(["exception_callback:cb", "exception_callback:cb"], "cb", 4) }),
    "multiple exception callback tags for main subprog",
  );
  rejects(
    t,
    input(body, { funcs: funcs(["exception_callback:nope"], "cb", 4) }),
    "exception callback 'nope' could not be found in BTF",
  );
  const fs = funcs(["exception_callback:cb"], "cb", 4);
  rejects(
    t,
    input(body, { funcs: [fs[0], { ...fs[1], global: false }] }),
    "exception callback 'cb' must have global linkage",
  );
});

test("the callback may not be called directly, nor throw (also from a function it calls)", (t) => {
  // main calls the callback at 2.
  rejects(
    t,
    input(prog(BPF_CALL_REL(1), BPF_EXIT_INSN(), ...CB_BODY), { funcs: funcs(["exception_callback:cb"], "cb", 2) }),
    "cannot call exception cb directly",
  );
  // The callback (2..5) throws.
  rejects(
    t,
    input(prog(BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN(), ...THROWS(0)), {
      funcs: funcs(["exception_callback:cb"], "cb", 2),
    }),
    "bpf_throw kfunc (insn 3) cannot be called from callback subprog 1",
  );
  // The callback (2..4) calls a static function (5..8) that throws.
  rejects(
    t,
    input(
      prog(BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN(), BPF_CALL_REL(2), BPF_MOV64_REG(0, 1), BPF_EXIT_INSN(), ...THROWS(0)),
      {
        funcs: funcs(["exception_callback:cb"], "cb", 2, [{ start: 5, name: "f", btfId: 0, global: false }]),
      },
    ),
    "bpf_throw kfunc (insn 6) cannot be called from callback subprog 2",
  );
});
