import test from "ava";
import { execFileSync } from "node:child_process";
import { BpfError } from "../../runtime/errors.js";
import { cFormat, type PrintfArg } from "./printf.js";

// Independent oracle: coreutils printf(1), which formats like C.
const CASES: [string, PrintfArg[]][] = [
  ["%d|%i|%u", [42, -7, 3000000000]],
  ["[%-7d] [%7d] [%07d] [%+d] [% d]", [5, 5, -5, 3, 3]],
  ["%x %X %#x %#o %o", [255, 255, 255, 8, 8]],
  ["%lld %llu %llx", [-9n, 18446744073709551615n, 18446744073709551615n]],
  ["%ld %lx %zu", [-1, 4096, 7]],
  ["[%s] [%5s] [%-5s] [%.2s] [%c]", ["abc", "ab", "ab", "abcdef", "Z"]],
  ["%f %.2f %8.3f %-8.1f| %e %E", [3.14159, 2.25, -1.5, 0.75, 12345.678, 0.000123]],
  ["%g %g %g %g %G", [12345.678, 0.0001, 1e-5, 1e20, 1.5e-7]],
  ["100%% %s", ["done"]],
  ["%*d|%-*d|%.*s", [6, 42, 4, 7, 3, "abcdef"]],
  ["%.0d|%.3d|%5.3d", [0, 7, -7]],
];

function oracle(fmt: string, args: PrintfArg[]): string {
  return execFileSync("/usr/bin/printf", [fmt, ...args.map((a) => String(a))], { encoding: "utf8" });
}

for (const [fmt, args] of CASES) {
  test(`matches printf(1): ${fmt}`, (t) => {
    t.is(cFormat(fmt, args), oracle(fmt, args));
  });
}

test("integer conversions wrap like C's int and long long", (t) => {
  t.is(cFormat("%x", [-1]), "ffffffff");
  t.is(cFormat("%llx", [-1]), "ffffffffffffffff");
  t.is(cFormat("%u", [-1]), "4294967295");
  t.is(cFormat("%d", [0x1_0000_0005]), "5");
  t.is(cFormat("%lld", [0xffff_ffff_ffff_ffffn]), "-1");
  t.is(cFormat("%d", [true]), "1");
});

test("%f rounds the exact double, ties to even, as glibc (python's %-format agrees)", (t) => {
  // printf(1) reads its arguments as long double, so it cannot be the oracle here.
  t.is(cFormat("%.2f|%.1f|%.0f|%.0f|%.1f|%.3f", [2.005, 0.25, 2.5, 3.5, -0.25, 1.0005]), "2.00|0.2|2|4|-0.2|1.000");
  t.is(cFormat("%.0f|%.1f|%f", [0.5, 9.96, 1e-7]), "0|10.0|0.000000");
});

test("pointers and NULL strings print as glibc does", (t) => {
  t.is(cFormat("%p", [0xffff000010000000n]), "0xffff000010000000");
  t.is(cFormat("%p", [null]), "(nil)");
  t.is(cFormat("%p", [0]), "(nil)");
  t.is(cFormat("%s", [null]), "(null)");
});

test("missing and mistyped arguments are errors, not garbage", (t) => {
  t.throws(() => cFormat("%d %d", [1]), { instanceOf: BpfError, message: "printf: missing argument for %d: '%d %d'" });
  t.throws(() => cFormat("%d", ["x"]), { instanceOf: BpfError, message: "printf: %d needs a number: x" });
  t.is(cFormat("no conversions", []), "no conversions");
});
