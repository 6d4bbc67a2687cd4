/**
 * The shipped race scenarios, by CLI name.
 */
import { EINVAL } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { concurrentAttach } from "./concurrent_attach.js";
import { fentryDetach } from "./fentry_detach.js";
import { fentryReattach } from "./fentry_reattach.js";
import { fexitDetach } from "./fexit_detach.js";
import { fexitSleepingOrig } from "./fexit_sleeping_orig.js";
import { progTargetDetach } from "./prog_target_detach.js";
import { sleepableFentry } from "./sleepable_fentry.js";
import type { Scenario } from "./types.js";

/** Every shipped scenario, in --matrix column order. */
export const SCENARIOS: readonly Scenario[] = [
  fentryDetach,
  fexitDetach,
  fexitSleepingOrig,
  sleepableFentry,
  progTargetDetach,
  concurrentAttach,
  fentryReattach,
];

/** The scenario called `name`, or EINVAL listing the known ones. */
export function scenarioByName(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new BpfError(EINVAL, `unknown scenario: ${name} (known: ${SCENARIOS.map((x) => x.name).join(", ")})`);
  return s;
}
