/**
 * History records in SQLite. Writes come in batches from the history writer, one
 * transaction each; sequence numbers are assigned here, inside that transaction, so the
 * per-node sequence stays gapless.
 */
import type { HistoryEnd, HistoryRecord, HistoryStart } from '../history/history-record.js';
import type { Db } from './database.js';
import { createHistoryIndexer, type DerivedFields } from './history-indexer.js';
import { type Pace, unpaced } from './write-pacing.js';

export interface HistoryBatch {
  /** Requests still running: inserted with their start only. */
  started: HistoryStart[];
  /** Requests that ended; `startWritten` says whether their start row already exists. */
  finished: { start: HistoryStart; end: HistoryEnd; startWritten: boolean }[];
}

/** A time range (epoch ms, `until` exclusive) over the raw records. */
export interface HistoryFilter {
  since?: number;
  until?: number;
}

export interface HistoryRepository {
  writeBatch(batch: HistoryBatch): void;
  /**
   * Raw records in start order, read lazily: a scan of the table, for tests and tools.
   * Exports and searches read the derived view through history-search-repository.ts instead.
   */
  iterate(filter: HistoryFilter): IterableIterator<HistoryRecord>;
  findById(id: string): HistoryRecord | undefined;
  /** Marks records left running by a previous process as aborted. Returns how many. */
  closeInterrupted(servedBy: string, now: number): number;
}

export interface HistoryRow {
  id: string;
  origin_node: string;
  origin_seq: number;
  served_by: string;
  token_id: string | null;
  token_name: string | null;
  token_prefix: string | null;
  method: string;
  endpoint: string;
  model: string | null;
  stream: number | null;
  started_at: number;
  finished_at: number | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  status: number | null;
  outcome: HistoryRecord['outcome'];
  error: string | null;
  history_mode: HistoryRecord['historyMode'];
  request_json: string | null;
  answer_content: string | null;
  answer_thinking: string | null;
  answer_tool_calls: string | null;
  answer_summary: string | null;
  done_reason: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_ns: number | null;
  load_ns: number | null;
  prompt_eval_ns: number | null;
  eval_ns: number | null;
  client_addr: string | null;
  user_agent: string | null;
}

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** What a request's end fills in, in the order of `endValues`. */
const END_FIELDS = [
  'finished_at',
  'ttft_ms',
  'duration_ms',
  'status',
  'outcome',
  'error',
  'answer_content',
  'answer_thinking',
  'answer_tool_calls',
  'answer_summary',
  'done_reason',
  'prompt_tokens',
  'completion_tokens',
  'total_ns',
  'load_ns',
  'prompt_eval_ns',
  'eval_ns',
] as const;

/** The columns of an INSERT, in the order of `rowParams`. */
const INSERT_COLUMNS = [
  'id',
  'origin_node',
  'origin_seq',
  'served_by',
  'token_id',
  'token_name',
  'token_prefix',
  'method',
  'endpoint',
  'model',
  'stream',
  'started_at',
  'history_mode',
  'request_json',
  'client_addr',
  'user_agent',
  ...END_FIELDS,
  'search_key',
  'thread_id',
  'parent_id',
  'continuation_hash',
] as const;

/** An end's values in the order of END_FIELDS; a request still running has none yet. */
function endValues(end: HistoryEnd | null): unknown[] {
  return [
    end?.finishedAt ?? null,
    end?.ttftMs ?? null,
    end?.durationMs ?? null,
    end?.status ?? null,
    end?.outcome ?? 'in_progress',
    end?.error ?? null,
    end?.answerContent ?? null,
    end?.answerThinking ?? null,
    json(end?.answerToolCalls),
    json(end?.answerSummary),
    end?.doneReason ?? null,
    end?.promptTokens ?? null,
    end?.completionTokens ?? null,
    end?.totalNs ?? null,
    end?.loadNs ?? null,
    end?.promptEvalNs ?? null,
    end?.evalNs ?? null,
  ];
}

/**
 * A row's parameters, positional in the order of INSERT_COLUMNS. Bound by name, each of
 * the 37 parameters cost better-sqlite3 a property lookup by the parameter's name (about
 * a third of the insert); built from spreads, an object with this many fields cost about
 * 20 KB of garbage and 30 µs each.
 */
function rowParams(
  start: HistoryStart,
  end: HistoryEnd | null,
  derived: DerivedFields,
  originNode: string,
  originSeq: number,
): unknown[] {
  return [
    start.id,
    originNode,
    originSeq,
    start.servedBy,
    start.tokenId,
    start.tokenName,
    start.tokenPrefix,
    start.method,
    start.endpoint,
    start.model,
    start.stream === null ? null : start.stream ? 1 : 0,
    start.startedAt,
    start.historyMode,
    json(start.request),
    start.clientAddr,
    start.userAgent,
    ...endValues(end),
    derived.search_key,
    derived.thread_id,
    derived.parent_id,
    derived.continuation_hash,
  ];
}

/** The columns an end sets on a row whose start exists, in the order of `endParams`. */
const END_COLUMNS = [...END_FIELDS, 'continuation_hash'] as const;

/** The end of a request whose start row exists, for the UPDATE: END_COLUMNS, then the id. */
function endParams(id: string, end: HistoryEnd, continuationHash: string | null): unknown[] {
  const params = endValues(end);
  params.push(continuationHash, id);
  return params;
}

export function toRecord(row: HistoryRow): HistoryRecord {
  return {
    id: row.id,
    originNode: row.origin_node,
    originSeq: row.origin_seq,
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
    outcome: row.outcome,
    ...(row.outcome === 'in_progress'
      ? {}
      : {
          finishedAt: row.finished_at ?? undefined,
          ttftMs: row.ttft_ms,
          durationMs: row.duration_ms ?? undefined,
          status: row.status ?? undefined,
          error: row.error,
          answerContent: row.answer_content,
          answerThinking: row.answer_thinking,
          answerToolCalls: parse(row.answer_tool_calls) as unknown[] | null,
          answerSummary: parse(row.answer_summary),
          doneReason: row.done_reason,
          promptTokens: row.prompt_tokens,
          completionTokens: row.completion_tokens,
          totalNs: row.total_ns,
          loadNs: row.load_ns,
          promptEvalNs: row.prompt_eval_ns,
          evalNs: row.eval_ns,
        }),
  };
}

/** `pace` runs once per record inside each batch's transaction; see write-pacing.ts. */
export function createHistoryRepository(db: Db, originNode: string, pace: Pace = unpaced): HistoryRepository {
  const insert = db.prepare<unknown[]>(
    `INSERT INTO history (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`,
  );
  const finish = db.prepare<unknown[]>(
    `UPDATE history SET ${END_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`,
  );
  const maxSeq = db.prepare<[string], { seq: number | null }>(
    'SELECT MAX(origin_seq) AS seq FROM history WHERE origin_node = ?',
  );
  const byId = db.prepare<[string], HistoryRow>('SELECT * FROM history WHERE id = ?');
  const interrupted = db.prepare(`
    UPDATE history SET outcome = 'aborted', error = 'interrupted: the companion stopped before the request ended'
    WHERE served_by = ? AND outcome = 'in_progress' AND started_at < ?`);

  // Search keys, threads, full-text index and usage rollups change in the same transaction.
  const indexer = createHistoryIndexer(db, pace);
  const writeBatch = db.transaction((batch: HistoryBatch) => {
    // Read inside the write transaction (one index probe), so any connection that writes
    // this node's records continues the sequence without a gap or a collision.
    let seq = maxSeq.get(originNode)?.seq ?? 0;
    const derived = indexer.prepare(batch);
    for (const start of batch.started) {
      pace();
      insert.run(rowParams(start, null, derived(start.id), originNode, ++seq));
    }
    for (const { start, end, startWritten } of batch.finished) {
      pace();
      if (startWritten) finish.run(endParams(start.id, end, derived(start.id).continuation_hash));
      else insert.run(rowParams(start, end, derived(start.id), originNode, ++seq));
    }
    indexer.afterWrite(batch, derived);
  });

  return {
    writeBatch: (batch) => writeBatch.immediate(batch),
    *iterate(filter) {
      const where: string[] = [];
      const params: Record<string, string | number> = {};
      if (filter.since !== undefined) {
        where.push('started_at >= @since');
        params.since = filter.since;
      }
      if (filter.until !== undefined) {
        where.push('started_at < @until');
        params.until = filter.until;
      }
      const sql = `SELECT * FROM history ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at, origin_seq`;
      for (const row of db.prepare<Record<string, string | number>, HistoryRow>(sql).iterate(params)) {
        yield toRecord(row);
      }
    },
    findById: (id) => {
      const row = byId.get(id);
      return row && toRecord(row);
    },
    closeInterrupted: (servedBy, now) => interrupted.run(servedBy, now).changes,
  };
}
