/**
 * The history records waiting in memory to be written, and the bound on them: at most
 * `maxRecords` finished records holding about `maxBytes`; beyond that the oldest are
 * dropped, so a store that keeps failing can never grow the process without limit.
 *
 * Invariant: the queue is in finishing order (`seq`), including after records taken by
 * a write that failed are put back.
 */
import type { HistoryEnd, HistoryStart } from './history-record.js';

/** Where a record's start row stands. */
export type StartState = 'unsent' | 'sent' | 'written' | 'failed';

export interface Pending {
  start: HistoryStart;
  /**
   * `sent`: in a batch whose answer has not come back yet. `failed`: it could not be
   * written even reduced; its finish writes the whole record.
   */
  startState: StartState;
  end?: HistoryEnd;
  /** performance.now() when it became due: its start, then its end. */
  dueAt: number;
  /** About how many bytes it holds in memory. */
  bytes: number;
  /** Finishing order. */
  seq: number;
}

export interface BacklogBounds {
  maxRecords: number;
  maxBytes: number;
}

export class HistoryBacklog {
  private queue: Pending[] = [];
  private bytes = 0;
  private nextSeq = 0;

  constructor(private readonly bounds: BacklogBounds) {}

  get length(): number {
    return this.queue.length;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  /** Adds a finished record; returns how many of the oldest were dropped to stay in bounds. */
  push(pending: Pending): number {
    pending.seq = this.nextSeq++;
    this.queue.push(pending);
    this.bytes += pending.bytes;
    return this.trim();
  }

  /**
   * Takes up to `maxRecords` records (and about `maxBytes`, but at least one), oldest
   * first, skipping those whose start is still being written: their finish must wait
   * for that write's answer, to know whether it completes a row or inserts one.
   */
  take(maxRecords: number, maxBytes: number): Pending[] {
    const taken: Pending[] = [];
    const kept: Pending[] = [];
    let bytes = 0;
    for (const pending of this.queue) {
      const room = taken.length < maxRecords && (taken.length === 0 || bytes < maxBytes);
      if (!room || pending.startState === 'sent') {
        kept.push(pending);
        continue;
      }
      taken.push(pending);
      bytes += pending.bytes;
    }
    if (taken.length > 0) {
      this.queue = kept;
      this.bytes -= bytes;
    }
    return taken;
  }

  /** Puts back records a failed write took, in their place; returns how many were dropped. */
  putBack(records: Pending[]): number {
    if (records.length === 0) return 0;
    for (const pending of records) this.bytes += pending.bytes;
    this.queue = records.concat(this.queue).sort((a, b) => a.seq - b.seq);
    return this.trim();
  }

  /** When the oldest record that could be written now became due. */
  oldestDueAt(): number | undefined {
    for (const pending of this.queue) if (pending.startState !== 'sent') return pending.dueAt;
    return undefined;
  }

  /** Whether the records waiting are about half the bound or less. */
  get belowHalf(): boolean {
    return this.queue.length < this.bounds.maxRecords / 2 && this.bytes < this.bounds.maxBytes / 2;
  }

  private trim(): number {
    let dropped = 0;
    while (
      this.queue.length > 0 &&
      (this.queue.length > this.bounds.maxRecords || this.bytes > this.bounds.maxBytes)
    ) {
      this.bytes -= this.queue.shift()!.bytes;
      dropped++;
    }
    return dropped;
  }
}
