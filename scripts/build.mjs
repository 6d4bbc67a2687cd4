#!/usr/bin/env node
// build.mjs — transpile the TypeScript sources to dist/ (one .js per .ts,
// same layout), so that the `a64bpf` bin starts from built JavaScript
// instead of transpiling on every start. Type checking is `npm run typecheck`.
import { build } from "esbuild";
import { readdirSync, statSync, rmSync, existsSync, writeFileSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const dirs = ["bin", "runtime", "harness", "selftests"];

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const entryPoints = dirs.flatMap((d) => walk(join(root, d), []));
// Skip the work when no source changed since the last build.
const hash = createHash("sha256");
for (const f of entryPoints) hash.update(relative(root, f)).update(readFileSync(f));
const digest = hash.digest("hex");
const stamp = join(root, "dist", ".build-sha256");
if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest) process.exit(0);

// No `rm -rf dist` first: other processes (tests, benchmarks) may be running
// the previous build. Files are overwritten in place; stale ones removed after.
const result = await build({
  entryPoints,
  outdir: join(root, "dist"),
  outbase: root,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  metafile: true,
});
const produced = new Set(Object.keys(result.metafile.outputs).map((p) => resolve(p)));
// The conformance plugin is started once per test by bpf_conformance: give it
// one pre-linked module so start-up does not pay for resolving ~60 files.
await build({
  entryPoints: [join(root, "harness", "conformance", "main.ts")],
  bundle: true,
  outfile: join(root, "dist", "harness", "conformance", "main.bundle.js"),
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["koffi", "pino", "pino-pretty", "capstone-wasm", "keystone-wasm"],
  banner: { js: "import { createRequire as __a64bpfCreateRequire } from 'node:module'; const require = __a64bpfCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
// Remove outputs of sources that no longer exist (not the bundle and the stamp).
function prune(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) prune(p);
    else if ((p.endsWith(".js") || p.endsWith(".js.map")) && !p.includes(".bundle.") && !produced.has(p)) rmSync(p);
  }
}
prune(join(root, "dist"));
writeFileSync(stamp, digest);
