/**
 * The timeline of one schedule as a self-contained HTML page (inline SVG
 * and CSS, no script, no network): one swimlane per CPU with the tasks that
 * ran there coloured by task, then a lane per grace-period flavour and a
 * lane for trampoline images.
 *
 *   CPU 0   ▇▇caller0/5▇▇ ▇kworker▇ ▇▇▇caller0/5▇▇  ✕ violation
 *   CPU 1   ▇detacher/7▇▇▇▇ ▲poke ▲poke ▇caller1/6▇
 *   rcu_tasks             [──── grace period ────]
 *   images  ● alloc   ◆ put   ■ ref kill  □ release   ✖ free
 *                                          ┃ (red line: the violation)
 *
 * The x axis is event order (every scheduling or kernel event gets a
 * column), labelled with virtual time: a schedule's interesting part is a
 * few hundred nanoseconds next to millisecond sleeps, which a linear time
 * axis would squash. Every mark has a tooltip (<title>) with the details.
 */
import type { KernelEvent } from "../../runtime/kernel/ktrace.js";
import type { SchedEvent } from "../../runtime/kernel/sched.js";
import { formatViolation, type Violation } from "./violation.js";
import type { ScheduleObservers } from "./world.js";

/** One recorded event, in arrival order. */
export type TimelineEvent = { seq: number; sched: SchedEvent } | { seq: number; kernel: KernelEvent };

/** Collects a schedule's events (pass `observers` to runSchedule or replay). */
export class TimelineRecorder {
  readonly events: TimelineEvent[] = [];

  readonly observers: ScheduleObservers = {
    onSched: (ev) => this.events.push({ seq: this.events.length, sched: ev }),
    onKernel: (ev) => this.events.push({ seq: this.events.length, kernel: ev }),
  };
}

/** What the page shows besides the events. */
export interface TimelineMeta {
  title: string;
  cpus: number;
  token?: string;
  violation?: Violation;
  /** pid → "comm/pid". */
  taskNames: ReadonlyMap<number, string>;
}

/** Column width bounds: a short schedule gets wide columns, a long one fits about FIT pixels. */
const COL_MAX = 12;
const COL_MIN = 4;
const FIT = 1200;
const LANE = 34;
const LEFT = 130;
const TOP = 40;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A stable colour per pid. */
export function taskColour(pid: number): string {
  const hue = (pid * 137.508) % 360;
  return `hsl(${hue.toFixed(0)},60%,62%)`;
}

interface Seg {
  cpu: number;
  pid: number;
  from: number;
  to: number;
}

const LEAVES = new Set(["preempt", "block", "sleep", "yield", "exit", "oops"]);

/** Task segments per CPU from switch … leave events. */
function segments(events: readonly TimelineEvent[], cpus: number, end: number): Seg[] {
  const open: (Seg | undefined)[] = Array.from({ length: cpus }, () => undefined);
  const out: Seg[] = [];
  for (const e of events) {
    if (!("sched" in e)) continue;
    const s = e.sched;
    if (s.cpu < 0 || s.cpu >= cpus) continue;
    if (s.ev === "switch") {
      const cur = open[s.cpu];
      if (cur) out.push({ ...cur, to: e.seq });
      open[s.cpu] = { cpu: s.cpu, pid: s.pid, from: e.seq, to: e.seq };
    } else if (LEAVES.has(s.ev)) {
      const cur = open[s.cpu];
      if (cur && cur.pid === s.pid) {
        out.push({ ...cur, to: e.seq + 1 });
        open[s.cpu] = undefined;
      }
    }
  }
  for (const cur of open) if (cur) out.push({ ...cur, to: end });
  return out;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** Render the page. */
export function renderTimeline(events: readonly TimelineEvent[], meta: TimelineMeta): string {
  const n = events.length + 1;
  const COL = Math.max(COL_MIN, Math.min(COL_MAX, Math.floor(FIT / n)));
  const flavours = ["rcu", "rcu_tasks", "rcu_tasks_trace"];
  const lanes = [...Array.from({ length: meta.cpus }, (_, i) => `CPU ${i}`), ...flavours, "images"];
  const laneY = (i: number) => TOP + i * LANE;
  const x = (seq: number) => LEFT + seq * COL;
  // Room on the right for the violation's label.
  const width = x(n) + 760;
  const height = laneY(lanes.length) + 60;
  const name = (pid: number) => meta.taskNames.get(pid) ?? `pid ${pid}`;
  const parts: string[] = [];
  // Lane backgrounds and labels.
  lanes.forEach((l, i) => {
    parts.push(
      `<rect x="0" y="${laneY(i)}" width="${width}" height="${LANE}" class="${i % 2 ? "odd" : "even"}"/>`,
      `<text x="8" y="${laneY(i) + LANE / 2 + 4}" class="lane">${esc(l)}</text>`,
    );
  });
  // Time labels every 10 columns.
  let lastT = "";
  for (const e of events) {
    if (e.seq % 10 !== 0) continue;
    const t = ("sched" in e ? e.sched.t : e.kernel.t).toString();
    if (t === lastT) continue;
    lastT = t;
    parts.push(`<text x="${x(e.seq)}" y="${TOP - 8}" class="time">${esc(t)} ns</text>`);
    parts.push(`<line x1="${x(e.seq)}" y1="${TOP - 4}" x2="${x(e.seq)}" y2="${laneY(lanes.length)}" class="grid"/>`);
  }
  // Task segments.
  for (const s of segments(events, meta.cpus, n)) {
    const w = Math.max((s.to - s.from) * COL - 1, 3);
    parts.push(
      `<g><title>${esc(`${name(s.pid)} on CPU ${s.cpu}`)}</title>` +
        `<rect x="${x(s.from)}" y="${laneY(s.cpu) + 5}" width="${w}" height="${LANE - 10}" rx="3" fill="${taskColour(s.pid)}" class="seg"/>` +
        (w > 60
          ? `<text x="${x(s.from) + 4}" y="${laneY(s.cpu) + LANE / 2 + 4}" class="seglabel">${esc(name(s.pid))}</text>`
          : "") +
        `</g>`,
    );
  }
  // Scheduler marks: ticks and oopses.
  for (const e of events) {
    if (!("sched" in e)) continue;
    const s = e.sched;
    const y = laneY(s.cpu);
    if (s.ev === "irq")
      parts.push(`<line x1="${x(e.seq)}" y1="${y + 2}" x2="${x(e.seq)}" y2="${y + 8}" class="tick"/>`);
  }
  // Kernel events.
  const gpOpen = new Map<string, number>();
  const imagesLane = laneY(meta.cpus + flavours.length);
  for (const e of events) {
    if (!("kernel" in e)) continue;
    const k = e.kernel;
    const cx = x(e.seq) + COL / 2;
    const mark = (y: number, cls: string, shape: string, tip: string) =>
      parts.push(
        `<g class="${cls}"><title>${esc(`${tip} (t=${k.t} ns)`)}</title>${shape.replace(/CX/g, String(cx)).replace(/CY/g, String(y))}</g>`,
      );
    switch (k.kind) {
      case "poke":
        mark(
          laneY(Math.max(k.cpu, 0)) + LANE - 6,
          k.locked ? "poke" : "poke bad",
          `<path d="M CX,CY l -5,6 l 10,0 z"/>`,
          `text poke ${k.what}: ${hex(BigInt(k.old))} → ${hex(BigInt(k.insn))}${k.locked ? "" : " WITHOUT text_mutex"}${k.synced ? "" : " without cache maintenance"}`,
        );
        break;
      case "gp_start":
        gpOpen.set(k.flavour, e.seq);
        break;
      case "gp_end": {
        const from = gpOpen.get(k.flavour) ?? e.seq;
        gpOpen.delete(k.flavour);
        const li = flavours.indexOf(k.flavour);
        if (li < 0) break;
        const y = laneY(meta.cpus + li);
        parts.push(
          `<g class="gp"><title>${esc(`${k.flavour} grace period (ends t=${k.t} ns)`)}</title>` +
            `<rect x="${x(from)}" y="${y + 9}" width="${Math.max((e.seq - from + 1) * COL, 4)}" height="${LANE - 18}" rx="2"/></g>`,
        );
        break;
      }
      case "image_alloc":
        mark(imagesLane + LANE / 2, "alloc", `<circle cx="CX" cy="CY" r="5"/>`, `alloc ${k.image} at ${hex(k.addr)}`);
        break;
      case "image_put":
        mark(
          imagesLane + LANE / 2,
          "put",
          `<path d="M CX,${imagesLane + 10} l 6,7 l -6,7 l -6,-7 z"/>`,
          `bpf_tramp_image_put ${k.image}`,
        );
        break;
      case "ref_kill":
        mark(
          imagesLane + LANE / 2,
          "kill",
          `<rect x="${cx - 5}" y="${imagesLane + 12}" width="10" height="10"/>`,
          `percpu_ref_kill ${k.ref}`,
        );
        break;
      case "ref_release":
        mark(
          imagesLane + LANE / 2,
          "release",
          `<rect x="${cx - 5}" y="${imagesLane + 12}" width="10" height="10"/>`,
          `percpu_ref release ${k.ref}`,
        );
        break;
      case "image_free":
        mark(
          imagesLane + LANE / 2,
          "free",
          `<path d="M ${cx - 5},${imagesLane + 12} l 10,10 m 0,-10 l -10,10"/>`,
          `free ${k.image} at ${hex(k.addr)}`,
        );
        break;
      case "oops":
        mark(
          laneY(Math.max(k.cpu, 0)) + LANE / 2,
          "oops",
          `<path d="M ${cx - 6},${laneY(Math.max(k.cpu, 0)) + 11} l 12,12 m 0,-12 l -12,12"/>`,
          `oops on CPU ${k.cpu}: ${k.detail} at ${hex(k.pc)}`,
        );
        break;
      case "warn":
        mark(
          laneY(Math.max(k.cpu, 0)) + LANE / 2,
          "warn",
          `<circle cx="CX" cy="CY" r="6"/>`,
          `WARNING on CPU ${k.cpu}: ${k.message}`,
        );
        break;
      default:
        break;
    }
  }
  // Grace periods still running at the end.
  for (const [flavour, from] of gpOpen) {
    const li = flavours.indexOf(flavour);
    if (li < 0) continue;
    const y = laneY(meta.cpus + li);
    parts.push(
      `<g class="gp open"><title>${esc(`${flavour} grace period (not over at the end)`)}</title>` +
        `<rect x="${x(from)}" y="${y + 9}" width="${Math.max((n - from) * COL, 4)}" height="${LANE - 18}" rx="2"/></g>`,
    );
  }
  // The violation: a red line through every lane at the event where it was found.
  const v = meta.violation;
  if (v) {
    const at = violationColumn(events, v);
    parts.push(
      `<g id="violation" class="violation"><title>${esc(formatViolation(v))}</title>` +
        `<line x1="${x(at)}" y1="${TOP - 20}" x2="${x(at)}" y2="${laneY(lanes.length)}"/>` +
        `<text x="${x(at) + 4}" y="${laneY(lanes.length) + 16}">${esc(`${v.kind}: ${v.message}`.slice(0, 160))}</text></g>`,
    );
  }
  const tasks = [...meta.taskNames].sort((a, b) => a[0] - b[0]);
  const legend = tasks
    .map(([pid, nm]) => `<span class="key"><i style="background:${taskColour(pid)}"></i>${esc(nm)}</span>`)
    .join(" ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(meta.title)}</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:16px;margin:0 0 6px}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}
.wrap{overflow-x:auto;border:1px solid #ccc}
.even{fill:#fafafa}.odd{fill:#f0f0f0}
.lane{font:bold 12px monospace;fill:#333}
.time{font:10px monospace;fill:#777}
.grid{stroke:#ddd;stroke-width:1}
.seg{stroke:#555;stroke-width:0.5}
.seglabel{font:10px monospace;fill:#111}
.tick{stroke:#444;stroke-width:1}
.poke path{fill:#1f4fd1}.poke.bad path{fill:#d00000}
.gp rect{fill:#9ecbff;stroke:#3b7dd8}.gp.open rect{stroke-dasharray:4 2}
.alloc circle{fill:#2e9e44}.put path{fill:#f0a020}.kill rect{fill:#8a2be2}.release rect{fill:#fff;stroke:#8a2be2;stroke-width:2}
.free path{stroke:#555;stroke-width:2.5}
.oops path{stroke:#d00000;stroke-width:3}.warn circle{fill:#ffcc00;stroke:#d00000}
.violation line{stroke:#d00000;stroke-width:3}.violation text{fill:#d00000;font:bold 12px monospace}
.vline{color:#fff;background:#d00000;padding:6px 8px;font:bold 13px monospace;border-radius:3px}
.key{margin-right:12px;white-space:nowrap}.key i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;border:1px solid #555}
</style></head><body>
<h1>${esc(meta.title)}</h1>
${v ? `<p class="vline">VIOLATION ${esc(v.kind)}: ${esc(v.message)}</p>` : ""}
${meta.token ? `<p>replay: <code>${esc(meta.token)}</code></p>` : ""}
<p>${legend}</p>
<p class="keys">▲ text poke (red: without text_mutex) · ● image alloc · ◆ bpf_tramp_image_put · ■ percpu_ref kill · □ release · ✕ free · blue bands: grace periods · red line: the violation</p>
<div class="wrap"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
${parts.join("\n")}
</svg></div>
${v ? `<pre class="violation-text">${esc(formatViolation(v))}</pre>` : "<p>No violation.</p>"}
</body></html>
`;
}

/** The event column of the violation: the first event at or after its time that matches it, else the last. */
function violationColumn(events: readonly TimelineEvent[], v: Violation): number {
  for (const e of events) {
    if ("kernel" in e) {
      const k = e.kernel;
      if ((k.kind === "oops" || k.kind === "warn") && k.t >= v.t) return e.seq;
      if (k.kind === "image_free" && v.kind === "freed-while-inside" && k.t >= v.t) return e.seq;
      if (k.kind === "poke" && v.kind === "text-poke-unlocked" && !k.locked) return e.seq;
    }
  }
  return events.length;
}
