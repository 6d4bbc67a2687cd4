import test from "ava";
import { EACCES } from "../../errno.js";
import {
  BPF_ALU64_IMM,
  BPF_CALL_REL,
  BPF_EMIT_CALL,
  BPF_EXIT_INSN,
  BPF_JMP_IMM,
  BPF_LDX_MEM,
  BPF_LD_IMM64_RAW,
  BPF_LD_MAP_FD,
  BPF_MOV64_IMM,
  BPF_MOV64_REG,
  BPF_STX_MEM,
  BPF_ST_MEM,
  prog,
} from "../builder.js";
import { BPF_FUNC_get_prandom_u32, BPF_FUNC_loop, BPF_FUNC_map_lookup_elem } from "../func_ids.js";
import { BPF_FUNC_timer_set_callback } from "../helpers/protos.js";
import type { Insn } from "../insn.js";
import { BPF_ADD, BPF_DW, BPF_JEQ, BPF_PSEUDO_FUNC, BPF_W } from "../opcodes.js";
import { bpfCheck } from "./verifier.js";
import {
  accepts,
  kcall,
  KF,
  LOCK_ARRAY,
  PLAIN_ARRAY,
  rejects,
  resFuncs,
  resInput,
  TIMER_HASH,
} from "./verifier_test_util.js";

const RET0 = [BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()];
const THROW0 = [BPF_MOV64_IMM(1, 0), kcall(KF.throw)];

/**
 * main: <pre>; r1 = nr; r2 = &cb; r3 = ctx; r4 = 0; call bpf_loop; <post>; exit; then cb.
 * `ctx` is instructions that set r3; `post` ends the main program.
 */
function loopProg(opts: { nr?: Insn[]; ctx?: Insn[]; pre?: Insn[]; post?: Insn[]; cb: Insn[] }): Insn[] {
  const pre = opts.pre ?? [];
  const nr = opts.nr ?? [BPF_MOV64_IMM(1, 5)];
  const ctx = opts.ctx ?? [BPF_MOV64_IMM(3, 0)];
  const post = opts.post ?? RET0;
  const ldAt = pre.length + nr.length;
  const cbStart = ldAt + 2 + ctx.length + 2 + post.length;
  return prog(
    ...pre,
    ...nr,
    ...BPF_LD_IMM64_RAW(2, BPF_PSEUDO_FUNC, cbStart - ldAt - 1),
    ...ctx,
    BPF_MOV64_IMM(4, 0),
    BPF_EMIT_CALL(BPF_FUNC_loop),
    ...post,
    ...opts.cb,
  );
}

test("bpf_loop: a static callback is verified in a frame of its own with R1 = index, R2 = ctx", (t) => {
  accepts(t, resInput(loopProg({ cb: RET0 })));
  // R2 is the caller's R3 (NULL here: a scalar), R3 is not passed.
  rejects(
    t,
    resInput(loopProg({ cb: [BPF_LDX_MEM(BPF_DW, 0, 2, 0), BPF_EXIT_INSN()] })),
    "R2 invalid mem access 'scalar'",
    EACCES,
  );
  rejects(t, resInput(loopProg({ cb: [BPF_MOV64_REG(0, 3), BPF_EXIT_INSN()] })), "R3 !read_ok", EACCES);
  accepts(t, resInput(loopProg({ cb: [BPF_MOV64_REG(0, 1), BPF_ALU64_IMM(BPF_ADD, 0, 0), ...RET0] })), "R1 readable");
});

test("bpf_loop: the callback returns a scalar in [0, 1]", (t) => {
  rejects(
    t,
    resInput(loopProg({ cb: [BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()] })),
    "At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]",
  );
  rejects(
    t,
    resInput(
      loopProg({
        cb: [BPF_MOV64_REG(0, 2), BPF_EXIT_INSN()],
        ctx: [BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -8)],
        pre: [BPF_ST_MEM(BPF_DW, 10, -8, 0)],
      }),
    ),
    "R0 not a scalar value",
    EACCES,
  );
  accepts(t, resInput(loopProg({ cb: [BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()] })));
});

test("bpf_loop: a callback that updates the caller's stack through ctx converges, for a known or unknown count", (t) => {
  // ctx = fp-8 = 0; cb: *(u64 *)ctx += 1 (through a register); main returns *(u64 *)(fp-8).
  const cb = [BPF_LDX_MEM(BPF_DW, 3, 2, 0), BPF_ALU64_IMM(BPF_ADD, 3, 1), BPF_STX_MEM(BPF_DW, 2, 3, 0), ...RET0];
  const counting = (nr: Insn[]) =>
    loopProg({
      pre: [BPF_ST_MEM(BPF_DW, 10, -8, 0)],
      nr,
      ctx: [BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -8)],
      post: [BPF_LDX_MEM(BPF_DW, 0, 10, -8), BPF_EXIT_INSN()],
      cb,
    });
  const known = bpfCheck(resInput(counting([BPF_MOV64_IMM(1, 100)])));
  t.true(known.insnProcessed < 5000, `processed ${known.insnProcessed}`);
  const unknown = bpfCheck(resInput(counting([BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32), BPF_MOV64_REG(1, 0)])));
  t.true(unknown.insnProcessed < 5000, `processed ${unknown.insnProcessed}`);
  // A callback that writes a pointer-sized value past the caller's slot is still bounds-checked.
  rejects(
    t,
    resInput(
      loopProg({
        ctx: [BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -8)],
        pre: [BPF_ST_MEM(BPF_DW, 10, -8, 0)],
        cb: [BPF_ST_MEM(BPF_DW, 2, 8, 0), ...RET0],
      }),
    ),
    "invalid write to stack R2 off=0 size=8",
    EACCES,
  );
});

test("callbacks must be static; bpf_throw under a callback is refused after the checks", (t) => {
  const p = loopProg({ cb: RET0 });
  rejects(
    t,
    resInput(p, { funcs: resFuncs({ start: p.length - 2, name: "cb", btfId: 0, global: true }) }),
    "callback function not static",
  );
  // exceptions_fail.c reject_with_cb: the callback throws.
  const throwing = loopProg({ cb: [...THROW0, ...RET0] });
  rejects(
    t,
    resInput(throwing),
    `bpf_throw kfunc (insn ${throwing.length - 3}) cannot be called from callback subprog 1`,
  );
  // ... or a static function it calls does.
  const nested = loopProg({ cb: [BPF_CALL_REL(2), ...RET0, ...THROW0, ...RET0] });
  rejects(t, resInput(nested), `bpf_throw kfunc (insn ${nested.length - 3}) cannot be called from callback subprog 2`);
  // In an RCU section the throw's own resource check comes first (do_check before check_max_stack_depth).
  const inRcu = loopProg({ pre: [kcall(KF.rcuLock)], post: [kcall(KF.rcuUnlock), ...RET0], cb: [...THROW0, ...RET0] });
  rejects(t, resInput(inRcu), "bpf_throw cannot be used inside bpf_rcu_read_lock-ed region");
});

/**
 * A tc program: v = lookup(map, &0); if v: bpf_timer_set_callback(v + off, cb); r0 = 0; exit; then cb.
 */
function timerProg(cb: Insn[], opts: { fd?: number; off?: number } = {}): Insn[] {
  const body = [
    BPF_ST_MEM(BPF_W, 10, -4, 0),
    BPF_MOV64_REG(2, 10),
    BPF_ALU64_IMM(BPF_ADD, 2, -4),
    ...BPF_LD_MAP_FD(1, opts.fd ?? TIMER_HASH.fd),
    BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
    BPF_JMP_IMM(BPF_JEQ, 0, 0, 5),
    BPF_MOV64_REG(1, 0),
    BPF_ALU64_IMM(BPF_ADD, 1, opts.off ?? 0),
  ];
  const ldAt = body.length;
  return prog(
    ...body,
    ...BPF_LD_IMM64_RAW(2, BPF_PSEUDO_FUNC, ldAt + 2 + 1 + 2 - ldAt - 1),
    BPF_EMIT_CALL(BPF_FUNC_timer_set_callback),
    ...RET0,
    ...cb,
  );
}

test("bpf_timer_set_callback: the callback runs on its own with the timer's map, key and value", (t) => {
  accepts(t, resInput(timerProg(RET0)));
  // cb(map, key, value): a lookup through its own R1/R2 verifies.
  accepts(t, resInput(timerProg([BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem), ...RET0])));
  rejects(
    t,
    resInput(timerProg([BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()])),
    "At async callback return the register R0 has smin=1 smax=1 should have been in [0, 0]",
  );
  // exceptions_fail.c reject_async_callback_throw.
  const throwing = timerProg([...THROW0, ...RET0]);
  rejects(
    t,
    resInput(throwing),
    `bpf_throw kfunc (insn ${throwing.length - 3}) cannot be called from callback subprog 1`,
  );
  rejects(
    t,
    resInput(timerProg(RET0), { gplCompatible: false }),
    "cannot call GPL-restricted function from non-GPL compatible program",
  );
});

test("bpf_timer_set_callback: the timer must be the value's struct bpf_timer, from the map's BTF", (t) => {
  rejects(
    t,
    resInput(timerProg(RET0, { fd: PLAIN_ARRAY.fd })),
    "map 'plain' has to have BTF in order to use bpf_timer",
  );
  rejects(t, resInput(timerProg(RET0, { fd: LOCK_ARRAY.fd })), "map 'locked' has no valid bpf_timer");
  rejects(t, resInput(timerProg(RET0, { off: 8 })), "off 8 doesn't point to 'struct bpf_timer' that is at 0");
});
