/**
 * Replay tokens: one copy-pasteable word that identifies a run and replays
 * it bit for bit.
 *
 *   r1:<scenario>:<cpus>:<faults|none>:<strategy>:<seed>:<schedule>:<n>:<check>:<choices>
 *
 *   faults     the fault-injection switches, joined with "+"
 *   strategy, seed, schedule
 *              where the run came from (informational: the choices replay it)
 *   n          number of decisions
 *   check      FNV-1a (32 bits, hex) over the decisions' kinds and option
 *              counts: a replay that asks different questions has diverged
 *   choices    the decision indices, one byte each, raw-deflated, base64url
 *
 * Only the indices are stored: the scheduler asks the same questions again
 * when it gets the same answers, and `check` proves it did.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import type { ChoiceKind } from "../../runtime/kernel/chooser.js";
import { FAULT_SWITCHES } from "../../runtime/kernel/fault_inject.js";
import type { LoggedChoice } from "./strategies/choice_log.js";

const VERSION = "r1";

/** What a token says. */
export interface ReplayToken {
  readonly scenario: string;
  readonly cpus: number;
  readonly faults: readonly string[];
  readonly strategy: string;
  readonly seed: number;
  /** Index of the schedule in its run (or of the shrink step). */
  readonly schedule: number;
  readonly choices: Uint8Array;
  /** FNV-1a of the (kind, option count) sequence. */
  readonly check: number;
}

const KIND_CODE: Record<ChoiceKind, number> = { cpu: 1, task: 2, quantum: 3, irq: 4, preempt: 5 };

/** FNV-1a over each decision's kind and option count. */
export function choiceCheck(log: readonly Pick<LoggedChoice, "kind" | "n">[]): number {
  let h = 0x811c9dc5;
  for (const c of log) {
    h = Math.imul(h ^ KIND_CODE[c.kind], 0x01000193) >>> 0;
    h = Math.imul(h ^ (c.n & 0xff), 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A token for a decision log. */
export function makeToken(log: readonly LoggedChoice[], run: Omit<ReplayToken, "choices" | "check">): ReplayToken {
  const choices = new Uint8Array(log.length);
  log.forEach((c, i) => {
    if (c.index > 255) throw new BpfError(EINVAL, `choice ${i} has index ${c.index}: tokens hold at most 256 options`);
    choices[i] = c.index;
  });
  return { ...run, choices, check: choiceCheck(log) };
}

function checkName(what: string, s: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new BpfError(EINVAL, `invalid ${what} in replay token: ${JSON.stringify(s)}`);
}

/** The token's text. */
export function encodeToken(t: ReplayToken): string {
  checkName("scenario", t.scenario);
  checkName("strategy", t.strategy);
  const packed = deflateRawSync(t.choices, { level: 9 }).toString("base64url");
  const faults = t.faults.length ? t.faults.join("+") : "none";
  return [
    VERSION,
    t.scenario,
    t.cpus,
    faults,
    t.strategy,
    t.seed >>> 0,
    t.schedule,
    t.choices.length,
    t.check.toString(16).padStart(8, "0"),
    packed,
  ].join(":");
}

function int(field: string, s: string): number {
  if (!/^\d+$/.test(s)) throw new BpfError(EINVAL, `invalid ${field} in replay token: ${JSON.stringify(s)}`);
  return Number(s);
}

/** Parse a token; EINVAL with the reason for anything malformed. */
export function decodeToken(text: string): ReplayToken {
  const parts = text.trim().split(":");
  if (parts[0] !== VERSION)
    throw new BpfError(EINVAL, `not a replay token (expected ${VERSION}:...): ${text.slice(0, 20)}`);
  if (parts.length !== 10) throw new BpfError(EINVAL, `malformed replay token: ${parts.length} fields, expected 10`);
  const [, scenario, cpus, faults, strategy, seed, schedule, n, check, packed] = parts;
  checkName("scenario", scenario);
  checkName("strategy", strategy);
  const faultList = faults === "none" ? [] : faults.split("+");
  for (const f of faultList) {
    if (!(FAULT_SWITCHES as readonly string[]).includes(f)) {
      throw new BpfError(EINVAL, `unknown fault-injection switch in replay token: ${f}`);
    }
  }
  if (!/^[0-9a-f]{8}$/.test(check)) throw new BpfError(EINVAL, `invalid check in replay token: ${check}`);
  const header = {
    cpus: int("cpu count", cpus),
    seed: int("seed", seed),
    schedule: int("schedule", schedule),
    n: int("decision count", n),
  };
  let choices: Uint8Array;
  try {
    choices = new Uint8Array(inflateRawSync(Buffer.from(packed, "base64url")));
  } catch (err) {
    throw new BpfError(EINVAL, `corrupt choices in replay token: ${(err as Error).message}`, { cause: err });
  }
  if (choices.length !== header.n) {
    throw new BpfError(EINVAL, `replay token holds ${choices.length} decisions, its header says ${n}`);
  }
  return {
    scenario,
    cpus: header.cpus,
    faults: faultList,
    strategy,
    seed: header.seed,
    schedule: header.schedule,
    choices,
    check: parseInt(check, 16) >>> 0,
  };
}
