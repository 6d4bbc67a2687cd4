/**
 * Integer arguments of a kernel function call from the command line
 * (`a64bpf kernel call`, `a64bpf trace --call`), checked against the
 * function's BTF prototype before anything runs.
 */
import { EINVAL, ENOTSUPP, ERANGE } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import type { KernelImages } from "../../runtime/kernel/boot.js";

/** An integer argument of the command line: decimal or 0x hex, optionally negative. */
export function parseIntArg(text: string): bigint {
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(text)) throw new BpfError(EINVAL, `invalid integer argument: ${text}`);
  const neg = text.startsWith("-");
  const v = BigInt(neg ? text.slice(1) : text);
  return neg ? -v : v;
}

/**
 * Check `values` against the function's BTF prototype: the arity, and each
 * parameter an integer, enum or pointer of at most 8 bytes (one register or
 * stack slot) that holds the value. Structs, unions and __int128 passed by
 * value are refused: they would need several registers the command line
 * cannot express. Without BTF the values are passed as they are.
 */
export function checkCallArgs(images: KernelImages, func: string, values: readonly bigint[]): bigint[] {
  const f = images.findFunc(func);
  const proto = f?.btf.funcSignature(func)?.proto;
  if (!f || !proto) {
    for (const v of values)
      if (v < -(1n << 63n) || v >= 1n << 64n) throw new BpfError(ERANGE, `${v} does not fit 64 bits`);
    return [...values];
  }
  if (proto.params.length !== values.length) {
    throw new BpfError(EINVAL, `${func} takes ${proto.params.length} arguments, ${values.length} given`);
  }
  return values.map((v, i) => {
    const p = proto.params[i];
    const t = f.btf.resolved(p.type);
    const size = t.kind === "ptr" ? 8 : f.btf.sizeof(p.type);
    const what = `argument ${i + 1} (${p.name || "unnamed"}, ${t.kind}${t.name ? ` ${t.name}` : ""}, ${size} bytes)`;
    if ((t.kind !== "int" && t.kind !== "enum" && t.kind !== "enum64" && t.kind !== "ptr") || size > 8) {
      throw new BpfError(
        ENOTSUPP,
        `${func}: ${what} is passed by value in several registers; kernel call takes integer, enum and pointer arguments only`,
      );
    }
    const bits = BigInt(size * 8);
    if (v < -(1n << (bits - 1n)) || v >= 1n << bits) {
      throw new BpfError(ERANGE, `${func}: ${v} does not fit ${what}`);
    }
    return BigInt.asUintN(64, v);
  });
}
