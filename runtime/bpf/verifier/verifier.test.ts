import test from "ava";
import { E2BIG, EACCES, EINVAL } from "../../errno.js";
import { BtfEncoder } from "../btf/encode.js";
import { Btf } from "../btf/btf.js";
import {
  BTF_INT_SIGNED,
  BTF_KIND_FUNC,
  BTF_KIND_FUNC_PROTO,
  BTF_KIND_INT,
  BTF_KIND_PTR,
  BTF_KIND_STRUCT,
} from "../btf/types.js";
import {
  BPF_ALU64_IMM,
  BPF_ALU64_REG,
  BPF_CALL_REL,
  BPF_EMIT_CALL,
  BPF_EXIT_INSN,
  BPF_JMP_A,
  BPF_JMP_IMM,
  BPF_LDX_MEM,
  BPF_LD_IMM64,
  BPF_LD_MAP_FD,
  BPF_LD_MAP_VALUE,
  BPF_MOV64_IMM,
  BPF_MOV64_REG,
  BPF_RAW_INSN,
  BPF_ST_MEM,
  BPF_STX_MEM,
  prog,
} from "../builder.js";
import { formatProg } from "../format.js";
import {
  BPF_FUNC_get_func_arg,
  BPF_FUNC_get_func_arg_cnt,
  BPF_FUNC_get_func_ret,
  BPF_FUNC_map_lookup_elem,
  BPF_FUNC_map_update_elem,
  BPF_FUNC_tail_call,
  BPF_FUNC_trace_printk,
} from "../func_ids.js";
import type { Insn } from "../insn.js";
import { BPF_ADD, BPF_AND, BPF_B, BPF_DIV, BPF_DW, BPF_JEQ, BPF_JGT, BPF_JNE, BPF_LSH, BPF_W } from "../opcodes.js";
import {
  BPF_F_RDONLY_PROG,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_MODIFY_RETURN,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_TRACING,
  BPF_TRACE_FENTRY,
  BPF_TRACE_FEXIT,
} from "../object/uapi.js";
import type { VerifierInput } from "./env.js";
import { VerifierError } from "./log.js";
import type { VerifierMap } from "./reg_state.js";
import { bpfCheck } from "./verifier.js";

const HASH: VerifierMap = {
  fd: 3,
  type: BPF_MAP_TYPE_HASH,
  keySize: 4,
  valueSize: 8,
  maxEntries: 16,
  flags: 0,
  name: "h",
};
const ARRAY: VerifierMap = {
  fd: 4,
  type: BPF_MAP_TYPE_ARRAY,
  keySize: 4,
  valueSize: 16,
  maxEntries: 1,
  flags: 0,
  name: "a",
};
const RODATA: VerifierMap = { ...ARRAY, fd: 5, flags: BPF_F_RDONLY_PROG, name: "ro" };
const PROGS: VerifierMap = {
  fd: 6,
  type: BPF_MAP_TYPE_PROG_ARRAY,
  keySize: 4,
  valueSize: 4,
  maxEntries: 4,
  flags: 0,
  name: "jmp",
};
const MAPS = [HASH, ARRAY, RODATA, PROGS];

function tc(insns: Insn[], extra: Partial<VerifierInput> = {}): VerifierInput {
  return {
    insns,
    progType: BPF_PROG_TYPE_SCHED_CLS,
    expectedAttachType: 0,
    progName: "t",
    gplCompatible: true,
    map: (fd) => MAPS.find((m) => m.fd === fd),
    logLevel: 1,
    ...extra,
  };
}

/** BTF with `int f(int a, unsigned long long b)` and `struct s *g(struct s *p)`-like functions. */
function tracingBtf(): Btf {
  const e = new BtfEncoder();
  e.type(BTF_KIND_INT, { name: "int", sizeOrType: 4, extra: [(BTF_INT_SIGNED << 24) | 32] }); // 1
  e.type(BTF_KIND_INT, { name: "unsigned long long", sizeOrType: 8, extra: [64] }); // 2
  e.type(BTF_KIND_STRUCT, { name: "s", vlen: 1, sizeOrType: 8, extra: [e.str("x"), 2, 0] }); // 3
  e.type(BTF_KIND_PTR, { sizeOrType: 3 }); // 4
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 2, sizeOrType: 1, extra: [e.str("a"), 1, e.str("b"), 2] }); // 5
  e.type(BTF_KIND_FUNC, { name: "f", vlen: 1, sizeOrType: 5 }); // 6
  e.type(BTF_KIND_FUNC_PROTO, { vlen: 1, sizeOrType: 1, extra: [e.str("p"), 4] }); // 7
  e.type(BTF_KIND_FUNC, { name: "g", vlen: 1, sizeOrType: 7 }); // 8
  return Btf.parse(e.build());
}

function tracing(insns: Insn[], funcName: string, eat = BPF_TRACE_FENTRY): VerifierInput {
  const btf = tracingBtf();
  const sig = btf.funcSignature(funcName)!;
  return tc(insns, {
    progType: BPF_PROG_TYPE_TRACING,
    expectedAttachType: eat,
    attach: { funcName, btf, proto: sig.proto },
  });
}

function rejects(
  t: {
    throws: (fn: () => void, e: { instanceOf: typeof VerifierError }) => VerifierError | undefined;
    is: (a: unknown, b: unknown, m?: string) => void;
  },
  input: VerifierInput,
  reason: string,
  opts: { errno?: number; insn?: number } = {},
): VerifierError {
  const e = t.throws(() => bpfCheck(input), { instanceOf: VerifierError })!;
  t.is(e.reason, reason);
  if (opts.errno !== undefined) t.is(e.errno, opts.errno, "errno");
  if (opts.insn !== undefined) t.is(e.insnIdx, opts.insn, "insn");
  return e;
}

test("frame pointer is read only; the log names the instruction and ends with the statistics line", (t) => {
  const e = rejects(
    t,
    tc(prog(BPF_MOV64_IMM(0, 0), BPF_MOV64_IMM(10, 1), BPF_EXIT_INSN())),
    "frame pointer is read only",
    {
      errno: EACCES,
      insn: 1,
    },
  );
  t.is(e.message, "frame pointer is read only: insn 1: (b7) r10 = 1");
  t.is(
    e.log,
    [
      "0: R1=ctx() R10=fp0",
      "0: (b7) r0 = 0",
      "1: (b7) r10 = 1",
      "frame pointer is read only",
      "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
      "",
    ].join("\n"),
  );
  rejects(
    t,
    tc(prog(BPF_ALU64_IMM(BPF_ADD, 10, 8), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN())),
    "frame pointer is read only",
  );
  rejects(
    t,
    tc(prog(BPF_LDX_MEM(BPF_DW, 10, 1, 0), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN())),
    "frame pointer is read only",
  );
});

test("reads of uninitialised registers: R%d !read_ok (including R0 at exit)", (t) => {
  rejects(t, tc(prog(BPF_MOV64_REG(0, 2), BPF_EXIT_INSN())), "R2 !read_ok", { errno: EACCES, insn: 0 });
  rejects(t, tc(prog(BPF_EXIT_INSN())), "R0 !read_ok", { insn: 0 });
  // Caller-saved registers are dead after a helper call.
  rejects(t, tc(prog(BPF_EMIT_CALL(5), BPF_MOV64_REG(0, 1), BPF_EXIT_INSN())), "R1 !read_ok", { insn: 1 });
  // Callee-saved ones survive.
  t.notThrows(() => bpfCheck(tc(prog(BPF_MOV64_IMM(6, 7), BPF_EMIT_CALL(5), BPF_MOV64_REG(0, 6), BPF_EXIT_INSN()))));
});

test("structure: unknown opcode, reserved fields, jumps out of range or into ld_imm64, unreachable code, last insn", (t) => {
  rejects(t, tc(prog(BPF_RAW_INSN(0x8f, 0, 0, 0, 0), BPF_EXIT_INSN())), "unknown opcode 8f", { errno: EINVAL });
  rejects(t, tc(prog(BPF_RAW_INSN(0x07, 0, 1, 0, 1), BPF_EXIT_INSN())), "BPF_ALU uses reserved fields");
  rejects(t, tc(prog(BPF_MOV64_IMM(0, 0), BPF_JMP_A(5), BPF_EXIT_INSN())), "jump out of range from insn 1 to 7", {
    insn: 1,
  });
  rejects(
    t,
    tc(prog(BPF_MOV64_IMM(0, 0), BPF_JMP_IMM(BPF_JEQ, 1, 0, 1), BPF_LD_IMM64(2, 5n), BPF_EXIT_INSN())),
    "jump into the middle of ldimm64 insn 2",
  );
  rejects(
    t,
    tc(prog(BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN(), BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN())),
    "unreachable insn 2",
    {
      errno: EINVAL,
      insn: 2,
    },
  );
  rejects(t, tc(prog(BPF_MOV64_IMM(0, 0))), "last insn is not an exit or jmp");
  rejects(t, tc(prog(BPF_MOV64_IMM(0, 0), BPF_ALU64_IMM(BPF_DIV, 0, 0), BPF_EXIT_INSN())), "div by zero");
  rejects(t, tc(prog(BPF_MOV64_IMM(0, 0), BPF_ALU64_IMM(BPF_LSH, 0, 64), BPF_EXIT_INSN())), "invalid shift 64");
});

test("stack bounds: 512 bytes below r10, reads and writes, and spills that keep pointers", (t) => {
  rejects(
    t,
    tc(prog(BPF_ST_MEM(BPF_DW, 10, -520, 0), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN())),
    "invalid write to stack R10 off=-520 size=8",
    {
      errno: EACCES,
    },
  );
  rejects(t, tc(prog(BPF_LDX_MEM(BPF_W, 0, 10, 0), BPF_EXIT_INSN())), "invalid read from stack R10 off=0 size=4");
  // fp-512 is the last valid slot; uninitialised reads are allowed for a privileged loader.
  t.notThrows(() => bpfCheck(tc(prog(BPF_LDX_MEM(BPF_DW, 0, 10, -512), BPF_EXIT_INSN()))));
  // A spilled ctx pointer comes back as ctx: its field can be read.
  const ok = bpfCheck(
    tc(
      prog(
        BPF_STX_MEM(BPF_DW, 10, 1, -8),
        BPF_MOV64_IMM(1, 0),
        BPF_LDX_MEM(BPF_DW, 2, 10, -8),
        BPF_LDX_MEM(BPF_W, 0, 2, 0),
        BPF_EXIT_INSN(),
      ),
    ),
  );
  t.is(ok.subprogs[0].stackDepth, 8);
  // A partial read of a spilled pointer is refused.
  rejects(
    t,
    tc(prog(BPF_STX_MEM(BPF_DW, 10, 1, -8), BPF_LDX_MEM(BPF_W, 0, 10, -8), BPF_EXIT_INSN())),
    "invalid size of register fill",
  );
});

test("combined stack depth of a call chain over 512 bytes is refused with the kernel's message", (t) => {
  // main uses 256 bytes and calls f, which uses 272: 256 + 272 > 512.
  const insns = prog(
    BPF_ST_MEM(BPF_DW, 10, -256, 0),
    BPF_CALL_REL(2),
    BPF_MOV64_IMM(0, 0),
    BPF_EXIT_INSN(),
    BPF_ST_MEM(BPF_DW, 10, -272, 0),
    BPF_MOV64_IMM(0, 0),
    BPF_EXIT_INSN(),
  );
  rejects(t, tc(insns), "combined stack size of 2 calls is 528. Too large", { errno: EACCES });
  const fits = prog(
    BPF_ST_MEM(BPF_DW, 10, -256, 0),
    BPF_CALL_REL(2),
    BPF_MOV64_IMM(0, 0),
    BPF_EXIT_INSN(),
    BPF_ST_MEM(BPF_DW, 10, -256, 0),
    BPF_MOV64_IMM(0, 0),
    BPF_EXIT_INSN(),
  );
  const r = bpfCheck(tc(fits));
  t.deepEqual(
    r.subprogs.map((s) => [s.start, s.stackDepth]),
    [
      [0, 256],
      [4, 256],
    ],
  );
});

test("maps: lookup returns map_value_or_null, which must be null-checked; value bounds; read-only maps", (t) => {
  const lookup = (after: Insn[]) =>
    tc(
      prog(
        BPF_ST_MEM(BPF_W, 10, -4, 0),
        BPF_MOV64_REG(2, 10),
        BPF_ALU64_IMM(BPF_ADD, 2, -4),
        BPF_LD_MAP_FD(1, HASH.fd),
        BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
        ...after,
      ),
    );
  rejects(t, lookup([BPF_LDX_MEM(BPF_DW, 0, 0, 0), BPF_EXIT_INSN()]), "R0 invalid mem access 'map_value_or_null'", {
    errno: EACCES,
    insn: 6,
  });
  t.notThrows(() =>
    bpfCheck(
      lookup([BPF_JMP_IMM(BPF_JEQ, 0, 0, 1), BPF_LDX_MEM(BPF_DW, 0, 0, 0), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()]),
    ),
  );
  rejects(
    t,
    lookup([BPF_JMP_IMM(BPF_JEQ, 0, 0, 1), BPF_LDX_MEM(BPF_DW, 0, 0, 4), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()]),
    "invalid access to map value, value_size=8 off=4 size=8",
  );
  rejects(
    t,
    lookup([BPF_ALU64_IMM(BPF_ADD, 0, 8), BPF_EXIT_INSN()]),
    "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first",
  );
  rejects(
    t,
    tc(prog(BPF_LD_MAP_VALUE(1, RODATA.fd, 0), BPF_ST_MEM(BPF_W, 1, 0, 1), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN())),
    "write into map forbidden, value_size=16 off=0 size=4",
  );
  rejects(
    t,
    tc(prog(BPF_LD_MAP_FD(1, 99), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN())),
    "fd 99 is not pointing to valid bpf_map",
    {
      errno: EINVAL,
    },
  );
});

test("helper arguments: types, key sizes on the stack, map/function compatibility, program types", (t) => {
  rejects(
    t,
    tc(
      prog(
        BPF_MOV64_IMM(1, 0),
        BPF_MOV64_REG(2, 10),
        BPF_ALU64_IMM(BPF_ADD, 2, -4),
        BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
        BPF_EXIT_INSN(),
      ),
    ),
    "R1 type=scalar expected=map_ptr",
  );
  rejects(
    t,
    tc(prog(BPF_LD_MAP_FD(1, HASH.fd), BPF_MOV64_IMM(2, 0), BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem), BPF_EXIT_INSN())),
    "R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem",
  );
  rejects(
    t,
    tc(
      prog(
        BPF_LD_MAP_FD(1, HASH.fd),
        BPF_MOV64_REG(2, 10),
        BPF_ALU64_IMM(BPF_ADD, 2, -2),
        BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
        BPF_EXIT_INSN(),
      ),
    ),
    "invalid indirect access to stack R2 off=-2 size=4",
  );
  rejects(
    t,
    tc(
      prog(
        BPF_LD_MAP_FD(1, PROGS.fd),
        BPF_MOV64_REG(2, 10),
        BPF_ALU64_IMM(BPF_ADD, 2, -4),
        BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
        BPF_EXIT_INSN(),
      ),
    ),
    "cannot pass map_type 3 into func bpf_map_lookup_elem#1",
    { errno: EINVAL },
  );
  t.notThrows(() =>
    bpfCheck(
      tc(
        prog(
          BPF_LD_MAP_FD(2, PROGS.fd),
          BPF_MOV64_IMM(3, 0),
          BPF_EMIT_CALL(BPF_FUNC_tail_call),
          BPF_MOV64_IMM(0, 0),
          BPF_EXIT_INSN(),
        ),
      ),
    ),
  );
  rejects(
    t,
    tc(prog(BPF_EMIT_CALL(BPF_FUNC_get_func_arg_cnt), BPF_EXIT_INSN())),
    "program of this type cannot use helper bpf_get_func_arg_cnt#185",
    {
      errno: EINVAL,
    },
  );
  rejects(t, tc(prog(BPF_EMIT_CALL(212), BPF_EXIT_INSN())), "invalid func unknown#212");
  rejects(
    t,
    tc(
      prog(
        BPF_MOV64_REG(1, 10),
        BPF_ALU64_IMM(BPF_ADD, 1, -8),
        BPF_ST_MEM(BPF_DW, 10, -8, 0),
        BPF_MOV64_IMM(2, 8),
        BPF_EMIT_CALL(BPF_FUNC_trace_printk),
        BPF_EXIT_INSN(),
      ),
      {
        gplCompatible: false,
      },
    ),
    "cannot call GPL-restricted function from non-GPL compatible program",
  );
  // update with a value on the stack: ok.
  t.notThrows(() =>
    bpfCheck(
      tc(
        prog(
          BPF_ST_MEM(BPF_W, 10, -4, 0),
          BPF_ST_MEM(BPF_DW, 10, -16, 0),
          BPF_LD_MAP_FD(1, HASH.fd),
          BPF_MOV64_REG(2, 10),
          BPF_ALU64_IMM(BPF_ADD, 2, -4),
          BPF_MOV64_REG(3, 10),
          BPF_ALU64_IMM(BPF_ADD, 3, -16),
          BPF_MOV64_IMM(4, 0),
          BPF_EMIT_CALL(BPF_FUNC_map_update_elem),
          BPF_EXIT_INSN(),
        ),
      ),
    ),
  );
});

test("tracing ctx access follows btf_ctx_access: arguments, the return value of fexit, 8-byte slots", (t) => {
  // f(int a, u64 b): slots 0 and 1, return value at slot 2 for fexit.
  const read = (off: number, size = BPF_DW) => prog(BPF_LDX_MEM(size, 2, 1, off), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN());
  t.notThrows(() => bpfCheck(tracing(read(8), "f")));
  const e = rejects(t, tracing(read(16), "f"), "invalid bpf_context access off=16 size=8", { errno: EACCES, insn: 0 });
  t.true(
    e.log.includes(
      "0: (79) r2 = *(u64 *)(r1 +16)\nfunc 'f' doesn't have 3-th argument\ninvalid bpf_context access off=16 size=8\n",
    ),
  );
  t.notThrows(() => bpfCheck(tracing(read(16), "f", BPF_TRACE_FEXIT)), "fexit reads the return value");
  t.notThrows(() => bpfCheck(tracing(read(16), "f", BPF_MODIFY_RETURN)), "fmod_ret too (int return)");
  const e2 = rejects(t, tracing(read(24), "f", BPF_TRACE_FEXIT), "invalid bpf_context access off=24 size=8");
  t.true(e2.log.includes("func 'f' doesn't have 4-th argument"));
  const e3 = rejects(t, tracing(read(4, BPF_W), "f"), "invalid bpf_context access off=4 size=4");
  t.true(e3.log.includes("func 'f' offset 4 is not multiple of 8"));
  rejects(
    t,
    tracing(prog(BPF_ST_MEM(BPF_DW, 1, 0, 1), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()), "f"),
    "invalid bpf_context access off=0 size=8",
  );
  rejects(
    t,
    tracing(prog(BPF_ALU64_IMM(BPF_ADD, 1, 8), BPF_LDX_MEM(BPF_DW, 0, 1, 0), BPF_EXIT_INSN()), "f"),
    "dereference of modified ctx ptr R1 off=8 disallowed",
  );
  // A pointer argument is a PTR_TO_BTF_ID: its fields can be read (PROBE_MEM), not written.
  const r = bpfCheck(
    tracing(
      prog(BPF_LDX_MEM(BPF_DW, 2, 1, 0), BPF_LDX_MEM(BPF_DW, 3, 2, 0), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()),
      "g",
    ),
  );
  t.deepEqual(r.probeMem, [1]);
  rejects(
    t,
    tracing(prog(BPF_LDX_MEM(BPF_DW, 2, 1, 0), BPF_ST_MEM(BPF_DW, 2, 0, 1), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()), "g"),
    "only read is supported",
  );
  rejects(
    t,
    tracing(
      prog(BPF_LDX_MEM(BPF_DW, 2, 1, 0), BPF_LDX_MEM(BPF_DW, 3, 2, 8), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()),
      "g",
    ),
    "access beyond struct s at off 8 size 8",
  );
  // fentry/fexit must return 0.
  rejects(
    t,
    tracing(prog(BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()), "f"),
    "At program exit the register R0 has smin=1 smax=1 should have been in [0, 0]",
    {
      errno: EINVAL,
    },
  );
});

test("get_func_arg/_ret/_arg_cnt are inlined from the trampoline's ctx as the kernel does", (t) => {
  const insns = prog(
    BPF_MOV64_REG(6, 1),
    BPF_MOV64_REG(3, 10),
    BPF_ALU64_IMM(BPF_ADD, 3, -8),
    BPF_MOV64_IMM(2, 1),
    BPF_EMIT_CALL(BPF_FUNC_get_func_arg),
    BPF_MOV64_REG(1, 6),
    BPF_MOV64_REG(2, 10),
    BPF_ALU64_IMM(BPF_ADD, 2, -16),
    BPF_EMIT_CALL(BPF_FUNC_get_func_ret),
    BPF_MOV64_REG(1, 6),
    BPF_EMIT_CALL(BPF_FUNC_get_func_arg_cnt),
    BPF_JMP_IMM(BPF_JGT, 0, 1, 0),
    BPF_MOV64_IMM(0, 0),
    BPF_EXIT_INSN(),
  );
  const fexit = bpfCheck(tracing(insns, "f", BPF_TRACE_FEXIT));
  t.is(
    formatProg(fexit.insns),
    [
      "0: (bf) r6 = r1",
      "1: (bf) r3 = r10",
      "2: (07) r3 += -8",
      "3: (b7) r2 = 1",
      "4: (79) r0 = *(u64 *)(r1 -8)",
      "5: (3e) if w2 >= w0 goto pc+6",
      "6: (67) r2 <<= 3",
      "7: (0f) r2 += r1",
      "8: (79) r0 = *(u64 *)(r2 +0)",
      "9: (7b) *(u64 *)(r3 +0) = r0",
      "10: (b7) r0 = 0",
      "11: (05) goto pc+1",
      "12: (b7) r0 = -22",
      "13: (bf) r1 = r6",
      "14: (bf) r2 = r10",
      "15: (07) r2 += -16",
      "16: (79) r0 = *(u64 *)(r1 -8)",
      "17: (67) r0 <<= 3",
      "18: (0f) r0 += r1",
      "19: (79) r3 = *(u64 *)(r0 +0)",
      "20: (7b) *(u64 *)(r2 +0) = r3",
      "21: (b7) r0 = 0",
      "22: (bf) r1 = r6",
      "23: (79) r0 = *(u64 *)(r1 -8)",
      "24: (25) if r0 > 0x1 goto pc+0",
      "25: (b7) r0 = 0",
      "26: (95) exit",
      "",
    ].join("\n"),
  );
  const fentry = bpfCheck(tracing(insns, "f", BPF_TRACE_FENTRY));
  t.true(formatProg(fentry.insns).includes("16: (b7) r0 = -95"), "get_func_ret in fentry is -EOPNOTSUPP");
});

test("loops: bounded loops converge, a loop without progress is an infinite loop", (t) => {
  // for (i = 0; i < 1000; i++) sum += i;
  const bounded = prog(
    BPF_MOV64_IMM(0, 0),
    BPF_MOV64_IMM(1, 0),
    BPF_ALU64_REG(BPF_ADD, 0, 1),
    BPF_ALU64_IMM(BPF_ADD, 1, 1),
    BPF_JMP_IMM(BPF_JNE, 1, 1000, -3),
    BPF_ALU64_IMM(BPF_AND, 0, 0xff),
    BPF_EXIT_INSN(),
  );
  const r = bpfCheck(tc(bounded));
  t.true(r.insnProcessed < 1000, `widening keeps exploration short: ${r.insnProcessed}`);
  // r0 = ktime; if r0 == 0 spin forever (r0 stays 0: the state repeats exactly).
  rejects(
    t,
    tc(prog(BPF_EMIT_CALL(5), BPF_JMP_IMM(BPF_JEQ, 0, 0, 1), BPF_EXIT_INSN(), BPF_JMP_A(-3))),
    "infinite loop detected at insn 3",
    { errno: EINVAL },
  );
});

test("subprograms: static calls get a new frame and may not return a stack pointer; depth limit", (t) => {
  t.notThrows(() =>
    bpfCheck(
      tc(
        prog(
          BPF_MOV64_IMM(1, 5),
          BPF_CALL_REL(1),
          BPF_EXIT_INSN(),
          BPF_MOV64_REG(0, 1),
          BPF_ALU64_IMM(BPF_ADD, 0, 1),
          BPF_EXIT_INSN(),
        ),
      ),
    ),
  );
  rejects(
    t,
    tc(prog(BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_REG(0, 10), BPF_ALU64_IMM(BPF_ADD, 0, -8), BPF_EXIT_INSN())),
    "cannot return stack pointer to the caller frame",
  );
  // Nine nested calls: the ninth frame is too deep.
  const chain: Insn[] = [];
  for (let i = 0; i < 9; i++) chain.push(BPF_CALL_REL(1), BPF_EXIT_INSN());
  chain.push(BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN());
  rejects(t, tc(chain), "the call stack of 9 frames is too deep !", { errno: E2BIG });
  rejects(t, tc(prog(BPF_CALL_REL(5), BPF_EXIT_INSN())), "call to invalid destination");
});

test("log level 2 prints the written registers after each instruction", (t) => {
  const r = bpfCheck(
    tc(prog(BPF_MOV64_REG(6, 1), BPF_LDX_MEM(BPF_B, 0, 6, 0), BPF_ALU64_IMM(BPF_AND, 0, 1), BPF_EXIT_INSN()), {
      logLevel: 2,
    }),
  );
  const lines = r.log.split("\n");
  t.is(lines[1], "0: (bf) r6 = r1                         ; R6_w=ctx()");
  t.is(lines[2], "1: (71) r0 = *(u8 *)(r6 +0)             ; R0_w=scalar()");
  t.regex(r.log, /processed 4 insns/);
  t.is(bpfCheck(tc(prog(BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()), { logLevel: 0 })).log, "", "no log unless asked");
});
