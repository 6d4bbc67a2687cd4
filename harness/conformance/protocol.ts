/**
 * The bpf_conformance plugin protocol (Alan-Jowett/bpf_conformance
 * src/bpf_conformance.cc, and ubpf's plugin as the reference
 * implementation):
 *
 *   argv[1]   input memory: hex bytes separated by spaces ("01  02  ff "),
 *             possibly empty; anything starting with "--" is an option
 *   argv[2]   plugin options, as one string ("--interpret", "--jit", "");
 *             ours also takes "--kernel" (JIT on the full simulated kernel)
 *   --program <hex>   the program on the command line instead of stdin
 *   stdin     the program: one line of hex bytes, 8 per instruction
 *   stdout    r0 in hex, no prefix ("2a"), then a newline; exit 0
 *   failure   a message on stderr, exit 1 (the suite then compares the
 *             expected error text, if any, with our stdout, which is empty)
 */

/** What the command line asks for. */
export interface PluginArgs {
  /** Input memory (r1 points at a copy, r2 = its length). */
  readonly memory: Uint8Array;
  /** The program text given with --program, if any. */
  readonly program?: string;
  /** Use the reference interpreter instead of the JIT. */
  readonly interpret: boolean;
  /** Run the JITed program on the full simulated kernel instead of the bare machine. */
  readonly kernel: boolean;
}

/** A usage error of the plugin's command line. */
export class PluginUsageError extends Error {}

/** Bytes of a space-separated hex string ("b7 00 00 00 2a 00 00 00"). Empty tokens are skipped. */
export function decodeHex(text: string): Uint8Array {
  const out: number[] = [];
  for (const tok of text.trim().split(/\s+/)) {
    if (tok === "") continue;
    if (!/^(0x)?[0-9a-fA-F]{1,2}$/.test(tok)) throw new PluginUsageError(`invalid hex byte: ${JSON.stringify(tok)}`);
    out.push(parseInt(tok.replace(/^0x/, ""), 16));
  }
  return Uint8Array.from(out);
}

/** Parse the plugin's argv (after the command name). */
export function parsePluginArgs(argv: readonly string[]): PluginArgs {
  let memory: Uint8Array = new Uint8Array(0);
  let program: string | undefined;
  let interpret = false;
  let kernel = false;
  let i = 0;
  if (argv.length > 0 && !argv[0].trimStart().startsWith("--")) memory = decodeHex(argv[i++]);
  for (; i < argv.length; i++) {
    // Options may arrive as one argument holding several words ("--interpret --jit").
    const words = argv[i].split(/\s+/).filter((w) => w !== "");
    for (let w = 0; w < words.length; w++) {
      const a = words[w];
      if (a === "--jit") interpret = false;
      else if (a === "--interpret") interpret = true;
      else if (a === "--kernel") kernel = true;
      else if (a === "--program") {
        // The program is the rest of this argument, or the next argument.
        if (w + 1 < words.length) program = words.slice(w + 1).join(" ");
        else if (i + 1 < argv.length) program = argv[++i];
        else throw new PluginUsageError("--program needs the program's hex bytes");
        break;
      } else throw new PluginUsageError(`invalid argument: ${a}`);
    }
  }
  return { memory, program, interpret, kernel };
}
