/**
 * C printf formatting for ported test code (`testLog("%s: %lld\n", ...)`,
 * `check(cond, tag, fmt, ...)`), so that messages read like the kernel's.
 *
 * Supports %[flags][width][.precision][length]conversion with flags `-+ 0#`,
 * `*` width/precision, lengths hh h l ll z j t L (they select 32- or 64-bit
 * wrap-around for negative values of %u %x %X %o), conversions
 * d i u x X o c s p f F e E g G %.
 *
 * Simplifications: values are JavaScript numbers, bigints, booleans, strings
 * or null; %p prints `0x<hex>` for numbers and bigints and `(nil)` for 0 or
 * null; %s of null prints `(null)`; a missing argument is an error
 * (C's undefined behaviour made loud).
 */
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";

/** What printf accepts as an argument. */
export type PrintfArg = number | bigint | boolean | string | null | undefined;

const SPEC = /%([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|z|j|t|L|q)?([diuxXocspfFeEgG%])/g;

interface Flags {
  left: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  alt: boolean;
}

function toBigInt(v: PrintfArg, conv: string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "number") return BigInt(Math.trunc(v));
  if (v === null) return 0n;
  throw new BpfError(EINVAL, `printf: %${conv} needs a number: ${String(v)}`);
}

function pad(body: string, width: number, flags: Flags, numeric: boolean): string {
  if (body.length >= width) return body;
  if (flags.left) return body.padEnd(width);
  if (flags.zero && numeric) {
    const sign = /^[-+ ]|^0[xX]/.exec(body)?.[0] ?? "";
    return sign + body.slice(sign.length).padStart(width - sign.length, "0");
  }
  return body.padStart(width);
}

function formatInt(v: PrintfArg, conv: string, length: string, flags: Flags, precision: number | undefined): string {
  let n = toBigInt(v, conv);
  const bits =
    length === "l" || length === "ll" || length === "z" || length === "j" || length === "t" || length === "q" ? 64 : 32;
  const signed = conv === "d" || conv === "i";
  n = signed ? BigInt.asIntN(bits, n) : BigInt.asUintN(bits, n);
  const neg = n < 0n;
  const mag = neg ? -n : n;
  const radix = conv === "x" || conv === "X" ? 16 : conv === "o" ? 8 : 10;
  let digits = mag.toString(radix);
  if (conv === "X") digits = digits.toUpperCase();
  if (precision !== undefined) digits = precision === 0 && mag === 0n ? "" : digits.padStart(precision, "0");
  let prefix = "";
  if (flags.alt && mag !== 0n && (conv === "x" || conv === "X")) prefix = conv === "x" ? "0x" : "0X";
  if (flags.alt && conv === "o" && !digits.startsWith("0")) prefix = "0";
  const sign = neg ? "-" : signed && flags.plus ? "+" : signed && flags.space ? " " : "";
  return sign + prefix + digits;
}

/**
 * %f as glibc prints a double: the exact binary value rounded to `p`
 * digits, ties to even (JavaScript's toFixed breaks ties upwards:
 * 0.25 → "0.3", C gives "0.2").
 */
function toFixedC(x: number, p: number): string {
  if (Math.abs(x) >= 1e21 || p > 80) return x.toFixed(Math.min(p, 100));
  const exact = x.toFixed(100); // exact for |x| >= 2^-48; digits past 100 cannot make a tie
  const neg = exact.startsWith("-");
  const [int, frac] = (neg ? exact.slice(1) : exact).split(".");
  const keep = int + frac.slice(0, p);
  const rest = frac.slice(p);
  const tie = /^50*$/.test(rest);
  const up = rest[0] > "5" || (rest[0] === "5" && (!tie || Number(keep[keep.length - 1]) % 2 === 1));
  let digits = (BigInt(keep) + (up ? 1n : 0n)).toString().padStart(keep.length, "0");
  if (digits.length < p + 1) digits = digits.padStart(p + 1, "0");
  const intPart = digits.slice(0, digits.length - p) || "0";
  const body = p > 0 ? `${intPart}.${digits.slice(digits.length - p)}` : intPart;
  return neg ? `-${body}` : body;
}

/** %g: %e or %f, whichever C's rule picks, trailing zeros dropped (kept with '#'). */
function formatG(x: number, p: number, alt: boolean): string {
  const exp = Number(x.toExponential(p - 1).split("e")[1]);
  let body: string;
  if (exp < -4 || exp >= p) {
    body = x.toExponential(p - 1).replace(/e([+-])(\d)$/, "e$10$2");
    if (!alt) body = body.replace(/\.?0+e/, "e");
  } else {
    body = x.toFixed(p - 1 - exp);
    if (!alt && body.includes(".")) body = body.replace(/\.?0+$/, "");
  }
  return body;
}

function formatFloat(v: PrintfArg, conv: string, flags: Flags, precision: number | undefined): string {
  const x = typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : Number(toBigInt(v, conv));
  const p = precision ?? 6;
  let body: string;
  const lower = conv.toLowerCase();
  if (!Number.isFinite(x)) body = Number.isNaN(x) ? "nan" : x < 0 ? "-inf" : "inf";
  else if (lower === "f") body = toFixedC(x, p);
  else if (lower === "e") body = x.toExponential(p).replace(/e([+-])(\d)$/, "e$10$2");
  else body = formatG(x, p === 0 ? 1 : p, flags.alt);
  if (conv === conv.toUpperCase()) body = body.toUpperCase();
  if (x >= 0 && flags.plus) body = `+${body}`;
  else if (x >= 0 && flags.space) body = ` ${body}`;
  return body;
}

/**
 * Format `fmt` like C's printf. Throws a BpfError (EINVAL) when an argument
 * is missing or has the wrong kind.
 */
export function cFormat(fmt: string, args: readonly PrintfArg[]): string {
  let argi = 0;
  const take = (conv: string): PrintfArg => {
    if (argi >= args.length) throw new BpfError(EINVAL, `printf: missing argument for %${conv}: '${fmt}'`);
    return args[argi++];
  };
  return fmt.replace(SPEC, (_m, flagStr: string, widthStr, precStr, length: string | undefined, conv: string) => {
    if (conv === "%") return "%";
    const flags: Flags = {
      left: flagStr.includes("-"),
      plus: flagStr.includes("+"),
      space: flagStr.includes(" "),
      zero: flagStr.includes("0"),
      alt: flagStr.includes("#"),
    };
    let width = 0;
    if (widthStr === "*") {
      width = Number(toBigInt(take("*"), "*"));
      if (width < 0) {
        flags.left = true;
        width = -width;
      }
    } else if (widthStr !== undefined) width = Number(widthStr);
    let precision: number | undefined;
    if (precStr === "*") precision = Math.max(0, Number(toBigInt(take("*"), "*")));
    else if (precStr !== undefined) precision = precStr === "" ? 0 : Number(precStr);
    const v = take(conv);
    switch (conv) {
      case "s": {
        let s = v === null || v === undefined ? "(null)" : String(v);
        if (precision !== undefined) s = s.slice(0, precision);
        return pad(s, width, flags, false);
      }
      case "c": {
        const s = typeof v === "string" ? v.slice(0, 1) : String.fromCharCode(Number(toBigInt(v, conv) & 0xffn));
        return pad(s, width, flags, false);
      }
      case "p": {
        const n = v === null || v === undefined ? 0n : BigInt.asUintN(64, toBigInt(v, conv));
        return pad(n === 0n ? "(nil)" : `0x${n.toString(16)}`, width, flags, false);
      }
      case "f":
      case "F":
      case "e":
      case "E":
      case "g":
      case "G":
        return pad(formatFloat(v, conv, flags, precision), width, flags, true);
      default:
        return pad(
          formatInt(v, conv, length ?? "", flags, precision),
          width,
          { ...flags, zero: flags.zero && precision === undefined },
          true,
        );
    }
  });
}
