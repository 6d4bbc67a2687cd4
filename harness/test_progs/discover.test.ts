import test from "ava";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { definitionOrder, discoverTests, isTestModule, SetupError, testExports } from "./discover.js";

const FIXTURES = join(fileURLToPath(new URL(".", import.meta.url)), "fixtures");

test("test modules: own extension, no .test or .d files", (t) => {
  t.true(isTestModule("fentry_test.ts", ".ts"));
  t.false(isTestModule("fentry_test.test.ts", ".ts"));
  t.false(isTestModule("types.d.ts", ".ts"));
  t.false(isTestModule("fentry_test.js", ".ts"));
  t.true(isTestModule("fentry_test.js", ".js"));
  t.false(isTestModule("fentry_test.js.map", ".js"));
});

test("tests keep source order, whatever the export order", (t) => {
  const text =
    "export function test_b() {}\nfunction helper() {}\nexport async function serial_test_a() {}\nexport const test_c = () => {};\n";
  t.deepEqual(definitionOrder(text, ["serial_test_a", "test_b", "test_c"]), ["test_b", "serial_test_a", "test_c"]);
  // esbuild output keeps function order and lists exports at the end.
  const built = "function test_z() {}\nfunction test_y() {}\nexport {\n  test_y,\n  test_z\n};\n";
  t.deepEqual(definitionOrder(built, ["test_y", "test_z"]), ["test_z", "test_y"]);
  // Names the scan cannot find go last, in name order.
  t.deepEqual(definitionOrder("function test_k() {}", ["test_x", "test_k", "test_a"]), ["test_k", "test_a", "test_x"]);
  const mod = { test_b: () => {}, serial_test_a: () => {}, test_data: 3, helper: () => {} };
  t.deepEqual(testExports(mod, text), [
    { exportName: "test_b", name: "b", serial: false },
    { exportName: "serial_test_a", name: "a", serial: true },
  ]);
});

test("the basic fixture suite is numbered by file, then source order", async (t) => {
  const defs = await discoverTests(join(FIXTURES, "basic"), ".ts");
  t.deepEqual(
    defs.map((d) => [d.num, d.name, d.exportName, d.serial]),
    [
      [1, "zeta_pass", "test_zeta_pass", false],
      [2, "alpha_subtests", "test_alpha_subtests", false],
      [3, "serial_pass", "serial_test_serial_pass", true],
      [4, "fail_eq", "test_fail_eq", false],
      [5, "fail_subtest", "test_fail_subtest", false],
      [6, "skip_whole", "test_skip_whole", false],
      [7, "throws", "test_throws", false],
      [8, "forced_log", "test_forced_log", false],
      [9, "async_pass", "test_async_pass", false],
    ],
  );
  t.true(defs[0].file.endsWith(join("basic", "a_pass.ts")));
});

test("setup errors: import failure, test_x with serial_test_x, duplicate names, missing dir", async (t) => {
  const broken = await t.throwsAsync(discoverTests(join(FIXTURES, "broken"), ".ts"), { instanceOf: SetupError });
  t.is(broken?.message, "failed to import test module a_broken.ts: fixture module fails to import");
  const conflict = await t.throwsAsync(discoverTests(join(FIXTURES, "conflict"), ".ts"), { instanceOf: SetupError });
  t.is(conflict?.message, "Test 1:dup must have either test_dup() or serial_test_dup() defined.");
  const dups = await t.throwsAsync(discoverTests(join(FIXTURES, "dups"), ".ts"), { instanceOf: SetupError });
  t.is(dups?.message, "duplicate test name: same (a_one.ts and b_two.ts)");
  await t.throwsAsync(discoverTests(join(FIXTURES, "no_such_dir"), ".ts"), { instanceOf: SetupError });
  t.deepEqual(await discoverTests(join(FIXTURES, "empty"), ".ts"), []);
});
