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

/** A record that gets a new view row (store copy builds these too). */
export interface Fresh {
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
export function erasedEnd(end: HistoryEnd): HistoryEnd {
  return { ...end, answerContent: null, answerThinking: null, answerToolCalls: null, answerSummary: null };
}

const continuationOf = (start: HistoryStart, end: HistoryEnd | null): string | null =>
  end ? continuationKey(start.tokenId, start.endpoint, start.request, end.answerContent) : null;

const vectorOf = (start: HistoryStart, end: HistoryEnd | null): string | null =>
  searchVector(
    promptText(start.endpoint, start.request),
    end ? answerText(end.answerContent, end.answerThinking) : '',
  );

/** The view's columns a new row fills, with their types (for unnest of one array per column). */
export const ROW_COLUMNS = [
  ['id', 'text'],
  ['origin_node', 'text'],
  ['origin_seq', 'bigint'],
  ['served_by', 'text'],
  ['token_id', 'text'],
  ['token_name', 'text'],
  ['token_prefix', 'text'],
  ['method', 'text'],
  ['endpoint', 'text'],
  ['model', 'text'],
  ['stream', 'boolean'],
  ['started_at', 'bigint'],
  ['history_mode', 'text'],
  ['request_json', 'text'],
  ['client_addr', 'text'],
  ['user_agent', 'text'],
  ['finished_at', 'bigint'],
  ['ttft_ms', 'double precision'],
  ['duration_ms', 'double precision'],
  ['status', 'integer'],
  ['outcome', 'text'],
  ['error', 'text'],
  ['answer_content', 'text'],
  ['answer_thinking', 'text'],
  ['answer_tool_calls', 'text'],
  ['answer_summary', 'text'],
  ['done_reason', 'text'],
  ['prompt_tokens', 'bigint'],
  ['completion_tokens', 'bigint'],
  ['total_ns', 'bigint'],
  ['load_ns', 'bigint'],
  ['prompt_eval_ns', 'bigint'],
  ['eval_ns', 'bigint'],
  ['search_key', 'bigint'],
  ['thread_id', 'text'],
  ['parent_id', 'text'],
  ['continuation_hash', 'text'],
  ['search_vector', 'tsvector'],
] as const;

/** The columns a finish completes, the row's id first. */
const COMPLETE_COLUMNS = [ROW_COLUMNS[0], ...ROW_COLUMNS.slice(16, 33), ROW_COLUMNS[36], ROW_COLUMNS[37]];

export const names = (columns: readonly (readonly [string, string])[]) =>
  columns.map(([name]) => name).join(', ');
/** `unnest($1::text[], $2::bigint[], …) AS u(a, b, …)`: one parameter per column. */
export const unnestOf = (columns: readonly (readonly [string, string])[]) =>
  `unnest(${columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) AS u(${names(columns)})`;

/** Rows of values as one array per column, for unnest. */
export function columnsOf(rows: readonly unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => new Array(rows.length));
  rows.forEach((row, r) => {
    for (let c = 0; c < width; c++) columns[c]![r] = row[c] ?? null;
  });
  return columns;
}

const INSERT_ROWS = `
  INSERT INTO history_records (${names(ROW_COLUMNS)})
  SELECT ${names(ROW_COLUMNS)} FROM ${unnestOf(ROW_COLUMNS)}
  ON CONFLICT (search_key) DO NOTHING
  RETURNING id`;

const INSERT_ROW = `
  INSERT INTO history_records (${names(ROW_COLUMNS)})
  VALUES (${ROW_COLUMNS.map(([, type], i) => `$${i + 1}::${type}`).join(', ')})
  ON CONFLICT (search_key) DO NOTHING
  RETURNING id`;

const COMPLETE_ROWS = `
  UPDATE history_records h SET ${COMPLETE_COLUMNS.slice(1)
    .map(([name]) => `${name} = u.${name}`)
    .join(', ')}
  FROM ${unnestOf(COMPLETE_COLUMNS)}
  WHERE h.id = u.id`;

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

export function rowValues(fresh: Fresh, originNode: string) {
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

/** The highest search key held in each millisecond of `bases` (keyAt values); absent: none. */
async function highestKeys(client: PostgresClient, bases: number[]): Promise<Map<number, number>> {
  const { rows } = await client.query<{ base: string; k: string | null }>({
    name: 'history-highest-keys',
    text: `SELECT b.base, (SELECT max(search_key) FROM history_records
        WHERE search_key >= b.base AND search_key < b.base + ${KEY_SCALE}) AS k
      FROM unnest($1::bigint[]) AS b(base)`,
    values: [[...new Set(bases)]],
  });
  const highest = new Map<number, number>();
  for (const row of rows) if (row.k !== null) highest.set(Number(row.base), Number(row.k));
  return highest;
}

/**
 * For each record (by index) that continues an exchange, the stored exchange it
 * continues: the latest of its token with that continuation key, before its own key.
 */
async function storedParents(
  client: PostgresClient,
  records: readonly { start: HistoryStart; key: number; lookup: string | null }[],
): Promise<Map<number, { id: string; threadId: string }>> {
  const asked = records.flatMap((r, i) =>
    r.lookup !== null && r.start.tokenId !== null
      ? [{ i, lookup: r.lookup, token: r.start.tokenId, key: r.key }]
      : [],
  );
  const parents = new Map<number, { id: string; threadId: string }>();
  if (asked.length === 0) return parents;
  const { rows } = await client.query<{ i: number; id: string; thread_id: string }>({
    name: 'history-stored-parents',
    text: `SELECT u.i, p.id, p.thread_id
      FROM unnest($1::integer[], $2::text[], $3::text[], $4::bigint[]) AS u(i, lookup, token, key)
      CROSS JOIN LATERAL (
        SELECT id, thread_id FROM history_records
        WHERE continuation_hash = u.lookup AND token_id = u.token AND search_key < u.key
        ORDER BY search_key DESC LIMIT 1
      ) AS p`,
    values: [
      asked.map((a) => a.i),
      asked.map((a) => a.lookup),
      asked.map((a) => a.token),
      asked.map((a) => a.key),
    ],
  });
  for (const row of rows) parents.set(row.i, { id: row.id, threadId: row.thread_id });
  return parents;
}

export const startEvent = (start: HistoryStart): HistoryEvent => ({
  kind: 'start',
  recordId: start.id,
  at: start.startedAt,
  payload: JSON.stringify(start),
});

export const endEvent = (id: string, end: HistoryEnd): HistoryEvent => ({
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
  const completed: unknown[][] = [];
  for (const { start, end, row } of completions) {
    const redacted = row.redacted_at !== null;
    const continuation = redacted ? null : continuationOf(start, end);
    if (continuation !== null)
      continuations.set(continuation, { id: start.id, threadId: row.thread_id, key: Number(row.search_key) });
    // A record redacted while it ran keeps neither its content nor its words.
    completed.push([
      start.id,
      ...endValues(redacted ? erasedEnd(end) : end),
      continuation,
      redacted ? null : vectorOf(start, end),
    ]);
    tally.add(start, end);
  }
  if (completed.length > 0) {
    await client.query({
      name: 'history-complete-rows',
      text: COMPLETE_ROWS,
      values: columnsOf(completed, COMPLETE_COLUMNS.length),
    });
  }

  // New rows in start order, so a parent gets its key and thread before its continuation.
  const fresh: { start: HistoryStart; end: HistoryEnd | null }[] = [
    ...starts.map((start) => ({ start, end: null })),
    ...wholes,
  ].sort((a, b) => a.start.startedAt - b.start.startedAt);
  if (fresh.length === 0) return tally.write(client);
  const highest = await highestKeys(
    client,
    fresh.map(({ start }) => keyAt(start.startedAt)),
  );
  const given = new Set<number>();
  const keyed = fresh.map(({ start, end }) => {
    const max = highest.get(keyAt(start.startedAt));
    let key = max === undefined ? keyAt(start.startedAt) : max + 1;
    while (given.has(key)) key++;
    given.add(key);
    return { start, end, key, lookup: lookupKey(start.tokenId, start.endpoint, start.request) };
  });
  const parentsStored = await storedParents(client, keyed);
  const records: Fresh[] = keyed.map(({ start, end, key, lookup }, i) => {
    let parent: { id: string; threadId: string } | undefined;
    if (lookup !== null && start.tokenId !== null) {
      const local = continuations.get(lookup);
      parent = local && local.key < key ? local : parentsStored.get(i);
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
    if (record.continuation !== null)
      continuations.set(record.continuation, { id: start.id, threadId: record.threadId, key });
    if (end) tally.add(start, end);
    return record;
  });
  const { rows: inserted } = await client.query<{ id: string }>({
    name: 'history-insert-rows',
    text: INSERT_ROWS,
    values: columnsOf(
      records.map((record) => rowValues(record, nodeId)),
      ROW_COLUMNS.length,
    ),
  });
  // Another companion took some of these keys meanwhile: those rows take the next free ones.
  if (inserted.length < records.length) {
    const done = new Set(inserted.map((row) => row.id));
    for (const record of records) {
      if (done.has(record.start.id)) continue;
      for (;;) {
        given.add(record.key);
        record.key = Math.max(record.key + 1, await freeKey(client, record.start.startedAt, given));
        const { rowCount } = await client.query({
          name: 'history-insert-row',
          text: INSERT_ROW,
          values: rowValues(record, nodeId),
        });
        if (rowCount === 1) break;
      }
      given.add(record.key);
    }
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
