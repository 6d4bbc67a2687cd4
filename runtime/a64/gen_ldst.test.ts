import test from "ava";
import { EncodeError } from "../errors.js";
import {
  A64_LDST_LDR_W,
  A64_LDST_LDR_X,
  A64_LDST_LDRB,
  A64_LDST_LDRH,
  A64_LDST_LDRSB_W,
  A64_LDST_LDRSB_X,
  A64_LDST_LDRSH_W,
  A64_LDST_LDRSH_X,
  A64_LDST_LDRSW,
  A64_LDST_STR_W,
  A64_LDST_STR_X,
  A64_LDST_STRB,
  A64_LDST_STRH,
  a64LdStBytes,
  a64LdStIsLoad,
  aarch64InsnGenAtomicLdOp,
  aarch64InsnGenLoadLiteral,
  aarch64InsnGenLoadStoreEx,
  aarch64InsnGenLoadStoreImm,
  aarch64InsnGenLoadStorePair,
  aarch64InsnGenLoadStorePost,
  aarch64InsnGenLoadStorePre,
  aarch64InsnGenLoadStoreReg,
  aarch64InsnGenLoadStoreUnscaled,
  type A64AtomicOp,
} from "./gen_ldst.js";
import { A64_INSN as I } from "./insn_table.js";
import { checkRows, imm, initOracles, row, type OracleRow } from "./oracle_testutil.js";
import { A64_SP, A64_ZR } from "./regs.js";

test.before(initOracles);

/** kind, mnemonic, unscaled mnemonic, Rt prefix, log2(size), (size, opc) from the Arm ARM encoding tables. */
const KINDS = [
  [A64_LDST_STRB, "strb", "sturb", "w", 0, 0, 0],
  [A64_LDST_LDRB, "ldrb", "ldurb", "w", 0, 0, 1],
  [A64_LDST_LDRSB_X, "ldrsb", "ldursb", "x", 0, 0, 2],
  [A64_LDST_LDRSB_W, "ldrsb", "ldursb", "w", 0, 0, 3],
  [A64_LDST_STRH, "strh", "sturh", "w", 1, 1, 0],
  [A64_LDST_LDRH, "ldrh", "ldurh", "w", 1, 1, 1],
  [A64_LDST_LDRSH_X, "ldrsh", "ldursh", "x", 1, 1, 2],
  [A64_LDST_LDRSH_W, "ldrsh", "ldursh", "w", 1, 1, 3],
  [A64_LDST_STR_W, "str", "stur", "w", 2, 2, 0],
  [A64_LDST_LDR_W, "ldr", "ldur", "w", 2, 2, 1],
  [A64_LDST_LDRSW, "ldrsw", "ldursw", "x", 2, 2, 2],
  [A64_LDST_STR_X, "str", "stur", "x", 3, 3, 0],
  [A64_LDST_LDR_X, "ldr", "ldur", "x", 3, 3, 1],
] as const;

test("unsigned scaled offsets: 0 and the maximum for every kind", (t) => {
  const rows: OracleRow[] = [];
  for (const [kind, name, , r, scale, size, opc] of KINDS) {
    const max = 4095 << scale;
    const base = (0x39000000 | (size << 30) | (opc << 22)) >>> 0;
    rows.push(
      row(
        `${name} ${r} #0`,
        aarch64InsnGenLoadStoreImm(kind, 1, A64_SP, 0),
        (base | 0x3e1) >>> 0,
        `${name} ${r}1, [sp]`,
      ),
    );
    rows.push(
      row(
        `${name} ${r} #max`,
        aarch64InsnGenLoadStoreImm(kind, 1, 2, max),
        (base | (0xfff << 10) | 0x41) >>> 0,
        `${name} ${r}1, [x2, ${imm(max)}]`,
      ),
    );
    if (scale > 0) {
      t.throws(() => aarch64InsnGenLoadStoreImm(kind, 1, 2, 1 << (scale - 1)), {
        instanceOf: EncodeError,
        message: `offset not a multiple of ${1 << scale}: ${name} ${r}1, [x2, #${1 << (scale - 1)}]`,
      });
    }
    t.throws(() => aarch64InsnGenLoadStoreImm(kind, 1, 2, max + (1 << scale)), {
      message: `offset out of range: ${name} ${r}1, [x2, #${max + (1 << scale)}] (0..${max} in steps of ${1 << scale})`,
    });
    t.throws(() => aarch64InsnGenLoadStoreImm(kind, 1, 2, -(1 << scale)), {
      message: `offset out of range: ${name} ${r}1, [x2, #${-(1 << scale)}] (0..${max} in steps of ${1 << scale}; use ldur/stur for -256..255)`,
    });
    t.is(a64LdStBytes(kind), 1 << scale);
    t.is(a64LdStIsLoad(kind), opc !== 0);
  }
  checkRows(t, rows);
});

test("unscaled, pre-index and post-index: -256 and 255 for every kind", (t) => {
  const rows: OracleRow[] = [];
  for (const [kind, name, uname, r, , size, opc] of KINDS) {
    const so = ((size << 30) | (opc << 22)) >>> 0;
    for (const off of [-256, 255]) {
      const field = (off & 0x1ff) << 12;
      rows.push(
        row(
          `${uname} ${r} ${off}`,
          aarch64InsnGenLoadStoreUnscaled(kind, 1, 2, off),
          (0x38000000 | so | field | 0x41) >>> 0,
          `${uname} ${r}1, [x2, ${imm(off)}]`,
        ),
        row(
          `${name} ${r} pre ${off}`,
          aarch64InsnGenLoadStorePre(kind, 1, A64_SP, off),
          (0x38000c00 | so | field | 0x3e1) >>> 0,
          `${name} ${r}1, [sp, ${imm(off)}]!`,
        ),
        row(
          `${name} ${r} post ${off}`,
          aarch64InsnGenLoadStorePost(kind, 1, 2, off),
          (0x38000400 | so | field | 0x41) >>> 0,
          // Capstone 5 prints a negative post-index offset as a 64-bit unsigned value.
          `${name} ${r}1, [x2], ${off < 0 ? imm(BigInt.asUintN(64, BigInt(off))) : imm(off)}`,
          { asm: `${name} ${r}1, [x2], ${imm(off)}` },
        ),
      );
    }
    t.throws(() => aarch64InsnGenLoadStoreUnscaled(kind, 1, 2, 256), {
      instanceOf: EncodeError,
      message: `offset out of range: ${uname} ${r}1, [x2, #256] (-256..255)`,
    });
    t.throws(() => aarch64InsnGenLoadStorePre(kind, 1, 2, -257), {
      message: `offset out of range: ${name} ${r}1, [x2, #-257]! (-256..255)`,
    });
    t.throws(() => aarch64InsnGenLoadStorePost(kind, 1, 2, 256), {
      message: `offset out of range: ${name} ${r}1, [x2], #256 (-256..255)`,
    });
  }
  checkRows(t, rows);
  t.throws(() => aarch64InsnGenLoadStorePost(A64_LDST_LDR_X, 3, 3, 8), {
    message: "unpredictable writeback: ldr x3, [x3], #8 (Rt is also the base register)",
  });
  t.throws(() => aarch64InsnGenLoadStorePre(A64_LDST_STR_W, 3, 3, 8), {
    message: "unpredictable writeback: str w3, [x3, #8]! (Rt is also the base register)",
  });
});

test("register offset for every kind; the base may be sp, the index may not", (t) => {
  const rows: OracleRow[] = [];
  for (const [kind, name, , r, , size, opc] of KINDS) {
    const word = (0x38206800 | (size << 30) | (opc << 22) | (30 << 16) | ((A64_SP & 31) << 5) | 29) >>> 0;
    rows.push(
      row(`${name} ${r} reg`, aarch64InsnGenLoadStoreReg(kind, 29, A64_SP, 30), word, `${name} ${r}29, [sp, x30]`),
    );
  }
  checkRows(t, rows);
  t.throws(() => aarch64InsnGenLoadStoreReg(A64_LDST_LDR_X, 1, 2, A64_SP), {
    instanceOf: EncodeError,
    message: "invalid register: sp (Rm: x0..x30 or xzr)",
  });
  t.throws(() => aarch64InsnGenLoadStoreReg(A64_LDST_LDR_X, A64_SP, 2, 3), {
    message: "invalid register: sp (Rt: x0..x30 or xzr)",
  });
  t.throws(() => aarch64InsnGenLoadStoreImm(A64_LDST_LDR_X, 1, A64_ZR, 0), {
    message: "invalid register: xzr (Rn: x0..x30 or sp)",
  });
  for (const [bad, shown] of [
    [0xc0800000, "0xc0800000"],
    [0x80c00000, "0x80c00000"],
    [0xc0c00000, "0xc0c00000"],
    [0x00000001, "0x1"],
    [-1, "-0x1"],
    [0.5, "0.5"],
    [0x1c0400000, "0x1c0400000"],
  ] as const) {
    t.throws(() => aarch64InsnGenLoadStoreImm(bad, 1, 2, 0), {
      message: `invalid load/store kind: ${shown} (one of the A64_LDST_* constants)`,
    });
  }
});

test("ldp/stp: limits of every form and width; unpredictable forms are refused", (t) => {
  const rows: OracleRow[] = [];
  const forms = [
    [I.stp, "stp", ""],
    [I.ldp, "ldp", ""],
    [I.stpPre, "stp", "!"],
    [I.ldpPre, "ldp", "!"],
    [I.stpPost, "stp", "post"],
    [I.ldpPost, "ldp", "post"],
  ] as const;
  for (const [entry, name, mode] of forms) {
    for (const is64 of [true, false]) {
      const size = is64 ? 8 : 4;
      for (const off of [-64 * size, 63 * size]) {
        const r = is64 ? "x" : "w";
        const addr = mode === "post" ? `[x3], ${imm(off)}` : `[x3, ${imm(off)}]${mode}`;
        const word =
          (entry.value | (is64 ? 0x80000000 : 0) | (((off / size) & 0x7f) << 15) | (2 << 10) | (3 << 5) | 1) >>> 0;
        rows.push(
          row(
            `${entry.name} ${size * 8} ${off}`,
            aarch64InsnGenLoadStorePair(entry, is64, 1, 2, 3, off),
            word,
            `${name} ${r}1, ${r}2, ${addr}`,
          ),
        );
      }
    }
  }
  checkRows(t, rows);
  t.throws(() => aarch64InsnGenLoadStorePair(I.stp, true, 1, 2, 3, 512), {
    instanceOf: EncodeError,
    message: "offset out of range: stp x1, x2, [x3, #512] (-512..504 in steps of 8)",
  });
  t.throws(() => aarch64InsnGenLoadStorePair(I.ldpPost, false, 1, 2, 3, -260), {
    message: "offset out of range: ldp w1, w2, [x3], #-260 (-256..252 in steps of 4)",
  });
  t.throws(() => aarch64InsnGenLoadStorePair(I.stpPre, false, 1, 2, 3, 6), {
    message: "offset not a multiple of 4: stp w1, w2, [x3, #6]!",
  });
  t.throws(() => aarch64InsnGenLoadStorePair(I.ldp, true, 4, 4, 3, 0), {
    message: "unpredictable load pair: ldp x4, x4, [x3, #0] (Rt == Rt2)",
  });
  t.throws(() => aarch64InsnGenLoadStorePair(I.ldpPost, true, 4, 5, 5, 16), {
    message: "unpredictable writeback: ldp x4, x5, [x5], #16 (the base register is also a data register)",
  });
  t.notThrows(() => aarch64InsnGenLoadStorePair(I.stp, true, 4, 4, 3, 0), "stp of one register twice is fine");
  t.throws(() => aarch64InsnGenLoadStorePair(I.ldrImm, true, 1, 2, 3, 0), {
    message: "wrong instruction for ldp/stp: ldrImm",
  });
});

test("ldr (literal): limits and kinds", (t) => {
  checkRows(t, [
    row("ldr w max", aarch64InsnGenLoadLiteral(A64_LDST_LDR_W, 1, 0xffffc), 0x187fffe1, "ldr w1, #0x1ffffc"),
    row("ldr x min", aarch64InsnGenLoadLiteral(A64_LDST_LDR_X, 1, -0x100000), 0x58800001, "ldr x1, #0"),
    row("ldrsw", aarch64InsnGenLoadLiteral(A64_LDST_LDRSW, 1, 8), 0x98000041, "ldrsw x1, #0x100008"),
  ]);
  t.throws(() => aarch64InsnGenLoadLiteral(A64_LDST_LDRB, 1, 8), {
    instanceOf: EncodeError,
    message: "invalid literal load kind: 0x400000 (ldr w, ldr x or ldrsw)",
  });
  t.throws(() => aarch64InsnGenLoadLiteral(A64_LDST_LDR_X, 1, 6), {
    message: "branch offset not a multiple of 4: 0x6 bytes",
  });
});

test("exclusive, ordered and atomic generators check their operands", (t) => {
  t.throws(() => aarch64InsnGenLoadStoreEx(I.stxr, true, 1, 2), {
    instanceOf: EncodeError,
    message: "missing status register: stxr needs Rs",
  });
  t.throws(() => aarch64InsnGenLoadStoreEx(I.ldxr, true, 1, 2, 3), {
    message: "unexpected status register: ldxr takes no Rs",
  });
  t.throws(() => aarch64InsnGenLoadStoreEx(I.stxr, true, 1, 2, 1), {
    message: "unpredictable store exclusive: stxr w1, x1, [x2] (Rs is also Rt or Rn)",
  });
  t.throws(() => aarch64InsnGenLoadStoreEx(I.stlxr, false, 1, 2, 2), {
    message: "unpredictable store exclusive: stlxr w2, w1, [x2] (Rs is also Rt or Rn)",
  });
  t.throws(() => aarch64InsnGenLoadStoreEx(I.cas, true, 1, 2), {
    message: "wrong instruction for load/store exclusive: cas",
  });
  t.throws(() => aarch64InsnGenAtomicLdOp("ldmax" as A64AtomicOp, true, 1, 2, 3), {
    message: "invalid atomic operation: ldmax (ldadd, ldclr, ldeor, ldset or swp)",
  });
  checkRows(t, [
    row("stxr to sp base", aarch64InsnGenLoadStoreEx(I.stxr, false, 1, A64_SP, 2), 0x88027fe1, "stxr w2, w1, [sp]"),
    row("ldaxr x30", aarch64InsnGenLoadStoreEx(I.ldaxr, true, 30, 29), 0xc85fffbe, "ldaxr x30, [x29]"),
  ]);
});
