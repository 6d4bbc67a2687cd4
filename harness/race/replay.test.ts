/**
 * Replay and shrinking: a failing run's token reproduces the same violation
 * at the same PC, three times in a row, on freshly booted kernels; the
 * shrunk schedule fails the same way with no more preemption points, and no
 * single deviation of it can be removed; a token that no longer fits the
 * run is reported as diverged.
 */
import test from "ava";
import { explore, replay, WorldPool, type Failure } from "./explore.js";
import { scenarioByName } from "./scenarios/index.js";
import { sameFailure, shrinkFailure } from "./shrink.js";
import { deviationStats } from "./strategies/choice_log.js";
import { decodeToken, encodeToken, makeToken } from "./token.js";
import { formatViolation, violationKey } from "./violation.js";

const SCENARIO = scenarioByName("fentry-detach");
const FAULTS = ["rcu-tasks-as-plain-rcu"];

function findFailure(pool: WorldPool): Failure {
  const r = explore(pool, { strategy: "pct", schedules: 500, seed: 1 });
  if (!r.failure) throw new Error(`no failure in ${r.schedules} schedules`);
  return r.failure;
}

test("a replay token reproduces the same violation at the same PC, three times in a row", (t) => {
  const pool = new WorldPool({ scenario: SCENARIO, cpus: 2, faults: FAULTS });
  let failure: Failure;
  try {
    failure = findFailure(pool);
  } finally {
    pool.close();
  }
  const want = failure.violation;
  t.not(want.pc, undefined);
  for (let i = 0; i < 3; i++) {
    const r = replay(failure.token);
    t.is(r.diverged, undefined, `replay ${i + 1}`);
    const got = r.result.violation;
    if (!got) return t.fail(`replay ${i + 1}: no violation`);
    t.is(violationKey(got), violationKey(want), `replay ${i + 1}: kind, PC and symbol`);
    t.is(formatViolation(got), formatViolation(want), `replay ${i + 1}: the whole report, bit for bit`);
    t.deepEqual(
      r.log.map((c) => c.index),
      failure.log.map((c) => c.index),
    );
  }
});

test("the shrunk schedule fails the same way with no more preemption points and is 1-minimal", (t) => {
  const pool = new WorldPool({ scenario: SCENARIO, cpus: 2, faults: FAULTS });
  try {
    const failure = findFailure(pool);
    const s = shrinkFailure(pool, failure);
    t.true(sameFailure(s.violation, failure.violation));
    t.true(s.after.preemptions <= s.before.preemptions, `${s.before.preemptions} → ${s.after.preemptions}`);
    t.true(s.after.deviations <= s.before.deviations);
    t.deepEqual(s.before, deviationStats(failure.log));
    t.true(s.minimal, `minimal after ${s.attempts} replays`);
    t.log(`shrunk ${JSON.stringify(s.before)} → ${JSON.stringify(s.after)} in ${s.attempts} replays`);
    // The shrunk token replays to the same failure on a fresh kernel.
    const token = encodeToken(
      makeToken(s.log, { scenario: SCENARIO.name, cpus: 2, faults: FAULTS, strategy: "shrunk", seed: 1, schedule: 0 }),
    );
    const r = replay(token);
    t.is(r.diverged, undefined);
    t.is(violationKey(r.result.violation ?? s.violation), violationKey(s.violation));
    t.is(r.result.violation?.message, s.violation.message);
    // 1-minimal, checked independently: putting back the default at any single deviation loses the failure.
    const devs = s.log.flatMap((c, i) => (c.index !== c.def ? [i] : []));
    for (const d of devs) {
      const script = s.log.map((c, i) => (i === d ? c.def : c.index));
      const one = encodeToken({ ...decodeToken(token), choices: Uint8Array.from(script) });
      const again = replay(one);
      const v = again.result.violation;
      if (v === undefined || !sameFailure(v, s.violation)) continue;
      const st = deviationStats(again.log);
      const smaller =
        st.preemptions < s.after.preemptions ||
        (st.preemptions === s.after.preemptions && st.deviations < s.after.deviations);
      t.false(smaller, `removing deviation ${d} keeps the failure with a smaller schedule`);
    }
  } finally {
    pool.close();
  }
});

test("a token that does not fit the run any more is reported as diverged", (t) => {
  const pool = new WorldPool({ scenario: SCENARIO, cpus: 2, faults: FAULTS });
  let failure: Failure;
  try {
    failure = findFailure(pool);
  } finally {
    pool.close();
  }
  const tok = decodeToken(failure.token);
  // Answers that cannot all fit: every decision says "option 7".
  const bad = encodeToken({ ...tok, choices: new Uint8Array(tok.choices.length).fill(7) });
  const r = replay(bad);
  t.regex(r.diverged ?? "", /recorded decisions did not fit|decisions, the token holds|different questions/);
});
