/**
 * Progress of a benchmark run, on stderr (stdout carries the table):
 *
 *   stderr is a TTY   a cli-progress bar counting runs (warm-up included) of
 *                     the current section, with each finished measurement
 *                     logged above it
 *   otherwise         plain lines, one per section start, measurement and
 *                     section end: nothing a CI log cannot show
 *
 * The bar's total grows as measurements start (a section does not announce
 * its measurements in advance).
 */
import cliProgress from "cli-progress";
import type { RunProgress, SectionOutcome } from "./run.js";
import type { Result, Section } from "./types.js";
import { formatNumber, formatValue } from "./units.js";

/** One line describing a finished measurement. */
export function resultLine(r: Result): string {
  const si = r.unit.kind === "rate" && r.unit.scale === 1;
  const spread =
    r.n > 1 ? `median of ${r.n}, min ${formatNumber(r.min, { si })}, max ${formatNumber(r.max, { si })}` : "1 run";
  return `${r.key}: ${formatValue(r.median, r.unit)} (${spread})`;
}

function sectionEndLine(o: SectionOutcome): string {
  const status = o.error === undefined ? "done" : `failed: ${o.error}`;
  const budget = o.overBudget ? ` (over its ${o.budgetSeconds} s budget)` : "";
  return `${o.name} ${status} in ${o.seconds.toFixed(1)} s${budget}`;
}

/** Plain progress lines written through `write` (default: stderr). */
export function plainProgress(write: (line: string) => void = (l) => process.stderr.write(l)): RunProgress {
  return {
    sectionStart(section: Section, index: number, count: number) {
      write(`bench: [${index + 1}/${count}] ${section.name}: ${section.description}\n`);
    },
    measureStart() {},
    tick() {},
    measureEnd(r: Result) {
      write(`bench:   ${resultLine(r)}\n`);
    },
    sectionEnd(o: SectionOutcome) {
      write(`bench: ${sectionEndLine(o)}\n`);
    },
    done() {},
  };
}

/** A progress bar on `stream` (a TTY). */
export function barProgress(stream: NodeJS.WriteStream = process.stderr): RunProgress {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "{section} [{bar}] {value}/{total} runs | {label}",
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  let section = "";
  let total = 0;
  let value = 0;
  return {
    sectionStart(s: Section, index: number, count: number) {
      section = `${s.name} (${index + 1}/${count})`;
      total = 0;
      value = 0;
      if (bar) multi.remove(bar);
      bar = undefined;
    },
    measureStart(_key: string, label: string, runs: number) {
      total += runs;
      if (!bar) bar = multi.create(total, value, { section, label });
      else bar.setTotal(total);
      bar.update(value, { section, label });
      multi.update();
    },
    tick() {
      value++;
      bar?.update(value);
      multi.update();
    },
    measureEnd(r: Result) {
      multi.log(`${resultLine(r)}\n`);
      multi.update();
    },
    sectionEnd(o: SectionOutcome) {
      multi.log(`${sectionEndLine(o)}\n`);
      multi.update();
    },
    done() {
      multi.stop();
    },
  };
}

/** The bar when `stream` is a TTY, plain lines otherwise. */
export function defaultProgress(stream: NodeJS.WriteStream = process.stderr): RunProgress {
  return stream.isTTY === true ? barProgress(stream) : plainProgress((l) => stream.write(l));
}
