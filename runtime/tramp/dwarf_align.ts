/**
 * What BTF cannot say about argument passing: `_Alignas` on struct members.
 *
 * clang passes a composite aligned to the largest alignment of its members
 * (arg_layout.ts); a member's `_Alignas(16)` therefore moves the struct to an
 * even register pair, while `__attribute__((aligned(16)))` on the struct
 * itself does not. Neither leaves a trace in BTF, but both are in DWARF as
 * DW_AT_alignment — on the member DIE or on the struct DIE. This module asks
 * llvm-dwarfdump-19 for them:
 *
 *   DW_TAG_structure_type "s16m"             DW_TAG_typedef "anon_t" ──┐
 *     DW_TAG_member "a"  DW_AT_alignment(16)  DW_TAG_structure_type ◄───┘
 *
 * and gives, per composite name ("struct s16m", "union u", "anon_t" for a
 * typedef of an anonymous composite), the largest member-level alignment and
 * the struct-level alignment. Results are cached per image file.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EINVAL } from "../errno.js";
import { BpfError } from "../errors.js";

/** Alignment attributes of one composite type. */
export interface CompositeAlign {
  /** Largest DW_AT_alignment of a direct member (0: none). */
  member: number;
  /** DW_AT_alignment of the struct/union itself (0: none). */
  self: number;
}

/** Alignment attributes by C name. */
export type AlignTable = ReadonlyMap<string, CompositeAlign>;

const cache = new Map<string, AlignTable>();

interface Die {
  offset: string;
  tag: string;
  depth: number;
  name?: string;
  align?: number;
  type?: string;
  parent?: Die;
}

/** Parse `llvm-dwarfdump --debug-info` text into a table (exported for tests). */
export function parseDwarfAlignments(text: string): AlignTable {
  const dies: Die[] = [];
  const byOffset = new Map<string, Die>();
  const stack: Die[] = [];
  let cur: Die | undefined;
  for (const line of text.split("\n")) {
    const head = /^(0x[0-9a-f]+):(\s+)(DW_TAG_\w+|NULL)/.exec(line);
    if (head) {
      const depth = head[2].length;
      while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
      if (head[3] === "NULL") {
        cur = undefined;
        continue;
      }
      cur = { offset: head[1], tag: head[3], depth, parent: stack[stack.length - 1] };
      dies.push(cur);
      byOffset.set(cur.offset, cur);
      stack.push(cur);
      continue;
    }
    if (!cur) continue;
    const attr = /^\s+(DW_AT_\w+)\s+\((.*)\)\s*$/.exec(line);
    if (!attr) continue;
    if (attr[1] === "DW_AT_name") cur.name = /^"(.*)"$/.exec(attr[2])?.[1];
    else if (attr[1] === "DW_AT_alignment") cur.align = Number(attr[2]);
    else if (attr[1] === "DW_AT_type") cur.type = /^(0x[0-9a-f]+)/.exec(attr[2])?.[1];
  }
  const info = new Map<Die, CompositeAlign>();
  for (const d of dies) {
    if (d.tag === "DW_TAG_structure_type" || d.tag === "DW_TAG_union_type")
      info.set(d, { member: 0, self: d.align ?? 0 });
  }
  for (const d of dies) {
    if (d.tag !== "DW_TAG_member" || !d.parent || d.align === undefined) continue;
    const c = info.get(d.parent);
    if (c) c.member = Math.max(c.member, d.align);
  }
  const out = new Map<string, CompositeAlign>();
  for (const [d, a] of info) {
    if (d.name) out.set(`${d.tag === "DW_TAG_union_type" ? "union" : "struct"} ${d.name}`, a);
  }
  for (const d of dies) {
    if (d.tag !== "DW_TAG_typedef" || !d.name || !d.type) continue;
    const target = byOffset.get(d.type);
    const a = target && info.get(target);
    if (a && !target?.name) out.set(d.name, a);
  }
  return out;
}

/**
 * Alignment attributes of the composites in an ELF image with DWARF (the
 * kernel or a module). `key` identifies the image content (its build hash).
 */
export function dwarfAlignments(key: string, elf: Uint8Array): AlignTable {
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-dwarf-"));
  try {
    const file = join(dir, "image.elf");
    writeFileSync(file, elf);
    const r = spawnSync("llvm-dwarfdump-19", ["--debug-info", file], { encoding: "utf8", maxBuffer: 256 << 20 });
    if (r.status !== 0) {
      throw new BpfError(EINVAL, `llvm-dwarfdump-19 failed on ${key}: ${(r.stderr || r.error?.message || "").trim()}`);
    }
    const table = parseDwarfAlignments(r.stdout);
    cache.set(key, table);
    return table;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
