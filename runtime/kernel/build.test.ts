import test from "ava";
import { spawn } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseElf } from "../bpf/elf.js";
import {
  buildKernel,
  checkServiceStubs,
  KERNEL_SRC_DIR,
  RET_INSN,
  servicesHeader,
  servicesSource,
  svcInsn,
} from "./build.js";
import { allServices } from "./services/table.js";
import { BuildError } from "./toolchain.js";

const root = mkdtempSync(join(tmpdir(), "a64bpf-build-test-"));

/** A private copy of the kernel sources that a test may edit. */
function srcCopy(name: string): string {
  const dst = join(root, name);
  cpSync(KERNEL_SRC_DIR, dst, { recursive: true });
  return dst;
}

test("a second build is a cache hit; editing a source or a header misses", (t) => {
  const srcDir = srcCopy("src-cache");
  const cacheDir = join(root, "cache-a");
  const first = buildKernel({ srcDir, cacheDir });
  t.false(first.cached);
  const start = performance.now();
  const second = buildKernel({ srcDir, cacheDir, memo: false });
  const ms = performance.now() - start;
  t.log(`cached image found and read in ${ms.toFixed(1)} ms`);
  t.true(second.cached);
  t.is(second.hash, first.hash);
  t.deepEqual(second.bytes, first.bytes);
  t.true(ms < 100, `${ms} ms`);
  t.is(buildKernel({ srcDir, cacheDir }), second, "memoised in the process");

  appendFileSync(join(srcDir, "net/bpf/test_run.c"), "\n/* edited */\n");
  const third = buildKernel({ srcDir, cacheDir });
  t.false(third.cached);
  t.not(third.hash, first.hash);

  appendFileSync(join(srcDir, "include/linux/types.h"), "\n/* edited */\n");
  const fourth = buildKernel({ srcDir, cacheDir });
  t.false(fourth.cached);
  t.not(fourth.hash, third.hash);
  t.true(buildKernel({ srcDir, cacheDir, memo: false }).cached);
});

test("a new service changes the hash and gets its stub", (t) => {
  const services = [
    ...allServices(),
    { nr: 0x4ff, name: "a64bpf_test_service", proto: "long a64bpf_test_service(int x)" },
  ];
  const base = buildKernel();
  const build = buildKernel({ services, cacheDir: join(root, "cache-b") });
  t.not(build.hash, base.hash);
  const elf = parseElf(build.bytes);
  const sym = elf.symbol("a64bpf_test_service")!;
  const text = elf.sectionByName(".text")!;
  const view = new DataView(
    build.bytes.buffer,
    build.bytes.byteOffset + text.offset + Number(sym.value - text.addr),
    8,
  );
  t.is(view.getUint32(0, true), svcInsn(0x4ff));
  t.is(view.getUint32(4, true), RET_INSN);
});

test("generated services header and stubs", (t) => {
  const services = allServices();
  const h = servicesHeader(services);
  t.true(h.includes("struct bpf_prog;"));
  t.true(h.includes("struct mutex;"));
  t.true(h.includes("void *kmalloc(unsigned long size, unsigned int flags); /* svc #0x3 */"));
  const c = servicesSource(services);
  t.true(
    c.includes(
      'notrace void *kmalloc(unsigned long size, unsigned int flags)\n{\n\t__asm__ __volatile__("svc #0x3\\n\\tret");',
    ),
  );
  t.true(c.includes('"printk:\\n\\tsvc #0x2\\n\\tret\\n'), "variadic services are assembly stubs");
  t.true(c.includes("EXPORT_SYMBOL(printk);"));
  t.is(svcInsn(0x2), 0xd4000041);
});

test("every service stub in the image is exactly svc #nr; ret, and a wrong one is refused", (t) => {
  const build = buildKernel();
  const elf = parseElf(build.bytes);
  t.notThrows(() => checkServiceStubs(elf, allServices()));
  const text = elf.sectionByName(".text")!;
  const sym = elf.symbol("kmalloc")!;
  const bad = build.bytes.slice();
  new DataView(bad.buffer).setUint32(text.offset + Number(sym.value - text.addr), 0xd503201f, true);
  const err = t.throws(() => checkServiceStubs(parseElf(bad), allServices()), { instanceOf: BuildError });
  t.is(err!.message, "service stub kmalloc: expected svc #0x3; ret (8 bytes), found 0xd503201f 0xd65f03c0 (size 8)");
});

test("a compile error in a kernel source is a BuildError with clang's diagnostics", (t) => {
  const srcDir = srcCopy("src-broken");
  appendFileSync(join(srcDir, "lib/string.c"), "\nint broken(void) { return undeclared_thing; }\n");
  const err = t.throws(() => buildKernel({ srcDir, cacheDir: join(root, "cache-c") }), { instanceOf: BuildError });
  t.regex(err!.message, /^compile lib\/string\.c: clang-19 failed \(exit 1\):\n/);
  t.regex(err!.diagnostics, /string\.c:\d+:\d+: error: use of undeclared identifier 'undeclared_thing'/);
  t.is(err!.errno, 22);
});

test("concurrent builders of the same image both succeed and publish one copy", async (t) => {
  const srcDir = srcCopy("src-race");
  const cacheDir = join(root, "cache-race");
  const buildTs = fileURLToPath(new URL("./build.ts", import.meta.url));
  const script = `import { buildKernel } from ${JSON.stringify(buildTs)};
const b = buildKernel({ srcDir: ${JSON.stringify(srcDir)}, cacheDir: ${JSON.stringify(cacheDir)} });
process.stdout.write(JSON.stringify({ hash: b.hash, cached: b.cached, size: b.bytes.length }));`;
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (err += d));
      p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
    });
  const results = (await Promise.all([run(), run()])).map((s) => JSON.parse(s) as { hash: string; size: number });
  t.is(results[0].hash, results[1].hash);
  t.is(results[0].size, results[1].size);
  const entries = readdirSync(join(cacheDir, "kernel"));
  t.deepEqual(entries, [results[0].hash.slice(0, 32)]);
  t.true(existsSync(join(cacheDir, "kernel", entries[0], "vmlinux")));
  t.deepEqual(readdirSync(join(cacheDir, "tmp")), [], "no temporary build directory left behind");
  t.is(readFileSync(join(cacheDir, "kernel", entries[0], "vmlinux")).length, results[0].size);
});
