/**
 * A seeded corpus of malformed inputs for the ELF and BTF parsers (used by
 * their tests and by a loader fuzzer): deterministic mutations of a valid
 * file, so a failure reproduces from (input, seed, index).
 *
 * Mutation kinds, chosen per case:
 *   truncate   cut the file at a random length
 *   flip       flip 1..8 random bits
 *   field      overwrite an aligned u16/u32/u64 inside the first `hot`
 *              bytes (headers, where offsets and counts live) with an
 *              extreme value (0, all ones, a large or a small number)
 *   splice     copy a random chunk of the file over another place
 *   random     replace the whole file with random bytes of similar size
 */

/** mulberry32: a small, fast, seeded PRNG returning [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One mutated input and how it was made. */
export interface Mutant {
  index: number;
  kind: "truncate" | "flip" | "field" | "splice" | "random";
  bytes: Uint8Array;
}

/** Options of {@link mutants}. */
export interface MutantOptions {
  seed: number;
  count: number;
  /** Bytes at the start where header fields live (default 512). */
  hot?: number;
  /** Extra field offsets worth hitting (section header table, BTF header, ...). */
  fieldOffsets?: readonly number[];
}

const EXTREMES = [0n, 1n, 0xffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 0xffffffffffffffffn, 0x8000000000000000n, 0x10000n];

/** `count` deterministic mutants of `base`. */
export function* mutants(base: Uint8Array, opts: MutantOptions): Generator<Mutant> {
  const rnd = prng(opts.seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const hot = Math.min(opts.hot ?? 512, base.length);
  const kinds: Mutant["kind"][] = ["truncate", "flip", "field", "field", "splice", "random"];
  for (let index = 0; index < opts.count; index++) {
    const kind = kinds[int(kinds.length)];
    let bytes = base.slice();
    switch (kind) {
      case "truncate":
        bytes = bytes.slice(0, int(base.length));
        break;
      case "flip":
        for (let i = 1 + int(8); i > 0; i--) bytes[int(bytes.length)] ^= 1 << int(8);
        break;
      case "field": {
        const width = [2, 4, 8][int(3)];
        const offsets = opts.fieldOffsets ?? [];
        const off =
          offsets.length && rnd() < 0.5
            ? offsets[int(offsets.length)]
            : Math.floor(int(Math.max(1, hot - width)) / width) * width;
        const value = rnd() < 0.7 ? EXTREMES[int(EXTREMES.length)] : BigInt(int(0x100000));
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (off + width <= bytes.length) {
          if (width === 2) view.setUint16(off, Number(value & 0xffffn), true);
          else if (width === 4) view.setUint32(off, Number(value & 0xffffffffn), true);
          else view.setBigUint64(off, value, true);
        }
        break;
      }
      case "splice": {
        const len = 1 + int(64);
        const from = int(Math.max(1, base.length - len));
        const to = int(Math.max(1, base.length - len));
        bytes.set(base.subarray(from, from + len), to);
        break;
      }
      case "random":
        bytes = new Uint8Array(int(base.length + 64));
        for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
        break;
    }
    yield { index, kind, bytes };
  }
}
