import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { parseBenchArgs } from "./main.js";
import type { BenchJson } from "./report.js";
import { BenchUsageError } from "./select.js";

test("parseBenchArgs: sections and every option", (t) => {
  t.deepEqual(parseBenchArgs([]), { sections: [], quick: false, writeResults: false, list: false, help: false });
  t.deepEqual(parseBenchArgs(["machine", "--json", "out.json", "--repeats", "3", "--quick", "--write-results"]), {
    sections: ["machine"],
    json: "out.json",
    repeats: 3,
    quick: true,
    writeResults: true,
    list: false,
    help: false,
  });
  t.true(parseBenchArgs(["-h"]).help);
  t.true(parseBenchArgs(["--list"]).list);
});

test("parseBenchArgs: bad options are usage errors", (t) => {
  for (const bad of ["0", "-1", "2.5", "x", "1e3"]) {
    t.throws(() => parseBenchArgs([`--repeats=${bad}`]), {
      instanceOf: BenchUsageError,
      message: `invalid --repeats: ${bad} (must be a positive integer)`,
    });
  }
  t.throws(() => parseBenchArgs(["--bogus"]), { instanceOf: BenchUsageError, message: "unknown option '--bogus'" });
  t.throws(() => parseBenchArgs(["--json"]), {
    instanceOf: BenchUsageError,
    message: "option '--json <value>' argument missing",
  });
  t.throws(() => parseBenchArgs(["--repeats", "-1"]), {
    instanceOf: BenchUsageError,
    message: "option '--repeats' argument is ambiguous",
  });
});

function cli(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "bin", "a64bpf.ts"), "bench", ...args], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    env: { ...process.env, A64BPF_LOG: "silent" },
    timeout: 120_000,
  });
}

const MACHINE_KEYS = [
  "baseline.loop",
  "machine.loop",
  "machine.loop.counted",
  "machine.loop.q100k",
  "machine.loop.q10k",
  "machine.loop.q1k",
  "machine.hypercall",
  "machine.hypercall.args",
  "machine.ctxsw.saveRestore",
  "machine.ctxsw.slice",
  "machine.ctxsw.block",
];

test("a64bpf bench machine --quick --json: every metric, positive, with its unit and ratios", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-bench-"));
  try {
    const file = join(dir, "bench.json");
    const r = cli(["machine", "--quick", "--json", file]);
    t.is(r.status, 0, r.stderr);
    const doc = JSON.parse(readFileSync(file, "utf8")) as BenchJson;
    t.is(doc.schema, "a64bpf-bench/1");
    t.true(doc.quick);
    t.deepEqual(
      doc.sections.map((s) => [s.name, s.error]),
      [
        ["baseline", undefined],
        ["machine", undefined],
      ],
    );
    t.deepEqual(
      doc.results.map((x) => x.key),
      MACHINE_KEYS,
    );
    for (const res of doc.results) {
      t.true(res.median > 0 && res.min > 0 && res.min <= res.median && res.median <= res.max, res.key);
      t.true(res.n >= 1 && res.n <= 3 && res.values.length === res.n, `${res.key}: --quick takes at most 3 repeats`);
      t.true(res.values.every((v) => v > 0));
    }
    const by = new Map(doc.results.map((x) => [x.key, x]));
    for (const k of MACHINE_KEYS.slice(0, 6)) {
      t.is(by.get(k)?.unit, "MIPS", k);
      t.is(by.get(k)?.ofRawUnicorn, (by.get(k)?.median ?? 0) / (by.get("baseline.loop")?.median ?? 1), k);
    }
    t.is(by.get("machine.hypercall")?.unit, "round trips/s");
    t.is(by.get("machine.ctxsw.block")?.unit, "switches/s");
    t.is(by.get("machine.ctxsw.block")?.ratio?.to, "machine.ctxsw.saveRestore");
    t.is(by.get("machine.loop.q1k")?.ratio?.to, "machine.loop");
    t.is(by.get("machine.loop")?.ratio?.to, "baseline.loop");
    t.regex(doc.host.unicorn, /^2\.\d+\.\d+$/);

    // stdout: the markdown table; stderr (not a TTY here): plain lines, no escape sequences.
    t.regex(r.stdout, /^\| machine \| loop, quantum 1k \| [\d.]+ MIPS \|/m);
    t.regex(r.stdout, /^\| machine \| svc hypercall round trip \(handler continues\) \| [\d.]+k? round trips\/s \|/m);
    t.regex(r.stderr, /^bench: \[2\/2\] machine: /m);
    t.regex(r.stderr, /^bench: {3}machine\.ctxsw\.block: [\d.]+k? switches\/s/m);
    t.false(r.stderr.includes("\x1b"), "no terminal control sequences in a non-TTY log");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a64bpf bench: an unknown section and a bad option exit 2 with a message", (t) => {
  const r = cli(["nosuch"]);
  t.is(r.status, 2);
  t.regex(r.stderr, /^a64bpf bench: unknown bench section: nosuch \(known: baseline, machine/);
  const o = cli(["--repeats", "0"]);
  t.is(o.status, 2);
  t.regex(o.stderr, /invalid --repeats: 0 \(must be a positive integer\)\nusage: a64bpf bench/);
});
