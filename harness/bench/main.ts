/**
 * `a64bpf bench [section...] [--json FILE] [--repeats N] [--quick]
 *  [--write-results] [--list]`: the benchmark harness's command line
 * (`npm run bench -- <args>`).
 *
 *   stdout   the markdown table (and the host on one line)
 *   stderr   a progress bar on a TTY, plain progress lines otherwise
 *   exit     0, 1 when a section failed, 2 on a usage error; a slow machine
 *            never fails: budget overruns are warnings
 *
 * Benchmarks are not tests: `npm test` never runs them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../../runtime/paths.js";
import { describeHost } from "./host.js";
import { defaultProgress } from "./progress.js";
import { benchJson, humanReport, resultsMarkdown } from "./report.js";
import { runSections } from "./run.js";
import { SECTIONS } from "./sections/index.js";
import { BenchUsageError, loadSection, selectSections } from "./select.js";

/** Where `--write-results` writes. */
export const RESULTS_PATH = join(PROJECT_ROOT, "bench", "RESULTS.md");

/** Usage text of `a64bpf bench`. */
export function usage(): string {
  return [
    "usage: a64bpf bench [section...] [options]",
    "",
    "Runs the named benchmark sections (all when none is named) plus the sections they",
    "require, and prints a markdown table of medians over repeats.",
    "",
    "options:",
    "  --json FILE        also write the results as JSON to FILE",
    "  --repeats N        timed runs per measurement (default: each section's own)",
    "  --quick            smaller workloads and at most 3 repeats: a smoke run in seconds",
    "  --write-results    write bench/RESULTS.md (table plus machine description)",
    "  --list             list the sections and exit",
    "  -h, --help         this help",
    "",
    `sections: ${SECTIONS.map((s) => s.name).join(", ")}`,
  ].join("\n");
}

/** Parsed command line of `a64bpf bench`. */
export interface BenchArgs {
  sections: string[];
  json?: string;
  repeats?: number;
  quick: boolean;
  writeResults: boolean;
  list: boolean;
  help: boolean;
}

/** Parse `argv` (after "bench"); bad options are a {@link BenchUsageError}. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new BenchUsageError(firstSentence((err as Error).message));
  }
  const { values: v, positionals } = parsed;
  let repeats: number | undefined;
  if (v.repeats !== undefined) {
    repeats = Number(v.repeats);
    if (!/^\d+$/.test(v.repeats) || !Number.isSafeInteger(repeats) || repeats < 1) {
      throw new BenchUsageError(`invalid --repeats: ${v.repeats} (must be a positive integer)`);
    }
  }
  if (v.json === "") throw new BenchUsageError("--json needs a file name");
  return {
    sections: positionals,
    ...(v.json === undefined ? {} : { json: v.json }),
    ...(repeats === undefined ? {} : { repeats }),
    quick: v.quick === true,
    writeResults: v["write-results"] === true,
    list: v.list === true,
    help: v.help === true,
  };
}

/** Node's parseArgs message, first sentence only, in the project's style ("unknown option '--x'"). */
function firstSentence(message: string): string {
  const first = message.split("\n")[0].split(/\.\s/)[0].replace(/\.$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "string" },
      repeats: { type: "string" },
      quick: { type: "boolean" },
      "write-results": { type: "boolean" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function listSections(): Promise<string> {
  const lines: string[] = [];
  for (const entry of SECTIONS) {
    const s = await loadSection(entry);
    const req = s.requires?.length ? ` (requires ${s.requires.join(", ")})` : "";
    lines.push(`${s.name.padEnd(12)} ${s.description}; budget ${s.budgetSeconds} s${req}`);
  }
  return `${lines.join("\n")}\n`;
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Entry point of `a64bpf bench`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`a64bpf bench: ${err.message}\n${usage()}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (args.list) {
    process.stdout.write(await listSections());
    return 0;
  }
  let sections;
  try {
    sections = await selectSections(args.sections, SECTIONS);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`a64bpf bench: ${err.message}\n`);
    return 2;
  }
  const run = await runSections(sections, {
    quick: args.quick,
    ...(args.repeats === undefined ? {} : { repeats: args.repeats }),
    progress: defaultProgress(),
  });
  const host = describeHost(run.startedAt);
  process.stdout.write(humanReport(run, host));
  if (args.json !== undefined) {
    // npm run starts in the package root; INIT_CWD is where the user typed the command.
    const path = resolve(process.env.INIT_CWD ?? process.cwd(), args.json);
    writeFile(path, `${JSON.stringify(benchJson(run, host), null, 2)}\n`);
    process.stderr.write(`bench: wrote ${path}\n`);
  }
  if (args.writeResults) {
    writeFile(RESULTS_PATH, resultsMarkdown(run, host, `npm run bench -- ${argv.join(" ")}`.trim()));
    process.stderr.write(`bench: wrote ${RESULTS_PATH}\n`);
  }
  return run.sections.some((s) => s.error !== undefined) ? 1 : 0;
}
