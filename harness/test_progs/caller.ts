/**
 * The C `__func__` and `__LINE__` of an assertion, recovered from the
 * JavaScript call stack.
 *
 * The kernel's ASSERT_* macros print `__func__`, the name of the C function
 * that contains the assertion. Ported tests name their functions like the
 * kernel's (`function test_fentry_many_args()`), so the name of the frame
 * that called the assertion helper is the same string.
 *
 * Simplifications: an anonymous caller prints as "anonymous"; a method
 * prints its own name without the class ("Foo.bar" → "bar"); the line is
 * the source line when source maps are on (tsx, --enable-source-maps) and
 * the generated line otherwise (0 if unknown).
 */

/** Name and line of a calling frame. */
export interface CallerFrame {
  func: string;
  line: number;
}

const FRAME_WITH_NAME = /^\s*at (?:async )?(?:new )?(.+?) \((.*)\)$/;
const FRAME_NO_NAME = /^\s*at (?:async )?(.*)$/;
const LINE_COL = /:(\d+):\d+$/;

/** Parse one V8 stack line ("    at fn (file:12:3)") into a frame. */
export function parseStackLine(line: string): CallerFrame | undefined {
  const named = FRAME_WITH_NAME.exec(line);
  if (named) {
    let name = named[1].replace(/ \[as [^\]]+\]$/, "");
    const dot = name.lastIndexOf(".");
    if (dot >= 0 && dot < name.length - 1) name = name.slice(dot + 1);
    if (name === "<anonymous>") name = "anonymous";
    return { func: name, line: Number(LINE_COL.exec(named[2])?.[1] ?? 0) };
  }
  const bare = FRAME_NO_NAME.exec(line);
  if (bare) return { func: "anonymous", line: Number(LINE_COL.exec(bare[1])?.[1] ?? 0) };
  return undefined;
}

type PrepareStackTrace = (err: Error, frames: NodeJS.CallSite[]) => unknown;

/** The call sites above `boundary` (V8's structured stack: no formatting, no source-map lookups). */
function callSites(boundary: Function): NodeJS.CallSite[] {
  const holder: { stack?: NodeJS.CallSite[] } = {};
  const errorCtor = Error as { prepareStackTrace?: PrepareStackTrace };
  const prepare = errorCtor.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  errorCtor.prepareStackTrace = (_err, frames) => frames;
  if (!(limit >= 2)) Error.stackTraceLimit = 10;
  try {
    Error.captureStackTrace(holder, boundary);
    return holder.stack ?? [];
  } finally {
    errorCtor.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** The name of the function that called `boundary` (a function on the current stack): C's `__func__`. */
export function callerName(boundary: Function): string {
  const site = callSites(boundary)[0];
  if (!site) return "unknown";
  const name = site.getFunctionName() ?? site.getMethodName();
  if (!name) return "anonymous";
  const dot = name.lastIndexOf(".");
  return dot >= 0 && dot < name.length - 1 ? name.slice(dot + 1) : name;
}

/**
 * The frame that called `boundary`: its function name and line (the
 * source line when source maps are on). Slower than {@link callerName}:
 * the stack is formatted.
 */
export function callerFrame(boundary: Function): CallerFrame {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  if (!(limit >= 2)) Error.stackTraceLimit = 10;
  try {
    Error.captureStackTrace(holder, boundary);
  } finally {
    Error.stackTraceLimit = limit;
  }
  for (const line of (holder.stack ?? "").split("\n")) {
    if (!/^\s*at /.test(line)) continue;
    const frame = parseStackLine(line);
    if (frame) return { func: callerName(boundary), line: frame.line };
  }
  return { func: callerName(boundary), line: 0 };
}
