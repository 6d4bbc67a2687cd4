import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { startHangWatchdog } from "./watchdog.js";

test("a case that never returns: the watchdog names its seed and kills the process", (t) => {
  // A fuzzer stand-in: three quick cases, then seed 42 spins forever on the main thread.
  const script = [
    `import { startHangWatchdog } from ${JSON.stringify(join(PROJECT_ROOT, "harness", "fuzz", "watchdog.ts"))};`,
    `const dog = startHangWatchdog({ label: "fuzz test", hangMs: 500 });`,
    `for (const s of [40, 41]) dog.beat(s);`,
    `dog.beat(42);`,
    `for (;;) {}`,
  ].join("\n");
  const file = join(mkdtempSync(join(tmpdir(), "a64bpf-watchdog-")), "hang.mts");
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, ["--import", "tsx", file], {
    encoding: "utf8",
    cwd: PROJECT_ROOT,
    timeout: 20_000,
  });
  t.is(r.signal, "SIGKILL", r.stderr);
  t.is(r.stderr, "fuzz test: seed 42 hangs: no progress for 0.5 s; replay it with --seed 42 --cases 1\n");
});

test("steady heartbeats keep the watchdog quiet; stop() ends it", async (t) => {
  const dog = startHangWatchdog({ label: "quiet", hangMs: 300 });
  const until = Date.now() + 900;
  let beats = 0;
  while (Date.now() < until) {
    dog.beat(beats++);
    await new Promise((r) => setTimeout(r, 50));
  }
  await dog.stop();
  t.true(beats > 10, "this process is still alive after three hang periods of beating");
});
