import test from "ava";
import { E2BIG, EEXIST, EINVAL, ENOENT } from "../../errno.js";
import { Kernel } from "../../kernel/kernel.js";
import {
  BPF_ARRAY_ELEM_SIZE_OFF,
  BPF_ARRAY_INDEX_MASK_OFF,
  BPF_ARRAY_MAX_ENTRIES_OFF,
  BPF_ARRAY_PTRS_OFF,
  BPF_MAP_KEY_SIZE_OFF,
  BPF_MAP_MAP_TYPE_OFF,
  BPF_MAP_VALUE_SIZE_OFF,
} from "../kernel_structs.js";
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_MMAPABLE,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_NOEXIST,
} from "../object/uapi.js";
import { ArrayMap } from "./array.js";
import { bpfMapCreate } from "./create.js";
import { HashMap } from "./hash.js";
import { MapError, type MapEnv } from "./map.js";
import { ProgArrayMap } from "./prog_array.js";

function withEnv(fn: (env: MapEnv, k: Kernel) => void): void {
  const k = new Kernel({ cpus: 2 });
  try {
    fn({ memory: k.machine.memory, slab: k.slab, ncpus: 2 }, k);
  } finally {
    k.close();
  }
}

const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
const u64 = (v: bigint) => new Uint8Array(new BigUint64Array([v]).buffer);

test("array maps live in kernel memory with struct bpf_array's layout (elem_size rounded up to 8)", (t) => {
  withEnv((env) => {
    const m = bpfMapCreate(env, {
      mapType: BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: 12,
      maxEntries: 5,
      name: "arr",
    }) as ArrayMap;
    const mem = env.memory;
    t.is(mem.read32(m.addr + BigInt(BPF_MAP_MAP_TYPE_OFF)), BPF_MAP_TYPE_ARRAY);
    t.is(mem.read32(m.addr + BigInt(BPF_MAP_KEY_SIZE_OFF)), 4);
    t.is(mem.read32(m.addr + BigInt(BPF_MAP_VALUE_SIZE_OFF)), 12);
    t.is(mem.read32(m.addr + BigInt(BPF_ARRAY_MAX_ENTRIES_OFF)), 5);
    t.is(mem.read32(m.addr + BigInt(BPF_ARRAY_ELEM_SIZE_OFF)), 16, "round_up(12, 8)");
    t.is(mem.read32(m.addr + BigInt(BPF_ARRAY_INDEX_MASK_OFF)), 7, "roundup_pow_of_two(5) - 1");
    t.is(m.lookupElemAddr(u32(3), 0), m.addr + BigInt(BPF_ARRAY_PTRS_OFF + 3 * 16));
    t.is(m.lookupElemAddr(u32(5), 0), 0n, "out of range: NULL");
    const v = new Uint8Array(12).fill(0xab);
    m.update(u32(2), v);
    t.deepEqual(mem.readBytes(m.elemAddr(2), 12), v, "value written where BPF code reads it");
    t.deepEqual(m.lookup(u32(2)), v);
    t.is(m.lookup(u32(7)), undefined);
    // The kernel's errnos.
    t.is(m.updateElemBpf(u32(9), v, BigInt(BPF_ANY), 0), -E2BIG);
    t.is(m.updateElemBpf(u32(0), v, BigInt(BPF_NOEXIST), 0), -EEXIST);
    t.is(m.updateElemBpf(u32(0), v, 4n, 0), -EINVAL);
    t.is(m.updateElemBpf(u32(0), v, BigInt(BPF_EXIST), 0), 0);
    t.is(m.deleteElemBpf(), -EINVAL);
    t.is(t.throws(() => m.update(u32(5), v), { instanceOf: MapError })?.errno, E2BIG);
    t.is(t.throws(() => m.delete(u32(0)), { instanceOf: MapError })?.errno, EINVAL);
    t.deepEqual(m.getNextKey(undefined), u32(0));
    t.deepEqual(m.getNextKey(u32(3)), u32(4));
    t.is(m.getNextKey(u32(4)), undefined);
    const live = env.slab.kmalloc(8);
    env.slab.kfree(live);
    const before = (env.slab as unknown as { live: number }).live;
    m.free();
    t.is((env.slab as unknown as { live: number }).live, before - 1);
  });
});

test("array map creation checks: key_size 4, value_size and max_entries non-zero", (t) => {
  withEnv((env) => {
    for (const bad of [
      { keySize: 8, valueSize: 4, maxEntries: 1 },
      { keySize: 4, valueSize: 0, maxEntries: 1 },
      { keySize: 4, valueSize: 4, maxEntries: 0 },
    ]) {
      const e = t.throws(() => bpfMapCreate(env, { mapType: BPF_MAP_TYPE_ARRAY, ...bad }), { instanceOf: MapError });
      t.is(e?.errno, EINVAL);
    }
    t.is(
      t.throws(
        () =>
          bpfMapCreate(env, { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: "bad-name" }),
        { instanceOf: MapError },
      )?.errno ?? 0,
      EINVAL,
    );
    t.is(
      t.throws(
        () =>
          bpfMapCreate(env, {
            mapType: BPF_MAP_TYPE_HASH,
            keySize: 4,
            valueSize: 4,
            maxEntries: 1,
            mapFlags: BPF_F_MMAPABLE,
          }),
        { instanceOf: MapError },
      )?.errno ?? 0,
      EINVAL,
    );
    t.is(
      t.throws(() => bpfMapCreate(env, { mapType: 27, keySize: 0, valueSize: 0, maxEntries: 4096 }), {
        instanceOf: MapError,
      })?.errno ?? 0,
      EINVAL,
    );
  });
});

test("percpu arrays: one copy per CPU, user space sees all of them", (t) => {
  withEnv((env) => {
    const m = bpfMapCreate(env, {
      mapType: BPF_MAP_TYPE_PERCPU_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 2,
    }) as ArrayMap;
    t.not(m.lookupElemAddr(u32(1), 0), m.lookupElemAddr(u32(1), 1));
    t.is(m.updateElemBpf(u32(1), u32(10), 0n, 0), 0);
    t.is(m.updateElemBpf(u32(1), u32(20), 0n, 1), 0);
    t.deepEqual(
      m.lookup(u32(1)),
      new Uint8Array([10, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0]),
      "round_up(4, 8) per CPU",
    );
    t.is(m.userValueSize, 16);
    m.free();
  });
});

test("hash maps: flags and errnos as htab_map_update_elem, value addresses stable until the element is replaced", (t) => {
  withEnv((env) => {
    const m = bpfMapCreate(env, { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 2 }) as HashMap;
    t.is(m.lookupElemAddr(u32(1)), 0n);
    t.is(m.updateElemBpf(u32(1), u64(11n), BigInt(BPF_EXIST)), -ENOENT, "EXIST on a missing key");
    t.is(m.updateElemBpf(u32(1), u64(11n), BigInt(BPF_NOEXIST)), 0);
    t.is(m.updateElemBpf(u32(1), u64(12n), BigInt(BPF_NOEXIST)), -EEXIST);
    const a1 = m.lookupElemAddr(u32(1));
    t.is(env.memory.read64(a1), 11n);
    t.is(m.updateElemBpf(u32(2), u64(22n), BigInt(BPF_ANY)), 0);
    t.is(m.updateElemBpf(u32(3), u64(33n), BigInt(BPF_ANY)), -E2BIG, "full");
    // Replacing uses the CPU's spare element: it works on a full map.
    t.is(m.updateElemBpf(u32(1), u64(13n), BigInt(BPF_EXIST), 0), 0);
    const a2 = m.lookupElemAddr(u32(1));
    t.not(a2, a1, "a fresh element was swapped in");
    t.is(env.memory.read64(a2), 13n);
    t.is(env.memory.read64(a1), 11n, "the old element keeps its value until reused");
    t.is(m.deleteElemBpf(u32(2)), 0);
    t.is(m.deleteElemBpf(u32(2)), -ENOENT);
    t.is(m.updateElemBpf(u32(1), u64(1n), 3n), -EINVAL);
    t.deepEqual(m.lookup(u32(1)), u64(13n));
    t.deepEqual(m.getNextKey(undefined), u32(1));
    t.is(m.getNextKey(u32(1)), undefined);
    t.is(t.throws(() => m.delete(u32(9)), { instanceOf: MapError })?.errno, ENOENT);
    t.is(t.throws(() => m.update(u32(9), new Uint8Array(4)), { instanceOf: MapError })?.errno, EINVAL, "value size");
    t.is(
      t.throws(() => bpfMapCreate(env, { mapType: BPF_MAP_TYPE_HASH, keySize: 600, valueSize: 8, maxEntries: 1 }), {
        instanceOf: MapError,
      })?.errno ?? 0,
      E2BIG,
    );
    m.free();
  });
});

test("prog arrays hold struct bpf_prog pointers where the JIT's tail call reads them", (t) => {
  withEnv((env) => {
    const m = bpfMapCreate(env, {
      mapType: BPF_MAP_TYPE_PROG_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 4,
    }) as ProgArrayMap;
    t.is(env.memory.read32(m.addr + BigInt(BPF_ARRAY_MAX_ENTRIES_OFF)), 4);
    m.setProg(2, { addr: 0x4400_1000n, name: "tail", progType: 3, fd: 7 });
    t.is(env.memory.read64(m.addr + BigInt(BPF_ARRAY_PTRS_OFF + 16)), 0x4400_1000n);
    t.deepEqual(m.lookup(u32(2)), u32(7));
    t.is(
      t.throws(() => m.setProg(1, { addr: 0x4400_2000n, name: "other", progType: 26, fd: 8 }))?.message ?? "",
      "prog array '': program 'other' has another type than the array's programs",
    );
    t.is(
      t.throws(() => m.setProg(4, { addr: 1n, name: "x", progType: 3, fd: 9 }), { instanceOf: MapError })?.errno,
      E2BIG,
    );
    m.dropProg(0x4400_1000n);
    t.is(env.memory.read64(m.addr + BigInt(BPF_ARRAY_PTRS_OFF + 16)), 0n);
    t.is(m.lookupElemAddr(), 0n, "BPF programs cannot look up prog arrays");
    t.is(t.throws(() => m.delete(u32(2)), { instanceOf: MapError })?.errno, ENOENT);
    m.free();
  });
});
