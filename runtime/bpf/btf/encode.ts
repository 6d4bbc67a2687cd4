/**
 * A minimal .BTF encoder (the on-disk format of include/uapi/linux/btf.h,
 * see types.ts): types are appended as raw records, strings are interned.
 * Used to build hand-made BTF for tests, including deliberately malformed
 * blobs (the encoder checks nothing).
 *
 *   const b = new BtfEncoder();
 *   b.type(BTF_KIND_INT, { name: "int", sizeOrType: 4, extra: [(BTF_INT_SIGNED << 24) | 32] }); // id 1
 *   const bytes = b.build();
 */

/** The fields of one raw type record (missing ones are 0 / empty). */
export interface BtfRecord {
  name?: string;
  vlen?: number;
  kflag?: boolean;
  /** The size or type field, as the kind uses it. */
  sizeOrType?: number;
  /** Words after the 12-byte header. */
  extra?: number[];
}

/** Appends raw BTF type records and builds the section bytes. */
export class BtfEncoder {
  #strings = "\0";
  #words: number[] = [];

  /** Offset of `s` in the string section (interned; "" is 0). */
  str(s: string): number {
    if (!s) return 0;
    const at = this.#strings.indexOf(`\0${s}\0`);
    if (at >= 0) return at + 1;
    const off = this.#strings.length;
    this.#strings += `${s}\0`;
    return off;
  }

  /**
   * Append one `struct btf_type` of `kind` (BTF_KIND_*) followed by the
   * kind's extra u32 words (members, params, values, ...).
   */
  type(kind: number, rec: BtfRecord = {}): this {
    const info = ((rec.kflag ? 1 : 0) << 31) | (kind << 24) | (rec.vlen ?? 0);
    this.#words.push(this.str(rec.name ?? ""), info >>> 0, rec.sizeOrType ?? 0, ...(rec.extra ?? []));
    return this;
  }

  /** The .BTF bytes; `patch` may rewrite the 24-byte header before return. */
  build(patch?: (header: DataView) => void): Uint8Array {
    const strings = Buffer.from(this.#strings, "latin1");
    const typeLen = this.#words.length * 4;
    const out = new Uint8Array(24 + typeLen + strings.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, true);
    v.setUint8(2, 1);
    v.setUint32(4, 24, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, typeLen, true);
    v.setUint32(16, typeLen, true);
    v.setUint32(20, strings.length, true);
    this.#words.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
    out.set(strings, 24 + typeLen);
    patch?.(v);
    return out;
  }
}
