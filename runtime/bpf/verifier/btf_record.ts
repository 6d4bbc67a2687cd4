/**
 * The special fields of a map value (kernel/bpf/btf.c btf_parse_fields,
 * btf_find_field, btf_get_field_type; struct btf_record in
 * include/linux/bpf.h): where the `struct bpf_spin_lock` and the
 * `struct bpf_timer` of a value are, found from the value's BTF type when
 * the map is created with BTF.
 *
 *   value type         fields searched
 *   struct / union     its members, by their type's name
 *   DATASEC (.bss.A)   its variables (global data maps)
 *
 *   "bpf_spin_lock"  spinLockOff   at most one ("E2BIG": the record is invalid)
 *   "bpf_timer"      timerOff      at most one
 *
 * Simplification: only top-level members and variables are searched (not
 * nested structs or arrays of special types); kptrs, graph roots and the
 * other field kinds are not recorded.
 */
import type { Btf } from "../btf/btf.js";
import type { VerifierMap } from "./reg_state.js";

/** struct btf_field: a special field of the value. */
export interface BtfField {
  /** btf_field_type_name(): "bpf_spin_lock", "bpf_timer". */
  readonly name: string;
  /** Offset and size in bytes. */
  readonly off: number;
  readonly size: number;
}

/** struct btf_record, the fields this verifier uses (offsets in bytes). */
export interface BtfRecord {
  readonly fields: readonly BtfField[];
  readonly spinLockOff?: number;
  readonly timerOff?: number;
  /** A special field appears more than once: the map could not have been created. */
  readonly invalid?: string;
}

const SPECIAL: Readonly<Record<string, "spinLockOff" | "timerOff">> = {
  bpf_spin_lock: "spinLockOff",
  bpf_timer: "timerOff",
};

/** btf_parse_fields(): the special fields of value type `valueTypeId` in `btf`. */
export function btfParseFields(btf: Btf, valueTypeId: number): BtfRecord {
  const t = btf.resolved(valueTypeId);
  const found: BtfField[] = [];
  const consider = (typeId: number, off: number) => {
    const ft = btf.resolved(typeId);
    if ((ft.kind === "struct" || ft.kind === "union") && SPECIAL[ft.name] !== undefined) {
      found.push({ name: ft.name, off, size: ft.size });
    }
  };
  if (t.kind === "struct" || t.kind === "union") {
    for (const m of t.members) if (m.bitfieldSize === 0) consider(m.type, m.bitOffset / 8);
  } else if (t.kind === "datasec") {
    for (const v of t.vars) {
      const vt = btf.type(v.type);
      consider(vt.kind === "var" ? vt.type : v.type, v.offset);
    }
  }
  const rec: { fields: BtfField[]; spinLockOff?: number; timerOff?: number; invalid?: string } = { fields: found };
  for (const f of found) {
    const key = SPECIAL[f.name];
    if (rec[key] !== undefined) rec.invalid = `more than one 'struct ${f.name}'`;
    else rec[key] = f.off;
  }
  return rec;
}

const cache = new WeakMap<Btf, Map<number, BtfRecord>>();

/** map->record: the record of a map's value, or undefined for a map created without BTF. */
export function mapBtfRecord(map: VerifierMap): BtfRecord | undefined {
  if (!map.btf || !map.btfValueTypeId) return undefined;
  let byId = cache.get(map.btf);
  if (!byId) cache.set(map.btf, (byId = new Map()));
  let rec = byId.get(map.btfValueTypeId);
  if (!rec) byId.set(map.btfValueTypeId, (rec = btfParseFields(map.btf, map.btfValueTypeId)));
  return rec;
}

/** The special field overlapping bytes [off, off+size) of the value, if any (for direct accesses). */
export function specialFieldAt(rec: BtfRecord | undefined, off: number, size: number): BtfField | undefined {
  return rec?.fields.find((f) => off < f.off + f.size && off + size > f.off);
}
