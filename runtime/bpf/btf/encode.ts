/**
 * A minimal .BTF encoder (the on-disk format of include/uapi/linux/btf.h,
 * see types.ts): types are appended as raw records, strings are interned.
 * Used to build hand-made BTF for tests, including deliberately malformed
 * blobs (the encoder checks nothing).
 *
 *   const b = new BtfEncoder();
 *   b.type("int", BTF_KIND_INT, 0, false, 4, (BTF_INT_SIGNED << 24) | 32); // id 1
 *   const bytes = b.build();
 */

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
   * Append one type: name, kind, vlen, kind_flag, size-or-type, then the
   * kind's extra u32 words (members, params, values, ...).
   */
  type(name: string, kind: number, vlen: number, kflag: boolean, sizeOrType: number, ...extra: number[]): this {
    this.#words.push(this.str(name), (((kflag ? 1 : 0) << 31) | (kind << 24) | vlen) >>> 0, sizeOrType, ...extra);
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
