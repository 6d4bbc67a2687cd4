/**
 * Loading a test function from its module (in a worker, or in-process).
 * Modules are imported once per process and cached by Node.
 */
import { pathToFileURL } from "node:url";
import { SetupError } from "./discover.js";

/** The function `exportName` of module `file`; throws {@link SetupError} if it is missing. */
export async function loadTestFunction(file: string, exportName: string): Promise<() => unknown> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== "function") throw new SetupError(`test function not found: ${exportName} in ${file}`);
  return fn as () => unknown;
}
