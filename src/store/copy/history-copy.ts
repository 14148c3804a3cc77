/**
 * Copying SQLite's history into PostgreSQL's event log and current view. Each record
 * becomes its events in its node's sequence — 'start', then 'end' once it ended, then
 * 'redaction' if it was redacted — the records taken in SQLite's order of writing (their
 * origin_seq), so node X's log reads 1, 2, 3, … without a gap and its head is the last.
 * The view row keeps everything SQLite holds as it is (id, search key, thread, parent,
 * continuation key, redaction tombstone) and gets its search vector; origin_seq becomes
 * the seq of the record's start event, as PostgreSQL's schema defines it.
 *
 * A redacted record's text is gone in SQLite already: its events carry none, and it has
 * no vector. Events and rows are built by the PostgreSQL history writer's own functions,
 * so a copied record reads exactly as one that writer stored.
 */
import type { HistoryEnd, HistoryStart } from '../../history/history-record.js';
import type { Db } from '../database.js';
import type { HistoryRow } from '../history-repository.js';
import { type HistoryEvent, insertEvents } from '../postgres/history-event-log.js';
import {
  columnsOf,
  endEvent,
  type Fresh,
  names,
  ROW_COLUMNS,
  rowValues,
  startEvent,
  unnestOf,
} from '../postgres/history-event-writer.js';
import type { PostgresClient } from '../postgres/postgres-pool.js';
import { PAGE_ROWS } from './table-copy.js';

interface SqliteHistoryRow extends HistoryRow {
  search_key: number | null;
  thread_id: string | null;
  parent_id: string | null;
  continuation_hash: string | null;
  redacted_at: number | null;
  redacted_by: string | null;
}

export interface HistoryCopied {
  records: number;
  events: number;
}

const COPY_COLUMNS = [...ROW_COLUMNS, ['redacted_at', 'bigint'], ['redacted_by', 'text']] as const;

const INSERT_VIEW_ROWS = `INSERT INTO history_records (${names(COPY_COLUMNS)})
  SELECT ${names(COPY_COLUMNS)} FROM ${unnestOf(COPY_COLUMNS)}`;

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

function startOf(row: SqliteHistoryRow): HistoryStart {
  return {
    id: row.id,
    servedBy: row.served_by,
    tokenId: row.token_id,
    tokenName: row.token_name,
    tokenPrefix: row.token_prefix,
    method: row.method,
    endpoint: row.endpoint,
    model: row.model,
    stream: row.stream === null ? null : row.stream === 1,
    startedAt: row.started_at,
    historyMode: row.history_mode,
    request: parse(row.request_json),
    clientAddr: row.client_addr,
    userAgent: row.user_agent,
  };
}

/**
 * The end as SQLite stored it. Columns SQLite left NULL stay NULL in the view (a record
 * closed as interrupted has no duration), whatever HistoryEnd's types promise.
 */
function endOf(row: SqliteHistoryRow): HistoryEnd | null {
  if (row.outcome === 'in_progress') return null;
  return {
    finishedAt: row.finished_at,
    ttftMs: row.ttft_ms,
    durationMs: row.duration_ms,
    status: row.status,
    outcome: row.outcome,
    error: row.error,
    answerContent: row.answer_content,
    answerThinking: row.answer_thinking,
    answerToolCalls: parse(row.answer_tool_calls),
    answerSummary: parse(row.answer_summary),
    doneReason: row.done_reason,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    totalNs: row.total_ns,
    loadNs: row.load_ns,
    promptEvalNs: row.prompt_eval_ns,
    evalNs: row.eval_ns,
  } as HistoryEnd;
}

/** Copies one page of `node`'s records whose seq starts at `firstSeq`; returns the next free seq. */
async function copyPage(
  client: PostgresClient,
  node: string,
  firstSeq: number,
  page: readonly SqliteHistoryRow[],
): Promise<number> {
  const events: HistoryEvent[] = [];
  const rows: unknown[][] = [];
  for (const row of page) {
    const start = startOf(row);
    const end = endOf(row);
    const startSeq = firstSeq + events.length;
    events.push(startEvent(start));
    if (end) events.push({ ...endEvent(row.id, end), at: row.finished_at ?? row.started_at });
    if (row.redacted_at !== null) {
      events.push({
        kind: 'redaction',
        recordId: row.id,
        at: row.redacted_at,
        payload: JSON.stringify({ by: row.redacted_by }),
      });
    }
    const fresh: Fresh = {
      start,
      end,
      startSeq,
      key: row.search_key!,
      threadId: row.thread_id ?? row.id,
      parentId: row.parent_id,
      continuation: row.continuation_hash,
    };
    rows.push([...rowValues(fresh, node), row.redacted_at, row.redacted_by]);
  }
  await insertEvents(client, node, firstSeq, events);
  await client.query({
    name: 'store-copy-view-rows',
    text: INSERT_VIEW_ROWS,
    values: columnsOf(rows, COPY_COLUMNS.length),
  });
  return firstSeq + events.length;
}

/**
 * Copies every history record of `source` (whose backlog has been indexed: every row has
 * its search key) into the target's history tables, which must be empty.
 */
export async function copyHistory(source: Db, client: PostgresClient): Promise<HistoryCopied> {
  const nodes = source
    .prepare('SELECT DISTINCT origin_node AS node FROM history ORDER BY 1')
    .pluck()
    .all() as string[];
  const pageOf = source.prepare<[string, number], SqliteHistoryRow>(
    `SELECT * FROM history WHERE origin_node = ? AND origin_seq > ? ORDER BY origin_seq LIMIT ${PAGE_ROWS}`,
  );
  let records = 0;
  let events = 0;
  for (const node of nodes) {
    let seq = 1;
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const page = pageOf.all(node, after);
      if (page.length === 0) break;
      seq = await copyPage(client, node, seq, page);
      records += page.length;
      after = page[page.length - 1]!.origin_seq;
      if (page.length < PAGE_ROWS) break;
    }
    await client.query('INSERT INTO history_heads (node_id, head) VALUES ($1, $2)', [node, seq - 1]);
    events += seq - 1;
  }
  return { records, events };
}

/** How many events SQLite's records make: one start each, one end per ended, one per redaction. */
export function expectedEvents(source: Db): number {
  const row = source
    .prepare(
      `SELECT count(*) + count(*) FILTER (WHERE outcome <> 'in_progress') + count(redacted_at) AS n FROM history`,
    )
    .get() as { n: number };
  return row.n;
}
