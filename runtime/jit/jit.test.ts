/**
 * bpfIntJitCompile as an API: what it returns (entry, offsets, PLT, symbols,
 * extable), the passes' invariants, freeing, and every kind of bad input
 * with its errno, instruction index and text — and that no failure leaves
 * anything in the text pool.
 */
import test from "ava";
import { E2BIG, EACCES, EINVAL, ENOTSUPP } from "../errno.js";
import * as B from "../bpf/builder.js";
import type { Insn } from "../bpf/insn.js";
import * as O from "../bpf/opcodes.js";
import { BPF_FUNC_tail_call } from "../bpf/func_ids.js";
import { FaultError } from "../machine/fault.js";
import { AARCH64_BREAK_FAULT } from "../kernel/text_alloc.js";
import { Kernel } from "../kernel/kernel.js";
import { Kallsyms } from "../kernel/kallsyms.js";
import { bpfIntJitCompile, bpfJitFree, type JitEnv } from "./jit.js";
import { JitError } from "./jit_error.js";
import { pokeOffset, prologueOffset } from "./regs.js";
import { bpfProgCalcTag, tagHex } from "./tag.js";

const EXIT = B.BPF_EXIT_INSN();
const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_6: R6, BPF_REG_10: R10 } = O;

function withKernel(fn: (k: Kernel, env: JitEnv) => void): void {
  const k = new Kernel({ cpus: 1 });
  try {
    fn(k, { kernel: k });
  } finally {
    k.close();
  }
}

test("a JITed program runs, returns r0 in x0 and is described by its JitedProg", (t) => {
  withKernel((k, env) => {
    const insns = B.prog(B.BPF_MOV64_IMM(R0, 40), B.BPF_ALU64_IMM(O.BPF_ADD, R0, 2), EXIT);
    const j = bpfIntJitCompile({ insns, name: "answer" }, env);
    t.is(k.call(j.bpfFunc), 42n);
    t.is(j.tag, tagHex(bpfProgCalcTag(insns)));
    t.is(j.symbol, `bpf_prog_${j.tag}_answer`);
    t.is(j.size, j.image.length * 4);
    t.is(j.subprogs.length, 1);
    t.is(j.subprogs[0].bpfFunc, j.bpfFunc);
    // Default build: no BTI/PAC, POKE_OFFSET 1, PROLOGUE_OFFSET 6.
    t.is(j.pokeOffset, 1);
    t.is(j.prologueOffset, 6);
    t.is(j.image[j.pokeOffset], 0xd503201f, "nop at POKE_OFFSET");
    t.is(j.image[0], 0x910003c9, "mov x9, x30 (add x9, x30, #0) first");
    // offsets: one per slot plus the end of the body = the epilogue.
    t.is(j.offsets.length, insns.length + 1);
    t.is(j.offsets[insns.length], j.epilogue);
    t.true(j.offsets[0] >= j.prologueOffset);
    // The PLT's target quad holds dummy_tramp.
    const mem = k.machine.memory;
    t.is(mem.read64(j.plt.target), k.symbolAddress("dummy_tramp"));
    t.is(mem.read32(j.plt.addr), 0x5800004a, "ldr x10, #8");
    t.is(mem.read32(j.plt.addr + 4n), 0xd61f0140, "br x10");
    t.is(j.plt.target % 8n, 0n, "target 8-byte aligned");
    t.is(k.symbolize(j.bpfFunc + 4n), `${j.symbol}+0x4/0x${j.size.toString(16)}`);
    bpfJitFree(j, env);
    t.is(k.bpfText.live().length, 0);
    t.is(k.symbolize(j.bpfFunc), undefined);
  });
});

test("the tag ignores map fds, as bpf_prog_calc_tag does", (t) => {
  const a = B.prog(B.BPF_LD_MAP_FD(R1, 3), B.BPF_MOV64_IMM(R0, 0), EXIT);
  const b = B.prog(B.BPF_LD_MAP_FD(R1, 7), B.BPF_MOV64_IMM(R0, 0), EXIT);
  const c = B.prog(B.BPF_LD_IMM64(R1, 3), B.BPF_MOV64_IMM(R0, 0), EXIT);
  t.is(tagHex(bpfProgCalcTag(a)), tagHex(bpfProgCalcTag(b)));
  t.not(tagHex(bpfProgCalcTag(a)), tagHex(bpfProgCalcTag(c)));
  // SHA-1 of "b7 00 00 00 00 00 00 00 95 00 ..." (r0 = 0; exit), computed independently with sha1sum.
  t.is(tagHex(bpfProgCalcTag(B.prog(B.BPF_MOV64_IMM(R0, 0), EXIT))), "a04f5eef06a7f555");
});

test("BTI and PAC move POKE_OFFSET and PROLOGUE_OFFSET as in the kernel, and still run", (t) => {
  withKernel((k, env) => {
    const insns = B.prog(B.BPF_MOV64_IMM(R0, 7), EXIT);
    const j = bpfIntJitCompile({ insns }, env, { bti: true, pac: true });
    t.is(j.pokeOffset, pokeOffset({ bti: true, pac: true }));
    t.is(j.pokeOffset, 2);
    t.is(j.prologueOffset, prologueOffset({ bti: true, pac: true }));
    t.is(j.prologueOffset, 8);
    t.is(j.image[0], 0xd50324df, "bti jc");
    t.is(j.image[2], 0xd503201f, "nop");
    t.is(j.image[3], 0xd503233f, "paciasp");
    t.is(j.image[j.prologueOffset], 0xd503249f, "bti j at the tail-call entry");
    const ret = j.image.lastIndexOf(0xd65f03c0);
    t.is(ret, j.epilogue + 4, "epilogue: add sp; ldp xzr, x26; ldp x29, x30; mov x0, x8; autiasp; ret");
    t.is(j.image[ret - 1], 0xd50323bf, "autiasp before ret");
    t.is(k.call(j.bpfFunc), 7n);
    bpfJitFree(j, env);
  });
});

test("multi-function programs: one image per function, calls fixed by the extra pass", (t) => {
  withKernel((k, env) => {
    const insns = B.prog(
      B.BPF_MOV64_IMM(R1, 5),
      B.BPF_CALL_REL(2), // → insn 4
      B.BPF_ALU64_IMM(O.BPF_ADD, R0, 100),
      EXIT,
      // func 1: r0 = r1 * 3 via func 2
      B.BPF_CALL_REL(1), // → insn 6
      EXIT,
      // func 2: r0 = r1 * 3
      B.BPF_MOV64_REG(R0, R1),
      B.BPF_ALU64_IMM(O.BPF_MUL, R0, 3),
      EXIT,
    );
    const j = bpfIntJitCompile({ insns, name: "calls", funcNames: ["", "", "times3"] }, env);
    t.is(j.subprogs.length, 3);
    t.deepEqual(
      j.subprogs.map((f) => [f.start, f.len]),
      [
        [0, 4],
        [4, 2],
        [6, 3],
      ],
    );
    t.regex(j.subprogs[1].symbol, /^bpf_prog_[0-9a-f]{16}_F$/);
    t.regex(j.subprogs[2].symbol, /^bpf_prog_[0-9a-f]{16}_times3$/);
    t.is(j.subprogs[2].tag, tagHex(bpfProgCalcTag(insns.slice(6))));
    t.is(k.call(j.bpfFunc), 115n);
    // A subprogram's prologue pushes x26 twice: stp x26, x26, [sp, #-16]!
    t.is(j.subprogs[1].image[4], 0xa9bf6bfa);
    bpfJitFree(j, env);
    t.is(k.bpfText.live().length, 0);
  });
});

test("symbols also go to kallsyms when the kernel has one", (t) => {
  withKernel((k) => {
    const kallsyms = new Kallsyms();
    const env: JitEnv = {
      kernel: {
        bpfText: k.bpfText,
        machine: k.machine,
        symbolAddress: (name) => k.symbolAddress(name),
        extable: k.extable,
        symbolizers: k.symbolizers,
        kallsyms,
      },
    };
    const j = bpfIntJitCompile({ insns: B.prog(B.BPF_MOV64_IMM(R0, 0), EXIT), name: "ks" }, env);
    t.is(kallsyms.formatAddress(j.bpfFunc + 8n), `${j.symbol}+0x8/0x${j.size.toString(16)}`);
    t.true(kallsyms.procKallsyms().includes(`t ${j.symbol}\t[bpf]`));
    bpfJitFree(j, env);
    t.is(kallsyms.bpfSymbols().length, 0);
  });
});

test("BPF_PROBE_MEM loads get extable entries: a faulting load gives 0 instead of an oops", (t) => {
  withKernel((k, env) => {
    const insns = B.prog(
      B.BPF_MOV64_IMM(R0, 77),
      B.BPF_LDX_MEM(O.BPF_DW, R0, R1, 0), // slot 1: probe
      B.BPF_ALU64_IMM(O.BPF_ADD, R0, 1),
      EXIT,
    );
    const j = bpfIntJitCompile({ insns, probeMem: [1] }, env);
    t.is(j.extable.length, 1);
    t.is(j.extable[0].insn, j.bpfFunc + BigInt(j.offsets[1] * 4));
    t.is(j.extable[0].fixup, j.extable[0].insn + 4n);
    t.is(j.extable[0].dstReg, 8, "x8: BPF r0");
    t.is(k.call(j.bpfFunc, [0xdead_0000n]), 1n, "fault fixed up: r0 = 0, then + 1");
    const heap = k.slab.kzalloc(8);
    k.machine.memory.write64(heap, 41n);
    t.is(k.call(j.bpfFunc, [heap]), 42n, "a good pointer loads normally");
    bpfJitFree(j, env);
    // Without the mark the same load oopses.
    const plain = bpfIntJitCompile({ insns }, env);
    t.is(plain.extable.length, 0);
    t.throws(() => k.call(plain.bpfFunc, [0xdead_0000n]), { instanceOf: FaultError });
    bpfJitFree(plain, env);
  });
});

test("a freed program faults as a use-after-free of its symbol", (t) => {
  withKernel((k, env) => {
    const j = bpfIntJitCompile({ insns: B.prog(B.BPF_MOV64_IMM(R0, 1), EXIT), name: "gone" }, env);
    bpfJitFree(j, env);
    t.is(k.machine.memory.read32(j.bpfFunc), AARCH64_BREAK_FAULT);
    const err = t.throws(() => k.call(j.bpfFunc), { instanceOf: FaultError });
    t.regex(err?.message ?? "", /use-after-free of bpf_prog_[0-9a-f]{16}_gone/);
  });
});

/** Expect a JitError with `errno`, naming `index` when given, and an empty text pool after. */
function refuses(
  t: import("ava").ExecutionContext,
  k: Kernel,
  run: () => unknown,
  want: { errno: number; index?: number; message: RegExp | string },
): void {
  const before = k.bpfText.live().length;
  const err = t.throws(run, { instanceOf: JitError });
  t.is(err?.errno, want.errno, err?.message);
  if (want.index !== undefined) t.is(err?.index, want.index, err?.message);
  if (typeof want.message === "string") t.is(err?.message, want.message);
  else t.regex(err?.message ?? "", want.message);
  t.is(k.bpfText.live().length, before, "nothing left in the text pool");
  t.is(k.bpfText.allocs, k.bpfText.frees + before);
}

test("bad input is refused with the instruction index and its text", (t) => {
  withKernel((k, env) => {
    const jit =
      (insns: Insn[], extra = {}) =>
      () =>
        bpfIntJitCompile({ insns, ...extra }, env);
    refuses(t, k, jit([B.BPF_RAW_INSN(0x8f, 0, 0, 0, 0), EXIT]), {
      errno: EINVAL,
      index: 0,
      message: "unknown opcode 8f: insn 0: (8f) BUG_alu64_8f",
    });
    refuses(t, k, jit([B.BPF_RAW_INSN(0xb7, 0, 3, 0, 1), EXIT]), {
      errno: EINVAL,
      index: 0,
      message: /^reserved field set: src=3: insn 0: \(b7\)/,
    });
    refuses(t, k, jit([B.BPF_JMP_A(5), EXIT]), {
      errno: EINVAL,
      index: 0,
      message: "jump out of range: target 6: insn 0: (05) goto pc+5",
    });
    refuses(t, k, jit(B.prog(B.BPF_JMP_A(1), B.BPF_LD_IMM64(R0, 1), EXIT)), {
      errno: EINVAL,
      index: 0,
      message: /^jump into the middle of ld_imm64: target 2: insn 0/,
    });
    refuses(t, k, jit([B.BPF_MOV64_IMM(R0, 1)]), {
      errno: EINVAL,
      index: 0,
      message: "last insn is not an exit or jmp: insn 0: (b7) r0 = 1",
    });
    refuses(t, k, jit([]), { errno: EINVAL, message: "empty program" });
    const huge = new Array<Insn>(O.BPF_COMPLEXITY_LIMIT_INSNS + 1).fill(B.BPF_MOV64_IMM(R0, 0));
    huge[huge.length - 1] = EXIT;
    refuses(t, k, jit(huge), { errno: E2BIG, message: "program too large: 1000001 insns (max 1000000)" });
    refuses(t, k, jit([B.BPF_LD_ABS(O.BPF_W, 0), EXIT]), {
      errno: ENOTSUPP,
      index: 0,
      message: /^legacy packet access is not supported: insn 0/,
    });
    refuses(t, k, jit([B.BPF_EMIT_CALL(1), EXIT]), {
      errno: ENOTSUPP,
      index: 0,
      message: "no address for helper bpf_map_lookup_elem#1: insn 0: (85) call bpf_map_lookup_elem#1",
    });
    refuses(t, k, jit(B.prog(B.BPF_LD_MAP_FD(R1, 4), EXIT)), {
      errno: ENOTSUPP,
      index: 0,
      message: /^no address for ld_imm64 source 1: insn 0/,
    });
    refuses(t, k, jit([B.BPF_STX_MEM(O.BPF_DW, R10, R1, -520), EXIT]), {
      errno: EACCES,
      index: 0,
      message: /^stack access out of range: 520 bytes below r10 \(max 512\): insn 0/,
    });
    refuses(t, k, jit([B.BPF_MOV64_IMM(R0, 0), EXIT], { probeMem: [0] }), {
      errno: EINVAL,
      index: 0,
      message: /^BPF_PROBE_MEM mark on a slot that is not a load: 0: insn 0/,
    });
    refuses(t, k, jit([B.BPF_MOV64_IMM(R0, 0), EXIT], { name: "way_too_long_name" }), {
      errno: EINVAL,
      message: 'invalid program name: "way_too_long_name" (up to 15 of [A-Za-z0-9_.])',
    });
    refuses(t, k, jit([B.BPF_MOV64_IMM(R0, 0), EXIT], { stackDepth: 513 }), {
      errno: EINVAL,
      message: "invalid stack depth of function 0: 513 (0..512)",
    });
  });
});

test("a conditional branch beyond b.cond's ±1 MiB is refused, naming the jump", (t) => {
  withKernel((k) => {
    // 14,000 tail calls of 20 instructions each put 280k instructions between the jump and its target.
    const n = 14_000;
    const insns: Insn[] = [B.BPF_JMP_IMM(O.BPF_JEQ, R1, 0, n)];
    for (let i = 0; i < n; i++) insns.push(B.BPF_EMIT_CALL(BPF_FUNC_tail_call));
    insns.push(B.BPF_MOV64_IMM(R0, 0), EXIT);
    refuses(t, k, () => bpfIntJitCompile({ insns }, { kernel: k }), {
      errno: EINVAL,
      index: 0,
      message:
        /^branch out of range: \d+ instructions \(b\.cond reaches -262144\.\.262143\): insn 0: \(15\) if r1 == 0x0 goto pc\+14000$/,
    });
    // The same distance is fine for an unconditional jump (b reaches ±128 MiB).
    insns[0] = B.BPF_JMP_A(n);
    const j = bpfIntJitCompile({ insns }, { kernel: k });
    t.is(k.call(j.bpfFunc), 0n);
    bpfJitFree(j, { kernel: k });
    t.is(k.bpfText.live().length, 0);
  });
});

test("callee-saved registers: only the used ones, paired with xzr; an exception boundary saves x19..x28", (t) => {
  withKernel((_k, env) => {
    const uses6 = bpfIntJitCompile({ insns: B.prog(B.BPF_MOV64_REG(R6, R1), B.BPF_MOV64_REG(R0, R6), EXIT) }, env);
    // stp x19, xzr, [sp, #-16]! right at PROLOGUE_OFFSET; no `mov x25, sp` (r10 unused).
    t.is(uses6.image[uses6.prologueOffset], 0xa9bf7ff3);
    t.is(uses6.image[uses6.prologueOffset + 1], 0x91000013, "mov x19, x0 (add x19, x0, #0): the body starts");
    const boundary = bpfIntJitCompile({ insns: B.prog(B.BPF_MOV64_IMM(R0, 0), EXIT), exceptionBoundary: true }, env);
    const p = boundary.prologueOffset;
    t.deepEqual(
      Array.from(boundary.image.slice(p, p + 6)),
      [0xa9bf53f3, 0xa9bf5bf5, 0xa9bf63f7, 0xa9bf6bf9, 0xa9bf73fb, 0x910003f9],
      "stp x19,x20 .. stp x27,x28, then mov x25, sp",
    );
    bpfJitFree(uses6, env);
    bpfJitFree(boundary, env);
  });
});

test("extable entries of every function are the program's, and are removed by bpfJitFree", (t) => {
  withKernel((k, env) => {
    const insns = B.prog(
      B.BPF_CALL_REL(1),
      EXIT,
      // subprogram: a probe load through r1
      B.BPF_LDX_MEM(O.BPF_W, R0, R1, 4), // slot 2
      EXIT,
    );
    const j = bpfIntJitCompile({ insns, probeMem: [2] }, env);
    t.is(j.subprogs[0].extable.length, 0);
    t.is(j.subprogs[1].extable.length, 1);
    t.deepEqual(j.extable, j.subprogs[1].extable);
    const e = j.extable[0];
    t.is(e.insn, j.subprogs[1].bpfFunc + BigInt(j.subprogs[1].offsets[0] * 4));
    t.is(k.extable.search(e.insn), e);
    t.is(k.call(j.bpfFunc, [0x10n]), 0n, "the faulting load in the subprogram gives 0");
    bpfJitFree(j, env);
    t.is(k.extable.search(e.insn), undefined);
  });
});

test("a program taking its own entry's address gets the real address (extra pass with one function)", (t) => {
  withKernel((k, env) => {
    // r0 = &main (BPF_PSEUDO_FUNC to slot 0), the only function.
    const insns = B.prog(B.BPF_LD_IMM64_RAW(R0, O.BPF_PSEUDO_FUNC, -1), EXIT);
    const j = bpfIntJitCompile({ insns }, env);
    t.is(j.subprogs.length, 1);
    t.is(k.call(j.bpfFunc), j.bpfFunc);
    bpfJitFree(j, env);
  });
});

test("explicit function starts: an exception callback nothing calls gets its own image and the callback frame", (t) => {
  withKernel((k, env) => {
    // main: r0 = 0; exit   callback (slot 2, called by nobody): r0 = r1 + 1; exit
    const insns = B.prog(
      B.BPF_MOV64_IMM(R0, 0),
      EXIT,
      B.BPF_MOV64_REG(R0, R1),
      B.BPF_ALU64_IMM(O.BPF_ADD, R0, 1),
      EXIT,
    );
    refuses(t, k, () => bpfIntJitCompile({ insns, exceptionBoundary: true, exceptionCb: 1 }, env), {
      errno: EINVAL,
      message: "invalid exception callback: function 1 (1..0)",
    });
    const j = bpfIntJitCompile({ insns, funcStarts: [0, 2], exceptionBoundary: true, exceptionCb: 1 }, env);
    t.deepEqual(
      j.subprogs.map((f) => [f.start, f.len]),
      [
        [0, 2],
        [2, 3],
      ],
    );
    const cb = j.subprogs[1];
    const p = j.pokeOffset + 1;
    t.deepEqual(Array.from(cb.image.slice(p, p + 2)), [0x9100005d, 0xd10183bf], "mov x29, x2; sub sp, x29, #96");
    t.is(cb.offsets[0], p + 2, "no frame of its own: the body follows");
    bpfJitFree(j, env);
  });
});

test("explicit function starts are checked: from 0, ascending, in range, every call target, no jump across", (t) => {
  withKernel((k, env) => {
    const two = B.prog(B.BPF_MOV64_IMM(R0, 0), EXIT, B.BPF_MOV64_IMM(R0, 1), EXIT);
    const jit = (insns: Insn[], funcStarts: number[]) => () => bpfIntJitCompile({ insns, funcStarts }, env);
    refuses(t, k, jit(two, [2]), { errno: EINVAL, message: "invalid function starts: the first must be 0, not 2" });
    refuses(t, k, jit(two, [0, 2, 2]), { errno: EINVAL, message: /^invalid function starts: 0,2,2/ });
    refuses(t, k, jit(two, [0, 4]), { errno: EINVAL, message: /^invalid function starts: 0,4/ });
    refuses(t, k, jit(B.prog(B.BPF_LD_IMM64(R0, 1), EXIT), [0, 1]), {
      errno: EINVAL,
      message: "function start in the middle of ld_imm64: 1",
    });
    refuses(t, k, jit(B.prog(B.BPF_CALL_REL(1), EXIT, B.BPF_MOV64_IMM(R0, 1), EXIT), [0]), {
      errno: EINVAL,
      message: "function starts lack the call target 2",
    });
    refuses(t, k, jit(B.prog(B.BPF_JMP_A(1), EXIT, B.BPF_MOV64_IMM(R0, 1), EXIT), [0, 2]), {
      errno: EINVAL,
      index: 0,
      message: "jump out of range: target 2 (outside the function at insn 0): insn 0: (05) goto pc+1",
    });
    refuses(t, k, jit(B.prog(B.BPF_MOV64_IMM(R0, 0), B.BPF_MOV64_IMM(R0, 1), EXIT), [0, 1]), {
      errno: EINVAL,
      index: 0,
      message: "last insn of the function at insn 0 is not an exit or jmp: insn 0: (b7) r0 = 0",
    });
  });
});

test("the test-only x23/x24 switch drops that pair from the boundary's push and the callback's pop", (t) => {
  withKernel((_k, env) => {
    const insns = B.prog(B.BPF_MOV64_IMM(R0, 0), EXIT, B.BPF_MOV64_REG(R0, R1), EXIT);
    const input = { insns, funcStarts: [0, 2], exceptionBoundary: true, exceptionCb: 1 };
    const STP_X23_X24 = 0xa9bf63f7;
    const LDP_X23_X24 = 0xa8c163f7;
    const full = bpfIntJitCompile(input, env);
    const dropped = bpfIntJitCompile(input, env, { testDropX23X24: true });
    t.true(full.image.includes(STP_X23_X24) && full.image.includes(LDP_X23_X24));
    t.true(full.subprogs[1].image.includes(LDP_X23_X24));
    t.false(dropped.image.includes(STP_X23_X24) || dropped.image.includes(LDP_X23_X24));
    t.false(dropped.subprogs[1].image.includes(LDP_X23_X24));
    t.true(dropped.subprogs[1].image.includes(0xd10183bf), "the callback still assumes 96 bytes");
    t.is(dropped.size, full.size - 8, "one stp and one ldp fewer");
    bpfJitFree(full, env);
    bpfJitFree(dropped, env);
  });
});
