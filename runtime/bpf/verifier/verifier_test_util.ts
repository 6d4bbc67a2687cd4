/**
 * Shared fixtures of the verifier's resource tests (regions, spin locks,
 * callbacks): a BTF with the region kfuncs as kernel/bpf/helpers.c declares
 * them, bpf_throw, a sleepable kfunc, map values with a `struct
 * bpf_spin_lock` / `struct bpf_timer`, and a global function; maps that
 * have (or lack) that BTF; and an input builder.
 *
 *   BTF ids
 *     1 int   2 u64   3 unsigned long   4 unsigned long *   5 void (void)
 *     6 bpf_rcu_read_lock   7 bpf_rcu_read_unlock   8 bpf_preempt_disable
 *     9 bpf_preempt_enable  10 void (unsigned long *flags__irq_flag)
 *     11 bpf_local_irq_save 12 bpf_local_irq_restore 13 void (u64 cookie)
 *     14 bpf_throw          15 bpf_sleepy (KF_SLEEPABLE)
 *     16 struct bpf_spin_lock { int val }    17 struct val { int x; struct bpf_spin_lock lock }
 *     18 struct bpf_timer { u64 a, b }       19 struct tval { struct bpf_timer t }
 *     20 int (int)          21 g (global)
 *     22 void *             23 void *(u64 local_type_id__k, void *meta__ign)
 *     24 bpf_obj_new_impl   25 void (void *p__alloc, void *meta__ign)   26 bpf_obj_drop_impl
 *     27 struct foo { u64 a; int b } (16 bytes)
 */
import type { ExecutionContext } from "ava";
import { EINVAL } from "../../errno.js";
import { Btf } from "../btf/btf.js";
import { BtfEncoder } from "../btf/encode.js";
import {
  BTF_INT_SIGNED,
  BTF_KIND_FUNC,
  BTF_KIND_FUNC_PROTO,
  BTF_KIND_INT,
  BTF_KIND_PTR,
  BTF_KIND_STRUCT,
} from "../btf/types.js";
import { BPF_CALL_KFUNC } from "../builder.js";
import type { Insn } from "../insn.js";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_PROG_TYPE_SCHED_CLS } from "../object/uapi.js";
import type { VerifierFunc, VerifierInput, VerifierKfunc } from "./env.js";
import { VerifierError } from "./log.js";
import type { VerifierMap } from "./reg_state.js";
import { bpfCheck } from "./verifier.js";

function buildBtf(): Btf {
  const e = new BtfEncoder();
  e.type(BTF_KIND_INT, { name: "int", sizeOrType: 4, extra: [(BTF_INT_SIGNED << 24) | 32] }); // 1
  e.type(BTF_KIND_INT, { name: "unsigned long long", sizeOrType: 8, extra: [64] }); // 2
  e.type(BTF_KIND_INT, { name: "unsigned long", sizeOrType: 8, extra: [64] }); // 3
  e.type(BTF_KIND_PTR, { sizeOrType: 3 }); // 4
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 0, sizeOrType: 0 }); // 5
  for (const name of ["bpf_rcu_read_lock", "bpf_rcu_read_unlock", "bpf_preempt_disable", "bpf_preempt_enable"]) {
    e.type(BTF_KIND_FUNC, { name, vlen: 1, sizeOrType: 5 }); // 6..9
  }
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 1, sizeOrType: 0, extra: [e.str("flags__irq_flag"), 4] }); // 10
  e.type(BTF_KIND_FUNC, { name: "bpf_local_irq_save", vlen: 1, sizeOrType: 10 }); // 11
  e.type(BTF_KIND_FUNC, { name: "bpf_local_irq_restore", vlen: 1, sizeOrType: 10 }); // 12
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 1, sizeOrType: 0, extra: [e.str("cookie"), 2] }); // 13
  e.type(BTF_KIND_FUNC, { name: "bpf_throw", vlen: 1, sizeOrType: 13 }); // 14
  e.type(BTF_KIND_FUNC, { name: "bpf_sleepy", vlen: 1, sizeOrType: 5 }); // 15
  e.type(BTF_KIND_STRUCT, { name: "bpf_spin_lock", vlen: 1, sizeOrType: 4, extra: [e.str("val"), 1, 0] }); // 16
  e.type(BTF_KIND_STRUCT, { name: "val", vlen: 2, sizeOrType: 8, extra: [e.str("x"), 1, 0, e.str("lock"), 16, 32] }); // 17
  e.type(BTF_KIND_STRUCT, { name: "bpf_timer", vlen: 2, sizeOrType: 16, extra: [e.str("a"), 2, 0, e.str("b"), 2, 64] }); // 18
  e.type(BTF_KIND_STRUCT, { name: "tval", vlen: 1, sizeOrType: 16, extra: [e.str("t"), 18, 0] }); // 19
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 1, sizeOrType: 1, extra: [e.str("a"), 1] }); // 20
  e.type(BTF_KIND_FUNC, { name: "g", vlen: 1, sizeOrType: 20 }); // 21
  e.type(BTF_KIND_PTR, { sizeOrType: 0 }); // 22 void *
  e.type(BTF_KIND_FUNC_PROTO, {
    vlen: 2,
    sizeOrType: 22,
    extra: [e.str("local_type_id__k"), 2, e.str("meta__ign"), 22],
  }); // 23
  e.type(BTF_KIND_FUNC, { name: "bpf_obj_new_impl", vlen: 1, sizeOrType: 23 }); // 24
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 2, sizeOrType: 0, extra: [e.str("p__alloc"), 22, e.str("meta__ign"), 22] }); // 25
  e.type(BTF_KIND_FUNC, { name: "bpf_obj_drop_impl", vlen: 1, sizeOrType: 25 }); // 26
  e.type(BTF_KIND_STRUCT, { name: "foo", vlen: 2, sizeOrType: 16, extra: [e.str("a"), 2, 0, e.str("b"), 1, 64] }); // 27
  return Btf.parse(e.build());
}

/** The fixture BTF (see the header for its ids). */
export const RES_BTF = buildBtf();

/** kfunc BTF ids of the fixture. */
export const KF = {
  rcuLock: 6,
  rcuUnlock: 7,
  preemptDisable: 8,
  preemptEnable: 9,
  irqSave: 11,
  irqRestore: 12,
  throw: 14,
  sleepy: 15,
  objNew: 24,
  objDrop: 26,
} as const;

/** BTF id of `struct foo` (a type bpf_obj_new can allocate). */
export const FOO_ID = 27;

/** BTF id of the global function `g` (int g(int)). */
export const G_BTF_ID = 21;

/** `call <kfunc>` by fixture id. */
export function kcall(id: number): Insn {
  return BPF_CALL_KFUNC(0, id);
}

function kfunc(id: number): VerifierKfunc | undefined {
  const f = RES_BTF.types[id];
  if (!f || f.kind !== "func" || id === G_BTF_ID) return undefined;
  const proto = RES_BTF.type(f.type);
  if (proto.kind !== "func_proto") return undefined;
  return { name: f.name, btf: RES_BTF, btfId: id, proto, allowed: true, flags: { sleepable: id === KF.sleepy } };
}

/** An array map whose value is `struct val` (bpf_spin_lock at offset 4), created with BTF. */
export const LOCK_ARRAY: VerifierMap = {
  fd: 10,
  type: BPF_MAP_TYPE_ARRAY,
  keySize: 4,
  valueSize: 8,
  maxEntries: 1,
  flags: 0,
  name: "locked",
  btf: RES_BTF,
  btfValueTypeId: 17,
};
/** The same map created without BTF. */
export const PLAIN_ARRAY: VerifierMap = { ...LOCK_ARRAY, fd: 11, name: "plain", btf: undefined, btfValueTypeId: 0 };
/** A map with BTF whose value (`int`) has no lock. */
export const INT_ARRAY: VerifierMap = { ...LOCK_ARRAY, fd: 12, name: "ints", valueSize: 4, btfValueTypeId: 1 };
/** A hash map whose value is `struct tval` (a bpf_timer at 0). */
export const TIMER_HASH: VerifierMap = {
  fd: 13,
  type: BPF_MAP_TYPE_HASH,
  keySize: 4,
  valueSize: 16,
  maxEntries: 4,
  flags: 0,
  name: "timers",
  btf: RES_BTF,
  btfValueTypeId: 19,
};
const MAPS = [LOCK_ARRAY, PLAIN_ARRAY, INT_ARRAY, TIMER_HASH];

/** A tc program (sched_cls) with the fixture's kfuncs, maps and BTF; `extra` overrides. */
export function resInput(insns: Insn[], extra: Partial<VerifierInput> = {}): VerifierInput {
  return {
    insns,
    progType: BPF_PROG_TYPE_SCHED_CLS,
    expectedAttachType: 0,
    progName: "main",
    gplCompatible: true,
    btf: RES_BTF,
    map: (fd) => MAPS.find((m) => m.fd === fd),
    kfunc: (id, off) => (off === 0 ? kfunc(id) : undefined),
    logLevel: 1,
    ...extra,
  };
}

/** func_info: main at 0 (global), then the given functions. */
export function resFuncs(...more: VerifierFunc[]): VerifierFunc[] {
  return [{ start: 0, name: "main", btfId: 0, global: true }, ...more];
}

/** Assert that `inp` is rejected with exactly `reason` (and `errno`); returns the error. */
export function rejects(t: ExecutionContext, inp: VerifierInput, reason: string, errno = EINVAL): VerifierError {
  const e = t.throws(() => bpfCheck(inp), { instanceOf: VerifierError });
  t.is(e?.reason, reason);
  t.is(e?.errno, errno);
  return e!;
}

/** Assert that `inp` is accepted. */
export function accepts(t: ExecutionContext, inp: VerifierInput, what?: string): void {
  t.notThrows(() => bpfCheck(inp), what);
}
