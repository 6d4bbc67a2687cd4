/**
 * BTF-defined maps (libbpf.c parse_btf_map_def(), bpf_object__init_user_btf_maps()):
 * every VAR of the `.maps` DATASEC is a struct whose members encode the
 * map's attributes in their types.
 *
 *   struct {                                   member           BTF shape
 *       __uint(type, BPF_MAP_TYPE_HASH);       int (*type)[1]   PTR → ARRAY(nelems = 1)
 *       __uint(max_entries, 16);               int (*max_entries)[16]
 *       __type(key, __u32);                    __u32 *key       PTR → key type
 *       __type(value, __u64);                  __u64 *value     PTR → value type
 *       __array(values, struct prog_fn);       struct prog_fn *values[]  ARRAY(0) of PTR
 *   } name SEC(".maps");
 *
 * Messages are libbpf's ("map 'x': attr 'y': expected PTR, got ARRAY.",
 * "map 'x': conflicting key size 4 != 8.", "map 'x': unknown field 'z'.").
 */
import { E2BIG, EINVAL, ENOTSUPP } from "../../errno.js";
import type { Btf } from "../btf/btf.js";
import { describeKind } from "../btf/btf.js";
import type { BtfDatasec } from "../btf/types.js";
import { ObjectError } from "./errors.js";

/** A parsed BTF map definition (struct btf_map_def). */
export interface BtfMapDef {
  name: string;
  /** Offset of the variable in .maps. */
  secOffset: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  keyTypeId: number;
  valueTypeId: number;
  /** `values` is present (prog array / map-in-map initial slots). */
  hasValues: boolean;
}

const UINT_FIELDS = new Set([
  "type",
  "max_entries",
  "map_flags",
  "numa_node",
  "map_extra",
  "pinning",
  "key_size",
  "value_size",
]);

/** The nelems of `int (*name)[N]` (get_map_field_int). */
function mapFieldInt(btf: Btf, mapName: string, field: string, typeId: number): number {
  const ptr = btf.type(typeId);
  if (ptr.kind !== "ptr") {
    throw new ObjectError(
      EINVAL,
      `map '${mapName}': attr '${field}': expected PTR, got ${describeKind(ptr).split(" ")[0]}.`,
    );
  }
  const arr = btf.type(ptr.type);
  if (arr.kind !== "array") {
    throw new ObjectError(
      EINVAL,
      `map '${mapName}': attr '${field}': type [${ptr.type}] is not an array, got ${describeKind(arr).split(" ")[0]}.`,
    );
  }
  return arr.nelems;
}

function pointee(btf: Btf, mapName: string, field: string, typeId: number): number {
  const ptr = btf.type(typeId);
  if (ptr.kind !== "ptr") {
    throw new ObjectError(EINVAL, `map '${mapName}': ${field} spec is not PTR: ${describeKind(ptr).split(" ")[0]}.`);
  }
  return ptr.type;
}

/** parse_btf_map_def() for the variable `name` of type `typeId`. */
export function parseBtfMapDef(btf: Btf, name: string, typeId: number, secOffset: number): BtfMapDef {
  const t = btf.resolved(typeId);
  if (t.kind !== "struct") {
    throw new ObjectError(EINVAL, `map '${name}': unexpected def kind ${describeKind(t).split(" ")[0]}.`);
  }
  const def: BtfMapDef = {
    name,
    secOffset,
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    mapFlags: 0,
    keyTypeId: 0,
    valueTypeId: 0,
    hasValues: false,
  };
  const setSize = (what: "key" | "value", size: number): void => {
    const cur = what === "key" ? def.keySize : def.valueSize;
    if (cur && cur !== size)
      throw new ObjectError(EINVAL, `map '${name}': conflicting ${what} size ${cur} != ${size}.`);
    if (what === "key") def.keySize = size;
    else def.valueSize = size;
  };
  for (const m of t.members) {
    if (!m.name) throw new ObjectError(EINVAL, `map '${name}': invalid field #${t.members.indexOf(m)}.`);
    if (UINT_FIELDS.has(m.name)) {
      const v = mapFieldInt(btf, name, m.name, m.type);
      if (m.name === "type") def.type = v;
      else if (m.name === "max_entries") def.maxEntries = v;
      else if (m.name === "map_flags") def.mapFlags = v;
      else if (m.name === "key_size") setSize("key", v);
      else if (m.name === "value_size") setSize("value", v);
      else if (m.name === "pinning" && v !== 0) {
        throw new ObjectError(ENOTSUPP, `map '${name}': pinning is not supported by this runtime (pinning = ${v}).`);
      }
      continue;
    }
    if (m.name === "key" || m.name === "value") {
      const id = pointee(btf, name, m.name, m.type);
      let size: number;
      try {
        size = btf.sizeof(id);
      } catch {
        throw new ObjectError(EINVAL, `map '${name}': can't determine ${m.name} size for type [${id}].`);
      }
      if (size > 0xffffffff) throw new ObjectError(E2BIG, `map '${name}': ${m.name} size too big.`);
      setSize(m.name, size);
      if (m.name === "key") def.keyTypeId = id;
      else def.valueTypeId = id;
      continue;
    }
    if (m.name === "values") {
      const arr = btf.type(m.type);
      if (arr.kind !== "array" || arr.nelems !== 0) {
        throw new ObjectError(EINVAL, `map '${name}': multi-dimensional/non-empty 'values' array is not supported.`);
      }
      const elem = btf.type(arr.type);
      if (elem.kind !== "ptr") {
        throw new ObjectError(EINVAL, `map '${name}': map value type (${describeKind(elem)}) is not a pointer.`);
      }
      def.hasValues = true;
      continue;
    }
    throw new ObjectError(ENOTSUPP, `map '${name}': unknown field '${m.name}'.`);
  }
  if (def.type === 0) throw new ObjectError(EINVAL, `map '${name}': map type isn't specified.`);
  if (def.hasValues) {
    // A prog array's (or map-in-map's) value is the 4-byte fd of the inner object.
    if (def.valueSize && def.valueSize !== 4) {
      throw new ObjectError(EINVAL, `map '${name}': conflicting value size ${def.valueSize} != 4.`);
    }
    def.valueSize = 4;
  }
  return def;
}

/** Every map of the `.maps` DATASEC (bpf_object__init_user_btf_maps). */
export function parseBtfMaps(btf: Btf, datasec: BtfDatasec): BtfMapDef[] {
  return datasec.vars.map((vsi) => {
    const v = btf.type(vsi.type);
    if (v.kind !== "var") {
      throw new ObjectError(EINVAL, `map #${datasec.vars.indexOf(vsi)}: unexpected var kind ${describeKind(v)}.`);
    }
    if (v.linkage !== "global" && v.linkage !== "static") {
      throw new ObjectError(ENOTSUPP, `map '${v.name}': unsupported map linkage ${v.linkage}.`);
    }
    return parseBtfMapDef(btf, v.name, v.type, vsi.offset);
  });
}
