/**
 * `a64bpf prog dump jited`: raw bytecode and hex text give the same
 * listing, BPF instructions sit above the A64 code they produced, `--opcodes`
 * adds the bytes (checked against the encoders' words), and bad files are
 * refused with a message and exit code.
 */
import test from "ava";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as B from "../../runtime/bpf/builder.js";
import { encodeInsns } from "../../runtime/bpf/codec.js";
import * as O from "../../runtime/bpf/opcodes.js";
import { runProg } from "./main.js";
import { progNameFromFile } from "./source.js";

const dir = mkdtempSync(join(tmpdir(), "a64bpf-prog-"));
const INSNS = B.prog(
  B.BPF_MOV64_IMM(O.BPF_REG_1, 5),
  B.BPF_EMIT_CALL(5), // bpf_ktime_get_ns
  B.BPF_ALU64_IMM(O.BPF_ADD, O.BPF_REG_0, 1),
  B.BPF_EXIT_INSN(),
);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runProg(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test("raw bytecode and hex text give the same listing, BPF above its A64 code", async (t) => {
  const raw = join(dir, "calc-prog.bin");
  writeFileSync(raw, encodeInsns(INSNS));
  const hex = join(dir, "calc-prog.hex");
  writeFileSync(hex, [...encodeInsns(INSNS)].map((b) => b.toString(16).padStart(2, "0")).join(" ") + "\n");
  const a = await run(["dump", "jited", raw]);
  const b = await run(["dump", "jited", hex]);
  t.is(a.code, 0, a.err);
  t.is(b.code, 0, b.err);
  t.is(a.out, b.out);
  t.regex(a.out, /^bpf_prog_[0-9a-f]{16}_calc_prog:\n; prologue\n {3}0:\tadd\tx9, x30, #0\n {3}4:\tnop\n/);
  // r1 = 5 is x0; the call is the absolute sequence through x10, then r0 = x0.
  t.regex(a.out, /; 0: \(b7\) r1 = 5\n {2}[0-9a-f]+:\tmov\tx0, #5\n; 1: \(85\) call bpf_ktime_get_ns#5\n/);
  t.regex(a.out, /\tblr\tx10\n {2}[0-9a-f]+:\tadd\tx8, x0, #0\n; 2: \(07\) r0 \+= 1\n/);
  t.regex(a.out, /; 3: \(95\) exit\n; epilogue\n/);
  t.regex(a.out, /; plt\n(.*\n)?.*\tldr\tx10, #0x[0-9a-f]+\n.*\tbr\tx10\n$/);
});

test("--opcodes prints each instruction's bytes, little-endian", async (t) => {
  const raw = join(dir, "one.bin");
  writeFileSync(raw, encodeInsns(B.prog(B.BPF_MOV64_IMM(O.BPF_REG_0, 42), B.BPF_EXIT_INSN())));
  const r = await run(["dump", "jited", raw, "--opcodes"]);
  t.is(r.code, 0, r.err);
  // mov x8, #0x2a = movz x8, #42 = 0xd2800548 (BPF r0 is x8)
  t.regex(r.out, /\tmov\tx8, #0x2a\n\t48 05 80 d2\n/);
  t.regex(r.out, / {3}4:\tnop\n\t1f 20 03 d5\n/);
});

test("--bti --pac change the prologue", async (t) => {
  const raw = join(dir, "bti.bin");
  writeFileSync(raw, encodeInsns(B.prog(B.BPF_MOV64_IMM(O.BPF_REG_0, 0), B.BPF_EXIT_INSN())));
  const r = await run(["dump", "jited", raw, "--bti", "--pac"]);
  t.is(r.code, 0, r.err);
  t.regex(r.out, / {3}0:\tbti\tjc\n {3}4:\tadd\tx9, x30, #0\n {3}8:\tnop\n {3}c:\tpaciasp\n/);
});

test("bad files are refused with a message and an exit code", async (t) => {
  const missing = await run(["dump", "jited", join(dir, "nope.bin")]);
  t.is(missing.code, 1);
  t.regex(missing.err, /^a64bpf prog dump jited: cannot read .*nope\.bin/);
  const elf = join(dir, "obj.o");
  writeFileSync(elf, Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
  const e = await run(["dump", "jited", elf]);
  t.is(e.code, 1);
  t.regex(
    e.err,
    /^a64bpf prog dump jited: libbpf: elf: failed to open obj: /,
    "a truncated ELF object: the loader's error",
  );
  const odd = join(dir, "odd.bin");
  writeFileSync(odd, Uint8Array.from([0x95, 0, 0, 0, 0, 0, 0, 0, 0xb7]));
  const o = await run(["dump", "jited", odd]);
  t.is(o.code, 1);
  t.regex(o.err, /truncated program: 9 bytes is not a multiple of 8/);
  const bad = join(dir, "bad.bin");
  writeFileSync(bad, encodeInsns([B.BPF_RAW_INSN(0x8f, 0, 0, 0, 0), B.BPF_EXIT_INSN()]));
  const v = await run(["dump", "jited", bad]);
  t.is(v.code, 1);
  t.regex(v.err, /unknown opcode 8f: insn 0: \(8f\)/);
  const usage = await run(["dump"]);
  t.is(usage.code, 2);
  t.regex(usage.err, /^usage: a64bpf prog/);
  for (const argv of [["--help"], ["load", "--help"], ["dump", "jited", "-h"]]) {
    const h = await run(argv);
    t.is(h.code, 0, argv.join(" "));
    t.regex(h.out, /^usage: a64bpf prog <command>[\s\S]*prog load FILE \[--prog NAME\] \[--log-level 1\|2\]/);
  }
});

test("program names come from the file name, as the kernel accepts them", (t) => {
  t.is(progNameFromFile("/x/xdp-drop.o"), "xdp_drop");
  t.is(progNameFromFile("a_very_long_program_name.bin"), "a_very_long_pro");
});
