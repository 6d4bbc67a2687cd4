import test from "ava";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import {
  EM_AARCH64,
  EM_BPF,
  ET_EXEC,
  ET_REL,
  LoaderError,
  parseElf,
  PT_LOAD,
  SHT_RELA,
  SHT_SYMTAB,
  STT_FUNC,
  STT_SECTION,
} from "./elf.js";
import { mutants } from "./btf/corpus.js";
import { buildKernel } from "../kernel/build.js";
import { runTool } from "../kernel/toolchain.js";

interface ReadelfSection {
  Index: number;
  Name: { Name: string };
  Type: { Value: number };
  Flags: { Value: number };
  Address: number;
  Offset: number;
  Size: number;
  Link: number;
  Info: number;
}

interface ReadelfSymbol {
  Name: { Name: string };
  Value: number;
  Size: number;
  Type: { Value: number };
  Section: { Value: number };
}

interface ReadelfReloc {
  Offset: number;
  Type: { Value: number };
  Symbol: { Name: string };
  Addend?: number;
}

/** llvm-readelf's JSON view of a file: the independent oracle. */
function readelf(path: string, flags: string[]): Record<string, unknown> {
  const res = spawnSync("llvm-readelf-19", ["--elf-output-style=JSON", ...flags, path], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(res.stderr);
  return (JSON.parse(res.stdout) as Record<string, unknown>[])[0];
}

const dir = mkdtempSync(join(tmpdir(), "a64bpf-elf-test-"));

function aarch64Object(): string {
  const src = join(dir, "reloc.c");
  writeFileSync(
    src,
    [
      "extern int ext_counter; extern int ext_fn(int);",
      "static int table[4] = {1, 2, 3, 4};",
      "int *ptr = &table[2];",
      "int use(int i) { return ext_fn(table[i & 3]) + ext_counter; }",
    ].join("\n"),
  );
  const out = join(dir, "reloc.o");
  runTool("clang", ["--target=aarch64-linux-gnu", "-O2", "-c", src, "-o", out], { what: "compile reloc.c" });
  return out;
}

function bpfObject(): string {
  const src = join(dir, "prog.c");
  writeFileSync(
    src,
    [
      "int counter; static int helper(int x) { return x * 3; }",
      '__attribute__((section("tc"))) int prog(void *ctx) { counter++; return helper(counter); }',
      'char _license[] __attribute__((section("license"))) = "GPL";',
    ].join("\n"),
  );
  const out = join(dir, "prog.o");
  runTool("clang", ["-target", "bpf", "-O2", "-g", "-c", src, "-o", out], { what: "compile prog.c" });
  return out;
}

/** llvm-readelf names a section symbol after its section. */
function symbolName(elf: ReturnType<typeof parseElf>, index: number): string {
  const s = elf.symbols()[index];
  return s.type === STT_SECTION ? elf.sections[s.shndx].name : s.name;
}

const kernel = buildKernel();
const relocObj = aarch64Object();
const bpfObj = bpfObject();
const read = (p: string) => new Uint8Array(spawnSync("cat", [p], { maxBuffer: 1 << 26 }).stdout);

test("the kernel image's sections, segments and symbols match llvm-readelf", (t) => {
  const elf = parseElf(kernel.bytes);
  t.is(elf.header.type, ET_EXEC);
  t.is(elf.header.machine, EM_AARCH64);
  const oracle = readelf(kernel.path, ["-S", "-s", "-l"]);
  const sections = (oracle.Sections as { Section: ReadelfSection }[]).map((s) => s.Section);
  t.is(elf.sections.length, sections.length);
  for (const o of sections) {
    const s = elf.sections[o.Index];
    t.deepEqual(
      [s.name, s.type, Number(s.flags), Number(s.addr), s.offset, s.size, s.link, s.info],
      [o.Name.Name, o.Type.Value, o.Flags.Value, o.Address, o.Offset, o.Size, o.Link, o.Info],
      `section ${o.Index}`,
    );
  }
  const symbols = (oracle.Symbols as { Symbol: ReadelfSymbol }[]).map((s) => s.Symbol);
  t.is(elf.symbols().length, symbols.length);
  symbols.forEach((o, i) => {
    const s = elf.symbols()[i];
    t.deepEqual(
      [s.name, Number(s.value), s.size, s.type, s.shndx],
      [o.Name.Name, o.Value, o.Size, o.Type.Value, o.Section.Value],
    );
  });
  const loads = elf.segments.filter((s) => s.type === PT_LOAD);
  t.is(loads.length, 3);
  t.is(elf.symbol("bpf_fentry_test1")?.type, STT_FUNC);
  t.truthy(elf.sectionByName(".BTF"));
});

test("relocations of an aarch64 object and of a BPF object match llvm-readelf", (t) => {
  for (const [path, machine] of [
    [relocObj, EM_AARCH64],
    [bpfObj, EM_BPF],
  ] as const) {
    const elf = parseElf(read(path));
    t.is(elf.header.type, ET_REL);
    t.is(elf.header.machine, machine);
    const oracle = readelf(path, ["-r"]).Relocations as {
      SectionIndex: number;
      Relocs: { Relocation: ReadelfReloc }[];
    }[];
    const ours = elf.relocations();
    t.is(ours.length, oracle.length, path);
    for (const o of oracle) {
      const r = ours.find((x) => x.section.index === o.SectionIndex);
      t.truthy(r, `relocation section ${o.SectionIndex}`);
      t.deepEqual(
        r!.entries.map((e) => [Number(e.offset), e.type, symbolName(elf, e.sym), Number(e.addend)]),
        o.Relocs.map(({ Relocation: x }) => [x.Offset, x.Type.Value, x.Symbol.Name, x.Addend ?? 0]),
      );
    }
  }
  const rel = parseElf(read(relocObj));
  t.true(rel.relocations().some((r) => r.section.type === SHT_RELA && r.target.name === ".text"));
});

/** A copy of `bytes` with a u64/u32/u16 written at `off`. */
function patched(bytes: Uint8Array, off: number, width: 2 | 4 | 8, value: bigint): Uint8Array {
  const b = bytes.slice();
  const v = new DataView(b.buffer);
  if (width === 2) v.setUint16(off, Number(value), true);
  else if (width === 4) v.setUint32(off, Number(value), true);
  else v.setBigUint64(off, value, true);
  return b;
}

test("malformed headers and tables give LoaderErrors with context", (t) => {
  const good = read(relocObj);
  const elf = parseElf(good);
  const shoff = elf.header.shoff;
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB)!;
  const rela = elf.sections.find((s) => s.type === SHT_RELA)!;
  const sh = (i: number, field: number) => shoff + i * 64 + field;
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /^truncated ELF header: 0 bytes/],
    ["truncated header", good.subarray(0, 40), /^truncated ELF header: 40 bytes \(need 64\)$/],
    ["bad magic", patched(good, 0, 4, 0x464c457en), /^not an ELF file: bad magic$/],
    ["32-bit", patched(good, 4, 2, 0x0101n), /^unsupported ELF class: 1/],
    ["big-endian", patched(good, 4, 2, 0x0202n), /^unsupported ELF data encoding: 2/],
    [
      "shoff past end",
      patched(good, 40, 8, BigInt(good.length)),
      /^section header table: \d+ entries at 0x[0-9a-f]+ extend beyond end of file/,
    ],
    ["huge shnum", patched(good, 60, 2, 0xfffen), /^section header table: 65534 entries/],
    ["shstrndx out of range", patched(good, 62, 2, 0xfff0n), /^ELF header: e_shstrndx 65520 out of range/],
    [
      "section beyond end",
      patched(good, sh(symtab.index, 24), 8, BigInt(good.length + 16)),
      new RegExp(`^section ${symtab.index} \\(\\.symtab\\): offset 0x[0-9a-f]+ beyond end of file$`),
    ],
    [
      "section overlapping the header",
      patched(good, sh(symtab.index, 24), 8, 8n),
      new RegExp(`^section ${symtab.index} \\(\\.symtab\\): offset 0x8 overlaps the ELF header$`),
    ],
    [
      "bad section name",
      patched(good, sh(1, 0), 4, 0xffffffn),
      /^section 1: name: string offset 0xffffff outside string table/,
    ],
  ];
  for (const [what, bytes, msg] of cases) {
    const err = t.throws(() => parseElf(bytes), { instanceOf: LoaderError }, what);
    t.regex(err!.message, msg, what);
    t.is(err!.errno, 22, what);
  }
  const lazy: [string, Uint8Array, RegExp][] = [
    ["symtab entsize", patched(good, sh(symtab.index, 56), 8, 16n), /\.symtab\): sh_entsize 16 \(expected 24\)$/],
    ["symtab link", patched(good, sh(symtab.index, 40), 4, 0x7777n), /sh_link 30583 out of range/],
    [
      "relocation symbol out of range",
      patched(good, rela.offset + 8, 8, (0x7fffn << 32n) | 0x101n),
      /relocation 0: symbol 32767 out of range \(\d+ symbols\)$/,
    ],
    [
      "relocation outside its section",
      patched(good, rela.offset, 8, 0x100000n),
      /relocation 0: offset 0x100000 outside section \d+ \(\.text\) of 0x[0-9a-f]+ bytes$/,
    ],
  ];
  for (const [what, bytes, msg] of lazy) {
    const err = t.throws(
      () => {
        const e = parseElf(bytes);
        e.symbols();
        e.relocations();
      },
      { instanceOf: LoaderError },
      what,
    );
    t.regex(err!.message, msg, what);
  }
});

test("seeded corpus of corrupted ELF files: every failure is a LoaderError, none hangs", (t) => {
  const bases = [read(relocObj), read(bpfObj)];
  let failures = 0;
  let accepted = 0;
  const start = performance.now();
  for (const [i, base] of bases.entries()) {
    const elf = parseElf(base);
    const fieldOffsets = Array.from({ length: elf.header.shnum * 8 }, (_, k) => elf.header.shoff + k * 8);
    for (const m of mutants(base, { seed: 0x5eed + i, count: 1500, hot: 64, fieldOffsets })) {
      try {
        const e = parseElf(m.bytes);
        e.symbols();
        e.relocations();
        for (const s of e.sections) e.sectionData(s);
        accepted++;
      } catch (err) {
        if (!(err instanceof LoaderError)) t.fail(`mutant ${i}/${m.index} (${m.kind}): ${String(err)}`);
        failures++;
      }
    }
  }
  t.true(failures > 1000, `most mutants are rejected (${failures} rejected, ${accepted} accepted)`);
  t.true(performance.now() - start < 20000);
});
