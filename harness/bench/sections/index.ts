/**
 * The benchmark sections, in run order. Adding a section is one module in
 * this directory exporting `section: Section` plus one line here; modules are
 * imported only when their section runs (or for `--list`).
 */
import type { SectionEntry } from "../select.js";

/** Every section `a64bpf bench` knows. */
export const SECTIONS: readonly SectionEntry[] = [
  { name: "baseline", load: () => import("./baseline.js") },
  { name: "machine", load: () => import("./machine.js") },
  { name: "jit", load: () => import("./jit.js") },
  { name: "kernel", load: () => import("./kernel.js") },
  { name: "tramp", load: () => import("./tramp.js") },
  { name: "selftests", load: () => import("./selftests.js") },
  { name: "race", load: () => import("./race.js") },
];
