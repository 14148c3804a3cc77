/**
 * Writes history batches into PostgreSQL, as SQLite's history repository and writer
 * thread do together (the HistorySink the history writer hands batches to): in ONE
 * transaction per batch, the records' events appended to this node's log with their
 * seq, the current view (history_records: row, search key, thread, tsvector) brought in
 * step, the usage rollups added to, and the token usage counters (absolute values, this
 * node's row per token and window) stored.
 *
 * What each record of a batch becomes:
 * - a start of a running request: a 'start' event and a view row in progress;
 * - a finish whose start is stored: an 'end' event, and its row completed;
 * - a finish whose start is not: 'start' and 'end' events, and its row whole.
 * A batch sent again after a commit whose answer was lost changes nothing twice: a start
 * already stored, or a finish of a record already ended, is skipped; a finish of a record
 * that retention deleted while it ran is dropped, as on SQLite.
 *
 * Failures, as the sink contract says (history-writer.ts): the database being away
 * (connection, shutdown, disk) is marked storeUnavailable, so the writer keeps the
 * batch and retries; anything else is taken to be caused by a record, and the writer
 * splits the batch until that record is alone. Conflicts with another companion's
 * transaction (deadlock, serialization) are retried here and never blamed on a record.
 */
import { performance } from 'node:perf_hooks';
import type { HistoryEnd, HistoryStart } from '../../history/history-record.js';
import { storeUnavailable, type WriteOptions, type WriteReceipt } from '../../history/history-writer.js';
import { answerText, promptText } from '../../history/search-text.js';
import { continuationKey, lookupKey } from '../../history/thread-keys.js';
import { DAY_MS, HOUR_MS, KEY_SCALE, keyAt, LATENCY_BOUNDS, latencyBucket } from '../history-indexer.js';
import type { HistoryBatch } from '../history-repository.js';
import type { UsageCount } from '../token-repository.js';
import { searchVector } from './full-text.js';
import { type HistoryEvent, insertEvents, takeSeqs } from './history-event-log.js';
import {
  isPostgresUnavailableError,
  type PostgresClient,
  type PostgresPool,
  postgresFailure,
} from './postgres-pool.js';
import { pgText } from './text-value.js';
import { inTransaction } from './transaction.js';

export interface PostgresHistoryWriter {
  /**
   * Writes `batch` and `usage` in one transaction.
   * @throws CompanionError marked storeUnavailable when the database cannot be used now;
   *   CompanionError (internal) for anything else, which the history writer blames on a record
   */
  writeBatch(
    batch: HistoryBatch,
    usage?: readonly UsageCount[],
    options?: WriteOptions,
  ): Promise<WriteReceipt>;
  /**
   * Ends the records `servedBy` left running (started before `now`) as aborted, each with
   * an 'end' event: what a companion does at start for those its previous run left.
   * Returns how many.
   */
  closeInterrupted(servedBy: string, now: number): Promise<number>;
}

export interface PostgresHistoryWriterOptions {
  /** The database's URL, to name it (without its password) in errors. */
  url: string;
}

const INTERRUPTED = 'interrupted: the companion stopped before the request ended';

/** What the view already holds of a record of the batch. */
interface Stored {
  outcome: string;
  search_key: string;
  thread_id: string;
  redacted_at: string | null;
}

/** A record of the batch that gets a new view row. */
interface Fresh {
  start: HistoryStart;
  end: HistoryEnd | null;
  startSeq: number;
  key: number;
  threadId: string;
  parentId: string | null;
  continuation: string | null;
}

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

/** The end as its event keeps it: without the content when the record was redacted. */
function erasedEnd(end: HistoryEnd): HistoryEnd {
  return { ...end, answerContent: null, answerThinking: null, answerToolCalls: null, answerSummary: null };
}

const continuationOf = (start: HistoryStart, end: HistoryEnd | null): string | null =>
  end ? continuationKey(start.tokenId, start.endpoint, start.request, end.answerContent) : null;

const vectorOf = (start: HistoryStart, end: HistoryEnd | null): string | null =>
  searchVector(
    promptText(start.endpoint, start.request),
    end ? answerText(end.answerContent, end.answerThinking) : '',
  );

const INSERT_ROW = `
  INSERT INTO history_records (id, origin_node, origin_seq, served_by, token_id, token_name, token_prefix, method,
    endpoint, model, stream, started_at, history_mode, request_json, client_addr, user_agent, finished_at,
    ttft_ms, duration_ms, status, outcome, error, answer_content, answer_thinking, answer_tool_calls,
    answer_summary, done_reason, prompt_tokens, completion_tokens, total_ns, load_ns, prompt_eval_ns, eval_ns,
    search_key, thread_id, parent_id, continuation_hash, search_vector)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
    $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38::tsvector)
  ON CONFLICT (search_key) DO NOTHING
  RETURNING id`;

const COMPLETE_ROW = `
  UPDATE history_records SET finished_at = $2, ttft_ms = $3, duration_ms = $4, status = $5, outcome = $6,
    error = $7, answer_content = $8, answer_thinking = $9, answer_tool_calls = $10, answer_summary = $11,
    done_reason = $12, prompt_tokens = $13, completion_tokens = $14, total_ns = $15, load_ns = $16,
    prompt_eval_ns = $17, eval_ns = $18, continuation_hash = $19, search_vector = $20::tsvector
  WHERE id = $1`;

function endValues(end: HistoryEnd | null) {
  return [
    end?.finishedAt ?? null,
    end?.ttftMs ?? null,
    end?.durationMs ?? null,
    end?.status ?? null,
    end?.outcome ?? 'in_progress',
    pgText(end?.error),
    pgText(end?.answerContent),
    pgText(end?.answerThinking),
    json(end?.answerToolCalls),
    json(end?.answerSummary),
    pgText(end?.doneReason),
    end?.promptTokens ?? null,
    end?.completionTokens ?? null,
    end?.totalNs ?? null,
    end?.loadNs ?? null,
    end?.promptEvalNs ?? null,
    end?.evalNs ?? null,
  ];
}

function rowValues(fresh: Fresh, originNode: string) {
  const { start, end } = fresh;
  return [
    start.id,
    originNode,
    fresh.startSeq,
    pgText(start.servedBy),
    pgText(start.tokenId),
    pgText(start.tokenName),
    pgText(start.tokenPrefix),
    pgText(start.method),
    pgText(start.endpoint),
    pgText(start.model),
    start.stream,
    start.startedAt,
    start.historyMode,
    json(start.request),
    pgText(start.clientAddr),
    pgText(start.userAgent),
    ...endValues(end),
    fresh.key,
    fresh.threadId,
    fresh.parentId,
    fresh.continuation,
    vectorOf(start, end),
  ];
}

/** The hourly and daily usage rollups a batch adds to, summed per bucket, token and model. */
class UsageTally {
  private readonly rows = new Map<string, { table: 'usage_hourly' | 'usage_daily'; values: number[] }>();

  add(start: HistoryStart, end: HistoryEnd): void {
    const token = start.tokenId ?? '';
    const model = start.model ?? '';
    for (const [table, size] of [
      ['usage_hourly', HOUR_MS],
      ['usage_daily', DAY_MS],
    ] as const) {
      const bucket = Math.floor(start.startedAt / size) * size;
      const key = `${table}\u0000${bucket}\u0000${token}\u0000${model}`;
      let row = this.rows.get(key);
      if (!row) {
        row = { table, values: new Array(6 + LATENCY_BOUNDS.length).fill(0) };
        this.rows.set(key, row);
      }
      const v = row.values;
      v[0]! += 1;
      if (end.outcome === 'error' || end.outcome === 'aborted') v[1]! += 1;
      if (end.outcome === 'refused') v[2]! += 1;
      v[3]! += end.promptTokens ?? 0;
      v[4]! += end.completionTokens ?? 0;
      v[5]! += end.durationMs ?? 0;
      v[6 + latencyBucket(end.durationMs ?? 0)]! += 1;
    }
  }

  async write(client: PostgresClient): Promise<void> {
    const lat = LATENCY_BOUNDS.map((_, i) => `lat_${i}`);
    for (const [key, { table, values }] of this.rows) {
      const [, bucket, token, model] = key.split('\u0000');
      // The table name is one of two constants; every value is a parameter.
      await client.query({
        name: `history-rollup-${table}`,
        text: `INSERT INTO ${table} (bucket, token_id, model, requests, errors, refused, prompt_tokens,
            completion_tokens, duration_ms_sum, ${lat.join(', ')})
          VALUES (${Array.from({ length: 9 + lat.length }, (_, i) => `$${i + 1}`).join(', ')})
          ON CONFLICT (bucket, token_id, model) DO UPDATE SET
            requests = ${table}.requests + excluded.requests, errors = ${table}.errors + excluded.errors,
            refused = ${table}.refused + excluded.refused,
            prompt_tokens = ${table}.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = ${table}.completion_tokens + excluded.completion_tokens,
            duration_ms_sum = ${table}.duration_ms_sum + excluded.duration_ms_sum,
            ${lat.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')}`,
        values: [Number(bucket), token, model, ...values],
      });
    }
  }
}

/** Stores the latest counter values; counters of a token no longer there are left out. */
async function writeUsage(
  client: PostgresClient,
  nodeId: string,
  usage: readonly UsageCount[],
): Promise<void> {
  // One row per token and window (a later value replaces an earlier one), as one
  // statement cannot change the same row twice.
  const latest = [...new Map(usage.map((u) => [`${u.tokenId}\u0000${u.window}`, u])).values()];
  if (latest.length === 0) return;
  await client.query({
    name: 'history-usage-counters',
    text: `INSERT INTO token_usage (token_id, "window", node_id, window_start, calls, reserved)
      SELECT u.token_id, u.w, $1, u.window_start, u.calls, u.reserved
      FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
        AS u(token_id, w, window_start, calls, reserved)
      WHERE EXISTS (SELECT 1 FROM tokens t WHERE t.id = u.token_id)
      ON CONFLICT (token_id, "window", node_id) DO UPDATE SET window_start = excluded.window_start,
        calls = excluded.calls, reserved = excluded.reserved`,
    values: [
      nodeId,
      latest.map((u) => u.tokenId),
      latest.map((u) => u.window),
      latest.map((u) => u.windowStart),
      latest.map((u) => u.calls),
      latest.map((u) => u.reserved ?? u.calls),
    ],
  });
}

/**
 * The free search key for a record started at `startedAt`: one past the highest key of
 * its millisecond (beyond KEY_SCALE records in a millisecond, the keys after it).
 */
async function freeKey(client: PostgresClient, startedAt: number, given: Set<number>): Promise<number> {
  const base = keyAt(startedAt);
  const { rows } = await client.query<{ k: string | null }>({
    name: 'history-max-key',
    text: 'SELECT max(search_key) AS k FROM history_records WHERE search_key >= $1 AND search_key < $2',
    values: [base, base + KEY_SCALE],
  });
  const max = rows[0]?.k ?? null;
  let key = max === null ? base : Number(max) + 1;
  while (given.has(key)) key++;
  return key;
}

const startEvent = (start: HistoryStart): HistoryEvent => ({
  kind: 'start',
  recordId: start.id,
  at: start.startedAt,
  payload: JSON.stringify(start),
});

const endEvent = (id: string, end: HistoryEnd): HistoryEvent => ({
  kind: 'end',
  recordId: id,
  at: end.finishedAt,
  payload: JSON.stringify(end),
});

async function writeRecords(client: PostgresClient, nodeId: string, batch: HistoryBatch): Promise<void> {
  const ids = [...batch.started.map((s) => s.id), ...batch.finished.map((f) => f.start.id)];
  const { rows: storedRows } = await client.query<Stored & { id: string }>({
    name: 'history-stored-of-batch',
    text: `SELECT id, outcome, search_key, thread_id, redacted_at FROM history_records
      WHERE id = ANY($1::text[]) FOR UPDATE`,
    values: [ids],
  });
  const stored = new Map(storedRows.map((row) => [row.id, row]));

  // What each record becomes, and the events that says so, numbered in batch order.
  const seen = new Set<string>();
  const starts = batch.started.filter((s) => !stored.has(s.id) && !seen.has(s.id) && seen.add(s.id));
  const completions: { start: HistoryStart; end: HistoryEnd; row: Stored }[] = [];
  const wholes: { start: HistoryStart; end: HistoryEnd }[] = [];
  // In batch order: the start event (if new) and the end event of each finish.
  const finishEvents: HistoryEvent[][] = [];
  for (const { start, end, startWritten } of batch.finished) {
    if (seen.has(start.id)) continue;
    seen.add(start.id);
    const row = stored.get(start.id);
    if (row) {
      if (row.outcome !== 'in_progress') continue;
      completions.push({ start, end, row });
      finishEvents.push([endEvent(start.id, row.redacted_at === null ? end : erasedEnd(end))]);
    } else if (!startWritten) {
      wholes.push({ start, end });
      finishEvents.push([startEvent(start), endEvent(start.id, end)]);
    }
  }
  const count = starts.length + completions.length + 2 * wholes.length;
  if (count === 0) return;
  const firstSeq = await takeSeqs(client, nodeId, count);
  const events: HistoryEvent[] = [];
  const startSeq = new Map<string, number>();
  const append = (event: HistoryEvent) => {
    if (event.kind === 'start') startSeq.set(event.recordId, firstSeq + events.length);
    events.push(event);
  };
  for (const start of starts) append(startEvent(start));
  for (const pair of finishEvents) for (const event of pair) append(event);
  await insertEvents(client, nodeId, firstSeq, events);

  // Continuations this batch makes, which the view does not hold yet: a record of the
  // batch may continue one that ends in the same batch.
  const continuations = new Map<string, { id: string; threadId: string; key: number }>();
  const tally = new UsageTally();
  for (const { start, end, row } of completions) {
    const redacted = row.redacted_at !== null;
    const continuation = redacted ? null : continuationOf(start, end);
    if (continuation !== null)
      continuations.set(continuation, { id: start.id, threadId: row.thread_id, key: Number(row.search_key) });
    // A record redacted while it ran keeps neither its content nor its words.
    await client.query({
      name: 'history-complete-row',
      text: COMPLETE_ROW,
      values: [
        start.id,
        ...endValues(redacted ? erasedEnd(end) : end),
        continuation,
        redacted ? null : vectorOf(start, end),
      ],
    });
    tally.add(start, end);
  }

  // New rows in start order, so a parent gets its key and thread before its continuation.
  const fresh: { start: HistoryStart; end: HistoryEnd | null }[] = [
    ...starts.map((start) => ({ start, end: null })),
    ...wholes,
  ].sort((a, b) => a.start.startedAt - b.start.startedAt);
  const given = new Set<number>();
  for (const { start, end } of fresh) {
    let key = await freeKey(client, start.startedAt, given);
    const lookup = lookupKey(start.tokenId, start.endpoint, start.request);
    let parent: { id: string; threadId: string } | undefined;
    if (lookup !== null && start.tokenId !== null) {
      const local = continuations.get(lookup);
      if (local && local.key < key) parent = local;
      else {
        const { rows } = await client.query<{ id: string; thread_id: string }>({
          name: 'history-parent',
          text: `SELECT id, thread_id FROM history_records
            WHERE continuation_hash = $1 AND token_id = $2 AND search_key < $3
            ORDER BY search_key DESC LIMIT 1`,
          values: [lookup, start.tokenId, key],
        });
        if (rows[0]) parent = { id: rows[0].id, threadId: rows[0].thread_id };
      }
    }
    const record: Fresh = {
      start,
      end,
      startSeq: startSeq.get(start.id)!,
      key,
      threadId: parent?.threadId ?? start.id,
      parentId: parent?.id ?? null,
      continuation: continuationOf(start, end),
    };
    // Another companion may have taken the key since: take the next free one.
    for (;;) {
      const { rowCount } = await client.query({
        name: 'history-insert-row',
        text: INSERT_ROW,
        values: rowValues(record, nodeId),
      });
      if (rowCount === 1) break;
      given.add(key);
      key = Math.max(key + 1, await freeKey(client, start.startedAt, given));
      record.key = key;
    }
    given.add(key);
    if (record.continuation !== null)
      continuations.set(record.continuation, { id: start.id, threadId: record.threadId, key });
    if (end) tally.add(start, end);
  }
  await tally.write(client);
}

export function createPostgresHistoryWriter(
  pool: PostgresPool,
  nodeId: string,
  options: PostgresHistoryWriterOptions,
): PostgresHistoryWriter {
  /** The driver's error as the sink contract wants it. */
  const failure = (error: unknown): Error => {
    const told = postgresFailure(error, options.url);
    return isPostgresUnavailableError(error) ? storeUnavailable(told) : told;
  };

  return {
    async writeBatch(batch, usage = []) {
      const handedAt = performance.now();
      try {
        await inTransaction(pool, async (client) => {
          if (batch.started.length > 0 || batch.finished.length > 0)
            await writeRecords(client, nodeId, batch);
          await writeUsage(client, nodeId, usage);
        });
      } catch (error) {
        throw failure(error);
      }
      return { commitMs: performance.now() - handedAt };
    },

    async closeInterrupted(servedBy, now) {
      try {
        return await inTransaction(pool, async (client) => {
          const { rows } = await client.query<{ id: string }>({
            name: 'history-running-of',
            text: `SELECT id FROM history_records WHERE served_by = $1 AND outcome = 'in_progress' AND started_at < $2
              ORDER BY search_key FOR UPDATE`,
            values: [servedBy, now],
          });
          if (rows.length === 0) return 0;
          const first = await takeSeqs(client, nodeId, rows.length);
          await insertEvents(
            client,
            nodeId,
            first,
            rows.map((row) => ({
              kind: 'end' as const,
              recordId: row.id,
              at: now,
              payload: JSON.stringify({ outcome: 'aborted', error: INTERRUPTED }),
            })),
          );
          await client.query({
            name: 'history-close-interrupted',
            text: `UPDATE history_records SET outcome = 'aborted', error = $2 WHERE id = ANY($1::text[])`,
            values: [rows.map((row) => row.id), INTERRUPTED],
          });
          return rows.length;
        });
      } catch (error) {
        throw failure(error);
      }
    },
  };
}
