/**
 * The timeline writer: the page is self-contained (no network, no script),
 * names every lane, marks the violation; a headless Chromium renders it to
 * a PNG that is not blank and shows the red violation marker.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { explore, replay, WorldPool } from "./explore.js";
import { scenarioByName } from "./scenarios/index.js";
import { renderTimeline, TimelineRecorder } from "./timeline.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

/** RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
function decodePng(png: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  while (off < png.length) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = dv.getUint32(off + 8);
      height = dv.getUint32(off + 12);
      const depth = data[8];
      const colour = data[9];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || data[12] !== 0) throw new Error("unsupported PNG");
      channels = colour === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(out.subarray(i * channels, i * channels + 3), i * 4);
    rgba[i * 4 + 3] = channels === 4 ? out[i * channels + 3] : 255;
  }
  return { width, height, rgba };
}

test("the timeline of an injected fault renders in headless Chromium with the violation marked", (t) => {
  const scenario = scenarioByName("fentry-detach");
  const pool = new WorldPool({ scenario, cpus: 2, faults: ["skip-icache-sync"] });
  let token: string;
  try {
    const r = explore(pool, { strategy: "random", schedules: 200, seed: 1 });
    if (!r.failure) return t.fail("no failure to draw");
    token = r.failure.token;
  } finally {
    pool.close();
  }
  const rec = new TimelineRecorder();
  const again = replay(token, { observers: rec.observers });
  const v = again.result.violation;
  t.is(v?.kind, "stale-instruction");
  const html = renderTimeline(rec.events, {
    title: "fentry-detach: skip-icache-sync",
    cpus: 2,
    token,
    violation: v,
    taskNames: again.result.taskNames,
  });
  // Self-contained: no script, no external resource.
  t.false(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)|<link |src=/i.test(html), "nothing to fetch");
  t.regex(html, /<g id="violation" class="violation">/);
  t.regex(html, /stale-instruction: CPU \d executed `bl 0x[0-9a-f]+ &lt;bpf_trampoline_\d+&gt;`/);
  for (const lane of ["CPU 0", "CPU 1", "rcu_tasks", "rcu_tasks_trace", "images"])
    t.true(html.includes(`>${lane}</text>`));
  for (const mark of ['class="poke"', 'class="alloc"', 'class="put"', 'class="free"', 'class="gp"']) {
    t.true(html.includes(mark), `has ${mark}`);
  }
  t.true(html.includes(">caller0/"), "tasks are labelled");

  if (!CHROMIUM) return t.fail("chromium is not installed (Debian package chromium)");
  const dir = mkdtempSync(join(tmpdir(), "a64bpf-timeline-"));
  try {
    const page = join(dir, "timeline.html");
    const png = join(dir, "shot.png");
    writeFileSync(page, html);
    const r = spawnSync(
      CHROMIUM,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        `--user-data-dir=${join(dir, "profile")}`,
        `--screenshot=${png}`,
        "--window-size=1400,900",
        `file://${page}`,
      ],
      { timeout: 90_000, encoding: "utf8" },
    );
    t.true(existsSync(png), `chromium wrote no screenshot: ${r.stderr?.slice(-500)}`);
    const img = decodePng(readFileSync(png));
    t.deepEqual([img.width, img.height], [1400, 900]);
    let ink = 0;
    let red = 0;
    const colours = new Set<number>();
    for (let i = 0; i < img.width * img.height; i++) {
      const [r8, g8, b8] = [img.rgba[i * 4], img.rgba[i * 4 + 1], img.rgba[i * 4 + 2]];
      if (r8 < 235 || g8 < 235 || b8 < 235) ink++;
      if (r8 > 180 && g8 < 40 && b8 < 40) red++;
      colours.add((r8 << 16) | (g8 << 8) | b8);
    }
    t.true(ink > img.width * img.height * 0.03, `the page is drawn (${ink} non-white pixels)`);
    t.true(colours.size > 50, `lanes, tasks and marks in many colours (${colours.size})`);
    t.true(red > 200, `the red violation marker is visible (${red} red pixels)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a schedule without violation draws without a marker", (t) => {
  const html = renderTimeline([], { title: "empty", cpus: 1, taskNames: new Map() });
  t.false(html.includes('id="violation"'));
  t.true(html.includes("No violation."));
});
