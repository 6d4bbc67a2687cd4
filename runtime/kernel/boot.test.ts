import test from "ava";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../paths.js";
import { bootKernel } from "./boot.js";

test("the built kernel boots with bpf_testmod and runs its functions with the kernel's values", (t) => {
  const { kernel: k, images } = bootKernel({ cpus: 2 });
  try {
    t.is(k.call("bpf_testmod_fentry_test11", [16n, 17n, 18n, 19n, 20n, 21n, 22n, 23n, 24n, 25n, 26n]), 231n);
    t.is(k.call("bpf_testmod_fentry_test7", [16n, 17n, 18n, 19n, 20n, 21n, 22n]), 133n);
    t.is(k.call("bpf_fentry_test1", [1n]), 2n);
    const f = images.func("bpf_testmod_fentry_test11");
    t.is(f.module, "bpf_testmod");
    t.is(f.btfObjId, 2);
    t.true(f.traceable);
    // bpf_testmod_test_read() calls every test function and returns -EIO.
    const okAddr = k.symbolAddress("bpf_testmod_fentry_ok");
    t.is(k.machine.memory.read32(okAddr), 0);
    const ret = k.call("bpf_testmod_test_read", [0n, 0n, 0n, 0n, 0n, 1n]);
    t.is(BigInt.asIntN(32, ret), -5n);
    t.is(k.machine.memory.read32(okAddr), 1, "every bpf_testmod_fentry_test* returned the kernel's value");
    // The last function storing bpf_testmod_test_struct_arg_result is struct_arg_6 on a
    // kmalloc'd struct with b[0] = 1 (after int128_arg(1, 2, 3) stored 6).
    t.is(k.machine.memory.read64(k.symbolAddress("bpf_testmod_test_struct_arg_result")), 1n);
    t.deepEqual(k.oopses, []);
  } finally {
    k.close();
  }
});

test("a64bpf kernel call prints the typed return value; bad input is a clear error", (t) => {
  execFileSync("node", [join(PROJECT_ROOT, "scripts", "build.mjs")]);
  const bin = join(PROJECT_ROOT, "dist", "bin", "a64bpf.js");
  const run = (...args: string[]) => spawnSync("node", [bin, "kernel", ...args], { encoding: "utf8" });
  const r1 = run("call", "bpf_testmod_fentry_test11", ...Array.from({ length: 11 }, (_, i) => String(16 + i)));
  t.is(r1.stdout, "231\n");
  t.is(r1.status, 0);
  const r2 = run("call", "bpf_testmod_fentry_test7", "16", "17", "18", "19", "20", "21", "22");
  t.is(r2.stdout, "133\n");
  const r3 = run("call", "bpf_testmod_test_read", "0", "0", "0", "0", "0", "1");
  t.is(r3.stdout, "-5\n", "ssize_t -EIO");
  const r4 = run("call", "no_such_function");
  t.is(r4.status, 1);
  t.is(r4.stderr, "a64bpf kernel: unknown symbol: no_such_function (not in kallsyms) (ENOENT, -2)\n");
  const r5 = run("call", "bpf_testmod_fentry_test7", "1");
  t.is(r5.status, 1);
  t.regex(r5.stderr, /bpf_testmod_fentry_test7 takes 7 arguments, 1 given/);
  // Structs and __int128 by value take several registers: refused, not mis-passed.
  const r7 = run("call", "bpf_testmod_test_struct_arg_1", "2", "3", "1");
  t.is(r7.status, 1);
  t.regex(
    r7.stderr,
    /bpf_testmod_test_struct_arg_1: argument 1 \(a, struct bpf_testmod_struct_arg_2, 16 bytes\) is passed by value in several registers; .* \(ENOTSUPP, -524\)/,
  );
  // A value that does not fit its parameter.
  const r8 = run("call", "bpf_testmod_fentry_test1", "0x1ffffffff");
  t.is(r8.status, 1);
  t.regex(
    r8.stderr,
    /bpf_testmod_fentry_test1: 8589934591 does not fit argument 1 \(a, int int, 4 bytes\) \(ERANGE, -34\)/,
  );
  t.is(run("call", "bpf_testmod_fentry_test1", "-1").stdout, "0\n", "int -1 + 1");
  // A symbol without BTF is callable with raw values.
  const r9 = run("call", "raw_smp_processor_id");
  t.is(r9.status, 0, r9.stderr);
  t.regex(r9.stdout, /^[01]\n$/);
  const r6 = run("syms");
  t.regex(r6.stdout, /^[0-9a-f]{16} T bpf_testmod_fentry_test11\t\[bpf_testmod\]$/m);
});
