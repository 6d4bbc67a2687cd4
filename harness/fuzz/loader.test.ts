/**
 * `a64bpf fuzz loader`: the corpus is deterministic and covers every
 * mutation kind; a parser crash hidden behind a typed error is caught;
 * a seeded run opens and loads malformed objects without a crash, a hang
 * or a leak.
 */
import test from "ava";
import { EINVAL } from "../../runtime/errno.js";
import { ObjectError } from "../../runtime/bpf/object/errors.js";
import { BpfObject } from "../../runtime/loader/skeleton.js";
import { fuzzLoader, loaderBases, loaderMutant, runLoaderCase, type LoaderMutation } from "./loader.js";

test("mutants are a function of (base, seed) and cover every kind", (t) => {
  const bases = loaderBases();
  t.true(bases.length >= 2);
  const b = bases[0];
  const kinds = new Set<LoaderMutation>();
  for (let s = 1; s <= 200; s++) {
    const x = loaderMutant(b.name, b.bytes, s);
    const y = loaderMutant(b.name, b.bytes, s);
    t.deepEqual(x.bytes, y.bytes);
    kinds.add(x.kind);
  }
  t.deepEqual([...kinds].sort(), ["btf", "generic", "random", "reloc", "shndx", "truncate"]);
});

test("a JavaScript error behind a typed error is a crash, a typed refusal is not", (t) => {
  const b = loaderBases()[0];
  const c = loaderMutant(b.name, b.bytes, 7);
  const crash = runLoaderCase(c, undefined, () => {
    throw new ObjectError(EINVAL, "elf: x: boom", {
      cause: new RangeError("Offset is outside the bounds of the DataView"),
    });
  });
  t.is(crash.kind, "crash");
  const typed = runLoaderCase(c, undefined, () => {
    throw new ObjectError(EINVAL, "elf: x: bad");
  });
  t.deepEqual(typed, { kind: "refused", errno: EINVAL });
  const plain = runLoaderCase(c, undefined, () => {
    throw new Error("not a BpfError");
  });
  t.is(plain.kind, "crash");
  const ok = runLoaderCase({ ...c, bytes: b.bytes }, undefined, (bytes, name) =>
    BpfObject.open(bytes, { objectName: name }),
  );
  t.is(ok.kind, "opened");
});

test("a seeded run: malformed objects give typed errors, loads leave nothing behind", (t) => {
  let out = "";
  let err = "";
  const code = fuzzLoader(["--cases", "250", "--seed", "4242"], { out: (x) => (out += x), err: (x) => (err += x) });
  t.is(code, 0, err);
  t.regex(out, /fuzz loader: 250 cases \(seeds 4242\.\.4491\) over \d+ objects, 0 failures/);
  t.regex(out, /truncate\/refused +\d+/);
  t.regex(out, /\/loaded +\d+/, "some mutants still load (and are destroyed cleanly)");
});
