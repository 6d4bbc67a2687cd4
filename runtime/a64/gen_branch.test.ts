import test from "ava";
import { EncodeError } from "../errors.js";
import {
  A64_HINT_AUTIASP,
  A64_HINT_BTI,
  A64_HINT_BTI_C,
  A64_HINT_NOP,
  A64_HINT_PACIASP,
  A64_HINT_YIELD,
  A64_MB_ISH,
  A64_MB_SY,
  aarch64BranchOffsetBetween,
  aarch64InsnGenBarrier,
  aarch64InsnGenBranchImm,
  aarch64InsnGenBranchReg,
  aarch64InsnGenCompBranchImm,
  aarch64InsnGenCondBranchImm,
  aarch64InsnGenException,
  aarch64InsnGenHint,
  aarch64InsnGenNop,
  aarch64InsnGenTestBranchImm,
} from "./gen_branch.js";
import { A64_INSN as I } from "./insn_table.js";
import { checkRows, initOracles, row, type OracleRow } from "./oracle_testutil.js";
import { A64_SP, A64_ZR } from "./regs.js";

test.before(initOracles);

test("immediate branches take byte offsets", (t) => {
  checkRows(t, [
    row("b +0x7fffffc", aarch64InsnGenBranchImm(I.b, 0x7fffffc), 0x15ffffff, "b #0x80ffffc"),
    row("bl -0x8000000", aarch64InsnGenBranchImm(I.bl, -0x8000000), 0x96000000, "bl #0xfffffffff8100000"),
    row("b.hi +4", aarch64InsnGenCondBranchImm(8, 4), 0x54000028, "b.hi #0x100004"),
    row("b.nv 0", aarch64InsnGenCondBranchImm(15, 0), 0x5400000f, "b.nv #0x100000", { asm: false }),
    row("cbz xzr", aarch64InsnGenCompBranchImm(I.cbz, true, A64_ZR, 8), 0xb400005f, "cbz xzr, #0x100008"),
    row("tbnz w30 #31", aarch64InsnGenTestBranchImm(I.tbnz, 30, 31, -8), 0x37ffffde, "tbnz w30, #0x1f, #0xffff8"),
    row("tbz x1 #32", aarch64InsnGenTestBranchImm(I.tbz, 1, 32, 0), 0xb6000001, "tbz x1, #0x20, #0x100000"),
  ]);
  for (const [fn, message] of [
    [() => aarch64InsnGenBranchImm(I.cbz, 0), "wrong instruction for b/bl: cbz"],
    [() => aarch64InsnGenCompBranchImm(I.b, true, 1, 0), "wrong instruction for cbz/cbnz: b"],
    [() => aarch64InsnGenTestBranchImm(I.cbnz, 1, 0, 0), "wrong instruction for tbz/tbnz: cbnz"],
    [() => aarch64InsnGenBranchReg(I.b, 1), "wrong instruction for br/blr/ret: b"],
    [() => aarch64InsnGenBranchReg(I.br, A64_SP), "invalid register: sp (Rn: x0..x30 or xzr)"],
    [() => aarch64InsnGenCondBranchImm(16, 0), "invalid condition code: 16 (0..15)"],
    [() => aarch64InsnGenCompBranchImm(I.cbz, true, 32, 0), "invalid register: x32 (Rt: x0..x30 or xzr)"],
    [() => aarch64InsnGenBranchImm(I.b, 2), "branch offset not a multiple of 4: 0x2 bytes"],
    [() => aarch64InsnGenBranchImm(I.b, 2 ** 40), "branch offset out of range: 0x10000000000 bytes (±128 MiB)"],
    [() => aarch64InsnGenBranchImm(I.b, Number.NaN), "branch offset out of range: NaN bytes (±128 MiB)"],
  ] as const) {
    t.throws(fn, { instanceOf: EncodeError, message });
  }
});

test("hints by number: nop, yield, bti, paciasp, autiasp", (t) => {
  checkRows(t, [
    row("nop", aarch64InsnGenNop(), 0xd503201f, "nop"),
    row("hint #0", aarch64InsnGenHint(A64_HINT_NOP), 0xd503201f, "nop"),
    row("yield", aarch64InsnGenHint(A64_HINT_YIELD), 0xd503203f, "yield"),
    row("bti", aarch64InsnGenHint(A64_HINT_BTI), 0xd503241f, "hint #0x20"),
    row("bti c", aarch64InsnGenHint(A64_HINT_BTI_C), 0xd503245f, "hint #0x22"),
    row("paciasp", aarch64InsnGenHint(A64_HINT_PACIASP), 0xd503233f, "paciasp", { asm: "hint #25" }),
    row("autiasp", aarch64InsnGenHint(A64_HINT_AUTIASP), 0xd50323bf, "autiasp", { asm: "hint #29" }),
    row("hint #127", aarch64InsnGenHint(127), 0xd5032fff, "hint #0x7f"),
  ]);
  t.throws(() => aarch64InsnGenHint(128), {
    instanceOf: EncodeError,
    message: "immediate out of range: hint = 128 (0..127)",
  });
});

test("barriers: every dmb/dsb option with a name; reserved options refused", (t) => {
  const names = [
    "",
    "oshld",
    "oshst",
    "osh",
    "",
    "nshld",
    "nshst",
    "nsh",
    "",
    "ishld",
    "ishst",
    "ish",
    "",
    "ld",
    "st",
    "sy",
  ];
  const rows: OracleRow[] = [];
  for (let crm = 0; crm < 16; crm++) {
    if (names[crm] === "") {
      t.throws(() => aarch64InsnGenBarrier(I.dmb, crm), {
        instanceOf: EncodeError,
        message: `invalid barrier option: ${crm} (CRm with a nonzero domain: 1..3, 5..7, 9..11, 13..15)`,
      });
      continue;
    }
    rows.push(
      row(`dmb ${names[crm]}`, aarch64InsnGenBarrier(I.dmb, crm), (0xd50330bf | (crm << 8)) >>> 0, `dmb ${names[crm]}`),
    );
    rows.push(
      row(`dsb ${names[crm]}`, aarch64InsnGenBarrier(I.dsb, crm), (0xd503309f | (crm << 8)) >>> 0, `dsb ${names[crm]}`),
    );
  }
  rows.push(row("isb", aarch64InsnGenBarrier(I.isb), 0xd5033fdf, "isb"));
  rows.push(row("dmb default sy", aarch64InsnGenBarrier(I.dmb), 0xd5033fbf, "dmb sy"));
  t.is(rows.length, 26);
  checkRows(t, rows);
  t.throws(() => aarch64InsnGenBarrier(I.isb, A64_MB_ISH), { message: "invalid isb option: 11 (only sy, 15)" });
  t.throws(() => aarch64InsnGenBarrier(I.nop, A64_MB_SY), { message: "wrong instruction for dmb/dsb/isb: nop" });
});

test("brk and svc: imm16 limits", (t) => {
  checkRows(t, [
    row("brk #0", aarch64InsnGenException(I.brk, 0), 0xd4200000, "brk #0"),
    row("brk #0xffff", aarch64InsnGenException(I.brk, 0xffff), 0xd43fffe0, "brk #0xffff"),
    row("brk #0x100 (AARCH64_BREAK_FAULT)", aarch64InsnGenException(I.brk, 0x100), 0xd4202000, "brk #0x100"),
    row("svc #0", aarch64InsnGenException(I.svc, 0), 0xd4000001, "svc #0"),
  ]);
  t.throws(() => aarch64InsnGenException(I.brk, 0x10000), {
    instanceOf: EncodeError,
    message: "immediate out of range: imm16 = 65536 (0..65535)",
  });
  t.throws(() => aarch64InsnGenException(I.hint, 0), { message: "wrong instruction for brk/svc: hint" });
});

test("aarch64BranchOffsetBetween checks alignment and range between 64-bit addresses", (t) => {
  const base = 0xffff_8000_1000_0000n;
  t.is(aarch64BranchOffsetBetween(base, base + 0x7ff_fffcn), 0x7ff_fffc);
  t.is(aarch64BranchOffsetBetween(base, base - 0x800_0000n), -0x800_0000);
  t.is(aarch64BranchOffsetBetween(0xffff_ffff_ffff_fff0n, 0x10n), 0x20, "wraps like the kernel's long arithmetic");
  t.is(aarch64BranchOffsetBetween(base, base + 0xf_fffcn, 0x10_0000), 0xf_fffc);
  t.throws(() => aarch64BranchOffsetBetween(base, base + 0x800_0000n), {
    instanceOf: EncodeError,
    message: "branch offset out of range: 0x8000000 bytes (±128 MiB)",
  });
  t.throws(() => aarch64BranchOffsetBetween(base, base + 0x10_0000n, 0x10_0000), {
    message: "branch offset out of range: 0x100000 bytes (±1 MiB)",
  });
  t.throws(() => aarch64BranchOffsetBetween(base + 2n, base), {
    message: "branch address not 4-byte aligned: pc 0xffff800010000002, target 0xffff800010000000",
  });
});
