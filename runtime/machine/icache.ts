/**
 * The instruction-cache model (DESIGN.md §3).
 *
 * Each CPU is its own Unicorn instance with its own translation cache. A
 * store by CPU c into code c itself translated is seen by c at once
 * (Unicorn's self-modifying-code handling); every other instance keeps its
 * stale translation until uc_ctl_remove_cache. We use that as the model of
 * arm64 instruction coherence:
 *
 *   patch text ──► range recorded as pending on every CPU
 *                   │ (the patching CPU drops its own copy at once)
 *                   ▼
 *   CPU n: context-synchronising event (exception entry/return: IRQ tick,
 *          preemption, a context switch, kick_all_cpus_sync)
 *                   │
 *                   ▼
 *          pending ranges of CPU n removed from its translation cache
 *
 * Until then CPU n may execute the old instruction, as real hardware may
 * (concurrent modification and execution: B, BL and NOP only).
 * A patch made without the cache maintenance (fault injection) records
 * nothing: every CPU keeps whatever it had translated.
 */

/** Half-open address range [begin, end). */
export interface TextRange {
  begin: bigint;
  end: bigint;
}

/** Per-CPU pending invalidations. */
export class IcacheModel {
  readonly #pending: TextRange[][];
  /** Number of ranges recorded since creation (statistics). */
  recorded = 0;

  constructor(cpus: number) {
    this.#pending = Array.from({ length: cpus }, () => []);
  }

  /** Record a patched range as pending on every CPU except `except`. */
  record(range: TextRange, except?: number): void {
    this.recorded++;
    this.#pending.forEach((list, cpu) => {
      if (cpu === except) return;
      const last = list[list.length - 1];
      if (last && range.begin <= last.end && last.begin <= range.end) {
        last.begin = range.begin < last.begin ? range.begin : last.begin;
        last.end = range.end > last.end ? range.end : last.end;
      } else {
        list.push({ ...range });
      }
    });
  }

  /** True when CPU `cpu` still has stale translations pending. */
  hasPending(cpu: number): boolean {
    return this.#pending[cpu].length > 0;
  }

  /** Take (and clear) the pending ranges of one CPU. */
  take(cpu: number): TextRange[] {
    const list = this.#pending[cpu];
    this.#pending[cpu] = [];
    return list;
  }
}
