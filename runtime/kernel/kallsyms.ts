/**
 * kallsyms: address ↔ symbol for the kernel, its modules and BPF text
 * (models kernel/kallsyms.c, kernel/module/kallsyms.c and the BPF ksym
 * tree of kernel/bpf/core.c: bpf_ksym_add/del, __bpf_address_lookup,
 * is_bpf_text_address, bpf_get_kallsym).
 *
 *   static symbols   vmlinux first, then each module (tagged with its name),
 *                    from the ELF symbol tables; added and removed per image
 *   BPF symbols      bpf_prog_<tag>_<name>, bpf_trampoline_<key>, ...: added
 *                    and removed at run time, module "bpf" in listings
 *
 * Lookup semantics follow the kernel: an address belongs to the closest
 * symbol at or below it, and a symbol's size runs to the next symbol (or
 * the end of its image segment), which is how `%pS` prints
 * "name+0x18/0x40". Aliases at one address resolve to the preferred name:
 * non-weak before weak, fewer leading underscores first (scripts/kallsyms.c
 * compare_symbols()), sized symbols before linker labels. `%pS` of a BPF
 * symbol carries no module suffix (bpf_address_lookup() clears modname);
 * /proc/kallsyms lists it as "[bpf]".
 */
import { EEXIST, EINVAL, ENOENT } from "../errno.js";
import { KernelError } from "../errors.js";
import type { Symbolizer } from "../machine/backtrace.js";

/** A static symbol of an image. */
export interface KsymEntry {
  name: string;
  addr: bigint;
  /** Bytes until the next symbol or the end of the symbol's segment. */
  size: number;
  /** /proc/kallsyms type letter: T t D d R r B b W V. */
  type: string;
  /** Preference among aliases at one address (lower wins). */
  rank: number;
}

/** What lookup() returns. */
export interface KsymLookup {
  name: string;
  /** Address of the symbol's start. */
  addr: bigint;
  offset: number;
  size: number;
  /** Module name; undefined for vmlinux. "bpf" for BPF symbols. */
  module?: string;
}

/** A BPF text symbol (JITed program, subprogram, trampoline, dispatcher). */
export interface BpfKsym {
  name: string;
  start: bigint;
  end: bigint;
}

interface Table {
  module?: string;
  /** Sorted by address, preferred alias first. */
  syms: KsymEntry[];
  start: bigint;
  end: bigint;
}

const KSYM_NAME_LEN = 512;

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

function bySymbolOrder(a: KsymEntry, b: KsymEntry): number {
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  return a.rank - b.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Index of the last entry with addr ≤ `addr`, or -1. */
function floorIndex<T>(list: readonly T[], addr: bigint, key: (t: T) => bigint): number {
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key(list[mid]) <= addr) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** The kernel's symbol tables plus dynamic BPF symbols. */
export class Kallsyms {
  readonly #tables: Table[] = [];
  /** Sorted by start; non-overlapping. */
  readonly #bpf: BpfKsym[] = [];
  /** Names may repeat: an old and a new trampoline image of one key coexist (bpf_trampoline_<key>). */
  readonly #bpfByName = new Map<string, BpfKsym[]>();

  /**
   * Add the symbols of an image (vmlinux when `module` is undefined).
   * A module name may be added once.
   */
  addImage(syms: readonly KsymEntry[], module?: string): void {
    if (this.#tables.some((t) => t.module === module)) {
      throw new KernelError(EEXIST, `kallsyms: ${module ?? "vmlinux"} already added`);
    }
    const sorted = [...syms].sort(bySymbolOrder);
    const start = sorted.length ? sorted[0].addr : 0n;
    const end = sorted.reduce((e, s) => (s.addr + BigInt(s.size) > e ? s.addr + BigInt(s.size) : e), start);
    this.#tables.push({ module, syms: sorted, start, end });
  }

  /** Remove a module's symbols (module unload). */
  removeImage(module: string): void {
    const i = this.#tables.findIndex((t) => t.module === module);
    if (i < 0) throw new KernelError(ENOENT, `kallsyms: no module ${module}`);
    this.#tables.splice(i, 1);
  }

  /** bpf_ksym_add(): a BPF text range with its name (must not overlap another). */
  addBpf(sym: BpfKsym): void {
    if (!sym.name || sym.name.length >= KSYM_NAME_LEN)
      throw new KernelError(EINVAL, `kallsyms: bad BPF symbol name: ${sym.name}`);
    if (sym.end <= sym.start) throw new KernelError(EINVAL, `kallsyms: empty range for ${sym.name}`);
    const i = floorIndex(this.#bpf, sym.start, (s) => s.start);
    const prev = this.#bpf[i];
    const next = this.#bpf[i + 1];
    if ((prev && prev.end > sym.start) || (next && next.start < sym.end)) {
      const other = prev && prev.end > sym.start ? prev : next;
      throw new KernelError(EEXIST, `kallsyms: ${sym.name} ${hex(sym.start)}..${hex(sym.end)} overlaps ${other.name}`);
    }
    const entry = { ...sym };
    this.#bpf.splice(i + 1, 0, entry);
    const same = this.#bpfByName.get(sym.name);
    if (same) same.push(entry);
    else this.#bpfByName.set(sym.name, [entry]);
  }

  /** bpf_ksym_del(): the symbol `name` (the one starting at `start` when several share the name). */
  removeBpf(name: string, start?: bigint): void {
    const same = this.#bpfByName.get(name);
    const sym = same?.find((s) => start === undefined || s.start === start);
    if (!same || !sym) throw new KernelError(ENOENT, `kallsyms: no BPF symbol ${name}`);
    same.splice(same.indexOf(sym), 1);
    if (same.length === 0) this.#bpfByName.delete(name);
    this.#bpf.splice(this.#bpf.indexOf(sym), 1);
  }

  /** __bpf_address_lookup(): only BPF symbols. */
  bpfAddressLookup(addr: bigint): KsymLookup | undefined {
    const sym = this.#bpf[floorIndex(this.#bpf, addr, (s) => s.start)];
    if (!sym || addr >= sym.end) return undefined;
    return {
      name: sym.name,
      addr: sym.start,
      offset: Number(addr - sym.start),
      size: Number(sym.end - sym.start),
      module: "bpf",
    };
  }

  /** is_bpf_text_address(). */
  isBpfText(addr: bigint): boolean {
    return this.bpfAddressLookup(addr) !== undefined;
  }

  /** kallsyms_lookup(): the symbol containing `addr` in vmlinux, a module or BPF text. */
  lookup(addr: bigint): KsymLookup | undefined {
    for (const t of this.#tables) {
      if (addr < t.start || addr >= t.end) continue;
      const i = floorIndex(t.syms, addr, (s) => s.addr);
      if (i < 0) continue;
      // The preferred alias is the first entry at that address.
      let j = i;
      while (j > 0 && t.syms[j - 1].addr === t.syms[i].addr) j--;
      const s = t.syms[j];
      if (addr >= s.addr + BigInt(s.size)) continue;
      return { name: s.name, addr: s.addr, offset: Number(addr - s.addr), size: s.size, module: t.module };
    }
    return this.bpfAddressLookup(addr);
  }

  /**
   * `%pS`: "name+0x18/0x40" plus " [module]" for module symbols (none for
   * vmlinux and BPF); undefined when no symbol contains the address.
   */
  formatAddress(addr: bigint): string | undefined {
    const l = this.lookup(addr);
    if (!l) return undefined;
    const base = `${l.name}+${hex(l.offset)}/${hex(l.size)}`;
    return l.module && l.module !== "bpf" ? `${base} [${l.module}]` : base;
  }

  /** A Machine.symbolizer bound to this table. */
  get symbolizer(): Symbolizer {
    return (addr) => this.formatAddress(addr);
  }

  /**
   * kallsyms_lookup_name(): vmlinux first, then modules in load order, then
   * BPF symbols; "module:name" restricts the search to one module.
   */
  addressOf(name: string): bigint | undefined {
    const colon = name.indexOf(":");
    if (colon > 0) {
      const mod = name.slice(0, colon);
      const sym = name.slice(colon + 1);
      if (mod === "bpf") return this.#bpfByName.get(sym)?.[0].start;
      return this.#tables.find((t) => t.module === mod)?.syms.find((s) => s.name === sym)?.addr;
    }
    for (const t of this.#tables) {
      const s = t.syms.find((x) => x.name === name);
      if (s) return s.addr;
    }
    return this.#bpfByName.get(name)?.[0].start;
  }

  /** Every BPF symbol, by address. */
  bpfSymbols(): readonly BpfKsym[] {
    return this.#bpf;
  }

  /**
   * The /proc/kallsyms text: "%016lx %c %s" for vmlinux, "%016lx %c %s\t[%s]"
   * for modules and BPF ("t", "[bpf]"), one symbol a line, in that order.
   */
  procKallsyms(): string {
    const lines: string[] = [];
    const addr = (a: bigint) => a.toString(16).padStart(16, "0");
    const ordered = [...this.#tables.filter((t) => !t.module), ...this.#tables.filter((t) => t.module)];
    for (const t of ordered) {
      for (const s of t.syms) {
        lines.push(
          t.module ? `${addr(s.addr)} ${s.type} ${s.name}\t[${t.module}]` : `${addr(s.addr)} ${s.type} ${s.name}`,
        );
      }
    }
    for (const s of this.#bpf) lines.push(`${addr(s.start)} t ${s.name}\t[bpf]`);
    return lines.length ? `${lines.join("\n")}\n` : "";
  }
}

/** The ksym name of a JITed program (bpf_get_prog_name): bpf_prog_<tag>_<name>. */
export function bpfProgKsymName(tag: Uint8Array | string, name: string): string {
  const t = typeof tag === "string" ? tag : [...tag].map((b) => b.toString(16).padStart(2, "0")).join("");
  return name ? `bpf_prog_${t}_${name}` : `bpf_prog_${t}`;
}

/** The ksym name of a trampoline image (bpf_tramp_image_alloc): bpf_trampoline_<key>, key in decimal. */
export function bpfTrampolineKsymName(key: bigint): string {
  return `bpf_trampoline_${BigInt.asUintN(64, key).toString(10)}`;
}
