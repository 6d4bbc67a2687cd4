/**
 * Choosing the sections of a run: the names given on the command line (all
 * of them when none is), plus every section they require, in registry order.
 *
 *   a64bpf bench machine   ─►  baseline, machine     (machine requires baseline)
 *   a64bpf bench           ─►  every registered section
 */
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import type { Section } from "./types.js";

/** A registry line: the section's name and a lazy import of its module. */
export interface SectionEntry {
  readonly name: string;
  readonly load: () => Promise<{ section: Section }>;
}

/** A bad section name, or a registry whose module disagrees with its line. */
export class BenchUsageError extends BpfError {
  constructor(message: string) {
    super(EINVAL, message);
  }
}

/** Load the module of `entry` and check that it is the section the registry names. */
export async function loadSection(entry: SectionEntry): Promise<Section> {
  const mod = await entry.load();
  const s = mod.section;
  if (!s || s.name !== entry.name) {
    throw new BenchUsageError(`bench section module does not match its registry line: ${entry.name}`);
  }
  return s;
}

/**
 * The sections to run for `names` (every section when empty), with their
 * `requires` added, in registry order. Unknown names and unknown or circular
 * requirements are a {@link BenchUsageError}.
 */
export async function selectSections(names: readonly string[], registry: readonly SectionEntry[]): Promise<Section[]> {
  const byName = new Map(registry.map((e) => [e.name, e]));
  const known = registry.map((e) => e.name).join(", ");
  for (const n of names) {
    if (!byName.has(n)) throw new BenchUsageError(`unknown bench section: ${n} (known: ${known})`);
  }
  const wanted = names.length === 0 ? registry.map((e) => e.name) : [...names];
  const loaded = new Map<string, Section>();
  const visit = async (name: string, chain: readonly string[]): Promise<void> => {
    if (chain.includes(name))
      throw new BenchUsageError(`circular bench section requirement: ${[...chain, name].join(" -> ")}`);
    if (loaded.has(name)) return;
    const entry = byName.get(name);
    if (!entry) throw new BenchUsageError(`bench section ${chain[chain.length - 1]} requires unknown section: ${name}`);
    const s = await loadSection(entry);
    for (const r of s.requires ?? []) await visit(r, [...chain, name]);
    loaded.set(name, s);
  };
  for (const n of wanted) await visit(n, []);
  return registry.filter((e) => loaded.has(e.name)).map((e) => loaded.get(e.name) as Section);
}
