import test from "ava";
import { existsSync } from "node:fs";
import { BpfError } from "../../runtime/errors.js";
import { GNU_TIME, parseStatPpid, parseTimeVerbose, parseVmHwm, peakRss, resolveCommand } from "./rss.js";

const MiB = 2 ** 20;

/** A node child that touches `mib` MiB (Buffer.alloc fills every page), then lingers 200 ms. */
function allocArgs(mib: number, exitCode = 0): string[] {
  return ["-e", `const b = Buffer.alloc(${mib} * 2 ** 20, 1); setTimeout(() => process.exit(${exitCode}), 200);`];
}

test("parsers: time -v, VmHWM, the ppid of /proc/<pid>/stat", (t) => {
  const time = '\tCommand being timed: "x"\n\tMaximum resident set size (kbytes): 51234\n\tAverage ...\n';
  t.is(parseTimeVerbose(time), 51234 * 1024);
  t.is(parseTimeVerbose("nothing"), undefined);
  t.is(parseVmHwm("Name:\tnode\nVmPeak:\t  999 kB\nVmHWM:\t   40960 kB\nVmRSS:\t 1 kB\n"), 40960 * 1024);
  t.is(parseVmHwm("Name:\tkthreadd\n"), undefined);
  t.is(parseStatPpid("1234 (my (odd) name) S 77 1234 1234 0 -1"), 77);
  t.is(parseStatPpid("garbage"), undefined);
});

test("resolveCommand finds executables in PATH and refuses missing ones", (t) => {
  t.is(resolveCommand("sh", { PATH: "/nonexistent:/bin:/usr/bin" }), "/bin/sh");
  t.is(resolveCommand(process.execPath), process.execPath);
  const e = t.throws(() => resolveCommand("no-such-command-a64bpf"), { instanceOf: BpfError });
  t.is(e?.errnoName, "ENOENT");
  t.is(e?.message, "cannot run no-such-command-a64bpf: no such executable");
});

for (const method of ["time", "proc"] as const) {
  const run = method === "time" && !existsSync(GNU_TIME) ? test.skip : test;
  run(`peakRss (${method}): a child touching 160 MiB peaks above one touching 16 MiB by about 144 MiB`, async (t) => {
    const small = await peakRss(process.execPath, allocArgs(16), { method });
    const big = await peakRss(process.execPath, allocArgs(160, 3), { method });
    t.is(small.method, method);
    t.is(small.exitCode, 0);
    t.is(big.exitCode, 3, "the command's exit code is reported");
    t.true(big.peakRssBytes >= 160 * MiB, `peak ${big.peakRssBytes / MiB} MiB`);
    const delta = (big.peakRssBytes - small.peakRssBytes) / MiB;
    t.true(delta > 130 && delta < 160, `difference ${delta} MiB`);
    t.true(big.seconds >= 0.2);
  });

  run(`peakRss (${method}): a grandchild behind a shell is seen`, async (t) => {
    const script = `${JSON.stringify(process.execPath)} ${allocArgs(120)
      .map((a) => `'${a}'`)
      .join(" ")}; exit 0`;
    const r = await peakRss("/bin/sh", ["-c", script], { method });
    t.is(r.exitCode, 0);
    t.true(r.peakRssBytes >= 120 * MiB, `peak ${r.peakRssBytes / MiB} MiB`);
  });
}

test("peakRss reports a signal and refuses a missing command", async (t) => {
  const r = await peakRss("/bin/sh", ["-c", "kill -TERM $$"]);
  t.is(r.exitCode, null);
  t.is(r.signal, "SIGTERM");
  await t.throwsAsync(peakRss("no-such-command-a64bpf", []), { instanceOf: BpfError });
});
