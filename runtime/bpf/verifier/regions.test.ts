import test from "ava";
import { EACCES } from "../../errno.js";
import {
  BPF_ALU64_IMM,
  BPF_CALL_REL,
  BPF_EMIT_CALL,
  BPF_EXIT_INSN,
  BPF_JMP_A,
  BPF_JMP_IMM,
  BPF_LD_ABS,
  BPF_LDX_MEM,
  BPF_LD_MAP_FD,
  BPF_MOV64_IMM,
  BPF_MOV64_REG,
  BPF_ST_MEM,
  prog,
} from "../builder.js";
import { BPF_FUNC_get_prandom_u32, BPF_FUNC_tail_call } from "../func_ids.js";
import type { Insn } from "../insn.js";
import { BPF_ADD, BPF_B, BPF_DW, BPF_JNE } from "../opcodes.js";
import { BPF_MAP_TYPE_PROG_ARRAY } from "../object/uapi.js";
import type { VerifierMap } from "./reg_state.js";
import { bpfCheck } from "./verifier.js";
import { accepts, G_BTF_ID, kcall, KF, rejects, resFuncs, resInput } from "./verifier_test_util.js";

const RET0 = [BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()];
/** r1 = fp + off (an irq flag slot) */
const FLAG = (off: number): Insn[] => [BPF_MOV64_REG(1, 10), BPF_ALU64_IMM(BPF_ADD, 1, off)];
const SAVE = (off = -8) => [...FLAG(off), kcall(KF.irqSave)];
const RESTORE = (off = -8) => [...FLAG(off), kcall(KF.irqRestore)];
const THROW0 = [BPF_MOV64_IMM(1, 0), kcall(KF.throw)];

test("RCU read-side sections: balanced and nested ones pass, an open one at exit or an extra unlock is refused", (t) => {
  accepts(t, resInput(prog(kcall(KF.rcuLock), kcall(KF.rcuUnlock), ...RET0)));
  accepts(t, resInput(prog(kcall(KF.rcuLock), kcall(KF.rcuLock), kcall(KF.rcuUnlock), kcall(KF.rcuUnlock), ...RET0)));
  rejects(
    t,
    resInput(prog(kcall(KF.rcuLock), ...RET0)),
    "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region",
  );
  rejects(
    t,
    resInput(prog(kcall(KF.rcuLock), kcall(KF.rcuLock), kcall(KF.rcuUnlock), ...RET0)),
    "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region",
  );
  rejects(
    t,
    resInput(prog(kcall(KF.rcuUnlock), ...RET0)),
    "unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)",
  );
});

test("preemption: enable needs a disable, and the program may not end non-preemptible", (t) => {
  accepts(t, resInput(prog(kcall(KF.preemptDisable), kcall(KF.preemptEnable), ...RET0)));
  rejects(
    t,
    resInput(prog(kcall(KF.preemptDisable), ...RET0)),
    "BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region",
  );
  rejects(
    t,
    resInput(prog(kcall(KF.preemptEnable), ...RET0)),
    "unmatched attempt to enable preemption (kernel function bpf_preempt_enable)",
  );
});

test("IRQ flags: a stack slot saved then restored, innermost first; misuse has the kernel's messages", (t) => {
  accepts(t, resInput(prog(...SAVE(), ...RESTORE(), ...RET0)));
  accepts(t, resInput(prog(...SAVE(-8), ...SAVE(-16), ...RESTORE(-16), ...RESTORE(-8), ...RET0)), "LIFO order");
  rejects(
    t,
    resInput(prog(...SAVE(), ...RET0)),
    "BPF_EXIT instruction in main prog cannot be used inside bpf_local_irq_save-ed region",
  );
  rejects(t, resInput(prog(...RESTORE(), ...RET0)), "expected an initialized irq flag as arg#0");
  rejects(t, resInput(prog(...SAVE(), ...SAVE(), ...RET0)), "expected uninitialized irq flag as arg#0");
  // The first save is insn 2 (id 1), the second insn 5 (id 2): restoring the outer one first.
  rejects(
    t,
    resInput(prog(...SAVE(-8), ...SAVE(-16), ...RESTORE(-8), ...RET0)),
    "cannot restore irq state out of order, expected id=2 acquired at insn_idx=5",
    EACCES,
  );
  rejects(
    t,
    resInput(prog(BPF_MOV64_IMM(1, 0), kcall(KF.irqSave), ...RET0)),
    "arg#0 doesn't point to an irq flag on stack",
  );
  rejects(t, resInput(prog(...SAVE(-12), ...RET0)), "cannot pass in irq_flag at an offset=-12");
  // The flag is not data: reading it is refused; overwriting it leaves no flag to restore.
  rejects(
    t,
    resInput(prog(...SAVE(), BPF_LDX_MEM(BPF_DW, 0, 10, -8), ...RET0)),
    "invalid read from stack off -8+0 size 8",
    EACCES,
  );
  rejects(
    t,
    resInput(prog(...SAVE(), BPF_ST_MEM(BPF_DW, 10, -8, 0), ...RESTORE(), ...RET0)),
    "expected an initialized irq flag as arg#0",
  );
});

test("bpf_throw inside a region is refused, also from a static subprogram; after the region it is accepted", (t) => {
  rejects(
    t,
    resInput(prog(kcall(KF.rcuLock), ...THROW0, ...RET0)),
    "bpf_throw cannot be used inside bpf_rcu_read_lock-ed region",
  );
  rejects(
    t,
    resInput(prog(kcall(KF.preemptDisable), ...THROW0, ...RET0)),
    "bpf_throw cannot be used inside bpf_preempt_disable-ed region",
  );
  rejects(
    t,
    resInput(prog(...SAVE(), ...THROW0, ...RET0)),
    "bpf_throw cannot be used inside bpf_local_irq_save-ed region",
  );
  // main: region; call a static subprogram that throws; the subprogram: throw.
  const viaSubprog = (open: Insn[], close: Insn[]) =>
    prog(...open, BPF_CALL_REL(close.length + 2), ...close, ...RET0, ...THROW0, ...RET0);
  rejects(
    t,
    resInput(viaSubprog([kcall(KF.rcuLock)], [kcall(KF.rcuUnlock)])),
    "bpf_throw cannot be used inside bpf_rcu_read_lock-ed region",
  );
  rejects(t, resInput(viaSubprog(SAVE(), RESTORE())), "bpf_throw cannot be used inside bpf_local_irq_save-ed region");
  accepts(t, resInput(prog(kcall(KF.rcuLock), kcall(KF.rcuUnlock), ...THROW0, ...RET0)));
});

test("a region may be opened in a static subprogram and closed by its caller; only the program's end checks", (t) => {
  // main: call sub; rcu_unlock; r0 = 0; exit    sub: rcu_lock; r0 = 0; exit
  const open = prog(BPF_CALL_REL(3), kcall(KF.rcuUnlock), ...RET0, kcall(KF.rcuLock), ...RET0);
  accepts(t, resInput(open));
  const leak = prog(BPF_CALL_REL(2), ...RET0, kcall(KF.rcuLock), ...RET0);
  rejects(t, resInput(leak), "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region");
});

test("global functions: allowed in a region unless they may sleep; one that may throw is an exceptional exit there", (t) => {
  // main: open; r1 = 1; call g; close; r0 = 0; exit    g: <body>
  const withGlobal = (open: Insn[], close: Insn[], body: Insn[]) =>
    prog(...open, BPF_MOV64_IMM(1, 1), BPF_CALL_REL(close.length + 2), ...close, ...RET0, ...body);
  const funcsAt = (start: number) => resFuncs({ start, name: "g", btfId: G_BTF_ID, global: true });
  const rcuCall = withGlobal([kcall(KF.rcuLock)], [kcall(KF.rcuUnlock)], RET0);
  accepts(t, resInput(rcuCall, { funcs: funcsAt(6) }));
  const irqCall = withGlobal(SAVE(), RESTORE(), RET0);
  accepts(t, resInput(irqCall, { funcs: funcsAt(10) }));
  const sleeps = withGlobal([kcall(KF.rcuLock)], [kcall(KF.rcuUnlock)], [kcall(KF.sleepy), ...RET0]);
  rejects(
    t,
    resInput(sleeps, { funcs: funcsAt(6), sleepable: true }),
    "global functions that may sleep are not allowed in non-sleepable context,\n" +
      "i.e., in a RCU/IRQ/preempt-disabled section, or in\na non-sleepable BPF program context",
  );
  const throws = withGlobal([kcall(KF.rcuLock)], [kcall(KF.rcuUnlock)], [...THROW0, ...RET0]);
  rejects(t, resInput(throws, { funcs: funcsAt(6) }), "bpf_throw cannot be used inside bpf_rcu_read_lock-ed region");
  accepts(t, resInput(withGlobal([], [], [...THROW0, ...RET0]), { funcs: funcsAt(4) }), "throwing global, no region");
});

test("a sleepable kfunc inside a region of a sleepable program names the region", (t) => {
  accepts(t, resInput(prog(kcall(KF.sleepy), ...RET0), { sleepable: true }));
  rejects(
    t,
    resInput(prog(kcall(KF.rcuLock), kcall(KF.sleepy), kcall(KF.rcuUnlock), ...RET0), { sleepable: true }),
    "kernel func bpf_sleepy is sleepable within rcu_read_lock region",
    EACCES,
  );
  rejects(
    t,
    resInput(prog(kcall(KF.preemptDisable), kcall(KF.sleepy), ...RET0), { sleepable: true }),
    "kernel func bpf_sleepy is sleepable within non-preemptible region",
    EACCES,
  );
});

test("tail calls and legacy packet loads are refused inside a region", (t) => {
  const progs: VerifierMap = {
    fd: 20,
    type: BPF_MAP_TYPE_PROG_ARRAY,
    keySize: 4,
    valueSize: 4,
    maxEntries: 1,
    flags: 0,
    name: "jmp",
  };
  const tail = (open: Insn[]) =>
    prog(
      BPF_MOV64_REG(6, 1),
      ...open,
      BPF_MOV64_REG(1, 6),
      BPF_LD_MAP_FD(2, 20),
      BPF_MOV64_IMM(3, 0),
      BPF_EMIT_CALL(BPF_FUNC_tail_call),
      ...RET0,
    );
  const inp = (insns: Insn[]) => resInput(insns, { map: (fd) => (fd === 20 ? progs : undefined) });
  accepts(t, inp(tail([])));
  rejects(t, inp(tail([kcall(KF.rcuLock)])), "tail_call cannot be used inside bpf_rcu_read_lock-ed region");
  rejects(t, inp(tail([kcall(KF.preemptDisable)])), "tail_call cannot be used inside bpf_preempt_disable-ed region");
  const ldAbs = (open: Insn[], close: Insn[]) =>
    resInput(prog(BPF_MOV64_REG(6, 1), ...open, BPF_LD_ABS(BPF_B, 0), ...close, ...RET0));
  accepts(t, ldAbs([], []));
  rejects(
    t,
    ldAbs([kcall(KF.rcuLock)], [kcall(KF.rcuUnlock)]),
    "BPF_LD_[ABS|IND] cannot be used inside bpf_rcu_read_lock-ed region",
  );
});

test("pruning keeps paths apart that hold different regions (refsafe)", (t) => {
  // 0: r0 = rand; 1: if r0 != 0 goto 4; 2: r0 = 0; 3: goto 6; 4: rcu_lock; 5: r0 = 0; 6: exit
  // The first path reaches 6 with no region; the second with one: it must not be pruned there.
  const insns = prog(
    BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32),
    BPF_JMP_IMM(BPF_JNE, 0, 0, 2),
    BPF_MOV64_IMM(0, 0),
    BPF_JMP_A(2),
    kcall(KF.rcuLock),
    BPF_MOV64_IMM(0, 0),
    BPF_EXIT_INSN(),
  );
  const e = rejects(
    t,
    resInput(insns),
    "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region",
  );
  t.is(e.insnIdx, 6);
  // The same join with the region closed on the second path verifies.
  const closed = prog(
    BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32),
    BPF_JMP_IMM(BPF_JNE, 0, 0, 2),
    BPF_MOV64_IMM(0, 0),
    BPF_JMP_A(3),
    kcall(KF.rcuLock),
    kcall(KF.rcuUnlock),
    BPF_MOV64_IMM(0, 0),
    BPF_EXIT_INSN(),
  );
  t.notThrows(() => bpfCheck(resInput(closed)));
});
