/**
 * Keeps what is derived from history rows in step with them, inside the same
 * transaction as the write: the ordering key, the thread fields, the full-text index and
 * the hourly and daily usage rollups. The history repository calls `prepare` before it
 * writes a batch (the rows carry the keys and thread fields) and `afterWrite` after;
 * rows written by anything else (or before migration 003) are picked up by
 * `indexBacklog`, which the maintenance job runs in small batches.
 *
 * Invariants: every row with a `search_key` has its text in `history_fts` under that
 * rowid (unless redacted or without content), a `thread_id`, and, once finished, its
 * counters in `usage_hourly` and `usage_daily` exactly once.
 */
import type { HistoryEnd, HistoryStart } from '../history/history-record.js';
import { answerText, promptText } from '../history/search-text.js';
import { continuationKey, lookupKey } from '../history/thread-keys.js';
import type { Db } from './database.js';
import type { HistoryBatch } from './history-repository.js';
import { type Pace, unpaced } from './write-pacing.js';

/** `search_key = started_at * KEY_SCALE + n`: up to 1024 records per millisecond, exact to 2^53 (year 2248). */
export const KEY_SCALE = 1024;

export const keyAt = (ms: number): number => Math.floor(ms) * KEY_SCALE;

/** Upper bounds (ms) of the latency buckets `lat_0..lat_19` of the usage tables. */
export const LATENCY_BOUNDS = [
  10,
  25,
  50,
  100,
  200,
  350,
  500,
  750,
  1000,
  1500,
  2000,
  3000,
  5000,
  7500,
  10000,
  15000,
  30000,
  60000,
  120000,
  Number.POSITIVE_INFINITY,
] as const;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Columns of a history row that are derived from it, written with the row. */
export interface DerivedFields {
  search_key: number | null;
  thread_id: string | null;
  parent_id: string | null;
  continuation_hash: string | null;
}

export type Derived = (id: string) => DerivedFields;

export interface HistoryIndexer {
  /**
   * Derives ordering keys, threads and continuation keys for a batch about to be written,
   * inside its transaction, before its rows are: the inserts and finishes carry them.
   */
  prepare(batch: HistoryBatch): Derived;
  /** Indexes text and counts usage for the batch just written, in the same transaction. */
  afterWrite(batch: HistoryBatch, derived: Derived): void;
  /** Indexes up to `limit` rows that have no key yet, oldest first, in one transaction. Returns how many. */
  indexBacklog(limit: number): number;
}

/** What derivation needs of a record, from a batch or from a stored row. */
interface Source {
  id: string;
  tokenId: string | null;
  endpoint: string;
  model: string | null;
  startedAt: number;
  request: unknown;
  end?: Pick<
    HistoryEnd,
    'outcome' | 'answerContent' | 'answerThinking' | 'durationMs' | 'promptTokens' | 'completionTokens'
  >;
}

interface Tally {
  hourly: Map<string, Record<string, string | number>>;
  daily: Map<string, Record<string, string | number>>;
}

interface BacklogRow {
  id: string;
  token_id: string | null;
  endpoint: string;
  model: string | null;
  started_at: number;
  request_json: string | null;
  outcome: HistoryEnd['outcome'] | 'in_progress';
  answer_content: string | null;
  answer_thinking: string | null;
  duration_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  redacted_at: number | null;
}

const fromStart = (start: HistoryStart, end?: HistoryEnd): Source => ({
  id: start.id,
  tokenId: start.tokenId,
  endpoint: start.endpoint,
  model: start.model,
  startedAt: start.startedAt,
  request: start.request,
  ...(end ? { end } : {}),
});

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function latencyBucket(ms: number): number {
  const index = LATENCY_BOUNDS.findIndex((bound) => ms <= bound);
  return index < 0 ? LATENCY_BOUNDS.length - 1 : index;
}

/** `pace` runs once per record in `prepare` and `afterWrite`; see write-pacing.ts. */
export function createHistoryIndexer(db: Db, pace: Pace = unpaced): HistoryIndexer {
  const maxKeyIn = db.prepare<[number, number], { k: number | null }>(
    'SELECT MAX(search_key) AS k FROM history WHERE search_key >= ? AND search_key < ?',
  );
  const maxKeyFrom = db.prepare<[number], { k: number | null }>(
    'SELECT MAX(search_key) AS k FROM history WHERE search_key >= ?',
  );
  const keyTaken = db.prepare<[number], { one: number }>('SELECT 1 AS one FROM history WHERE search_key = ?');
  const rowState = db.prepare<[string], { search_key: number | null; redacted_at: number | null }>(
    'SELECT search_key, redacted_at FROM history WHERE id = ?',
  );
  const parentOf = db.prepare<[string, string, number], { id: string; thread_id: string | null }>(`
    SELECT id, thread_id FROM history
    WHERE continuation_hash = ? AND token_id = ? AND search_key < ?
    ORDER BY search_key DESC LIMIT 1`);
  const setKeys = db.prepare(`
    UPDATE history SET search_key = @key, thread_id = @thread, parent_id = @parent,
      continuation_hash = @continuation
    WHERE id = @id`);
  const rowThread = db.prepare<
    [string],
    { search_key: number | null; thread_id: string | null; parent_id: string | null }
  >('SELECT search_key, thread_id, parent_id FROM history WHERE id = ?');
  const adoptParent = db.prepare('UPDATE history SET thread_id = ?, parent_id = ? WHERE id = ?');
  // A record redacted while it was still running must not get its answer back at the finish.
  const eraseAgain = db.prepare(`
    UPDATE history SET request_json = NULL, answer_content = NULL, answer_thinking = NULL,
      answer_tool_calls = NULL, answer_summary = NULL, continuation_hash = NULL
    WHERE id = ?`);
  const ftsDelete = db.prepare('DELETE FROM history_fts WHERE rowid = ?');
  const ftsInsert = db.prepare('INSERT INTO history_fts (rowid, prompt, answer) VALUES (?, ?, ?)');
  const lat = LATENCY_BOUNDS.map((_, i) => `lat_${i}`);
  const rollupInto = (table: 'usage_hourly' | 'usage_daily') =>
    db.prepare(`
    INSERT INTO ${table} (bucket, token_id, model, requests, errors, refused, prompt_tokens,
      completion_tokens, duration_ms_sum, ${lat.join(', ')})
    VALUES (@bucket, @token, @model, @requests, @errors, @refused, @prompt, @completion, @duration,
      ${lat.map((c) => `@${c}`).join(', ')})
    ON CONFLICT (bucket, token_id, model) DO UPDATE SET
      requests = requests + excluded.requests, errors = errors + excluded.errors, refused = refused + excluded.refused,
      prompt_tokens = prompt_tokens + excluded.prompt_tokens,
      completion_tokens = completion_tokens + excluded.completion_tokens,
      duration_ms_sum = duration_ms_sum + excluded.duration_ms_sum,
      ${lat.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`);
  const hourly = rollupInto('usage_hourly');
  const daily = rollupInto('usage_daily');
  const backlog = db.prepare<[number], BacklogRow>(`
    SELECT id, token_id, endpoint, model, started_at, request_json, outcome, answer_content, answer_thinking,
      duration_ms, prompt_tokens, completion_tokens, redacted_at
    FROM history WHERE search_key IS NULL ORDER BY rowid LIMIT ?`);

  /**
   * The next free key for a start time; `given` holds keys handed out but not written yet.
   * `storedMax`, when given, is the highest key stored at or above this start's
   * millisecond (null: none), read once per batch: a start above it needs no read.
   */
  const freeKey = (startedAt: number, given?: Set<number>, storedMax?: number | null): number => {
    const base = keyAt(startedAt);
    if (storedMax !== undefined && (storedMax === null || storedMax < base)) {
      let key = base;
      while (given?.has(key)) key++;
      given?.add(key);
      return key;
    }
    const max = maxKeyIn.get(base, base + KEY_SCALE)?.k ?? null;
    let key = max === null ? base : max + 1;
    // More than KEY_SCALE records in one millisecond borrow the next free slots after it.
    while (given?.has(key) || (key >= base + KEY_SCALE && keyTaken.get(key))) key++;
    given?.add(key);
    return key;
  };

  const writeText = (key: number, source: Source, replace: boolean): void => {
    if (replace) ftsDelete.run(key);
    const prompt = promptText(source.endpoint, source.request);
    const answer = source.end ? answerText(source.end.answerContent, source.end.answerThinking) : '';
    if (prompt !== '' || answer !== '') ftsInsert.run(key, prompt, answer);
  };

  /** Adds a finished record to the batch's usage tally, one entry per hour (and day), token and model. */
  const count = (source: Source, tally: Tally): void => {
    const end = source.end;
    if (!end) return;
    const token = source.tokenId ?? '';
    const model = source.model ?? '';
    const add = (into: Map<string, Record<string, string | number>>, bucket: number) => {
      const key = `${bucket}\u0000${token}\u0000${model}`;
      let row = into.get(key);
      if (!row) {
        row = {
          bucket,
          token,
          model,
          requests: 0,
          errors: 0,
          refused: 0,
          prompt: 0,
          completion: 0,
          duration: 0,
        };
        for (const column of lat) row[column] = 0;
        into.set(key, row);
      }
      const r = row as Record<string, number>;
      r.requests! += 1;
      if (end.outcome === 'error' || end.outcome === 'aborted') r.errors! += 1;
      if (end.outcome === 'refused') r.refused! += 1;
      r.prompt! += end.promptTokens ?? 0;
      r.completion! += end.completionTokens ?? 0;
      r.duration! += end.durationMs ?? 0;
      r[`lat_${latencyBucket(end.durationMs ?? 0)}`]! += 1;
    };
    add(tally.hourly, Math.floor(source.startedAt / HOUR_MS) * HOUR_MS);
    add(tally.daily, Math.floor(source.startedAt / DAY_MS) * DAY_MS);
  };

  const newTally = (): Tally => ({ hourly: new Map(), daily: new Map() });
  const writeTally = (tally: Tally): void => {
    for (const row of tally.hourly.values()) hourly.run(row);
    for (const row of tally.daily.values()) daily.run(row);
  };

  const continuationOf = (source: Source): string | null =>
    source.end
      ? continuationKey(source.tokenId, source.endpoint, source.request, source.end.answerContent)
      : null;

  /** A row that has no key yet: key, thread, continuation, text and (when finished) usage. */
  const indexNew = (source: Source, tally: Tally): void => {
    const key = freeKey(source.startedAt);
    const lookup = lookupKey(source.tokenId, source.endpoint, source.request);
    const parent =
      lookup !== null && source.tokenId !== null ? parentOf.get(lookup, source.tokenId, key) : undefined;
    setKeys.run({
      id: source.id,
      key,
      thread: parent ? (parent.thread_id ?? parent.id) : source.id,
      parent: parent?.id ?? null,
      continuation: continuationOf(source),
    });
    writeText(key, source, false);
    count(source, tally);
  };

  const prepare = (batch: HistoryBatch): Derived => {
    const fields = new Map<string, DerivedFields>();
    // Continuations and keys given out in this batch, which the database does not hold yet.
    const continuations = new Map<string, { id: string; threadId: string; key: number }>();
    const given = new Set<number>();
    const remember = (source: Source, threadId: string, key: number, continuation: string | null) => {
      if (continuation !== null) continuations.set(continuation, { id: source.id, threadId, key });
    };

    /** The exchange `source` continues, given out in this batch or stored, older than `key`. */
    const parentFor = (source: Source, key: number): { id: string; threadId: string } | undefined => {
      const lookup = lookupKey(source.tokenId, source.endpoint, source.request);
      if (lookup === null || source.tokenId === null) return undefined;
      const local = continuations.get(lookup);
      if (local && local.key < key) return local;
      const stored = parentOf.get(lookup, source.tokenId, key);
      return stored ? { id: stored.id, threadId: stored.thread_id ?? stored.id } : undefined;
    };

    for (const { start, end, startWritten } of batch.finished) {
      if (!startWritten) continue;
      const source = fromStart(start, end);
      const continuation = continuationOf(source);
      const row = rowThread.get(start.id);
      // A turn whose start was written before the end of the turn it continues found no
      // parent then (the parent's continuation is known only at its end): look again now.
      const parent =
        row?.search_key != null && row.parent_id === null && (row.thread_id ?? start.id) === start.id
          ? parentFor(source, row.search_key)
          : undefined;
      fields.set(start.id, {
        search_key: null,
        thread_id: parent?.threadId ?? null,
        parent_id: parent?.id ?? null,
        continuation_hash: continuation,
      });
      if (row?.search_key != null)
        remember(source, parent?.threadId ?? row.thread_id ?? start.id, row.search_key, continuation);
    }
    // New rows in start order, so a parent gets its key and thread before its continuation.
    const fresh: Source[] = batch.started.map((start) => fromStart(start));
    for (const { start, end, startWritten } of batch.finished)
      if (!startWritten) fresh.push(fromStart(start, end));
    fresh.sort((a, b) => a.startedAt - b.startedAt);
    // One read for the whole batch: most of its starts are later than any stored key.
    const storedMax = fresh.length > 0 ? (maxKeyFrom.get(keyAt(fresh[0]!.startedAt))?.k ?? null) : null;
    for (const source of fresh) {
      pace();
      const key = freeKey(source.startedAt, given, storedMax);
      const parent = parentFor(source, key);
      const threadId = parent?.threadId ?? source.id;
      const continuation = continuationOf(source);
      fields.set(source.id, {
        search_key: key,
        thread_id: threadId,
        parent_id: parent?.id ?? null,
        continuation_hash: continuation,
      });
      remember(source, threadId, key, continuation);
    }
    return (id) =>
      fields.get(id) ?? { search_key: null, thread_id: null, parent_id: null, continuation_hash: null };
  };

  const afterWrite = (batch: HistoryBatch, derived: Derived): void => {
    const tally = newTally();
    for (const { start, end, startWritten } of batch.finished) {
      if (!startWritten) continue;
      pace();
      const source = fromStart(start, end);
      const state = rowState.get(start.id);
      if (!state) continue; // deleted by retention while running
      const adopted = derived(start.id);
      if (adopted.parent_id !== null) adoptParent.run(adopted.thread_id, adopted.parent_id, start.id);
      if (state.search_key === null) {
        indexNew(source, tally);
      } else if (state.redacted_at !== null) {
        eraseAgain.run(start.id);
        count(source, tally);
      } else {
        writeText(state.search_key, source, true);
        count(source, tally);
      }
    }
    for (const start of batch.started) {
      pace();
      const key = derived(start.id).search_key;
      if (key !== null) writeText(key, fromStart(start), false);
    }
    for (const { start, end, startWritten } of batch.finished) {
      if (startWritten) continue;
      pace();
      const source = fromStart(start, end);
      const key = derived(start.id).search_key;
      if (key !== null) writeText(key, source, false);
      count(source, tally);
    }
    writeTally(tally);
  };

  const indexRows = db.transaction((limit: number): number => {
    const rows = backlog.all(limit);
    const tally = newTally();
    for (const row of rows) {
      const redacted = row.redacted_at !== null;
      indexNew(
        {
          id: row.id,
          tokenId: row.token_id,
          endpoint: row.endpoint,
          model: row.model,
          startedAt: row.started_at,
          request: redacted ? null : parseJson(row.request_json),
          ...(row.outcome === 'in_progress'
            ? {}
            : {
                end: {
                  outcome: row.outcome,
                  answerContent: redacted ? null : row.answer_content,
                  answerThinking: redacted ? null : row.answer_thinking,
                  durationMs: row.duration_ms ?? 0,
                  promptTokens: row.prompt_tokens,
                  completionTokens: row.completion_tokens,
                },
              }),
        },
        tally,
      );
    }
    writeTally(tally);
    return rows.length;
  });

  return { prepare, afterWrite, indexBacklog: (limit) => indexRows(limit) };
}
