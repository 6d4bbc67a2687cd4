/**
 * createStrategy(): a strategy by name (see types.ts for what each does).
 */
import { EINVAL } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { boundedStrategy } from "./bounded.js";
import { pctStrategy } from "./pct.js";
import { randomStrategy } from "./random.js";
import { STRATEGIES, type Strategy, type StrategyName, type StrategyOptions } from "./types.js";

/** The strategy called `name`, or EINVAL listing the known ones. */
export function createStrategy(name: string, opts: StrategyOptions): Strategy {
  switch (name as StrategyName) {
    case "random":
      return randomStrategy(opts);
    case "pct":
      return pctStrategy(opts);
    case "bounded":
      return boundedStrategy(opts);
    default:
      throw new BpfError(EINVAL, `unknown strategy: ${name} (known: ${STRATEGIES.join(", ")})`);
  }
}
