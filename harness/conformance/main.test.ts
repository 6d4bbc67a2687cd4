/**
 * The conformance plugin through its real command line (`a64bpf
 * conformance-plugin`, spawned as the suite spawns it: memory as argv[1],
 * options as argv[2], the program as hex on stdin), on both engines.
 *
 * Each program below checks one instruction class of RFC 9669 with values
 * worked out by hand: check i computes into r1, compares with the expected
 * 64-bit value, and exits with r0 = i + 1 on a mismatch; a program whose
 * checks all pass returns 0xc0ffee.
 */
import test from "ava";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as B from "../../runtime/bpf/builder.js";
import { encodeInsns } from "../../runtime/bpf/codec.js";
import type { Insn } from "../../runtime/bpf/insn.js";
import * as O from "../../runtime/bpf/opcodes.js";
import { decodeHex, parsePluginArgs, PluginUsageError } from "./protocol.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "bin", "a64bpf.ts");
const { BPF_REG_0: R0, BPF_REG_1: R1, BPF_REG_2: R2, BPF_REG_3: R3, BPF_REG_4: R4 } = O;
const { BPF_REG_5: R5, BPF_REG_6: R6, BPF_REG_10: R10 } = O;
const EXIT = B.BPF_EXIT_INSN();
const M64 = 0xffff_ffff_ffff_ffffn;
const PASS = 0xc0ffeen;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawn the plugin like bpf_conformance does. */
function plugin(program: string, memory = "", options = ""): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", BIN, "conformance-plugin", memory, options], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(`${program}\n`);
  });
}

/** The suite's encoding: two-digit hex bytes, each followed by two spaces. */
function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => `${b.toString(16).padStart(2, "0")}  `).join("");
}

function progHex(insns: readonly Insn[]): string {
  return hexOf(encodeInsns(insns));
}

interface Check {
  what: string;
  /** Code leaving the value in r1 (may use r1..r5). */
  code: (Insn | readonly Insn[])[];
  want: bigint;
}

/** The check program: r6 = the input memory, then each check compares r1 with its expected value. */
function checks(list: readonly Check[]): Insn[] {
  const out: Insn[] = [B.BPF_MOV64_REG(R6, R1)];
  list.forEach((c, i) => {
    out.push(...B.prog(...c.code));
    out.push(...B.BPF_LD_IMM64(R2, c.want));
    out.push(B.BPF_JMP_REG(O.BPF_JEQ, R1, R2, 2), B.BPF_MOV64_IMM(R0, i + 1), EXIT);
  });
  out.push(...B.BPF_LD_IMM64(R0, PASS), EXIT);
  return out;
}

const ld = B.BPF_LD_IMM64;
const alu64 = (op: number, a: bigint, b: bigint, want: bigint, off = 0): Check => ({
  what: `alu64 ${op} ${a} ${b}`,
  code: [ld(R1, a), ld(R3, b), B.BPF_ALU64_REG_OFF(op, R1, R3, off)],
  want,
});
const alu64k = (op: number, a: bigint, imm: number, want: bigint, off = 0): Check => ({
  what: `alu64 K ${op}`,
  code: [ld(R1, a), B.BPF_ALU64_IMM_OFF(op, R1, imm, off)],
  want,
});
const alu32 = (op: number, a: bigint, b: bigint, want: bigint, off = 0): Check => ({
  what: `alu32 ${op}`,
  code: [ld(R1, a), ld(R3, b), B.BPF_ALU32_REG_OFF(op, R1, R3, off)],
  want,
});
const alu32k = (op: number, a: bigint, imm: number, want: bigint, off = 0): Check => ({
  what: `alu32 K ${op}`,
  code: [ld(R1, a), B.BPF_ALU32_IMM_OFF(op, R1, imm, off)],
  want,
});

const CLASSES: Record<string, { insns: Insn[]; memory?: string; want: bigint }> = {
  "ALU64 (K and X)": {
    insns: checks([
      alu64(O.BPF_ADD, M64, 2n, 1n),
      alu64k(O.BPF_SUB, 0n, 1, M64),
      alu64(O.BPF_MUL, 0x1_0000_0001n, 3n, 0x3_0000_0003n),
      alu64(O.BPF_DIV, 100n, 0n, 0n),
      alu64k(O.BPF_DIV, M64, -1, 1n),
      alu64(O.BPF_DIV, M64 - 99n, 10n, M64 - 9n, 1),
      alu64(O.BPF_MOD, 100n, 0n, 100n),
      alu64k(O.BPF_MOD, 100n, 7, 2n),
      alu64(O.BPF_MOD, 1n << 63n, M64, 0n, 1),
      alu64k(O.BPF_OR, 0xf0n, 0x0f, 0xffn),
      alu64k(O.BPF_AND, M64, -256, M64 - 255n),
      alu64k(O.BPF_XOR, 0xffn, -1, M64 - 0xffn),
      alu64k(O.BPF_LSH, 1n, 63, 1n << 63n),
      alu64(O.BPF_RSH, 1n << 63n, 127n, 1n),
      alu64k(O.BPF_ARSH, 1n << 63n, 63, M64),
      alu64k(O.BPF_MOV, 0n, -1, M64),
      alu64k(O.BPF_NEG, 5n, 0, M64 - 4n),
      {
        what: "movsx64 s32",
        code: [ld(R3, 0x8000_0000n), B.BPF_MOVSX64_REG(R1, R3, 32)],
        want: 0xffff_ffff_8000_0000n,
      },
    ]),
    want: PASS,
  },
  "ALU (32-bit, zero-extended)": {
    insns: checks([
      alu32(O.BPF_ADD, M64, 2n, 1n),
      alu32k(O.BPF_SUB, 0n, 1, 0xffff_ffffn),
      alu32(O.BPF_MUL, 0x1_0001n, 0x1_0001n, 0x2_0001n),
      alu32(O.BPF_DIV, M64, 0n, 0n),
      alu32k(O.BPF_DIV, 0xffff_ffffn, -1, 1n),
      alu32k(O.BPF_DIV, 0xffff_fff6n, 3, 0xffff_fffdn, 1),
      alu32(O.BPF_MOD, 0xdead_0000_0009n, 0n, 9n),
      alu32k(O.BPF_MOD, 0xffff_fff9n, 3, 0xffff_ffffn, 1),
      alu32k(O.BPF_OR, M64, 0, 0xffff_ffffn),
      alu32k(O.BPF_AND, M64, 0xff, 0xffn),
      alu32(O.BPF_XOR, M64, 0n, 0xffff_ffffn),
      alu32k(O.BPF_LSH, 3n, 31, 0x8000_0000n),
      alu32(O.BPF_RSH, 0x8000_0000n, 35n, 0x1000_0000n),
      alu32k(O.BPF_ARSH, 0x8000_0000n, 31, 0xffff_ffffn),
      alu32k(O.BPF_MOV, M64, 7, 7n),
      alu32k(O.BPF_NEG, 1n, 0, 0xffff_ffffn),
      { what: "movsx32 s8", code: [ld(R3, 0x180n), B.BPF_MOVSX32_REG(R1, R3, 8)], want: 0xffff_ff80n },
    ]),
    want: PASS,
  },
  "byte swap (le, be, bswap)": {
    insns: checks(
      [
        [B.BPF_ENDIAN(O.BPF_TO_LE, R1, 16), 0x7788n],
        [B.BPF_ENDIAN(O.BPF_TO_LE, R1, 32), 0x5566_7788n],
        [B.BPF_ENDIAN(O.BPF_TO_LE, R1, 64), 0x1122_3344_5566_7788n],
        [B.BPF_ENDIAN(O.BPF_TO_BE, R1, 16), 0x8877n],
        [B.BPF_ENDIAN(O.BPF_TO_BE, R1, 32), 0x8877_6655n],
        [B.BPF_ENDIAN(O.BPF_TO_BE, R1, 64), 0x8877_6655_4433_2211n],
        [B.BPF_BSWAP(R1, 16), 0x8877n],
        [B.BPF_BSWAP(R1, 32), 0x8877_6655n],
        [B.BPF_BSWAP(R1, 64), 0x8877_6655_4433_2211n],
      ].map(([insn, want]) => ({
        what: "end",
        code: [ld(R1, 0x1122_3344_5566_7788n), insn as Insn],
        want: want as bigint,
      })),
    ),
    want: PASS,
  },
  "JMP and JMP32 (every condition, K and X)": {
    insns: checks(
      (
        [
          [O.BPF_JEQ, 64, M64, -1, true],
          [O.BPF_JNE, 64, 5n, 5, false],
          [O.BPF_JGT, 64, M64, 1, true],
          [O.BPF_JGE, 32, 0x1_0000_0000n, 1, false],
          [O.BPF_JLT, 32, 0x1_0000_0000n, 1, true],
          [O.BPF_JLE, 64, 2n, 1, false],
          [O.BPF_JSGT, 64, M64, 1, false],
          [O.BPF_JSGE, 32, 0x7fff_ffffn, -1, true],
          [O.BPF_JSLT, 32, 0x8000_0000n, 0, true],
          [O.BPF_JSLE, 64, 0n, -1, false],
          [O.BPF_JSET, 64, 1n << 40n, -1, true],
          [O.BPF_JSET, 32, 1n << 40n, -1, false],
        ] as [number, number, bigint, number, boolean][]
      ).flatMap(([op, w, a, b, taken]) => {
        const jk = w === 64 ? B.BPF_JMP_IMM(op, R3, b, 1) : B.BPF_JMP32_IMM(op, R3, b, 1);
        const jx = w === 64 ? B.BPF_JMP_REG(op, R3, R4, 1) : B.BPF_JMP32_REG(op, R3, R4, 1);
        const want = taken ? 1n : 0n;
        return [
          { what: "K", code: [ld(R3, a), B.BPF_MOV64_IMM(R1, 1), jk, B.BPF_MOV64_IMM(R1, 0)], want },
          {
            what: "X",
            code: [ld(R3, a), B.BPF_MOV64_IMM(R4, b), B.BPF_MOV64_IMM(R1, 1), jx, B.BPF_MOV64_IMM(R1, 0)],
            want,
          },
        ];
      }),
    ),
    want: PASS,
  },
  "JA, gotol, local calls, exit": {
    insns: B.prog(
      B.BPF_MOV64_IMM(R6, 0),
      B.BPF_JMP_A(1),
      B.BPF_MOV64_IMM(R6, 100), // skipped
      B.BPF_JMP32_A(1),
      B.BPF_MOV64_IMM(R6, 200), // skipped
      B.BPF_MOV64_IMM(R1, 20),
      B.BPF_MOV64_IMM(R2, 22),
      B.BPF_CALL_REL(3), // → add
      B.BPF_ALU64_REG(O.BPF_ADD, R0, R6),
      EXIT,
      EXIT,
      // add(r1, r2): r6 is callee-saved across the call
      B.BPF_MOV64_REG(R0, R1),
      B.BPF_ALU64_REG(O.BPF_ADD, R0, R2),
      B.BPF_MOV64_IMM(R6, 999),
      EXIT,
    ),
    want: 42n,
  },
  LD_IMM64: {
    insns: checks([
      { what: "lddw", code: [ld(R1, 0x1122_3344_5566_7788n)], want: 0x1122_3344_5566_7788n },
      { what: "lddw high", code: [ld(R1, 0xffff_ffff_0000_0001n)], want: 0xffff_ffff_0000_0001n },
    ]),
    want: PASS,
  },
  "LDX, LDXSX, ST, STX on the input memory and the stack": {
    memory: "01  82  03  84  05  86  07  88  ",
    insns: checks([
      { what: "r2 = length", code: [B.BPF_MOV64_REG(R1, R2)], want: 8n },
      { what: "ldxb", code: [B.BPF_LDX_MEM(O.BPF_B, R1, R6, 1)], want: 0x82n },
      { what: "ldxh", code: [B.BPF_LDX_MEM(O.BPF_H, R1, R6, 2)], want: 0x8403n },
      { what: "ldxw", code: [B.BPF_LDX_MEM(O.BPF_W, R1, R6, 4)], want: 0x8807_8605n },
      { what: "ldxdw", code: [B.BPF_LDX_MEM(O.BPF_DW, R1, R6, 0)], want: 0x8807_8605_8403_8201n },
      { what: "ldxsb", code: [B.BPF_LDX_MEMSX(O.BPF_B, R1, R6, 1)], want: M64 - 0x7dn },
      { what: "ldxsh", code: [B.BPF_LDX_MEMSX(O.BPF_H, R1, R6, 2)], want: 0xffff_ffff_ffff_8403n },
      { what: "ldxsw", code: [B.BPF_LDX_MEMSX(O.BPF_W, R1, R6, 4)], want: 0xffff_ffff_8807_8605n },
      {
        what: "st/stx all sizes on the stack",
        code: [
          B.BPF_ST_MEM(O.BPF_DW, R10, -8, -1),
          B.BPF_ST_MEM(O.BPF_W, R10, -8, 0x11223344),
          B.BPF_ST_MEM(O.BPF_H, R10, -4, 0x5566),
          B.BPF_MOV64_IMM(R3, 0x77),
          B.BPF_STX_MEM(O.BPF_B, R10, R3, -2),
          B.BPF_LDX_MEM(O.BPF_DW, R1, R10, -8),
        ],
        want: 0xff77_5566_1122_3344n,
      },
      {
        what: "stx to the input memory",
        code: [ld(R3, 0x0102_0304_0506_0708n), B.BPF_STX_MEM(O.BPF_DW, R6, R3, 0), B.BPF_LDX_MEM(O.BPF_W, R1, R6, 4)],
        want: 0x0102_0304n,
      },
    ]),
    want: PASS,
  },
  "atomics (every operation, 32 and 64 bit)": {
    memory: "00  ".repeat(16),
    insns: checks(
      (
        [
          [O.BPF_DW, O.BPF_ADD, 5n, 3n, 8n, undefined],
          [O.BPF_W, O.BPF_ADD, 0xffff_ffffn, 1n, 0n, undefined],
          [O.BPF_DW, O.BPF_OR, 0xf0n, 0x0fn, 0xffn, undefined],
          [O.BPF_W, O.BPF_AND, 0xf0fn, 0xff0n, 0xf00n, undefined],
          [O.BPF_DW, O.BPF_XOR, 0xffn, 0xfn, 0xf0n, undefined],
          [O.BPF_DW, O.BPF_ADD | O.BPF_FETCH, 5n, 3n, 8n, 5n],
          [O.BPF_W, O.BPF_OR | O.BPF_FETCH, 1n, 2n, 3n, 1n],
          [O.BPF_DW, O.BPF_AND | O.BPF_FETCH, 6n, 3n, 2n, 6n],
          [O.BPF_W, O.BPF_XOR | O.BPF_FETCH, 6n, 3n, 5n, 6n],
          [O.BPF_DW, O.BPF_XCHG, 6n, 9n, 9n, 6n],
          [O.BPF_W, O.BPF_XCHG, 6n, 9n, 9n, 6n],
        ] as [number, number, bigint, bigint, bigint, bigint | undefined][]
      )
        .flatMap(([size, op, init, src, mem, fetched]) => {
          const base = [ld(R3, init), B.BPF_STX_MEM(O.BPF_DW, R6, R3, 8), ld(R3, src)];
          return [
            {
              what: "memory after",
              code: [...base, B.BPF_ATOMIC_OP(size, op, R6, R3, 8), B.BPF_LDX_MEM(O.BPF_DW, R1, R6, 8)],
              want: mem,
            },
            ...(fetched === undefined
              ? []
              : [
                  {
                    what: "fetched",
                    code: [...base, B.BPF_ATOMIC_OP(size, op, R6, R3, 8), B.BPF_MOV64_REG(R1, R3)],
                    want: fetched,
                  },
                ]),
          ];
        })
        .concat([
          {
            what: "cmpxchg match",
            code: [
              B.BPF_ST_MEM(O.BPF_DW, R6, 8, 5),
              B.BPF_MOV64_IMM(R0, 5),
              B.BPF_MOV64_IMM(R3, 9),
              B.BPF_ATOMIC_OP(O.BPF_DW, O.BPF_CMPXCHG, R6, R3, 8),
              B.BPF_LDX_MEM(O.BPF_DW, R1, R6, 8),
              B.BPF_ALU64_IMM(O.BPF_LSH, R0, 8),
              B.BPF_ALU64_REG(O.BPF_OR, R1, R0),
            ],
            want: 0x509n,
          },
          {
            what: "cmpxchg32 mismatch",
            code: [
              B.BPF_ST_MEM(O.BPF_DW, R6, 8, 0),
              B.BPF_ST_MEM(O.BPF_W, R6, 8, 4),
              B.BPF_MOV64_IMM(R0, 5),
              B.BPF_MOV64_IMM(R3, 9),
              B.BPF_ATOMIC_OP(O.BPF_W, O.BPF_CMPXCHG, R6, R3, 8),
              B.BPF_LDX_MEM(O.BPF_W, R1, R6, 8),
              B.BPF_ALU64_IMM(O.BPF_LSH, R0, 8),
              B.BPF_ALU64_REG(O.BPF_OR, R1, R0),
            ],
            want: 0x404n,
          },
        ]),
    ),
    want: PASS,
  },
  "helper calls (ubpf's 0-4)": {
    memory: "61  62  63  00  61  62  64  00  ",
    insns: checks([
      {
        what: "gather_bytes",
        code: [
          B.BPF_MOV64_IMM(R1, 0x101),
          B.BPF_MOV64_IMM(R2, 2),
          B.BPF_MOV64_IMM(R3, 3),
          B.BPF_MOV64_IMM(R4, 4),
          B.BPF_MOV64_IMM(R5, 5),
          B.BPF_EMIT_CALL(0),
          B.BPF_MOV64_REG(R1, R0),
        ],
        want: 0x01_0203_0405n,
      },
      { what: "sqrti", code: [B.BPF_MOV64_IMM(R1, 1000), B.BPF_EMIT_CALL(3), B.BPF_MOV64_REG(R1, R0)], want: 31n },
      {
        what: "strcmp abc abd",
        code: [
          B.BPF_MOV64_REG(R1, R6),
          B.BPF_MOV64_REG(R2, R6),
          B.BPF_ALU64_IMM(O.BPF_ADD, R2, 4),
          B.BPF_EMIT_CALL(4),
          B.BPF_MOV64_REG(R1, R0),
        ],
        want: M64, // 'c' - 'd'
      },
      {
        what: "memfrob then read back",
        code: [
          B.BPF_MOV64_REG(R1, R6),
          B.BPF_MOV64_IMM(R2, 2),
          B.BPF_EMIT_CALL(1),
          B.BPF_LDX_MEM(O.BPF_H, R1, R6, 0),
          B.BPF_ALU64_REG(O.BPF_ADD, R1, R0),
        ],
        want: 0x484bn, // 'a' ^ 42 = 0x4b, 'b' ^ 42 = 0x48; memfrob returns 0
      },
      { what: "no_op", code: [B.BPF_EMIT_CALL(2), B.BPF_MOV64_REG(R1, R0)], want: 0n },
    ]),
    want: PASS,
  },
  "unwind (helper 5)": {
    insns: B.prog(
      B.BPF_MOV64_IMM(R1, 7),
      B.BPF_EMIT_CALL(5), // returns 7: the program goes on
      B.BPF_MOV64_REG(R6, R0),
      B.BPF_CALL_REL(2),
      B.BPF_MOV64_IMM(R0, 111), // never reached: the subprogram unwinds
      EXIT,
      // subprogram: unwind(0) ends the whole program with r0 = 0
      B.BPF_MOV64_IMM(R1, 0),
      B.BPF_EMIT_CALL(5),
      B.BPF_MOV64_IMM(R0, 222),
      EXIT,
    ),
    want: 0n,
  },
};

for (const [name, c] of Object.entries(CLASSES)) {
  // The full simulated kernel (--kernel) takes the same programs: checked on two classes to keep the run short.
  const engines = [
    "--jit",
    "--interpret",
    ...(name.startsWith("atomics") || name.startsWith("unwind") ? ["--kernel"] : []),
  ];
  for (const engine of engines) {
    test(`${name} through ${engine}`, async (t) => {
      const r = await plugin(progHex(c.insns), c.memory ?? "", engine);
      t.is(r.stderr, "", "no error");
      t.is(r.code, 0);
      t.is(r.stdout, `${c.want.toString(16)}\n`);
    });
  }
}

test("empty memory: r1 = NULL and r2 = 0, on both engines", async (t) => {
  const prog = progHex(
    B.prog(B.BPF_MOV64_REG(R0, R1), B.BPF_ALU64_REG(O.BPF_OR, R0, R2), B.BPF_ALU64_IMM(O.BPF_ADD, R0, 5), EXIT),
  );
  for (const engine of ["", "--interpret"]) {
    const r = await plugin(prog, "", engine);
    t.deepEqual([r.code, r.stdout], [0, "5\n"], engine);
  }
});

test("programs it must reject: a message on stderr, nothing on stdout, exit 1", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["unknown opcode", progHex([B.BPF_RAW_INSN(0x8f, 0, 0, 0, 0), EXIT]), /^unknown opcode 8f: insn 0: \(8f\)/],
    ["jump out of range", progHex([B.BPF_JMP_A(4), EXIT]), /^jump out of range: target 5: insn 0/],
    ["no exit", progHex([B.BPF_MOV64_IMM(R0, 1)]), /^last insn is not an exit or jmp: insn 0/],
    ["truncated", "b7 00 00 00 01 00 00", /^truncated program: 7 bytes/],
    ["bad hex", "b7 zz", /^usage: invalid hex byte: "zz"/],
    ["map fd (no maps)", progHex(B.prog(B.BPF_LD_MAP_FD(R1, 1), EXIT)), /ld_imm64 source 1/],
    ["kfunc call", progHex([B.BPF_CALL_KFUNC(0, 42), EXIT]), /kfunc/],
  ];
  for (const [what, prog, msg] of cases) {
    for (const engine of ["--jit", "--interpret"]) {
      const r = await plugin(prog, "", engine);
      t.is(r.code, 1, `${what} ${engine}`);
      t.is(r.stdout, "", `${what} ${engine}`);
      t.regex(r.stderr.trim(), msg, `${what} ${engine}`);
    }
  }
});

test("a faulting program is an error, not a result", async (t) => {
  const prog = progHex(B.prog(B.BPF_LDX_MEM(O.BPF_DW, R0, R1, 0), EXIT));
  for (const engine of ["--jit", "--interpret"]) {
    const r = await plugin(prog, "", engine); // r1 = NULL
    t.is(r.code, 1, engine);
    t.is(r.stdout, "", engine);
    t.true(r.stderr.length > 0, engine);
  }
});

test("argument parsing follows the suite's conventions", (t) => {
  t.deepEqual([...decodeHex("01  02  ff  ")], [1, 2, 255]);
  t.deepEqual([...decodeHex("")], []);
  t.throws(() => decodeHex("1 2 345"), { instanceOf: PluginUsageError, message: 'invalid hex byte: "345"' });
  t.deepEqual(parsePluginArgs(["0a  0b  ", ""]), {
    memory: Uint8Array.from([10, 11]),
    program: undefined,
    interpret: false,
    kernel: false,
  });
  t.is(parsePluginArgs(["", "--kernel"]).kernel, true);
  t.is(parsePluginArgs(["", "--interpret"]).interpret, true);
  t.is(parsePluginArgs(["--interpret"]).interpret, true);
  t.is(parsePluginArgs(["", "--interpret --jit"]).interpret, false, "the last option wins");
  t.is(parsePluginArgs(["--program", "95 00 00 00 00 00 00 00"]).program, "95 00 00 00 00 00 00 00");
  t.throws(() => parsePluginArgs(["", "--elf"]), { instanceOf: PluginUsageError, message: "invalid argument: --elf" });
});
