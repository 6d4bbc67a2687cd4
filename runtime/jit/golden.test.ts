/**
 * Golden disassembly of the JIT's frames: prologue and epilogue of a main
 * program and a subprogram, with and without tail calls, with BTI/PAC on,
 * and the exception boundary/callback pair. Each file holds the BPF
 * program and the capstone listing of every function (runtime/jit/dump.ts),
 * compiled in a fresh kernel so that addresses are reproducible.
 *
 * Review a change as a diff; regenerate with
 *   A64BPF_UPDATE_GOLDEN=1 npx ava runtime/jit/golden.test.ts
 */
import test from "ava";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initDisassembler } from "../a64/disasm.js";
import * as B from "../bpf/builder.js";
import { formatProg } from "../bpf/format.js";
import { BPF_FUNC_tail_call } from "../bpf/func_ids.js";
import type { Insn } from "../bpf/insn.js";
import * as O from "../bpf/opcodes.js";
import { Kernel } from "../kernel/kernel.js";
import { chainProg } from "../bpf/stack_arg_progs.js";
import { dumpJited } from "./dump.js";
import { bpfIntJitCompile, type JitInput, type JitOptions } from "./jit.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "golden");
const UPDATE = process.env.A64BPF_UPDATE_GOLDEN === "1";
const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_6: R6, BPF_REG_7: R7 } = O;
const { BPF_REG_8: R8, BPF_REG_9: R9, BPF_REG_10: R10 } = O;
const EXIT = B.BPF_EXIT_INSN();

interface Golden {
  file: string;
  what: string;
  input: JitInput;
  opts?: JitOptions;
  /** Resolve kfunc calls to the kernel's bpf_throw stub. */
  kfuncs?: boolean;
}

const MINIMAL = B.prog(B.BPF_MOV64_IMM(R0, 0), EXIT);

const FRAME = B.prog(
  B.BPF_MOV64_REG(R6, R1),
  B.BPF_MOV64_IMM(R7, 7),
  B.BPF_MOV64_IMM(R8, 8),
  B.BPF_MOV64_IMM(R9, 9),
  B.BPF_STX_MEM(O.BPF_DW, R10, R6, -40),
  B.BPF_LDX_MEM(O.BPF_DW, R0, R10, -40),
  EXIT,
);

const SUBPROG = B.prog(
  B.BPF_MOV64_IMM(R1, 1),
  B.BPF_CALL_REL(1),
  EXIT,
  // subprogram: uses r6 and 8 bytes of stack
  B.BPF_MOV64_REG(R6, R1),
  B.BPF_STX_MEM(O.BPF_DW, R10, R6, -8),
  B.BPF_LDX_MEM(O.BPF_DW, R0, R10, -8),
  EXIT,
);

const TAIL_CALL = B.prog(
  B.BPF_MOV64_REG(R6, R1),
  B.BPF_ST_MEM(O.BPF_DW, R10, -16, 0),
  B.BPF_MOV64_IMM(R3, 0),
  B.BPF_EMIT_CALL(BPF_FUNC_tail_call),
  B.BPF_MOV64_IMM(R0, 1),
  EXIT,
);

const SUBPROG_TAIL_CALL = B.prog(
  B.BPF_CALL_REL(1),
  EXIT,
  // subprogram: tail_call(ctx, r2, 0); r0 = 1
  B.BPF_MOV64_IMM(R3, 0),
  B.BPF_EMIT_CALL(BPF_FUNC_tail_call),
  B.BPF_MOV64_IMM(R0, 1),
  EXIT,
);

// The main program takes the callback's address (BPF_PSEUDO_FUNC), which makes slot 4 a function.
const EXCEPTIONS_PROG: Insn[] = B.prog(
  B.BPF_LD_IMM64_RAW(R2, O.BPF_PSEUDO_FUNC, 3),
  B.BPF_MOV64_IMM(R0, 0),
  EXIT,
  // the exception callback: return the cookie (r1) + 1, through the stack
  B.BPF_STX_MEM(O.BPF_DW, R10, R1, -8),
  B.BPF_LDX_MEM(O.BPF_DW, R0, R10, -8),
  B.BPF_ALU64_IMM(O.BPF_ADD, R0, 1),
  EXIT,
);

// A boundary whose default exception callback (the verifier's hidden `r0 = r1; exit`) nothing
// calls: the function starts come from the verifier, not from call instructions.
const DEFAULT_CB_PROG: Insn[] = B.prog(
  B.BPF_MOV64_IMM(R1, 64),
  B.BPF_CALL_KFUNC(0, 1),
  B.BPF_MOV64_IMM(R0, 0),
  EXIT,
  B.BPF_MOV64_REG(R0, R1),
  EXIT,
);

// Stack arguments: main → foo(7 args) → bar(8 args) → baz(9 args), with the verifier's depths
// (runtime/bpf/stack_arg_progs.ts, runtime/jit/stack_args.ts).
const STACK_ARGS = chainProg();

const GOLDENS: Golden[] = [
  {
    file: "main.txt",
    what: "minimal main program: entry, tail-call counter, epilogue, PLT",
    input: { insns: MINIMAL, name: "main" },
  },
  {
    file: "main_bti_pac.txt",
    what: "minimal main program with BTI and PAC (bti jc, paciasp, bti j at PROLOGUE_OFFSET, autiasp)",
    input: { insns: MINIMAL, name: "main" },
    opts: { bti: true, pac: true },
  },
  {
    file: "main_frame.txt",
    what: "main program using r6-r9 and 40 bytes of stack",
    input: { insns: FRAME, name: "frame" },
  },
  {
    file: "subprog.txt",
    what: "main program calling a subprogram (x26 pushed twice)",
    input: { insns: SUBPROG, name: "caller" },
  },
  {
    file: "subprog_bti_pac.txt",
    what: "main program calling a subprogram, BTI and PAC",
    input: { insns: SUBPROG, name: "caller" },
    opts: { bti: true, pac: true },
  },
  {
    file: "tail_call.txt",
    what: "main program with a tail call: checks, count, unwind, br",
    input: { insns: TAIL_CALL, name: "tailcall" },
  },
  {
    file: "tail_call_bti_pac.txt",
    what: "main program with a tail call, BTI and PAC (entry +4*PROLOGUE_OFFSET = +32)",
    input: { insns: TAIL_CALL, name: "tailcall" },
    opts: { bti: true, pac: true },
  },
  {
    file: "subprog_tail_call.txt",
    what: "tail call from a subprogram (its x26 copy, no count reset)",
    input: { insns: SUBPROG_TAIL_CALL, name: "subtail" },
  },
  {
    file: "exception_boundary.txt",
    what: "exception boundary (pushes x19-x28) and exception callback (reuses the boundary frame)",
    input: { insns: EXCEPTIONS_PROG, name: "boundary", exceptionBoundary: true, exceptionCb: 1 },
  },
  {
    file: "exception_default_cb.txt",
    what: "bpf_throw(64) with the hidden default callback, a function given by explicit function starts",
    input: {
      insns: DEFAULT_CB_PROG,
      name: "thrower",
      funcStarts: [0, 4],
      exceptionBoundary: true,
      exceptionCb: 1,
    },
    kfuncs: true,
  },
  {
    file: "stack_args.txt",
    what: "stack arguments: args 6-8 in x5-x7 (saved by the callee), 9 at [sp] / [x29, #16], R0 in x8",
    input: {
      insns: STACK_ARGS.insns,
      name: "stack_args",
      funcStarts: STACK_ARGS.funcs.map((f) => f.start),
      funcNames: STACK_ARGS.funcs.map((f) => f.name),
      incomingStackArgDepth: [0, 16, 24, 32],
      stackArgDepth: [16, 40, 56, 32],
    },
  },
];

function render(g: Golden): string {
  const k = new Kernel({ cpus: 1 });
  try {
    const kfunc = g.kfuncs ? () => k.symbolAddress("bpf_throw") : undefined;
    const jited = bpfIntJitCompile(g.input, { kernel: k, kfunc }, g.opts);
    const o = jited.opts;
    const head = [
      `# ${g.what}`,
      `# bti=${o.bti} pac=${o.pac} lse=${o.lse}; POKE_OFFSET=${jited.pokeOffset} PROLOGUE_OFFSET=${jited.prologueOffset}`,
      "# regenerate: A64BPF_UPDATE_GOLDEN=1 npx ava runtime/jit/golden.test.ts",
      "#",
      ...formatProg(g.input.insns)
        .trimEnd()
        .split("\n")
        .map((l) => `# ${l}`),
      "",
    ];
    return `${head.join("\n")}\n${dumpJited(jited)}`;
  } finally {
    k.close();
  }
}

test.before(async () => {
  await initDisassembler();
  if (UPDATE && !existsSync(DIR)) mkdirSync(DIR, { recursive: true });
});

for (const g of GOLDENS) {
  test(`golden ${g.file}: ${g.what}`, (t) => {
    const text = render(g);
    const path = join(DIR, g.file);
    if (UPDATE) {
      writeFileSync(path, text);
      t.pass(`wrote ${path}`);
      return;
    }
    t.true(existsSync(path), `missing golden file ${path}: regenerate with A64BPF_UPDATE_GOLDEN=1`);
    t.is(text, readFileSync(path, "utf8"));
  });
}

test("the golden listings show the kernel's frame facts", (t) => {
  const main = readFileSync(join(DIR, "main.txt"), "utf8");
  t.regex(main, /\n {3}0:\tadd\tx9, x30, #0\n {3}4:\tnop\n {3}8:\tstp\tx29, x30, \[sp, #-0x10\]!/);
  t.regex(main, /\n {2}10:\tstp\txzr, x26, \[sp, #-0x10\]!\n {2}14:\tmov\tx26, sp\n/);
  const bti = readFileSync(join(DIR, "main_bti_pac.txt"), "utf8");
  t.regex(bti, /\n {3}0:\tbti\tjc\n {3}4:\tadd\tx9, x30, #0\n {3}8:\tnop\n {3}c:\tpaciasp\n/);
  t.regex(bti, /\n {2}20:\tbti\tj\n/, "bti j at PROLOGUE_OFFSET (8 instructions = 0x20)");
  t.regex(bti, /\tautiasp\n.*\tret\n/);
  const sub = readFileSync(join(DIR, "subprog.txt"), "utf8");
  t.regex(sub, /_F:\n; prologue\n(.*\n){4} {2}10:\tstp\tx26, x26, \[sp, #-0x10\]!/);
  const tc = readFileSync(join(DIR, "tail_call.txt"), "utf8");
  t.regex(tc, /add\tx10, x10, #0x18\n.*\tbr\tx10/, "bpf_func + 4 * PROLOGUE_OFFSET (6)");
  const tcb = readFileSync(join(DIR, "tail_call_bti_pac.txt"), "utf8");
  t.regex(tcb, /add\tx10, x10, #0x20\n.*\tbr\tx10/, "bpf_func + 4 * PROLOGUE_OFFSET (8)");
  const exc = readFileSync(join(DIR, "exception_boundary.txt"), "utf8");
  t.regex(exc, /\tadd\tx29, x2, #0\n.*\tsub\tsp, x29, #0x60\n/, "the callback takes the boundary's frame");
  t.regex(exc, /(\tstp\tx(19|21|23|25|27), x(20|22|24|26|28), \[sp, #-0x10\]!\n.*){5}/, "the boundary saves x19..x28");
  const dcb = readFileSync(join(DIR, "exception_default_cb.txt"), "utf8");
  const cb = dcb.slice(dcb.lastIndexOf("_F:\n"));
  t.regex(
    cb,
    /^_F:\n; prologue\n.*\n.*\n.*\tadd\tx29, x2, #0\n.*\tsub\tsp, x29, #0x60\n/,
    "the uncalled callback got the callback prologue",
  );
  t.notRegex(cb, /\tstp\t/, "the callback pushes nothing");
  t.regex(cb, /ldp\tx23, x24, \[sp\], #0x10\n/, "and pops all of x19..x28");
});
