/**
 * `a64bpf fuzz loader [--cases N] [--seed S] [--no-load] [--quiet]`: a
 * seeded corpus of malformed BPF ELF objects for the loader. Every input
 * must either open (and then load or be refused) or be refused with a
 * typed error: a BpfError carrying a kernel errno, whose cause is not a
 * JavaScript runtime error (TypeError, RangeError, ...: a crash in the
 * parser hidden behind a wrapper). Nothing may stay loaded after a refused
 * load or after destroy (slab objects, JIT text, ksyms, fds), and no case
 * may take longer than the per-case budget.
 *
 * The bases are the compiled objects of selftests/progs; case i uses seed
 * S + i, so `--seed S+i --cases 1` replays it alone. Mutations:
 *
 *   truncate     cut inside the ELF header, the section headers or anywhere
 *   shndx        a section's sh_link / sh_info / sh_name, e_shstrndx or a
 *                symbol's st_shndx / st_name set to an out-of-range value
 *   reloc        a relocation's r_offset moved outside its section (or
 *                misaligned), its symbol index or type changed
 *   btf          a .BTF or .BTF.ext header field (hdr_len, offsets,
 *                lengths) or a type record field set to an extreme value
 *   generic      runtime/bpf/btf/corpus.ts mutants (flips, fields, splices)
 *   random       random bytes
 */
import { parseArgs } from "node:util";
import { BpfError } from "../../runtime/errors.js";
import { prng, mutants } from "../../runtime/bpf/btf/corpus.js";
import { parseElf, SHT_REL, SHT_SYMTAB, type ElfFile } from "../../runtime/bpf/elf.js";
import { bpfSys } from "../../runtime/loader/bpf_sys.js";
import { buildBpfProg, listBpfProgs } from "../../runtime/loader/progs_build.js";
import { BpfObject } from "../../runtime/loader/skeleton.js";
import { bootBpfKernel } from "../../runtime/loader/testing.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";
import type { FuzzIo } from "./jit.js";
import { startHangWatchdog } from "./watchdog.js";

/** Kinds of mutation. */
export type LoaderMutation = "truncate" | "shndx" | "reloc" | "btf" | "generic" | "random";

const KINDS: readonly LoaderMutation[] = ["truncate", "shndx", "reloc", "btf", "generic", "random"];
const EXTREMES = [0n, 1n, 0xffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 0xffffffffffffffffn, 0x80000000n, 0x1000n];
/** A case that has not returned after this long is a hang: the watchdog kills the run. */
const HANG_MS = 30_000;
/** A case that returns but took longer than this is reported as slow. */
const CASE_BUDGET_MS = 5000;

/** One generated input. */
export interface LoaderCase {
  seed: number;
  base: string;
  kind: LoaderMutation;
  what: string;
  bytes: Uint8Array;
}

function put(bytes: Uint8Array, off: number, width: 2 | 4 | 8, v: bigint): void {
  if (off < 0 || off + width > bytes.length) return;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 2) dv.setUint16(off, Number(v & 0xffffn), true);
  else if (width === 4) dv.setUint32(off, Number(v & 0xffffffffn), true);
  else dv.setBigUint64(off, BigInt.asUintN(64, v), true);
}

/** Section header table offset of section `i` (64-byte headers at e_shoff). */
function shdrOff(elf: ElfFile, i: number): number {
  return elf.header.shoff + 64 * i;
}

/** One mutant of `base` for `seed` (deterministic). */
export function loaderMutant(baseName: string, base: Uint8Array, seed: number): LoaderCase {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)];
  const kind = pick(KINDS);
  const bytes = base.slice();
  const elf = parseElf(base);
  const extreme = () => (rnd() < 0.7 ? pick(EXTREMES) : BigInt(int(0x10000)));
  let what = "";
  switch (kind) {
    case "truncate": {
      const where = pick(["header", "shdrs", "anywhere"] as const);
      const len =
        where === "header"
          ? int(64)
          : where === "shdrs"
            ? elf.header.shoff + int(64 * elf.header.shnum)
            : int(base.length);
      what = `cut at ${len} (${where})`;
      return { seed, base: baseName, kind, what, bytes: bytes.slice(0, len) };
    }
    case "shndx": {
      const choice = pick(["sh_link", "sh_info", "sh_name", "e_shstrndx", "st_shndx", "st_name"] as const);
      const v = extreme();
      if (choice === "e_shstrndx") put(bytes, 62, 2, v);
      else if (choice === "st_shndx" || choice === "st_name") {
        const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB)!;
        const n = Math.floor(symtab.size / 24);
        const sym = int(n);
        put(bytes, symtab.offset + 24 * sym + (choice === "st_name" ? 0 : 6), choice === "st_name" ? 4 : 2, v);
        what = `symbol ${sym} ${choice} = ${v}`;
        break;
      } else {
        const s = int(elf.sections.length);
        const field = { sh_name: 0, sh_link: 40, sh_info: 44 }[choice];
        put(bytes, shdrOff(elf, s) + field, 4, v);
        what = `section ${s} ${choice} = ${v}`;
        break;
      }
      what = `e_shstrndx = ${v}`;
      break;
    }
    case "reloc": {
      const rels = elf.sections.filter((s) => s.type === SHT_REL && s.size >= 16);
      if (rels.length === 0) return loaderMutant(baseName, base, seed + 0x10000);
      const rel = pick(rels);
      const e = int(rel.size / 16);
      const off = rel.offset + 16 * e;
      const target = elf.sections[rel.info];
      const choice = pick(["outside", "misaligned", "symbol", "type"] as const);
      if (choice === "outside") put(bytes, off, 8, BigInt((target?.size ?? 0) + 8 * int(64)));
      else if (choice === "misaligned") put(bytes, off, 8, BigInt(1 + int(7)));
      else if (choice === "symbol") put(bytes, off + 12, 4, extreme());
      else put(bytes, off + 8, 4, BigInt(int(16)));
      what = `${rel.name} entry ${e}: ${choice}`;
      break;
    }
    case "btf": {
      const sec = pick([".BTF", ".BTF.ext"]);
      const s = elf.sectionByName(sec);
      if (!s) return loaderMutant(baseName, base, seed + 0x10000);
      const fieldOffs = sec === ".BTF" ? [4, 8, 12, 16, 20] : [4, 8, 12, 16, 20, 24, 28];
      if (rnd() < 0.7) {
        const f = pick(fieldOffs);
        const v = extreme();
        put(bytes, s.offset + f, 4, v);
        what = `${sec} header +${f} = ${v}`;
      } else {
        const at = 24 + 4 * int(Math.max(1, Math.floor((s.size - 24) / 4)));
        const v = extreme();
        put(bytes, s.offset + at, 4, v);
        what = `${sec} +${at} = ${v}`;
      }
      break;
    }
    case "generic": {
      const m = mutants(base, { seed, count: 1, hot: 1024 }).next().value!;
      return { seed, base: baseName, kind, what: m.kind, bytes: m.bytes };
    }
    case "random": {
      const r = new Uint8Array(int(base.length + 64));
      for (let i = 0; i < r.length; i++) r[i] = int(256);
      if (rnd() < 0.5 && r.length >= 4) r.set([0x7f, 0x45, 0x4c, 0x46], 0);
      return { seed, base: baseName, kind, what: `${r.length} random bytes`, bytes: r };
    }
  }
  return { seed, base: baseName, kind, what, bytes };
}

/** What happened to one case. */
export type LoaderOutcome =
  | { kind: "refused"; errno: number }
  | { kind: "opened-refused"; errno: number }
  | { kind: "loaded" }
  | { kind: "opened" }
  | { kind: "crash"; error: string }
  | { kind: "leak"; detail: string }
  | { kind: "slow"; ms: number };

/** A JavaScript runtime error somewhere in the cause chain: a parser bug, not a typed refusal. */
function runtimeError(err: unknown): Error | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError) {
      return e;
    }
    if (!(e instanceof Error)) break;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function snapshot(k: Kernel): string {
  return JSON.stringify({
    slab: k.slab.live,
    text: k.bpfText.live().length,
    fds: bpfSys(k).openFds.length,
    ksyms: k.kallsyms.bpfSymbols().length,
  });
}

/** Test seam: how a case's bytes are opened (default BpfObject.open). */
export type LoaderOpen = (bytes: Uint8Array, name: string) => BpfObject;

/** Run one case; `k` (when given) is the kernel successful opens are loaded into. */
export function runLoaderCase(
  c: LoaderCase,
  k: Kernel | undefined,
  open: LoaderOpen = (bytes, name) => BpfObject.open(bytes, { objectName: name }),
): LoaderOutcome {
  const t0 = Date.now();
  const outcome = ((): LoaderOutcome => {
    let obj: BpfObject;
    try {
      obj = open(c.bytes, c.base);
    } catch (err) {
      const bug = runtimeError(err);
      if (bug || !(err instanceof BpfError))
        return { kind: "crash", error: (bug ?? (err as Error)).stack ?? String(err) };
      return { kind: "refused", errno: err.errno };
    }
    if (!k) return { kind: "opened" };
    const before = snapshot(k);
    try {
      obj.load(k);
    } catch (err) {
      const bug = runtimeError(err);
      if (bug || !(err instanceof BpfError))
        return { kind: "crash", error: (bug ?? (err as Error)).stack ?? String(err) };
      const after = snapshot(k);
      if (after !== before) return { kind: "leak", detail: `after a refused load: ${before} -> ${after}` };
      return { kind: "opened-refused", errno: err.errno };
    }
    obj.destroy();
    const after = snapshot(k);
    if (after !== before) return { kind: "leak", detail: `after destroy: ${before} -> ${after}` };
    return { kind: "loaded" };
  })();
  const ms = Date.now() - t0;
  if (ms > CASE_BUDGET_MS && outcome.kind !== "crash" && outcome.kind !== "leak") return { kind: "slow", ms };
  return outcome;
}

/** The bases: every compiled program of selftests/progs. */
export function loaderBases(): { name: string; bytes: Uint8Array }[] {
  return listBpfProgs().map((name) => ({ name, bytes: buildBpfProg(name).bytes }));
}

/** `a64bpf fuzz loader`. */
export function fuzzLoader(argv: readonly string[], io: FuzzIo): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        cases: { type: "string", default: "500" },
        seed: { type: "string", default: "1" },
        "no-load": { type: "boolean" },
        quiet: { type: "boolean" },
      },
    }));
  } catch (err) {
    // node:util parseArgs: unknown options, missing or ambiguous values.
    io.err(
      `a64bpf fuzz: ${(err as Error).message}\nusage: a64bpf fuzz loader [--cases N] [--seed S] [--no-load] [--quiet]\n`,
    );
    return 2;
  }
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed)) {
    io.err("usage: a64bpf fuzz loader [--cases N] [--seed S] [--no-load] [--quiet]\n");
    return 2;
  }
  const bases = loaderBases();
  if (bases.length === 0) {
    io.err("a64bpf fuzz loader: no programs in selftests/progs\n");
    return 2;
  }
  const booted = values["no-load"] ? undefined : bootBpfKernel({ cpus: 1 });
  const counts = new Map<string, number>();
  let failures = 0;
  const t0 = Date.now();
  // A case that never returns (an endless loop in a parser) cannot be timed
  // after the fact: a watchdog thread names its seed and kills the process.
  const watchdog = startHangWatchdog({ label: "a64bpf fuzz loader", hangMs: HANG_MS });
  try {
    for (let i = 0; i < cases; i++) {
      const s = seed + i;
      watchdog.beat(s);
      const base = bases[s % bases.length];
      const c = loaderMutant(base.name, base.bytes, s);
      const r = runLoaderCase(c, booted?.kernel);
      const key = `${c.kind}/${r.kind}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (r.kind === "crash" || r.kind === "leak" || r.kind === "slow") {
        failures++;
        const detail = r.kind === "crash" ? r.error : r.kind === "leak" ? r.detail : `${r.ms} ms`;
        io.err(`FAIL seed ${s} (${c.base}, ${c.kind}: ${c.what}): ${r.kind}: ${detail}\n`);
      }
    }
  } finally {
    void watchdog.stop();
    booted?.kernel.close();
  }
  if (!values.quiet) {
    for (const [k, n] of [...counts.entries()].sort()) io.out(`${k.padEnd(28)} ${n}\n`);
  }
  io.out(
    `fuzz loader: ${cases} cases (seeds ${seed}..${seed + cases - 1}) over ${bases.length} objects, ` +
      `${failures} failures, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return failures ? 1 : 0;
}
