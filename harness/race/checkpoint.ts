/**
 * Kernel reset between schedules: bring a booted kernel back to a recorded
 * quiescent point instead of booting again (a boot costs tens of
 * milliseconds; a schedule must cost about one).
 *
 * Not a kernel concept (the kernel has no such thing): it exists so that a
 * schedule replayed on a freshly booted kernel and the same schedule run as
 * the 5,000th of an exploration start from the same state and run bit for
 * bit alike. The point is quiescent: every live task is a blocked kernel
 * thread, no RCU callback or work item is pending, no CPU runs anything.
 *
 *   checkpoint (after set-up)                restore (after each schedule)
 *   ─────────────────────────                ─────────────────────────────
 *   scheduler counters (pids, clock)   ──►   Scheduler.restoreQuiescent (reaps the dead)
 *   kthreads' per-task counters        ──►   written back
 *   slab, text pools, task stacks      ──►   their restore() hooks: the same
 *                                            addresses are handed out again
 *   memory (every region but stacks;   ──►   dirty 4 KiB pages copied back; text
 *   heap and text pools up to their          pages also dropped from every CPU's
 *   used extent)                             translation cache
 *   icache: nothing pending            ──►   pending ranges applied, and every
 *                                            poked range dropped on every CPU
 *                                            (a patch without cache maintenance
 *                                            leaves stale translations nobody
 *                                            recorded)
 *   report lists, statistics           ──►   truncated / written back
 *
 * What is not covered, on purpose: FP/SIMD registers of idle CPUs (every
 * task's code writes them before reading), Unicorn translations of code
 * that did not change (they are equivalent to fresh ones), the TypeScript
 * state of kthread generators (the same at every quiescent point: each is
 * blocked at the top of its loop). A state that is not quiescent is refused
 * (EBUSY): the caller boots a fresh kernel instead.
 */
import { EBUSY, EINVAL } from "../../runtime/errno.js";
import { KernelError } from "../../runtime/errors.js";
import type { Kernel } from "../../runtime/kernel/kernel.js";
import type { SchedQuiescentState } from "../../runtime/kernel/sched.js";
import type { SlabCheckpoint } from "../../runtime/kernel/slab.js";
import type { StackCheckpoint } from "../../runtime/kernel/stacks.js";
import type { Task } from "../../runtime/kernel/task.js";
import type { TextAllocCheckpoint, TextAllocator } from "../../runtime/kernel/text_alloc.js";
import { PAGE_SIZE, PROT_EXEC } from "../../runtime/machine/memory.js";

/** Regions larger than this need a known used extent (heap, text pools). */
const SMALL_REGION = 1 << 20;

/** Saved bytes of one range of emulated memory. */
interface MemRange {
  readonly base: bigint;
  readonly bytes: Uint8Array;
  readonly exec: boolean;
  /** How far the range may have grown since (heap break, text high water), for zeroing. */
  readonly extent?: () => bigint;
}

/** Per-task counters of a live (blocked) kernel thread. */
interface TaskCounters {
  readonly task: Task;
  readonly lastCpu: number;
  readonly nvcsw: number;
  readonly nivcsw: number;
  readonly rcuTasksQs: number;
  readonly rcuReadUnlocks: number;
  readonly trcReadUnlocks: number;
  readonly preemptEnables: number;
  readonly enqueueSeq: number;
  readonly wakeAt: bigint;
}

/** A recorded quiescent point of one kernel. */
export interface KernelCheckpoint {
  readonly kernel: Kernel;
  readonly sched: SchedQuiescentState;
  readonly steps: number;
  readonly tasks: readonly TaskCounters[];
  readonly slab: SlabCheckpoint;
  readonly stacks: StackCheckpoint;
  readonly text: readonly { pool: TextAllocator; cp: TextAllocCheckpoint }[];
  readonly memory: readonly MemRange[];
  readonly lengths: { bugs: number; oopses: number; dmesg: number };
  readonly gpStats: readonly { completed: number; invoked: number; lastGpNs: bigint }[];
  readonly wqCompleted: number;
}

/** Statistics of one restore (what it had to do). */
export interface RestoreStats {
  /** 4 KiB pages copied back. */
  pages: number;
  /** Ranges dropped from the translation caches. */
  invalidated: number;
}

function gpEngines(k: Kernel) {
  return [k.rcu, k.rcuTasks, k.rcuTasksTrace];
}

/** Quiescent: every live task blocked, no callback or work pending, no CPU busy. */
export function isQuiescent(k: Kernel): boolean {
  if (k.sched.curr.some((t) => t !== undefined)) return false;
  if (k.sched.tasks.some((t) => t.state !== "dead" && t.state !== "blocked")) return false;
  if (gpEngines(k).some((g) => g.pending > 0)) return false;
  return k.systemWq.pending === 0;
}

function requireQuiescent(k: Kernel, what: string): void {
  if (!isQuiescent(k)) {
    const busy = k.sched
      .liveTasks()
      .filter((t) => t.state !== "blocked")
      .map((t) => `${t} ${t.state}`);
    throw new KernelError(EBUSY, `${what}: the kernel is not quiescent${busy.length ? `: ${busy.join(", ")}` : ""}`);
  }
}

function saveRange(k: Kernel, base: bigint, end: bigint, exec: boolean, extent?: () => bigint): MemRange {
  const len = Number(end - base);
  return { base, bytes: k.machine.memory.readBytes(base, len), exec, extent };
}

function memoryRanges(k: Kernel): MemRange[] {
  const out: MemRange[] = [];
  const pools = new Map<bigint, TextAllocator>([
    [k.bpfText.base, k.bpfText],
    [k.farBpfText.base, k.farBpfText],
  ]);
  for (const r of k.machine.memory.regions) {
    if (r.name === "task stack" || r.name === "sentinel") continue;
    const exec = (r.perms & PROT_EXEC) !== 0;
    const pool = pools.get(r.base);
    if (pool) {
      out.push(saveRange(k, r.base, pageUp(pool.highWater), true, () => pool.highWater));
    } else if (r.name === "kernel heap") {
      out.push(saveRange(k, r.base, pageUp(k.slab.brk), false, () => k.slab.brk));
    } else if (r.size <= SMALL_REGION) {
      out.push(saveRange(k, r.base, r.end, exec));
    } else {
      throw new KernelError(EINVAL, `checkpoint: region ${r.name} (${r.size} bytes) has no known used extent`);
    }
  }
  return out;
}

function pageUp(a: bigint): bigint {
  const p = BigInt(PAGE_SIZE);
  return ((a + p - 1n) / p) * p;
}

/** Record the current quiescent point of `k` (EBUSY when it is not quiescent). */
export function kernelCheckpoint(k: Kernel): KernelCheckpoint {
  requireQuiescent(k, "checkpoint");
  k.sched.reap();
  // Nothing pending in any CPU's icache model from here on.
  k.machine.kickAllCpusSync();
  return {
    kernel: k,
    sched: k.sched.quiescentState(),
    steps: k.sched.steps,
    tasks: k.sched.liveTasks().map((t) => ({
      task: t,
      lastCpu: t.lastCpu,
      nvcsw: t.nvcsw,
      nivcsw: t.nivcsw,
      rcuTasksQs: t.rcuTasksQs,
      rcuReadUnlocks: t.rcuReadUnlocks,
      trcReadUnlocks: t.trcReadUnlocks,
      preemptEnables: t.preemptEnables,
      enqueueSeq: t.enqueueSeq,
      wakeAt: t.wakeAt,
    })),
    slab: k.slab.checkpoint(),
    stacks: k.stacks.checkpoint(),
    text: [k.bpfText, k.farBpfText].map((pool) => ({ pool, cp: pool.checkpoint() })),
    memory: memoryRanges(k),
    lengths: { bugs: k.bugs.reports.length, oopses: k.oopses.length, dmesg: k.dmesg.length },
    gpStats: gpEngines(k).map((g) => ({ ...g.stats })),
    wqCompleted: k.systemWq.completed,
  };
}

/** Granule of text restores: a dirty text page is compared and invalidated in 64-byte blocks. */
const TEXT_GRANULE = 64;

/**
 * Copy back the dirty pages of one range. For text, only the blocks that
 * differ are dropped from the CPUs' translations: code next to a freed
 * trampoline (the JITed programs) keeps its translations.
 */
function restoreRange(k: Kernel, r: MemRange, stats: RestoreStats): void {
  const mem = k.machine.memory;
  const savedEnd = r.base + BigInt(r.bytes.length);
  const grownEnd = r.extent ? pageUp(r.extent()) : savedEnd;
  const end = grownEnd > savedEnd ? grownEnd : savedEnd;
  const len = Number(end - r.base);
  const live = mem.bytesView(r.base, len);
  const zero = new Uint8Array(PAGE_SIZE);
  for (let off = 0; off < len; off += PAGE_SIZE) {
    const n = Math.min(PAGE_SIZE, len - off);
    const cur = live.subarray(off, off + n);
    // Above the saved extent the checkpoint had never-used memory: zeros, as at boot.
    const want = off < r.bytes.length ? r.bytes.subarray(off, off + n) : zero.subarray(0, n);
    if (Buffer.compare(cur, want) === 0) continue;
    stats.pages++;
    if (!r.exec) {
      cur.set(want);
      continue;
    }
    let runStart = -1;
    for (let b = 0; b <= n; b += TEXT_GRANULE) {
      const dirty =
        b < n && Buffer.compare(cur.subarray(b, b + TEXT_GRANULE), want.subarray(b, b + TEXT_GRANULE)) !== 0;
      if (dirty && runStart < 0) runStart = b;
      if (!dirty && runStart >= 0) {
        cur.set(want.subarray(runStart, b), runStart);
        const a = r.base + BigInt(off + runStart);
        k.machine.invalidateText(a, a + BigInt(b - runStart));
        stats.invalidated++;
        runStart = -1;
      }
    }
  }
}

/**
 * Bring `cp.kernel` back to the checkpoint. `poked` lists the text ranges
 * patched since (from the kernel's poke events): they are dropped from
 * every CPU's translations, stale or not. EBUSY when the kernel is not
 * quiescent (the caller should boot a fresh one).
 */
export function kernelRestore(cp: KernelCheckpoint, poked: Iterable<bigint> = []): RestoreStats {
  const k = cp.kernel;
  requireQuiescent(k, "restore");
  const stats: RestoreStats = { pages: 0, invalidated: 0 };
  k.sched.restoreQuiescent(cp.sched);
  k.sched.steps = cp.steps;
  const live = new Set(k.sched.liveTasks());
  if (live.size !== cp.tasks.length || cp.tasks.some((c) => !live.has(c.task))) {
    throw new KernelError(EBUSY, "restore: the set of live kernel threads changed since the checkpoint");
  }
  for (const c of cp.tasks) {
    const t = c.task;
    t.lastCpu = c.lastCpu;
    t.nvcsw = c.nvcsw;
    t.nivcsw = c.nivcsw;
    t.rcuTasksQs = c.rcuTasksQs;
    t.rcuReadUnlocks = c.rcuReadUnlocks;
    t.trcReadUnlocks = c.trcReadUnlocks;
    t.preemptEnables = c.preemptEnables;
    t.enqueueSeq = c.enqueueSeq;
    t.wakeAt = c.wakeAt;
  }
  k.slab.restore(cp.slab);
  k.stacks.restore(cp.stacks);
  for (const { pool, cp: tcp } of cp.text) pool.restore(tcp);
  // Apply whatever the icache model still has pending, then drop every patched range.
  k.machine.kickAllCpusSync();
  for (const addr of poked) {
    k.machine.invalidateText(addr, addr + 4n);
    stats.invalidated++;
  }
  for (const r of cp.memory) restoreRange(k, r, stats);
  k.bugs.reports.length = cp.lengths.bugs;
  k.oopses.length = cp.lengths.oopses;
  k.dmesg.length = cp.lengths.dmesg;
  gpEngines(k).forEach((g, i) => Object.assign(g.stats, cp.gpStats[i]));
  k.systemWq.completed = cp.wqCompleted;
  return stats;
}
