/**
 * Takes history off the request path: records wait in memory and are written in
 * batched transactions every `flushMs`. A request still running at a flush gets its
 * start written, so a crash leaves at least that; one that ends before the next flush
 * is written once, complete. `close` writes everything that is left.
 */
import type { Logger } from 'pino';
import type { HistoryBatch, HistoryRepository } from '../store/history-repository.js';
import type { HistoryEnd, HistoryStart } from './history-record.js';

/** Beyond this many waiting records (the disk is failing), the oldest are dropped. */
const MAX_PENDING = 100_000;

export interface HistoryHandle {
  finish(end: HistoryEnd): void;
}

export interface HistoryWriterHooks {
  /** Runs at each flush, after the history batch (used to persist usage counters). */
  afterFlush?: () => void;
  onWritten?: (records: number) => void;
  onDropped?: (records: number) => void;
}

interface Pending {
  start: HistoryStart;
  startWritten: boolean;
  end?: HistoryEnd;
}

export class HistoryWriter {
  private readonly running = new Map<string, Pending>();
  private finished: Pending[] = [];
  private unwrittenStarts = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly repo: HistoryRepository,
    private readonly flushMs: number,
    private readonly log: Logger,
    private readonly hooks: HistoryWriterHooks = {},
  ) {}

  /** Records waiting to be written. */
  get depth(): number {
    return this.finished.length + this.unwrittenStarts;
  }

  begin(start: HistoryStart): HistoryHandle {
    const pending: Pending = { start, startWritten: false };
    this.running.set(start.id, pending);
    this.unwrittenStarts++;
    this.schedule();
    return {
      finish: (end) => {
        if (pending.end) return;
        pending.end = end;
        this.running.delete(start.id);
        if (!pending.startWritten) this.unwrittenStarts--;
        this.finished.push(pending);
        if (this.finished.length > MAX_PENDING) {
          const dropped = this.finished.splice(0, this.finished.length - MAX_PENDING);
          this.hooks.onDropped?.(dropped.length);
        }
        this.schedule();
      },
    };
  }

  /** Writes everything waiting, now. Failures keep the records for the next try. */
  flush(): void {
    // A flush called directly cancels the pending one, so no stray timer outlives close().
    clearTimeout(this.timer);
    this.timer = undefined;
    const started: HistoryStart[] = [];
    const startedPending: Pending[] = [];
    for (const pending of this.running.values()) {
      if (!pending.startWritten) {
        started.push(pending.start);
        startedPending.push(pending);
      }
    }
    const finished = this.finished;
    if (started.length > 0 || finished.length > 0) {
      const batch: HistoryBatch = {
        started,
        finished: finished.map((p) => ({ start: p.start, end: p.end!, startWritten: p.startWritten })),
      };
      try {
        this.repo.writeBatch(batch);
        this.finished = [];
        for (const p of startedPending) p.startWritten = true;
        this.unwrittenStarts -= startedPending.length;
        this.hooks.onWritten?.(started.length + finished.length);
      } catch (error) {
        this.log.error(
          { err: error, records: this.depth },
          'history write failed; retrying at the next flush',
        );
        this.schedule();
      }
    }
    try {
      this.hooks.afterFlush?.();
    } catch (error) {
      this.log.error({ err: error }, 'usage counter write failed');
    }
  }

  /** Asks for a flush within `flushMs` even with no history waiting (usage counters). */
  requestFlush(): void {
    this.schedule();
  }

  /** Final flush; later records are written at once. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.flush();
  }

  private schedule(): void {
    if (this.closed) {
      this.flush();
      return;
    }
    if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }
}
