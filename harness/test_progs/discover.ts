/**
 * Finding the tests: the list test_progs builds at compile time from
 * prog_tests/*.c (tests.h: one DEFINE_TEST(name) per `void test_<name>(void)`
 * or `void serial_test_<name>(void)`, files in name order, functions in
 * source order), and which numbers them #1, #2, ...
 *
 * Here a test module is selftests/prog_tests/<file>.ts (or the built .js);
 * every exported function named `test_<name>` or `serial_test_<name>` is
 * test <name>. Modules are sorted by file name (byte order); within a module
 * tests keep their source order, found by scanning the module text for the
 * function definitions (module namespace objects list exports
 * alphabetically, and esbuild keeps function order), exports not found by
 * the scan follow in name order.
 *
 * Setup errors (a module that fails to import, a test defined both as
 * test_x and serial_test_x, the same name in two files) throw
 * {@link SetupError}: the runner exits with EXIT_ERR_SETUP_INFRA (3).
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";

/** One test (the kernel's `struct prog_test_def`). */
export interface TestDef {
  /** 1-based, over the whole suite. */
  num: number;
  name: string;
  /** Absolute path of the module. */
  file: string;
  /** test_<name> or serial_test_<name>. */
  exportName: string;
  /** serial_test_*: never runs alongside other tests. */
  serial: boolean;
}

/** An infrastructure problem: the runner exits with 3. */
export class SetupError extends BpfError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(EINVAL, message, options);
  }
}

const TEST_EXPORT = /^(serial_)?test_(.+)$/;

/** Is `file` a test module for a runner whose own modules end in `ext`? */
export function isTestModule(file: string, ext: ".ts" | ".js"): boolean {
  if (!file.endsWith(ext)) return false;
  return !file.endsWith(`.test${ext}`) && !file.endsWith(`.d${ext}`);
}

/** Byte-order comparison (the kernel's tests.h follows the shell's sorted glob). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Offsets of `function NAME(` / `NAME = ` definitions in a module's text. */
export function definitionOrder(text: string, names: readonly string[]): string[] {
  const pos = new Map<string, number>();
  for (const name of names) {
    const id = name.replace(/\$/g, "\\$");
    const re = new RegExp(`(?:function\\*?\\s+${id}\\s*\\(|(?:const|let|var)\\s+${id}\\s*=)`);
    const m = re.exec(text);
    pos.set(name, m ? m.index : Number.POSITIVE_INFINITY);
  }
  return [...names].sort((a, b) => {
    const d = (pos.get(a) ?? 0) - (pos.get(b) ?? 0);
    return Number.isNaN(d) || d === 0 ? byteOrder(a, b) : d;
  });
}

/** The test functions of one imported module, in source order. */
export function testExports(
  mod: Record<string, unknown>,
  text: string,
): { exportName: string; name: string; serial: boolean }[] {
  const names = Object.keys(mod).filter((k) => TEST_EXPORT.test(k) && typeof mod[k] === "function");
  return definitionOrder(text, names).map((exportName) => {
    const m = TEST_EXPORT.exec(exportName)!;
    return { exportName, name: m[2], serial: m[1] !== undefined };
  });
}

/**
 * Import every test module of `dir` and number the tests. Throws
 * {@link SetupError} on import failures and conflicting definitions.
 */
export async function discoverTests(dir: string, ext: ".ts" | ".js"): Promise<TestDef[]> {
  const abs = resolve(dir);
  let files: string[];
  try {
    files = readdirSync(abs)
      .filter((f) => isTestModule(f, ext))
      .sort(byteOrder);
  } catch (err) {
    throw new SetupError(`cannot read the test directory: ${abs}: ${(err as Error).message}`, { cause: err });
  }
  const defs: TestDef[] = [];
  const seen = new Map<string, TestDef>();
  for (const f of files) {
    const file = join(abs, f);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new SetupError(`failed to import test module ${f}: ${msg}`, { cause: err });
    }
    for (const t of testExports(mod, readFileSync(file, "utf8"))) {
      const prev = seen.get(t.name);
      const def: TestDef = { num: defs.length + 1, name: t.name, file, exportName: t.exportName, serial: t.serial };
      if (prev && prev.file === file) {
        throw new SetupError(
          `Test ${prev.num}:${t.name} must have either test_${t.name}() or serial_test_${t.name}() defined.`,
        );
      }
      if (prev) throw new SetupError(`duplicate test name: ${t.name} (${basename(prev.file)} and ${f})`);
      seen.set(t.name, def);
      defs.push(def);
    }
  }
  return defs;
}
