/**
 * vsnprintf for printk() and __warn_printk() called from emulated code
 * (lib/vsprintf.c, the common subset): %d %i %u %x %X %o %c %s %p %pS %pF
 * %% with flags `-` `0` `+` ` ` `#`, width, precision, and the length
 * modifiers hh h l ll z t j. Arguments come from an AAPCS64 variadic
 * argument reader (x1..x7, then the stack). A leading KERN_<level> marker
 * ("\x01" + digit) is stripped and returned.
 */

/** Reads the next variadic argument as a 64-bit value. */
export type ArgReader = () => bigint;

export interface FormatEnv {
  readCString(addr: bigint): string;
  symbolize(addr: bigint): string | undefined;
}

export interface Formatted {
  level: number | undefined;
  text: string;
}

const SIZE_BITS: Record<string, number> = { hh: 8, h: 16, "": 32, l: 64, ll: 64, z: 64, t: 64, j: 64 };

/** Format `fmt` with arguments from `next`. */
export function vsnprintf(fmt: string, next: ArgReader, env: FormatEnv): Formatted {
  let level: number | undefined;
  let s = fmt;
  if (s.charCodeAt(0) === 1 && s.length >= 2) {
    const d = s.charCodeAt(1) - 48;
    if (d >= 0 && d <= 7) level = d;
    s = s.slice(2);
  }
  let out = "";
  const re = /%([-0+ #]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|z|t|j)?([diuxXocspn%])/g;
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out += s.slice(last, m.index);
    last = re.lastIndex;
    const [, flags, widthSpec, precSpec, len = "", conv] = m;
    if (conv === "%") {
      out += "%";
      continue;
    }
    const width = widthSpec === "*" ? Number(BigInt.asIntN(32, next())) : widthSpec ? Number(widthSpec) : 0;
    const prec = precSpec === "*" ? Number(BigInt.asIntN(32, next())) : precSpec ? Number(precSpec) : undefined;
    let body: string;
    switch (conv) {
      case "d":
      case "i": {
        const v = BigInt.asIntN(SIZE_BITS[len] ?? 32, next());
        body =
          (v < 0n ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "") + (v < 0n ? -v : v).toString();
        break;
      }
      case "u":
        body = BigInt.asUintN(SIZE_BITS[len] ?? 32, next()).toString();
        break;
      case "x":
      case "X": {
        const v = BigInt.asUintN(SIZE_BITS[len] ?? 32, next()).toString(16);
        body = (flags.includes("#") && v !== "0" ? "0x" : "") + (conv === "X" ? v.toUpperCase() : v);
        break;
      }
      case "o":
        body = BigInt.asUintN(SIZE_BITS[len] ?? 32, next()).toString(8);
        break;
      case "c":
        body = String.fromCharCode(Number(next() & 0xffn));
        break;
      case "s": {
        const p = next();
        const str = p === 0n ? "(null)" : env.readCString(p);
        body = prec === undefined ? str : str.slice(0, prec);
        break;
      }
      case "p": {
        const p = next();
        const ext = s[last];
        if (ext === "S" || ext === "s" || ext === "F" || ext === "f" || ext === "B") {
          last++;
          body = env.symbolize(p) ?? `0x${p.toString(16)}`;
        } else {
          body = `0x${p.toString(16).padStart(16, "0")}`;
        }
        break;
      }
      default:
        body = "";
    }
    if (body.length < width) {
      if (flags.includes("-")) body = body.padEnd(width, " ");
      else if (flags.includes("0") && conv !== "s" && conv !== "c") {
        const sign = /^[-+ ]/.test(body) ? body[0] : "";
        body = sign + body.slice(sign.length).padStart(width - sign.length, "0");
      } else body = body.padStart(width, " ");
    }
    out += body;
  }
  out += s.slice(last);
  return { level, text: out };
}
