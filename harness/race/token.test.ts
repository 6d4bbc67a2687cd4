import test from "ava";
import { EINVAL } from "../../runtime/errno.js";
import type { LoggedChoice } from "./strategies/choice_log.js";
import { choiceCheck, decodeToken, encodeToken, makeToken } from "./token.js";

const LOG: LoggedChoice[] = [
  { kind: "cpu", n: 2, index: 1, def: 0 },
  { kind: "task", n: 3, index: 2, def: 0 },
  { kind: "quantum", n: 5, index: 4, def: 0 },
  { kind: "irq", n: 2, index: 0, def: 1 },
  { kind: "preempt", n: 2, index: 1, def: 0 },
  ...Array.from({ length: 500 }, (_, i): LoggedChoice => ({ kind: "cpu", n: 2, index: i % 2, def: 0 })),
];

const RUN = {
  scenario: "fexit-detach",
  cpus: 2,
  faults: ["skip-percpu-ref-wait", "skip-icache-sync"],
  strategy: "pct",
  seed: 7,
  schedule: 41,
};

test("a token round-trips every field and the decisions", (t) => {
  const text = encodeToken(makeToken(LOG, RUN));
  t.regex(text, /^r1:fexit-detach:2:skip-percpu-ref-wait\+skip-icache-sync:pct:7:41:505:[0-9a-f]{8}:[A-Za-z0-9_-]+$/);
  t.false(/\s/.test(text), "one copy-pasteable word");
  const back = decodeToken(text);
  t.deepEqual(
    { ...back, choices: [...back.choices] },
    { ...RUN, choices: LOG.map((c) => c.index), check: choiceCheck(LOG) },
  );
  t.true(text.length < 200, `compact: ${text.length} characters for 505 decisions`);
});

test("the check covers kinds and option counts, not the answers", (t) => {
  const other = LOG.map((c, i) => (i === 1 ? { ...c, n: 4 } : c));
  t.not(choiceCheck(other), choiceCheck(LOG));
  const kinds = LOG.map((c, i) => (i === 0 ? { ...c, kind: "task" as const } : c));
  t.not(choiceCheck(kinds), choiceCheck(LOG));
  const answers = LOG.map((c) => ({ ...c, index: 0 }));
  t.is(choiceCheck(answers), choiceCheck(LOG));
});

test("no faults are written as none", (t) => {
  const text = encodeToken(makeToken(LOG.slice(0, 3), { ...RUN, faults: [] }));
  t.true(text.startsWith("r1:fexit-detach:2:none:"));
  t.deepEqual(decodeToken(text).faults, []);
});

const BAD: [string, string, RegExp][] = [
  ["not a token", "hello", /not a replay token/],
  ["too few fields", "r1:a:2:none:pct:1", /malformed replay token: 6 fields, expected 10/],
  [
    "unknown fault",
    "r1:fentry-detach:2:skip-everything:pct:1:0:1:00000000:AwA",
    /unknown fault-injection switch in replay token: skip-everything/,
  ],
  ["bad count", "r1:fentry-detach:x:none:pct:1:0:1:00000000:AwA", /invalid cpu count in replay token: "x"/],
  ["bad check", "r1:fentry-detach:2:none:pct:1:0:1:xyz:AwA", /invalid check in replay token: xyz/],
  ["corrupt choices", "r1:fentry-detach:2:none:pct:1:0:1:00000000:!!!!", /corrupt choices in replay token/],
];

for (const [what, text, msg] of BAD) {
  test(`a malformed token is EINVAL with the reason: ${what}`, (t) => {
    const err = t.throws(() => decodeToken(text), { message: msg });
    t.is((err as { errno?: number }).errno, EINVAL);
  });
}

test("a token whose decision count disagrees with its header is refused", (t) => {
  const text = encodeToken(makeToken(LOG.slice(0, 3), RUN));
  const parts = text.split(":");
  parts[7] = "4";
  t.throws(() => decodeToken(parts.join(":")), { message: /holds 3 decisions, its header says 4/ });
});
