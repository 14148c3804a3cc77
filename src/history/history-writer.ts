/**
 * Takes history off the request path: records wait in memory and are handed to the
 * sink in batches every `flushMs`. A request still running at a flush gets its start
 * written, so a crash leaves at least that; one that ends before the next flush is
 * written once, complete. `close` writes everything that is left.
 *
 * Invariant: at most one batch is being written at a time, and batches are written in
 * the order they were made, so a record's finish never overtakes its start.
 */
import type { Logger } from 'pino';
import type { HistoryBatch } from '../store/history-repository.js';
import type { UsageCount } from '../store/token-repository.js';
import type { HistoryEnd, HistoryStart } from './history-record.js';

/** Beyond this many waiting records (the disk is failing), the oldest are dropped. */
const MAX_PENDING = 100_000;

export interface HistoryHandle {
  finish(end: HistoryEnd): void;
}

/**
 * Where batches go: the history repository itself, or a writer thread that owns its
 * own connection so SQLite never runs on the request thread. Usage counters travel
 * with the batch so one transaction-owner writes both.
 */
export interface HistorySink {
  writeBatch(batch: HistoryBatch, usage: UsageCount[]): void | Promise<void>;
}

export interface HistoryWriterHooks {
  /** Usage counters changed since the last flush (absolute values). */
  usage?: () => UsageCount[];
  onWritten?: (records: number) => void;
  onDropped?: (records: number) => void;
}

interface Pending {
  start: HistoryStart;
  startWritten: boolean;
  end?: HistoryEnd;
}

const usageKey = (u: UsageCount) => `${u.tokenId}\u0000${u.window}`;

export class HistoryWriter {
  private readonly running = new Map<string, Pending>();
  private finished: Pending[] = [];
  /** Counters not yet written; a later value for the same counter replaces an earlier one. */
  private readonly usage = new Map<string, UsageCount>();
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly sink: HistorySink,
    private readonly flushMs: number,
    private readonly log: Logger,
    private readonly hooks: HistoryWriterHooks = {},
  ) {}

  /** Records waiting to be written. */
  get depth(): number {
    let unwrittenStarts = 0;
    for (const pending of this.running.values()) if (!pending.startWritten) unwrittenStarts++;
    return this.finished.length + unwrittenStarts;
  }

  begin(start: HistoryStart): HistoryHandle {
    const pending: Pending = { start, startWritten: false };
    this.running.set(start.id, pending);
    this.schedule();
    return {
      finish: (end) => {
        if (pending.end) return;
        pending.end = end;
        this.running.delete(start.id);
        this.finished.push(pending);
        if (this.finished.length > MAX_PENDING) {
          const dropped = this.finished.splice(0, this.finished.length - MAX_PENDING);
          this.hooks.onDropped?.(dropped.length);
        }
        this.schedule();
      },
    };
  }

  /**
   * Writes everything waiting when it is called; resolves once that is written (or has
   * failed and been kept for the next try).
   */
  async flush(): Promise<void> {
    // A flush called directly cancels the pending one, so no stray timer outlives close().
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;

    for (const u of this.hooks.usage?.() ?? []) this.usage.set(usageKey(u), u);
    const startedPending = [...this.running.values()].filter((p) => !p.startWritten);
    const finished = this.finished;
    const usage = [...this.usage.values()];
    if (startedPending.length === 0 && finished.length === 0 && usage.length === 0) return;

    this.finished = [];
    this.usage.clear();
    const batch: HistoryBatch = {
      started: startedPending.map((p) => p.start),
      finished: finished.map((p) => ({ start: p.start, end: p.end!, startWritten: p.startWritten })),
    };
    const write = (async () => {
      try {
        await this.sink.writeBatch(batch, usage);
        for (const p of startedPending) p.startWritten = true;
        const records = batch.started.length + batch.finished.length;
        if (records > 0) this.hooks.onWritten?.(records);
      } catch (error) {
        // Kept in order, ahead of what came since; newer counter values win.
        this.finished = finished.concat(this.finished);
        for (const u of usage) if (!this.usage.has(usageKey(u))) this.usage.set(usageKey(u), u);
        this.log.error(
          { err: error, records: this.depth },
          'history write failed; retrying at the next flush',
        );
        if (!this.closed) this.schedule();
      }
    })();
    this.writing = write;
    await write;
    this.writing = undefined;
  }

  /** Asks for a flush within `flushMs` even with no history waiting (usage counters). */
  requestFlush(): void {
    this.schedule();
  }

  /**
   * Final flush, once the server stopped: requests cut by the stop record their end as
   * their connections close, so it waits (at most `settleMs`) for those, then writes
   * everything. Records that still end later are written at once.
   */
  async close(settleMs = 1000): Promise<void> {
    const deadline = Date.now() + settleMs;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private schedule(): void {
    if (this.closed) {
      void this.flush();
      return;
    }
    if (this.timer === undefined) this.timer = setTimeout(() => void this.flush(), this.flushMs);
  }
}
