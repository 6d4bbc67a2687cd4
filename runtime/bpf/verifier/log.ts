/**
 * The verifier log (kernel/bpf/log.c bpf_verifier_log, bpf_log, verbose)
 * and VerifierError, the BpfError subclass a rejected program throws.
 *
 *   log_level 1 (BPF_LOG_LEVEL1): every instruction as it is checked
 *       ("12: (79) r1 = *(u64 *)(r1 +8)"), source lines from BTF.ext
 *       ("; return a + b; @ file.c:12"), branch states ("from 4 to 9: ..."),
 *       the error and the summary line
 *   log_level 2 (BPF_LOG_LEVEL2): additionally the register state after
 *       every instruction ("; R0_w=scalar(smin=...)")
 *   log_level 4 (BPF_LOG_STATS): only the summary ("processed N insns ...")
 *
 * A VerifierError's message is the one-line summary, naming the rejected
 * instruction ("func 'f' doesn't have 3-th argument: insn 2: (79) r1 = ...");
 * `log` holds the full level-1 text, as libbpf prints it between
 * "-- BEGIN PROG LOAD LOG --" and "-- END PROG LOAD LOG --".
 */
import { EINVAL } from "../../errno.js";
import { BpfError, type BpfErrorOptions } from "../../errors.js";

/** BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS. */
export const BPF_LOG_LEVEL1 = 1;
export const BPF_LOG_LEVEL2 = 2;
export const BPF_LOG_STATS = 4;

/** A program rejected by the verifier. */
export class VerifierError extends BpfError {
  /** The verifier log (level 1 at least). */
  readonly log: string;
  /** The reason alone ("frame pointer is read only"). */
  readonly reason: string;
  /** Index of the rejected instruction, when there is one. */
  readonly insnIdx: number | undefined;

  constructor(
    reason: string,
    opts: BpfErrorOptions & { errno?: number; log?: string; insnIdx?: number; insnText?: string } = {},
  ) {
    const where =
      opts.insnIdx !== undefined ? `: insn ${opts.insnIdx}${opts.insnText ? `: ${opts.insnText}` : ""}` : "";
    super(opts.errno ?? EINVAL, `${reason}${where}`, opts);
    this.reason = reason;
    this.log = opts.log ?? "";
    this.insnIdx = opts.insnIdx;
  }
}

/** struct bpf_verifier_log: a text buffer with a level. */
export class VerifierLog {
  readonly level: number;
  #text = "";

  constructor(level = 0) {
    this.level = level;
  }

  /** True when instruction-level output is wanted (level 1 or 2). */
  get verbose(): boolean {
    return (this.level & (BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2)) !== 0;
  }

  /** True for log_level 2 (full states). */
  get level2(): boolean {
    return (this.level & BPF_LOG_LEVEL2) !== 0;
  }

  /** verbose(env, ...): append text (lines end with "\n" as in the kernel). */
  write(text: string): void {
    if (this.verbose) this.#text += text;
  }

  /** Append a whole line. */
  line(text: string): void {
    this.write(`${text}\n`);
  }

  /** Append regardless of level (the statistics line, errors). */
  always(text: string): void {
    this.#text += text;
  }

  get text(): string {
    return this.#text;
  }

  /** Length of the text so far (to see whether a step printed anything). */
  get length(): number {
    return this.#text.length;
  }

  /**
   * Put `suffix` at the end of the last line when nothing was written since
   * `mark` (the instruction line); otherwise on a line of its own, as the
   * kernel's print_insn_state does.
   */
  appendAfter(mark: number, suffix: string, pad: number): void {
    if (!this.verbose) return;
    if (this.#text.length === mark && this.#text.endsWith("\n")) {
      const lastLine = this.#text.slice(this.#text.lastIndexOf("\n", this.#text.length - 2) + 1, -1);
      this.#text = `${this.#text.slice(0, -1)}${" ".repeat(Math.max(1, pad - lastLine.length))}; ${suffix}\n`;
    } else {
      this.#text += `${" ".repeat(pad)}; ${suffix}\n`;
    }
  }
}
