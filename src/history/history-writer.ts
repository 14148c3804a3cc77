/**
 * Takes history off the request path: records wait in memory and are handed to the
 * sink in batches, one transaction each (rows, their index, usage counters). A request
 * still running at a flush gets its start written, so a crash leaves at least that;
 * one that ends before the next flush is written once, complete. `close` writes
 * everything that is left.
 *
 * When records are written: a finished record is due when it ends, and a running
 * request's start is due `flushMs / 2` after it began (most requests end before that,
 * and are then written once, complete, instead of as a start and then its end). A
 * batch is sent early enough that it commits within `flushMs` of the oldest record it
 * holds becoming due. The writer measures how long recent batches took to commit and sends
 * that much (twice over) ahead. A batch does not wait for the answer to the one before
 * (up to `MAX_IN_FLIGHT` are on their way; the sink writes them in order): when the
 * request thread is busy, answers reach it late, and a commit must not wait for that.
 *
 * What can go wrong, and what happens then:
 * - The store cannot be written (disk full, I/O error): the batch is kept, records wait
 *   in memory (up to `maxRecords` and `maxBytes`; beyond that the oldest are dropped and
 *   counted), and writing is retried every `retryMs` until it works. The log says so
 *   once when it starts failing and once when it has caught up again (a nearly full
 *   disk may take some batches and refuse others: that is one episode, not many).
 * - A batch fails for another reason (a record that cannot be copied or stored): the
 *   batch is split until the failing record is alone; that record is written in a
 *   reduced form (request and structured answer parts replaced by a note) or, if even
 *   that fails, dropped and counted. The others are written.
 *
 * Invariants: batches are written in the order they are sent, and a record's finish is
 * not sent while the batch holding its start is on its way, so a finish never overtakes
 * its start and always knows whether to complete a row or insert one. Nothing here
 * recurses on a record's contents (see bounded-json.ts).
 */
import type { Logger } from 'pino';
import type { HistoryBatch } from '../store/history-repository.js';
import type { UsageCount } from '../store/token-repository.js';
import { boundJson } from './bounded-json.js';
import { HistoryBacklog, type Pending } from './history-backlog.js';
import type { HistoryEnd, HistoryStart } from './history-record.js';

export interface HistoryHandle {
  finish(end: HistoryEnd): void;
}

/**
 * Where batches go: the history repository itself, or a writer thread that owns its
 * own connection so SQLite never runs on the request thread. Usage counters travel
 * with the batch so that one transaction writes both. Batches are written in the order
 * handed over; those handed over while another is being written may share the next
 * transaction.
 *
 * A failure that leaves the batch blameless (the store cannot take writes now) carries
 * `storeUnavailable: true` (see `storeUnavailable`); any other failure is taken to be
 * caused by a record in the batch.
 */
export interface HistorySink {
  writeBatch(
    batch: HistoryBatch,
    usage: UsageCount[],
    options?: WriteOptions,
  ): void | Promise<void> | Promise<WriteReceipt>;
}

export interface WriteOptions {
  /**
   * The batch is late (its oldest record waited longer than planned): the sink should
   * write it as fast as it can, without the pauses it takes to leave the CPU to requests.
   */
  urgent: boolean;
}

/** What a sink may tell about a batch it wrote. */
export interface WriteReceipt {
  /** From the batch being handed over to its commit, in ms (without the answer's way back). */
  commitMs: number;
}

/** Marks an error as "the store cannot be written now": the batch is kept and retried. */
export function storeUnavailable<E extends Error>(error: E): E & { storeUnavailable: true } {
  return Object.assign(error, { storeUnavailable: true as const });
}

export const isStoreUnavailable = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { storeUnavailable?: unknown }).storeUnavailable === true;

/** Why a record was dropped. */
export type DropReason = 'backlog_full' | 'unwritable';

export interface HistoryWriterHooks {
  /** Usage counters changed since the last flush (absolute values). */
  usage?: () => UsageCount[];
  onWritten?: (records: number) => void;
  onDropped?: (records: number, reason: DropReason) => void;
  /** A record was stored with parts summarised (too deep) or reduced (its write failed). */
  onSummarised?: (records: number) => void;
  /** Monotonic milliseconds (performance.now() unless given; tests drive it by hand). */
  clock?: () => number;
}

export interface HistoryWriterLimits {
  /** Finished records kept in memory while they cannot be written. */
  maxRecords: number;
  /** About how many bytes those records may hold. */
  maxBytes: number;
  /** Records and bytes one batch carries at most, so that one write stays short. */
  batchRecords: number;
  batchBytes: number;
  /** Records a batch carries while the store is failing: a probe, not the whole backlog. */
  probeRecords: number;
  /** How often writing is retried while the store is failing. */
  retryMs: number;
  /** How long `close` keeps retrying a failing store before it gives up on what is left. */
  closeRetryMs: number;
}

export const DEFAULT_LIMITS: HistoryWriterLimits = {
  maxRecords: 20_000,
  maxBytes: 32 * 1024 * 1024,
  batchRecords: 1000,
  batchBytes: 4 * 1024 * 1024,
  probeRecords: 20,
  retryMs: 1000,
  closeRetryMs: 5000,
};

/** What a record costs in memory beyond its strings: the start and end objects themselves. */
const RECORD_OVERHEAD_BYTES = 1024;
/** Text kept of an answer whose record had to be reduced. */
const REDUCED_TEXT_CHARS = 64 * 1024;

/** Batches on their way to the sink at once (queued ones share a transaction there). */
const MAX_IN_FLIGHT = 64;

/** One write: starts of running requests, finished records, counters. */
interface Piece {
  /** The batch it is (part of), for counters put back after a failure. */
  batch: number;
  starts: Pending[];
  finished: Pending[];
  usage: UsageCount[];
  /** Write the records in their reduced form (one record whose write failed). */
  reduced: boolean;
}

const usageKey = (u: UsageCount) => `${u.tokenId}\u0000${u.window}`;

function note(reason: string): string {
  return `[not stored: ${reason.length > 200 ? `${reason.slice(0, 200)}…` : reason}]`;
}

function reducedStart(start: HistoryStart, reason: string): HistoryStart {
  return { ...start, request: start.request === null ? null : note(reason) };
}

function reducedEnd(end: HistoryEnd, reason: string): HistoryEnd {
  const cut = (text: string | null) =>
    text !== null && text.length > REDUCED_TEXT_CHARS ? text.slice(0, REDUCED_TEXT_CHARS) : text;
  return {
    ...end,
    answerContent: cut(end.answerContent),
    answerThinking: cut(end.answerThinking),
    answerToolCalls: null,
    answerSummary: note(reason),
  };
}

export class HistoryWriter {
  private readonly running = new Map<string, Pending>();
  /** Finished records not yet written. */
  private readonly backlog: HistoryBacklog;
  /** Counters not yet written; a later value for the same counter replaces an earlier one. */
  private readonly usage = new Map<string, UsageCount>();
  /** The last batch that carried each counter: a failed batch puts back only values no later batch carries. */
  private readonly usageCarrier = new Map<string, number>();
  private batches = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** When `timer` fires, on `now`'s clock. */
  private timerAt = 0;
  private closed = false;
  private readonly limits: HistoryWriterLimits;
  /**
   * A decaying maximum of how long recent batches took to commit, in ms. It starts at a
   * quarter of the interval, so the first batches are in time before any was measured.
   */
  private commitEstimateMs: number;
  /** Set from the first write the store refused until the records kept meanwhile are written. */
  private failing: { since: number; dropped: number; message: string } | undefined;
  /** The last write was refused by the store: retry on the slow timer, one small batch at a time. */
  private refused = false;
  /** The backlog reached its bound and the oldest records are being dropped (said once). */
  private overflowing = false;
  private lostAtClose = 0;
  private readonly now: () => number;

  constructor(
    private readonly sink: HistorySink,
    private readonly flushMs: number,
    private readonly log: Logger,
    private readonly hooks: HistoryWriterHooks = {},
    limits: Partial<HistoryWriterLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.backlog = new HistoryBacklog(this.limits);
    this.commitEstimateMs = flushMs / 4;
    this.now = hooks.clock ?? (() => performance.now());
  }

  /** Records waiting to be written (not counting those on their way). */
  get depth(): number {
    let unsentStarts = 0;
    for (const pending of this.running.values()) if (pending.startState === 'unsent') unsentStarts++;
    return this.backlog.length + unsentStarts;
  }

  /** About how many bytes the finished records waiting to be written hold. */
  get queuedBytes(): number {
    return this.backlog.queuedBytes;
  }

  /** True while the store cannot be written and records wait in memory. */
  get storeFailing(): boolean {
    return this.failing !== undefined;
  }

  /** Records and usage counters that `close` could not write. */
  get lost(): number {
    return this.lostAtClose;
  }

  begin(start: HistoryStart): HistoryHandle {
    const request = boundJson(start.request);
    if (request.summarised) {
      start.request = request.value;
      this.hooks.onSummarised?.(1);
    }
    const pending: Pending = {
      start,
      startState: 'unsent',
      dueAt: this.now() + this.flushMs / 2,
      bytes: RECORD_OVERHEAD_BYTES + request.bytes,
      seq: 0,
    };
    this.running.set(start.id, pending);
    this.schedule(pending.dueAt);
    return {
      finish: (end) => {
        if (pending.end) return;
        const bounded = this.bounded(end);
        pending.end = bounded.end;
        pending.dueAt = this.now();
        pending.bytes += bounded.bytes;
        this.running.delete(start.id);
        this.dropped(this.backlog.push(pending));
        this.schedule();
      },
    };
  }

  /**
   * Writes everything waiting when it is called, batch after batch; resolves once that is
   * written, or once the store refused it (what was not written stays for the next try).
   */
  async flush(): Promise<void> {
    this.clearTimer();
    for (let rounds = 0; rounds < 1000; rounds++) {
      // An explicit flush tries once even while the store is refusing, and takes every
      // running request's start, due or not.
      let sent = this.send(true, true);
      while (!this.refused && this.send(false, true)) sent = true;
      if (!sent && this.inFlight.size === 0) return;
      await Promise.all([...this.inFlight]);
      if (this.refused) return;
    }
  }

  /** Asks for a flush within `flushMs` even with no history waiting (usage counters). */
  requestFlush(): void {
    this.schedule();
  }

  /**
   * Final flush, once the server stopped: requests cut by the stop record their end as
   * their connections close, so it waits (at most `settleMs`) for those, then writes
   * everything, retrying a failing store for up to `closeRetryMs`. What still could not
   * be written is logged as lost and counted in `lost`. Records that end later are
   * written at once.
   */
  async close(settleMs = 1000): Promise<void> {
    const deadline = Date.now() + settleMs;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.closed = true;
    const giveUp = Date.now() + this.limits.closeRetryMs;
    for (;;) {
      await this.flush();
      if (!this.refused || Date.now() >= giveUp) break;
      await new Promise((r) => setTimeout(r, Math.min(this.limits.retryMs, giveUp - Date.now())));
    }
    this.clearTimer();
    const records = this.depth;
    const counters = this.usage.size;
    this.lostAtClose = records + counters;
    if (this.lostAtClose > 0) {
      this.log.error(
        { records, usageCounters: counters, reason: this.failing?.message },
        'history store still failing at the stop: records and usage counters not written are lost',
      );
    }
  }

  /** The end as it can be stored (structured parts bounded like the request), and its size. */
  private bounded(end: HistoryEnd): { end: HistoryEnd; bytes: number } {
    const text =
      (end.answerContent?.length ?? 0) + (end.answerThinking?.length ?? 0) + (end.error?.length ?? 0);
    if (end.answerToolCalls === null && (end.answerSummary === null || typeof end.answerSummary !== 'object'))
      return { end, bytes: text };
    const calls = boundJson(end.answerToolCalls);
    const summary = boundJson(end.answerSummary);
    const bytes = text + calls.bytes + summary.bytes;
    if (!calls.summarised && !summary.summarised) return { end, bytes };
    this.hooks.onSummarised?.(1);
    return {
      end: { ...end, answerToolCalls: calls.value as unknown[] | null, answerSummary: summary.value },
      bytes,
    };
  }

  /** Counts records the backlog dropped to stay within its bound, and says so once. */
  private dropped(count: number): void {
    if (count === 0) {
      if (this.overflowing && this.backlog.belowHalf) this.overflowing = false;
      return;
    }
    this.hooks.onDropped?.(count, 'backlog_full');
    if (this.failing) this.failing.dropped += count;
    if (this.overflowing) return;
    this.overflowing = true;
    this.log.warn(
      { maxRecords: this.limits.maxRecords, maxBytes: this.limits.maxBytes },
      'history backlog full: the oldest unwritten records are being dropped',
    );
  }

  /** How long after the oldest due record a batch should be sent, so that it commits in time. */
  private delayMs(): number {
    return Math.max(0, this.flushMs * 0.9 - 2 * this.commitEstimateMs);
  }

  private oldestDueAt(): number | undefined {
    let oldest = this.backlog.oldestDueAt();
    for (const pending of this.running.values()) {
      if (pending.startState !== 'unsent') continue;
      if (oldest === undefined || pending.dueAt < oldest) oldest = pending.dueAt;
      break; // the map keeps start order: the first unsent start is the oldest
    }
    if (oldest === undefined && this.usage.size > 0) oldest = this.now();
    return oldest;
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timerAt = this.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.refused) {
        this.send(true);
        return;
      }
      while (this.send(false));
      // A start that was not due yet when the timer fired gets a timer of its own; with
      // every slot taken, the next write's end schedules instead.
      if (this.inFlight.size < MAX_IN_FLIGHT) this.scheduleNext();
    }, ms);
  }

  /** Something becomes due at `dueAt` (now unless said). */
  private schedule(dueAt = this.now()): void {
    if (this.closed) {
      void this.flush();
      return;
    }
    // A refusing store is retried on its own timer.
    if (this.refused) return;
    const at = dueAt + this.delayMs();
    if (this.timer !== undefined) {
      // A finish due now must not wait for a timer armed for a start due later.
      if (this.timerAt <= at) return;
      this.clearTimer();
    }
    this.arm(Math.max(0, at - this.now()));
  }

  /** After a write: the next one, timed from the oldest record still waiting. */
  private scheduleNext(): void {
    if (this.closed || this.timer !== undefined) return;
    if (this.refused) {
      if (this.inFlight.size === 0) this.arm(this.limits.retryMs);
      return;
    }
    const oldest = this.oldestDueAt();
    if (oldest === undefined) return;
    // Catching up after a failure: the backlog is written batch after batch.
    this.arm(this.failing ? 0 : Math.max(0, oldest + this.delayMs() - this.now()));
  }

  /**
   * Sends one batch of what is due, unless there is nothing, too many are on their way,
   * or the store is refusing (then only when `retry`, and only one at a time). Returns
   * whether it sent one.
   */
  private send(retry: boolean, everyStart = false): boolean {
    if (this.refused && !(retry && this.inFlight.size === 0)) return false;
    if (this.inFlight.size >= MAX_IN_FLIGHT) return false;
    const piece = this.take(everyStart);
    if (!piece) return false;
    const write: Promise<void> = this.write(piece)
      .catch((error: unknown) => this.log.error({ err: error }, 'history writer failed'))
      .finally(() => {
        this.inFlight.delete(write);
        this.scheduleNext();
      });
    this.inFlight.add(write);
    return true;
  }

  /** Takes what is due (with `everyStart`, every unsent start) into one batch, within the batch bounds. */
  private take(everyStart: boolean): Piece | undefined {
    for (const u of this.hooks.usage?.() ?? []) this.usage.set(usageKey(u), u);
    const maxRecords = this.refused ? this.limits.probeRecords : this.limits.batchRecords;
    const starts: Pending[] = [];
    const at = this.now();
    for (const pending of this.running.values()) {
      if (pending.startState !== 'unsent') continue;
      // The map keeps start order, and every start is due the same time after it began.
      if (!everyStart && pending.dueAt > at) break;
      if (starts.length >= maxRecords) break;
      starts.push(pending);
    }
    const finished = this.backlog.take(maxRecords - starts.length, this.limits.batchBytes);
    const usage = [...this.usage.values()];
    if (starts.length === 0 && finished.length === 0 && usage.length === 0) return undefined;
    const batch = ++this.batches;
    this.usage.clear();
    for (const u of usage) this.usageCarrier.set(usageKey(u), batch);
    for (const p of starts) p.startState = 'sent';
    return { batch, starts, finished, usage, reduced: false };
  }

  /**
   * Writes a batch; when it fails for a reason other than the store, splits it until the
   * failing record is alone, and writes that one reduced or drops it. Its pieces are
   * written one after the other, in order.
   */
  private async write(batch: Piece): Promise<void> {
    const pieces: Piece[] = [batch];
    while (pieces.length > 0) {
      const piece = pieces.shift()!;
      const started = this.now();
      let receipt: WriteReceipt | undefined;
      try {
        const urgent = started - this.oldestIn(piece) > this.delayMs() + this.flushMs * 0.1;
        const answer: unknown = await this.sink.writeBatch(this.toBatch(piece), piece.usage, { urgent });
        receipt =
          typeof (answer as WriteReceipt | undefined)?.commitMs === 'number'
            ? (answer as WriteReceipt)
            : undefined;
      } catch (error) {
        if (isStoreUnavailable(error)) {
          this.putBack([piece, ...pieces]);
          this.storeFailed(error as Error);
          return;
        }
        pieces.unshift(...this.isolate(piece, error as Error));
        continue;
      }
      this.written(piece, receipt ? receipt.commitMs : this.now() - started);
    }
  }

  /** When the oldest record of a piece became due (now for counters alone). */
  private oldestIn(piece: Piece): number {
    let oldest = this.now();
    for (const p of piece.starts) if (p.dueAt < oldest) oldest = p.dueAt;
    for (const p of piece.finished) if (p.dueAt < oldest) oldest = p.dueAt;
    return oldest;
  }

  /** The pieces to try after `piece` failed because of its contents. */
  private isolate(piece: Piece, error: Error): Piece[] {
    const records = [...piece.starts, ...piece.finished];
    if (piece.usage.length > 0 && records.length > 0) {
      // Counters first, alone: they are small, and may be what failed.
      return [
        { ...piece, starts: [], finished: [] },
        { ...piece, usage: [] },
      ];
    }
    if (records.length > 1) {
      const half = Math.ceil(records.length / 2);
      const starts = new Set(piece.starts);
      const split = (part: Pending[]): Piece => ({
        batch: piece.batch,
        starts: part.filter((p) => starts.has(p)),
        finished: part.filter((p) => !starts.has(p)),
        usage: [],
        reduced: false,
      });
      return [split(records.slice(0, half)), split(records.slice(half))];
    }
    if (records.length === 1 && !piece.reduced) return [{ ...piece, reduced: true }];
    this.dropUnwritable(piece, error);
    return [];
  }

  private toBatch(piece: Piece): HistoryBatch {
    const reason = 'the record could not be stored as it was';
    return {
      started: piece.starts.map((p) => (piece.reduced ? reducedStart(p.start, reason) : p.start)),
      finished: piece.finished.map((p) => ({
        start: piece.reduced ? reducedStart(p.start, reason) : p.start,
        end: piece.reduced ? reducedEnd(p.end!, reason) : p.end!,
        startWritten: p.startState === 'written',
      })),
    };
  }

  private written(piece: Piece, commitMs: number): void {
    for (const p of piece.starts) p.startState = 'written';
    const records = piece.starts.length + piece.finished.length;
    if (records > 0) this.hooks.onWritten?.(records);
    if (piece.reduced) {
      this.hooks.onSummarised?.(records);
      this.log.warn(
        { records, id: (piece.starts[0] ?? piece.finished[0])?.start.id },
        'history record stored reduced: it could not be stored as it was',
      );
    }
    this.commitEstimateMs = Math.max(commitMs, this.commitEstimateMs * 0.8);
    this.refused = false;
    // Caught up once what waits fits in one batch (under load the queue is never quite empty).
    if (this.failing && this.backlog.length < this.limits.batchRecords) this.storeRecovered();
  }

  private dropUnwritable(piece: Piece, error: Error): void {
    for (const p of piece.starts) p.startState = 'failed';
    const records = piece.starts.length + piece.finished.length;
    if (records > 0) this.hooks.onDropped?.(records, 'unwritable');
    this.log.error(
      {
        err: error.message,
        records,
        usageCounters: piece.usage.length,
        id: (piece.starts[0] ?? piece.finished[0])?.start.id,
      },
      'history write failed even reduced: dropped',
    );
  }

  /** Puts back what a refused write took: starts to be sent again, records in their place, counters unless newer ones went out since. */
  private putBack(pieces: Piece[]): void {
    for (const piece of pieces) {
      for (const p of piece.starts) p.startState = 'unsent';
      for (const u of piece.usage) {
        const key = usageKey(u);
        if (!this.usage.has(key) && this.usageCarrier.get(key) === piece.batch) this.usage.set(key, u);
      }
    }
    this.dropped(this.backlog.putBack(pieces.flatMap((p) => p.finished)));
  }

  private storeFailed(error: Error): void {
    this.refused = true;
    if (this.failing) return;
    this.failing = { since: Date.now(), dropped: 0, message: error.message };
    this.log.error(
      {
        err: error.message,
        records: this.depth,
        keepsUpTo: { records: this.limits.maxRecords, bytes: this.limits.maxBytes },
        retryMs: this.limits.retryMs,
      },
      'history store failing: records are kept in memory and written once it can be written again',
    );
  }

  private storeRecovered(): void {
    const failing = this.failing!;
    this.failing = undefined;
    this.log.info(
      { failedForMs: Date.now() - failing.since, dropped: failing.dropped, waiting: this.depth },
      'history store writable again: the records kept meanwhile are written (the last of them now)',
    );
  }
}
