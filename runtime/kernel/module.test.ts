import test from "ava";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KernelError } from "../errors.js";
import { Machine } from "../machine/machine.js";
import { PROT_RW } from "../machine/memory.js";
import { kernelImageFile, loadKernel } from "./image.js";
import { MODULES_BASE, MODULES_SIZE, STACKS_BASE } from "./layout.js";
import { ModuleAllocator, ModuleLoader, moduleNameOf } from "./module.js";
import { BuildError } from "./toolchain.js";

const dir = mkdtempSync(join(tmpdir(), "a64bpf-module-test-"));

function source(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A machine with the kernel loaded, a module loader and a stack. */
function setup(cacheDir?: string): {
  machine: Machine;
  loader: ModuleLoader;
  run(name: string, args: bigint[]): bigint;
} {
  const machine = new Machine({ cpus: 1 });
  const kernel = loadKernel(machine, kernelImageFile());
  machine.symbolizer = kernel.kallsyms.symbolizer;
  machine.map({ name: "stack", base: STACKS_BASE, size: 0x4000, perms: PROT_RW });
  const loader = new ModuleLoader(machine, kernel, { cacheDir });
  const run = (name: string, args: bigint[]): bigint => {
    const cpu = machine.cpu(0);
    args.forEach((v, i) => cpu.setX(i, v));
    cpu.sp = STACKS_BASE + 0x3000n;
    cpu.fp = 0n;
    cpu.lr = machine.sentinel;
    const stop = cpu.run({ pc: kernel.kallsyms.addressOf(name)!, quantum: 100_000 });
    if (stop.kind !== "returned") throw new Error(`${name}: ${stop.kind}`);
    return cpu.x(0);
  };
  return { machine, loader, run };
}

const USER_MOD = `#include <linux/kernel.h>
#include <linux/string.h>
#include "user_mod.h"

extern int bpf_fentry_test1(int a);

static noinline int user_mod_helper(int x)
{
	OPTIMIZER_HIDE_VAR(x);
	return x;
}

noinline long user_mod_sum(struct user_pair p, char c, unsigned short s, long long ll)
{
	struct user_pair copy;

	memcpy(&copy, &p, sizeof(copy));
	return copy.lo + copy.hi + c + s + ll + bpf_fentry_test1(user_mod_helper(USER_MOD_BIAS));
}
EXPORT_SYMBOL(user_mod_sum);
`;

test("allocator: first fit, page granularity, refuses overlaps", (t) => {
  const a = new ModuleAllocator(MODULES_BASE, 0x10000);
  t.is(a.firstFit(1), MODULES_BASE);
  a.reserve(MODULES_BASE, 0x1800);
  t.is(a.firstFit(0x1000), MODULES_BASE + 0x2000n);
  a.reserve(MODULES_BASE + 0x4000n, 0x1000);
  t.is(a.firstFit(0x2000), MODULES_BASE + 0x2000n);
  t.is(a.firstFit(0x3000), MODULES_BASE + 0x5000n);
  t.is(a.firstFit(0x20000), undefined);
  t.false(a.fits(MODULES_BASE + 0x1000n, 0x1000));
  t.false(a.fits(MODULES_BASE + 0x2001n, 0x10));
  t.throws(() => a.reserve(MODULES_BASE + 0x4800n, 0x10), { instanceOf: KernelError, message: /is not free$/ });
  t.is(new ModuleAllocator().size, MODULES_SIZE);
  t.is(moduleNameOf("/x/my-mod.c"), "my_mod");
});

test("a user module with any signature loads, links against kernel exports, runs and has BTF", (t) => {
  source("user_mod.h", "struct user_pair { int lo; int hi; };\n#define USER_MOD_BIAS 100\n");
  const file = source("user_mod.c", USER_MOD);
  const { machine, loader, run } = setup();
  try {
    const testmod = loader.loadBpfTestmod();
    const mod = loader.load([file]);
    t.is(mod.name, "user_mod");
    t.true(mod.base >= testmod.base + BigInt(testmod.size), "allocated after bpf_testmod");
    t.is(mod.base % 4096n, 0n);
    // struct user_pair {1, 2} travels in x0; 1 + 2 + 3 + 4 + 5 + bpf_fentry_test1(100) = 116.
    t.is(run("user_mod_sum", [1n | (2n << 32n), 3n, 4n, 5n]), 116n);
    const sig = mod.image.btf.funcSignature("user_mod_sum")!;
    t.deepEqual(
      sig.proto.params.map((p) => [p.name, mod.image.btf.sizeof(p.type)]),
      [
        ["p", 8],
        ["c", 1],
        ["s", 2],
        ["ll", 8],
      ],
    );
    t.true(mod.image.isFtraceLocation(mod.image.address("user_mod_sum")));
    // A static noinline function keeps its FUNC, its ftrace location and a local kallsyms entry.
    t.is(mod.image.btf.funcSignature("user_mod_helper")?.proto.params[0].name, "x");
    t.true(mod.image.isFtraceLocation(mod.image.address("user_mod_helper")));
    t.regex(loader.kernel.kallsyms.procKallsyms(), /^[0-9a-f]{16} t user_mod_helper\t\[user_mod\]$/m);
    const addr = loader.kernel.kallsyms.addressOf("user_mod_sum")!;
    t.regex(machine.symbolizer!(addr + 8n)!, /^user_mod_sum\+0x8\/0x[0-9a-f]+ \[user_mod\]$/);
    t.is(loader.exports.get("user_mod_sum")?.owner, "user_mod");
    t.regex(loader.kernel.kallsyms.procKallsyms(), /^[0-9a-f]{16} T user_mod_sum\t\[user_mod\]$/m);

    // A later module links against an earlier module's export.
    const caller = source(
      "user_caller.c",
      `#include <linux/kernel.h>\n#include "user_mod.h"\nextern long user_mod_sum(struct user_pair p, char c, unsigned short s, long long ll);\nnoinline long user_caller(void) { struct user_pair p = { 10, 20 }; return user_mod_sum(p, 0, 0, 0); }\n`,
    );
    loader.load([caller]);
    t.is(run("user_caller", []), 131n);
  } finally {
    machine.close();
  }
});

test("bpf_testmod's bpf_fentry_shadow_test coexists with the kernel's", (t) => {
  const { machine, loader, run } = setup();
  try {
    loader.loadBpfTestmod();
    const k = loader.kernel.kallsyms;
    t.not(k.addressOf("bpf_fentry_shadow_test"), k.addressOf("bpf_testmod:bpf_fentry_shadow_test"));
    t.is(run("bpf_fentry_shadow_test", [5n]), 6n, "vmlinux first");
    const cpu = machine.cpu(0);
    cpu.setX(0, 5n);
    cpu.sp = STACKS_BASE + 0x3000n;
    cpu.lr = machine.sentinel;
    t.is(cpu.run({ pc: k.addressOf("bpf_testmod:bpf_fentry_shadow_test")!, quantum: 1000 }).kind, "returned");
    t.is(cpu.x(0), 7n, "the module's returns a + 2");
  } finally {
    machine.close();
  }
});

test("module errors: compile failure, unknown symbol, duplicate export, duplicate name", (t) => {
  const { machine, loader } = setup();
  try {
    loader.loadBpfTestmod();
    const broken = source("broken_mod.c", "int broken(void)\n{\n\treturn missing_variable;\n}\n");
    const err = t.throws(() => loader.load([broken]), { instanceOf: BuildError });
    t.regex(err!.message, /^compile broken_mod: broken_mod\.c: clang-19 failed \(exit 1\):\n/);
    t.regex(err!.message, /broken_mod\.c:3:9: error: use of undeclared identifier 'missing_variable'/);
    t.true(err!.diagnostics.includes("missing_variable"));

    // bpf_fentry_test2 exists in the kernel but is not exported: as for a real module, it is unknown.
    const unknown = source(
      "unknown_mod.c",
      "int bpf_fentry_test2(int a, unsigned long long b);\nint nowhere(void);\nint f(void) { return bpf_fentry_test2(1, 2) + nowhere(); }\n",
    );
    const e2 = t.throws(() => loader.load([unknown]), { instanceOf: KernelError });
    t.is(e2!.errno, 2);
    t.is(
      e2!.message,
      "unknown_mod: Unknown symbol bpf_fentry_test2 (err -2)\nunknown_mod: Unknown symbol nowhere (err -2)",
    );

    const dupKernel = source(
      "dup_kernel.c",
      "#include <linux/kernel.h>\nint bpf_fentry_test1(int a) { return a; }\nEXPORT_SYMBOL(bpf_fentry_test1);\n",
    );
    const e3 = t.throws(() => loader.load([dupKernel]), { instanceOf: KernelError });
    t.is(e3!.message, "dup_kernel: exports duplicate symbol bpf_fentry_test1 (owned by kernel)");
    t.is(e3!.errno, 8, "ENOEXEC, as kernel/module/main.c");

    const dupMod = source(
      "dup_mod.c",
      "#include <linux/kernel.h>\nlong bpf_testmod_test_read(void) { return 0; }\nEXPORT_SYMBOL(bpf_testmod_test_read);\n",
    );
    t.throws(() => loader.load([dupMod]), {
      instanceOf: KernelError,
      message: "dup_mod: exports duplicate symbol bpf_testmod_test_read (owned by bpf_testmod)",
    });

    const e4 = t.throws(() => loader.loadBpfTestmod(), { instanceOf: KernelError });
    t.is(e4!.message, "module bpf_testmod is already loaded");
    t.is(e4!.errno, 17);
    t.throws(() => loader.load([broken], { name: "bad name" }), {
      instanceOf: KernelError,
      message: "invalid module name: bad name",
    });
    t.throws(() => loader.load([join(dir, "absent.c")]), {
      instanceOf: KernelError,
      message: /^module source not found: /,
    });
    // Nothing was mapped or added by the failed loads.
    t.deepEqual(
      loader.modules.map((m) => m.name),
      ["bpf_testmod"],
    );
    t.false(machine.memory.regions.some((r) => r.name.startsWith("dup_") || r.name.startsWith("unknown_")));
  } finally {
    machine.close();
  }
});

test("module builds are cached; editing a local header misses", (t) => {
  const cacheDir = join(dir, "cache");
  source("cached_mod.h", "#define CACHED_VALUE 41\n");
  const file = source(
    "cached_mod.c",
    '#include <linux/kernel.h>\n#include "cached_mod.h"\nnoinline int cached_value(void) { return CACHED_VALUE + 1; }\n',
  );
  const a = setup(cacheDir);
  const b = setup(cacheDir);
  try {
    t.false(a.loader.load([file]).build.cached);
    const hit = b.loader.load([file]);
    t.true(hit.build.cached);
    t.is(b.run("cached_value", []), 42n);
    source("cached_mod.h", "#define CACHED_VALUE 99\n");
    const c = setup(cacheDir);
    try {
      const miss = c.loader.load([file]);
      t.false(miss.build.cached);
      t.not(miss.build.hash, hit.build.hash);
      t.is(c.run("cached_value", []), 100n);
    } finally {
      c.machine.close();
    }
  } finally {
    a.machine.close();
    b.machine.close();
  }
});
