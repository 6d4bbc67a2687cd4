import test from "ava";
import { EACCES } from "../../errno.js";
import {
  BPF_CALL_REL,
  BPF_EMIT_CALL,
  BPF_EXIT_INSN,
  BPF_JMP_IMM,
  BPF_LDX_MEM,
  BPF_LD_IMM64,
  BPF_MOV64_IMM,
  BPF_MOV64_REG,
  BPF_ST_MEM,
  prog,
} from "../builder.js";
import { BPF_FUNC_get_prandom_u32 } from "../func_ids.js";
import type { Insn } from "../insn.js";
import { BPF_DW, BPF_JNE, BPF_W } from "../opcodes.js";
import { bpfCheck } from "./verifier.js";
import { accepts, FOO_ID, kcall, KF, rejects, resInput } from "./verifier_test_util.js";

const RET0 = [BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()];
/** r6 = bpf_obj_new(struct foo); if (!r6) return 0 — `rest` runs with the object in r6. */
function withObj(rest: Insn[], typeId = FOO_ID): Insn[] {
  return prog(
    ...BPF_LD_IMM64(1, typeId),
    BPF_MOV64_IMM(2, 0),
    kcall(KF.objNew),
    BPF_MOV64_REG(6, 0),
    BPF_JMP_IMM(BPF_JNE, 6, 0, 2),
    ...RET0,
    ...rest,
  );
}
const DROP = (reg = 6): Insn[] => [BPF_MOV64_REG(1, reg), BPF_MOV64_IMM(2, 0), kcall(KF.objDrop)];

test("bpf_obj_new returns a reference that must be dropped; its NULL branch holds none", (t) => {
  accepts(t, resInput(withObj([...DROP(), ...RET0])));
  const e = rejects(t, resInput(withObj(RET0)), "BPF_EXIT instruction in main prog would lead to reference leak");
  t.regex(e.log, /^Unreleased reference id=1 alloc_insn=3$/m);
  // exceptions_fail.c reject_with_reference.
  const thrown = rejects(
    t,
    resInput(withObj([BPF_MOV64_IMM(1, 0), kcall(KF.throw), ...RET0])),
    "bpf_throw would lead to reference leak",
  );
  t.regex(thrown.log, /Unreleased reference id=1 alloc_insn=3\nbpf_throw would lead to reference leak/);
});

test("bpf_obj_drop takes a non-NULL allocated object that holds its reference; the object dies with it", (t) => {
  const unchecked = prog(...BPF_LD_IMM64(1, FOO_ID), BPF_MOV64_IMM(2, 0), kcall(KF.objNew), ...DROP(0), ...RET0);
  rejects(t, resInput(unchecked), "arg#0 expected pointer to allocated object");
  rejects(t, resInput(withObj([...DROP(), ...DROP(), ...RET0])), "arg#0 expected pointer to allocated object");
  rejects(
    t,
    resInput(prog(BPF_MOV64_REG(1, 10), BPF_MOV64_IMM(2, 0), kcall(KF.objDrop), ...RET0)),
    "arg#0 expected pointer to allocated object",
  );
  // A copy of the pointer is invalid after the drop too.
  rejects(
    t,
    resInput(withObj([BPF_MOV64_REG(7, 6), ...DROP(), BPF_LDX_MEM(BPF_DW, 0, 7, 0), BPF_EXIT_INSN()])),
    "R7 invalid mem access 'scalar'",
    EACCES,
  );
});

test("bpf_obj_new's type id is a known constant naming a struct of the program's BTF", (t) => {
  const unknown = prog(
    BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32),
    BPF_MOV64_REG(1, 0),
    BPF_MOV64_IMM(2, 0),
    kcall(KF.objNew),
    ...RET0,
  );
  rejects(t, resInput(unknown), "R1 must be a known constant");
  rejects(
    t,
    resInput(withObj([...DROP(), ...RET0], 1)),
    "bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct",
  );
});

test("the object is the program's: read and written within its size", (t) => {
  accepts(t, resInput(withObj([BPF_ST_MEM(BPF_DW, 6, 0, 7), BPF_LDX_MEM(BPF_W, 7, 6, 8), ...DROP(), ...RET0])));
  rejects(
    t,
    resInput(withObj([BPF_ST_MEM(BPF_DW, 6, 16, 7), ...DROP(), ...RET0])),
    "access beyond struct foo at off 16 size 8",
    EACCES,
  );
});

test("references cross static frames: dropped by a callee, or allocated in a callee and dropped by its caller", (t) => {
  // main: new; call sub(r6); exit    sub: drop(r1)
  const dropInSub = withObj([
    BPF_MOV64_REG(1, 6),
    BPF_CALL_REL(2),
    ...RET0,
    BPF_MOV64_IMM(2, 0),
    kcall(KF.objDrop),
    ...RET0,
  ]);
  accepts(t, resInput(dropInSub));
  // main: r0 = sub(); if r0: drop(r0); exit    sub: return bpf_obj_new(...)
  const newInSub = prog(
    BPF_CALL_REL(8),
    BPF_JMP_IMM(BPF_JNE, 0, 0, 2),
    ...RET0,
    ...DROP(0),
    ...RET0,
    ...BPF_LD_IMM64(1, FOO_ID),
    BPF_MOV64_IMM(2, 0),
    kcall(KF.objNew),
    BPF_EXIT_INSN(),
  );
  accepts(t, resInput(newInSub));
  // ... and not dropped on one path: the leak is found at the main exit.
  const leaks = prog(
    BPF_CALL_REL(2),
    ...RET0,
    ...BPF_LD_IMM64(1, FOO_ID),
    BPF_MOV64_IMM(2, 0),
    kcall(KF.objNew),
    BPF_EXIT_INSN(),
  );
  rejects(t, resInput(leaks), "BPF_EXIT instruction in main prog would lead to reference leak");
});

test("after verification the calls get their hidden arguments: R1 = size, R2 = struct meta (NULL)", (t) => {
  const r = bpfCheck(resInput(withObj([...DROP(), ...RET0])));
  const calls = r.insns.flatMap((insn, i) => (insn.code === kcall(0).code ? [i] : []));
  t.is(calls.length, 2);
  const [newAt, dropAt] = calls;
  t.deepEqual(r.insns.slice(newAt - 3, newAt), [BPF_MOV64_IMM(1, 16), ...BPF_LD_IMM64(2, 0)]);
  t.deepEqual(r.insns.slice(dropAt - 2, dropAt), BPF_LD_IMM64(2, 0));
});
