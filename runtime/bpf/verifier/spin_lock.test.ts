import test from "ava";
import { EACCES } from "../../errno.js";
import {
  BPF_ALU64_IMM,
  BPF_CALL_REL,
  BPF_EMIT_CALL,
  BPF_EXIT_INSN,
  BPF_JMP_IMM,
  BPF_LDX_MEM,
  BPF_LD_MAP_FD,
  BPF_LD_MAP_VALUE,
  BPF_MOV64_IMM,
  BPF_MOV64_REG,
  BPF_ST_MEM,
  prog,
} from "../builder.js";
import { BPF_FUNC_get_prandom_u32, BPF_FUNC_map_lookup_elem } from "../func_ids.js";
import { BPF_FUNC_spin_lock, BPF_FUNC_spin_unlock } from "../helpers/protos.js";
import type { Insn } from "../insn.js";
import { BPF_ADD, BPF_JEQ, BPF_W } from "../opcodes.js";
import { BPF_PROG_TYPE_KPROBE } from "../object/uapi.js";
import {
  accepts,
  G_BTF_ID,
  INT_ARRAY,
  kcall,
  KF,
  LOCK_ARRAY,
  PLAIN_ARRAY,
  rejects,
  resFuncs,
  resInput,
} from "./verifier_test_util.js";

const RET0 = [BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()];
/** bpf_spin_lock / bpf_spin_unlock on the global value of `fd` at `off`. */
const LOCK = (fd = LOCK_ARRAY.fd, off = 4): Insn[] => [
  ...BPF_LD_MAP_VALUE(1, fd, off),
  BPF_EMIT_CALL(BPF_FUNC_spin_lock),
];
const UNLOCK = (fd = LOCK_ARRAY.fd, off = 4): Insn[] => [
  ...BPF_LD_MAP_VALUE(1, fd, off),
  BPF_EMIT_CALL(BPF_FUNC_spin_unlock),
];
const THROW0 = [BPF_MOV64_IMM(1, 0), kcall(KF.throw)];

test("a locked section that unlocks passes; leaving it locked is refused at exit and at bpf_throw", (t) => {
  accepts(t, resInput(prog(...LOCK(), ...UNLOCK(), ...RET0)));
  rejects(
    t,
    resInput(prog(...LOCK(), ...RET0)),
    "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region",
  );
  // exceptions_fail.c reject_with_lock: bpf_throw is a call, refused before it can throw.
  rejects(t, resInput(prog(...LOCK(), ...THROW0, ...RET0)), "function calls are not allowed while holding a lock");
});

test("no calls while holding a lock but bpf_spin_unlock and static subprograms; globals are named", (t) => {
  rejects(
    t,
    resInput(prog(...LOCK(), BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32), ...UNLOCK(), ...RET0)),
    "function calls are not allowed while holding a lock",
  );
  rejects(
    t,
    resInput(prog(...LOCK(), kcall(KF.rcuLock), ...UNLOCK(), ...RET0)),
    "function calls are not allowed while holding a lock",
  );
  // main: lock; call sub; unlock; exit    sub: r0 = 0; exit
  const withSub = prog(...LOCK(), BPF_CALL_REL(5), ...UNLOCK(), ...RET0, ...RET0);
  accepts(t, resInput(withSub));
  rejects(
    t,
    resInput(withSub, { funcs: resFuncs({ start: 9, name: "g", btfId: G_BTF_ID, global: true }) }),
    "global function calls are not allowed while holding a lock,\nuse static function instead",
  );
  // exceptions_fail.c reject_subprog_with_lock: the subprogram locks, then throws.
  const subLocks = prog(BPF_CALL_REL(2), ...RET0, ...LOCK(), ...THROW0, ...RET0);
  rejects(t, resInput(subLocks), "function calls are not allowed while holding a lock");
  // Locked in a static subprogram and unlocked by its caller: allowed, as in the kernel.
  accepts(t, resInput(prog(BPF_CALL_REL(5), ...UNLOCK(), ...RET0, ...LOCK(), ...RET0)));
});

test("lock and unlock pairing: one lock at a time, unlock needs the same lock", (t) => {
  // A second bpf_spin_lock is a helper call under the lock: refused as such, before process_spin_lock.
  rejects(t, resInput(prog(...LOCK(), ...LOCK(), ...RET0)), "function calls are not allowed while holding a lock");
  rejects(t, resInput(prog(...UNLOCK(), ...RET0)), "bpf_spin_unlock without taking a lock");
  // Two lookups are two values (two ids): locking one and unlocking the other is refused.
  const lookup = (dst: number): Insn[] => [
    BPF_MOV64_REG(2, 10),
    BPF_ALU64_IMM(BPF_ADD, 2, -4),
    ...BPF_LD_MAP_FD(1, LOCK_ARRAY.fd),
    BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
    BPF_JMP_IMM(BPF_JEQ, 0, 0, 100),
    BPF_MOV64_REG(dst, 0),
  ];
  const two = (unlockReg: number): Insn[] => {
    const body = [
      BPF_ST_MEM(BPF_W, 10, -4, 0),
      ...lookup(6),
      ...lookup(7),
      BPF_MOV64_REG(1, 6),
      BPF_ALU64_IMM(BPF_ADD, 1, 4),
      BPF_EMIT_CALL(BPF_FUNC_spin_lock),
      BPF_MOV64_REG(1, unlockReg),
      BPF_ALU64_IMM(BPF_ADD, 1, 4),
      BPF_EMIT_CALL(BPF_FUNC_spin_unlock),
      ...RET0,
    ];
    // Point the null checks at the final `r0 = 0; exit`.
    return body.map((x, i) =>
      x.code === BPF_JMP_IMM(BPF_JEQ, 0, 0, 0).code && x.off === 100 ? { ...x, off: body.length - 2 - i - 1 } : x,
    );
  };
  accepts(t, resInput(prog(...two(6))));
  rejects(t, resInput(prog(...two(7))), "bpf_spin_unlock of different lock");
});

test("the lock must be the value's struct bpf_spin_lock, found in the map's BTF", (t) => {
  rejects(
    t,
    resInput(prog(...LOCK(PLAIN_ARRAY.fd), ...RET0)),
    "map 'plain' has to have BTF in order to use bpf_spin_lock",
  );
  rejects(t, resInput(prog(...LOCK(INT_ARRAY.fd, 0), ...RET0)), "map 'ints' has no valid bpf_spin_lock");
  rejects(
    t,
    resInput(prog(...LOCK(LOCK_ARRAY.fd, 0), ...RET0)),
    "off 0 doesn't point to 'struct bpf_spin_lock' that is at 4",
  );
  rejects(
    t,
    resInput(prog(BPF_MOV64_REG(1, 10), BPF_EMIT_CALL(BPF_FUNC_spin_lock), ...RET0)),
    "R1 type=fp expected=map_value, alloc_ptr_",
    EACCES,
  );
});

test("the lock word is not data, and tracing programs may not use a map with a lock", (t) => {
  accepts(t, resInput(prog(...BPF_LD_MAP_VALUE(1, LOCK_ARRAY.fd, 0), BPF_LDX_MEM(BPF_W, 0, 1, 0), BPF_EXIT_INSN())));
  rejects(
    t,
    resInput(prog(...BPF_LD_MAP_VALUE(1, LOCK_ARRAY.fd, 0), BPF_LDX_MEM(BPF_W, 0, 1, 4), BPF_EXIT_INSN())),
    "bpf_spin_lock cannot be accessed directly by load/store",
    EACCES,
  );
  rejects(
    t,
    resInput(prog(...BPF_LD_MAP_VALUE(1, LOCK_ARRAY.fd, 0), BPF_ST_MEM(BPF_W, 1, 4, 0), ...RET0)),
    "bpf_spin_lock cannot be accessed directly by load/store",
    EACCES,
  );
  rejects(
    t,
    resInput(prog(...LOCK(), ...UNLOCK(), ...RET0), { progType: BPF_PROG_TYPE_KPROBE }),
    "tracing progs cannot use bpf_spin_lock yet",
  );
});
