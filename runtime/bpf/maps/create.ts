/**
 * map_create() (kernel/bpf/syscall.c): pick the map type's ops, check the
 * common attributes, allocate. Unknown or unimplemented map types are
 * -EINVAL as in a kernel built without them; a bad name is -EINVAL
 * (bpf_obj_name_cpy).
 */
import { EINVAL } from "../../errno.js";
import {
  BPF_F_MMAPABLE,
  BPF_F_NO_PREALLOC,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_OBJ_NAME_LEN,
  MAP_TYPE_NAMES,
} from "../object/uapi.js";
import { ArrayMap } from "./array.js";
import { HashMap } from "./hash.js";
import { MapError, type BpfMap, type MapCreateAttr, type MapEnv } from "./map.js";
import { ProgArrayMap } from "./prog_array.js";

const KNOWN_FLAGS =
  BPF_F_NO_PREALLOC |
  BPF_F_RDONLY |
  BPF_F_WRONLY |
  BPF_F_ZERO_SEED |
  BPF_F_RDONLY_PROG |
  BPF_F_WRONLY_PROG |
  BPF_F_MMAPABLE;

/** bpf_obj_name_cpy(): up to 15 of [A-Za-z0-9_.]. */
export function checkObjName(name: string): void {
  if (name.length >= BPF_OBJ_NAME_LEN || !/^[A-Za-z0-9_.]*$/.test(name)) {
    throw new MapError(EINVAL, `invalid object name: ${JSON.stringify(name)} (up to 15 of [A-Za-z0-9_.])`);
  }
}

/** BPF_MAP_CREATE: a new map in emulated memory, or a MapError. */
export function bpfMapCreate(env: MapEnv, attr: MapCreateAttr): BpfMap {
  const flags = attr.mapFlags ?? 0;
  if (flags & ~KNOWN_FLAGS)
    throw new MapError(EINVAL, `map '${attr.name ?? ""}': unknown map flags 0x${flags.toString(16)}`);
  if (flags & BPF_F_RDONLY_PROG && flags & BPF_F_WRONLY_PROG) {
    throw new MapError(EINVAL, `map '${attr.name ?? ""}': BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together`);
  }
  checkObjName(attr.name ?? "");
  for (const [k, v] of [
    ["key_size", attr.keySize],
    ["value_size", attr.valueSize],
    ["max_entries", attr.maxEntries],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new MapError(EINVAL, `map '${attr.name ?? ""}': invalid ${k}: ${v}`);
  }
  switch (attr.mapType) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      if (flags & BPF_F_MMAPABLE && attr.mapType !== BPF_MAP_TYPE_ARRAY) {
        throw new MapError(EINVAL, "BPF_F_MMAPABLE is only for array maps");
      }
      return new ArrayMap(env, attr);
    case BPF_MAP_TYPE_HASH:
      if (flags & BPF_F_MMAPABLE) throw new MapError(EINVAL, "BPF_F_MMAPABLE is only for array maps");
      return new HashMap(env, attr);
    case BPF_MAP_TYPE_PROG_ARRAY:
      return new ProgArrayMap(env, attr);
    default:
      throw new MapError(
        EINVAL,
        `map '${attr.name ?? ""}': map type ${MAP_TYPE_NAMES[attr.mapType] ?? attr.mapType} is not supported by this kernel`,
      );
  }
}
