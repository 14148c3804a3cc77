/**
 * History maintenance in the background: indexes records that have no search fields yet
 * (data from before the search migration), enforces the retention settings — records
 * older than `historyMaxAgeDays` go, and beyond `historyMaxRecords` the oldest go — and
 * after a redaction rewrites the text index so no word of the erased content stays on
 * disk. Work is done in small transactions with a turn of the event loop between them,
 * so requests and the history writer never wait behind a long delete.
 */
import type { Logger } from 'pino';
import type { HistoryReads } from './history-reads.js';
import type { HistoryRedaction } from './history-redaction.js';

/** The retention settings as the admin settings repository stores them (read each pass). */
export interface RetentionSettingsSource {
  read(): { historyMaxAgeDays: number | null; historyMaxRecords: number | null };
}

/** The store ports a pass works through: indexing, deleting, and purging after redactions. */
export interface RetentionStore extends Pick<HistoryReads, 'backfill' | 'retention'> {
  redaction: Pick<HistoryRedaction, 'purgePending' | 'purgeStep'>;
}

export interface RetentionJobOptions {
  /** Time between passes. */
  intervalMs?: number;
  /** Records per transaction. */
  batchSize?: number;
  now?: () => number;
}

export interface RetentionPass {
  indexed: number;
  deleted: number;
  /** Whether erased content was purged from the text index. */
  purged: boolean;
}

const DAY_MS = 86_400_000;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionPass> | undefined;
  private stopped = true;
  /** Set by stop(): a running pass ends at its next batch boundary. */
  private halting = false;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly now: () => number;

  constructor(
    private readonly store: RetentionStore,
    private readonly settings: RetentionSettingsSource,
    private readonly log: Logger,
    options: RetentionJobOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.batchSize = options.batchSize ?? 500;
    this.now = options.now ?? Date.now;
  }

  /** Runs a first pass shortly, then one every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.halting = false;
    this.schedule(1000);
  }

  /** Runs a pass now (after the current one, if any), e.g. after the settings changed. */
  runSoon(): void {
    if (this.stopped) return;
    this.schedule(0);
  }

  /** Stops the timer and waits for a running pass to finish its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halting = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One full pass: index the backlog, then delete what the settings no longer keep. */
  runOnce(): Promise<RetentionPass> {
    const pass = (this.running ?? Promise.resolve()).then(
      () => this.pass(),
      () => this.pass(),
    );
    this.running = pass;
    return pass.finally(() => {
      if (this.running === pass) this.running = undefined;
    });
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runOnce()
        .catch((error: unknown) => this.log.error({ err: error }, 'history maintenance failed'))
        .finally(() => {
          if (!this.stopped && this.timer === undefined) this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<RetentionPass> {
    let indexed = 0;
    for (;;) {
      const n = await this.store.backfill.indexBacklog(this.batchSize);
      indexed += n;
      if (n < this.batchSize || this.halting) break;
      await nextTurn();
    }
    if (indexed > 0) this.log.info({ records: indexed }, 'indexed older history records for search');

    if (this.halting) return { indexed, deleted: 0, purged: false };
    const { historyMaxAgeDays, historyMaxRecords } = this.settings.read();
    const cut = await this.store.retention.retentionCut({
      olderThan: historyMaxAgeDays === null ? null : this.now() - historyMaxAgeDays * DAY_MS,
      maxRecords: historyMaxRecords,
    });
    let deleted = 0;
    if (cut !== null) {
      for (;;) {
        const n = await this.store.retention.deleteUpTo(cut, this.batchSize);
        deleted += n;
        if (n < this.batchSize || this.halting) break;
        await nextTurn();
      }
    }
    if (deleted > 0) {
      this.log.info(
        { records: deleted, historyMaxAgeDays, historyMaxRecords },
        'history retention removed records',
      );
    }
    let purged = false;
    while (!this.halting && (await this.store.redaction.purgePending())) {
      if (!(await this.store.redaction.purgeStep())) {
        purged = true;
        break;
      }
      await nextTurn();
    }
    return { indexed, deleted, purged };
  }
}
