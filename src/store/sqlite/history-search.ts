/**
 * Reading history as admins and token holders do: full-text search with filters and an
 * opaque cursor (newest first), conversations, redaction, retention deletes and the
 * usage series behind the dashboard. Writes that derive from a record (search key, text
 * index, threads, usage) live in history-indexer.ts and run inside the history batch.
 */
import type { HistoryRecord, Outcome } from '../../history/history-record.js';
import { answerText, conversationOf, newTurn, promptText } from '../../history/search-text.js';
import { redactionTexts, scrubConversation } from '../../history/thread-keys.js';
import type { Db } from '../database.js';
import { createHistoryIndexer, DAY_MS, HOUR_MS, keyAt, LATENCY_BOUNDS } from '../history-indexer.js';
import { type HistoryRow, toRecord } from '../history-repository.js';

/** A stored record with its conversation and redaction fields. */
export interface HistoryView extends HistoryRecord {
  threadId: string;
  parentId: string | null;
  redactedAt: number | null;
  redactedBy: string | null;
}

export interface HistorySearchFilter {
  /** Words and "quoted phrases" over prompts and answers; `word*` for a prefix, `-word` to exclude. */
  q?: string;
  tokenId?: string;
  /**
   * Only records whose model is one of these names, compared as stored (a pattern is
   * turned into the names it matches by the caller, from `modelNames`). Empty: none.
   */
  models?: readonly string[];
  endpoint?: string;
  outcome?: Outcome;
  /** An exact HTTP status, or a class: 4 for 4xx, 5 for 5xx. */
  status?: number;
  statusClass?: number;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

export interface PageRequest {
  /** From a previous page's `next`. */
  cursor?: string;
  limit?: number;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
}

export interface HistoryPage {
  records: HistoryView[];
  /** Cursor of the next page, null at the end. */
  next: string | null;
  /** The plain words of `q`, for highlighting. */
  terms: string[];
}

export type UsageBy = 'day' | 'hour' | 'model' | 'token';

export interface UsagePoint {
  key: string;
  /** Token name for `by=token`. */
  label?: string;
  requests: number;
  errors: number;
  refused: number;
  promptTokens: number;
  completionTokens: number;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
}

export interface RetentionLimits {
  /** Records that started before this (epoch ms) go. */
  olderThan: number | null;
  /** Beyond this many records, the oldest go. */
  maxRecords: number | null;
}

export interface HistorySearchRepository {
  /** @throws CursorError for a cursor this repository did not make. */
  search(filter: HistorySearchFilter, page?: PageRequest): HistoryPage;
  findById(id: string): HistoryView | undefined;
  /** Every model name that occurs in history, as stored, sorted. */
  modelNames(): string[];
  /** The conversation record `id` belongs to, oldest first (at most `limit` records). */
  findThread(id: string, limit?: number): { threadId: string; records: HistoryView[] } | undefined;
  /**
   * Erases the record's content (request, answer, its text index entry, copies of it in
   * later requests of the same conversation) and keeps a tombstone. Idempotent.
   */
  redact(id: string, by: string, at: number): HistoryView | undefined;
  /**
   * Whether a redaction left words of erased content in the text index's segments
   * (unsearchable, but still on disk) that a purge should rewrite away.
   */
  purgePending(): boolean;
  /**
   * One step of rewriting the text index without erased entries (about `pages` pages),
   * old pages overwritten with zeros. Returns true while more steps are needed.
   */
  purgeStep(pages?: number): boolean;
  /** The highest search key retention should delete (inclusive), or null when nothing is due. */
  retentionCut(limits: RetentionLimits): number | null;
  /** Deletes up to `batch` of the oldest records with a key ≤ `cut`, in one transaction. Returns how many. */
  deleteUpTo(cut: number, batch: number): number;
  /** Indexes up to `limit` records written without search fields (older data). Returns how many. */
  indexBacklog(limit: number): number;
  /** Series over [since, until), widened to whole hours, and the totals over the same range. */
  usage(by: UsageBy, since: number, until: number): { series: UsagePoint[]; totals: UsagePoint };
  count(): number;
}

export class CursorError extends Error {}

/** Up to this many model names, a page is merged from one index read per name. */
const MERGED_MODELS = 16;

interface ViewRow extends HistoryRow {
  search_key: number | null;
  thread_id: string | null;
  parent_id: string | null;
  redacted_at: number | null;
  redacted_by: string | null;
}

export function toView(row: ViewRow): HistoryView {
  return {
    ...toRecord(row),
    threadId: row.thread_id ?? row.id,
    parentId: row.parent_id,
    redactedAt: row.redacted_at,
    redactedBy: row.redacted_by,
  };
}

function encodeCursor(key: number): string {
  return Buffer.from(`h1:${key}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^h1:(\d{1,16})$/.exec(text);
  if (!match) throw new CursorError('invalid cursor');
  return Number(match[1]);
}

/**
 * Turns what a person typed into an FTS5 query that cannot be a syntax error: every
 * word and phrase is quoted; `word*` stays a prefix query; `-word` excludes.
 */
export function ftsQuery(q: string): { match: string; terms: string[] } | null {
  const include: string[] = [];
  const exclude: string[] = [];
  const terms: string[] = [];
  for (const found of q.matchAll(/(-?)"([^"]*)"|(\S+)/g)) {
    const phrase = found[2];
    let word = found[3];
    let negated = found[1] === '-';
    if (word?.startsWith('-') && word.length > 1) {
      negated = true;
      word = word.slice(1);
    }
    const prefix = word?.endsWith('*') ?? false;
    const text = (phrase ?? word ?? '').replace(/\*+$/, '');
    // Text without letters or digits has no tokens: skip it rather than match nothing.
    if (!/[\p{L}\p{N}]/u.test(text)) continue;
    const quoted = `"${text.replace(/"/g, '""')}"${prefix ? '*' : ''}`;
    if (negated) exclude.push(quoted);
    else {
      include.push(quoted);
      terms.push(text);
    }
  }
  if (include.length === 0) return null;
  const match = exclude.length ? `(${include.join(' ')}) NOT (${exclude.join(' OR ')})` : include.join(' ');
  return { match, terms };
}

const SUMS = [
  'SUM(requests) AS requests',
  'SUM(errors) AS errors',
  'SUM(refused) AS refused',
  'SUM(prompt_tokens) AS prompt_tokens',
  'SUM(completion_tokens) AS completion_tokens',
  'SUM(duration_ms_sum) AS duration_ms_sum',
  ...LATENCY_BOUNDS.map((_, i) => `SUM(lat_${i}) AS lat_${i}`),
].join(', ');

interface UsageRow {
  key: string | number;
  requests: number;
  errors: number;
  refused: number;
  prompt_tokens: number;
  completion_tokens: number;
  duration_ms_sum: number;
  [lat: `lat_${number}`]: number;
}

/** The duration below which 95 % of requests finished, interpolated inside its bucket. */
function p95(row: UsageRow): number | null {
  if (row.requests === 0) return null;
  const target = row.requests * 0.95;
  let seen = 0;
  for (let i = 0; i < LATENCY_BOUNDS.length; i++) {
    const inBucket = row[`lat_${i}`] ?? 0;
    if (seen + inBucket >= target && inBucket > 0) {
      const low = i === 0 ? 0 : (LATENCY_BOUNDS[i - 1] as number);
      const high = LATENCY_BOUNDS[i] as number;
      if (!Number.isFinite(high)) return low;
      return Math.round(low + ((high - low) * (target - seen)) / inBucket);
    }
    seen += inBucket;
  }
  return null;
}

function sumRows(rows: UsageRow[]): UsageRow {
  const sum: UsageRow = {
    key: 'total',
    requests: 0,
    errors: 0,
    refused: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    duration_ms_sum: 0,
  };
  for (const row of rows) {
    sum.requests += row.requests;
    sum.errors += row.errors;
    sum.refused += row.refused;
    sum.prompt_tokens += row.prompt_tokens;
    sum.completion_tokens += row.completion_tokens;
    sum.duration_ms_sum += row.duration_ms_sum;
    for (let i = 0; i < LATENCY_BOUNDS.length; i++)
      sum[`lat_${i}`] = (sum[`lat_${i}`] ?? 0) + (row[`lat_${i}`] ?? 0);
  }
  return sum;
}

function point(key: string, row: UsageRow | undefined): UsagePoint {
  const requests = row?.requests ?? 0;
  return {
    key,
    requests,
    errors: row?.errors ?? 0,
    refused: row?.refused ?? 0,
    promptTokens: row?.prompt_tokens ?? 0,
    completionTokens: row?.completion_tokens ?? 0,
    avgLatencyMs: row && requests > 0 ? Math.round((row.duration_ms_sum / requests) * 10) / 10 : null,
    p95LatencyMs: row ? p95(row) : null,
  };
}

export function createHistorySearchRepository(db: Db): HistorySearchRepository {
  // Space freed inside a page (an updated or deleted row) is zeroed when that costs no
  // extra write, so an erased prompt leaves no stale copy beside the row that replaced it.
  db.pragma('secure_delete = FAST');
  const indexer = createHistoryIndexer(db);
  const byId = db.prepare<[string], ViewRow>('SELECT * FROM history WHERE id = ?');
  const threadOf = db.prepare<[string], { thread_id: string | null }>(
    'SELECT thread_id FROM history WHERE id = ?',
  );
  const threadRows = db.prepare<[string, number], ViewRow>(
    'SELECT * FROM history WHERE thread_id = ? ORDER BY search_key LIMIT ?',
  );
  const erase = db.prepare(`
    UPDATE history SET request_json = NULL, answer_content = NULL, answer_thinking = NULL,
      answer_tool_calls = NULL, answer_summary = NULL, continuation_hash = NULL,
      redacted_at = @at, redacted_by = @by
    WHERE id = @id`);
  const laterInThread = db.prepare<[string, number], ViewRow>(
    'SELECT * FROM history WHERE thread_id = ? AND search_key > ? AND redacted_at IS NULL ORDER BY search_key',
  );
  const setRequest = db.prepare('UPDATE history SET request_json = ? WHERE id = ?');
  const ftsDelete = db.prepare('DELETE FROM history_fts WHERE rowid = ?');
  const ftsInsert = db.prepare('INSERT INTO history_fts (rowid, prompt, answer) VALUES (?, ?, ?)');
  const countAll = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM history');
  const nthOldestKey = db.prepare<[number], { k: number }>(
    'SELECT search_key AS k FROM history WHERE search_key IS NOT NULL ORDER BY search_key LIMIT 1 OFFSET ?',
  );
  const deleteBatch = db.prepare<[number, number], { k: number }>(`
    DELETE FROM history WHERE search_key IN (
      SELECT search_key FROM history WHERE search_key IS NOT NULL AND search_key <= ? ORDER BY search_key LIMIT ?
    ) RETURNING search_key AS k`);
  const totalChanges = db.prepare<[], { n: number }>('SELECT total_changes() AS n');
  const mergeStep = db.prepare("INSERT INTO history_fts (history_fts, rank) VALUES ('merge', ?)");
  let purgePending = false;
  // Distinct names by skipping through the (model, search_key) index, one probe per
  // name, rather than reading every record.
  const distinctModels = db.prepare<[], { name: string }>(`
    WITH RECURSIVE names(name) AS (
      SELECT (SELECT MIN(model) FROM history)
      UNION ALL
      SELECT (SELECT MIN(model) FROM history WHERE model > names.name) FROM names WHERE names.name IS NOT NULL
    )
    SELECT name FROM names WHERE name IS NOT NULL`);
  const tokenNames = db.prepare<[], { id: string; name: string }>('SELECT id, name FROM tokens');
  const statements = new Map<string, ReturnType<Db['prepare']>>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  const search = (filter: HistorySearchFilter, page: PageRequest = {}): HistoryPage => {
    const limit = Math.max(1, Math.min(page.limit ?? 50, 1000));
    const order = page.order ?? 'desc';
    const fts = filter.q ? ftsQuery(filter.q) : null;
    const key = fts ? 'f.rowid' : 'h.search_key';
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: limit + 1 };
    if (fts) {
      where.push('history_fts MATCH @match');
      params.match = fts.match;
    } else {
      where.push('h.search_key IS NOT NULL');
    }
    let low = filter.since !== undefined ? keyAt(filter.since) : undefined;
    let high = filter.until !== undefined ? keyAt(filter.until) : undefined;
    if (page.cursor !== undefined) {
      const at = decodeCursor(page.cursor);
      if (order === 'desc') high = high === undefined ? at : Math.min(high, at);
      else low = low === undefined ? at + 1 : Math.max(low, at + 1);
    }
    if (low !== undefined) {
      where.push(`${key} >= @low`);
      params.low = low;
    }
    if (high !== undefined) {
      where.push(`${key} < @high`);
      params.high = high;
    }
    const equal: [Exclude<keyof HistorySearchFilter, 'models'>, string][] = [
      ['tokenId', 'token_id'],
      ['endpoint', 'endpoint'],
      ['outcome', 'outcome'],
      ['status', 'status'],
    ];
    for (const [field, column] of equal) {
      const value = filter[field];
      if (value === undefined) continue;
      where.push(`h.${column} = @${field}`);
      params[field] = value;
    }
    if (filter.statusClass !== undefined) {
      where.push('h.status >= @statusLow AND h.status < @statusHigh');
      params.statusLow = filter.statusClass * 100;
      params.statusHigh = filter.statusClass * 100 + 100;
    }
    const terms = fts?.terms ?? [];
    const models = filter.models;
    if (models !== undefined && models.length === 0) return { records: [], next: null, terms };
    const direction = order.toUpperCase();
    let sql: string;
    if (fts) {
      // The text index drives a text search: it yields matches in key order and stops after one page.
      if (models) {
        where.push('h.model IN (SELECT value FROM json_each(@models))');
        params.models = JSON.stringify(models);
      }
      sql = `SELECT h.* FROM history_fts f CROSS JOIN history h ON h.search_key = f.rowid WHERE ${where.join(' AND ')} ORDER BY f.rowid ${direction} LIMIT @limit`;
    } else if (models && models.length <= MERGED_MODELS) {
      // Each name reads its page from the (model, search_key) index in key order, and the
      // pages are merged: a rare model costs a page, not a scan of all history.
      models.forEach((model, i) => {
        params[`model${i}`] = model;
      });
      const arm = (i: number) =>
        `SELECT * FROM (SELECT h.* FROM history h WHERE ${where.join(' AND ')} AND h.model = @model${i} ORDER BY h.search_key ${direction} LIMIT @limit)`;
      sql = `${models.map((_, i) => arm(i)).join(' UNION ALL ')} ORDER BY search_key ${direction} LIMIT @limit`;
    } else {
      if (models) {
        where.push('h.model IN (SELECT value FROM json_each(@models))');
        params.models = JSON.stringify(models);
      }
      sql = `SELECT h.* FROM history h WHERE ${where.join(' AND ')} ORDER BY h.search_key ${direction} LIMIT @limit`;
    }
    const rows = prepared(sql).all(params) as ViewRow[];
    const more = rows.length > limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return {
      records: rows.map(toView),
      next: more && last?.search_key != null ? encodeCursor(last.search_key) : null,
      terms,
    };
  };

  const redact = db.transaction((id: string, by: string, at: number): HistoryView | undefined => {
    const row = byId.get(id);
    if (!row) return undefined;
    if (row.redacted_at !== null) return toView(row);
    const record = toRecord(row);
    const conversation = conversationOf(record.endpoint, record.request);
    const said = conversation
      ? newTurn(conversation).map((m) => m.text)
      : [promptText(record.endpoint, record.request)];
    const texts = redactionTexts([...said, record.answerContent ?? '']);
    erase.run({ id, at, by });
    if (row.search_key !== null) {
      ftsDelete.run(row.search_key);
      // Later turns of the conversation resend this exchange: erase those copies too.
      for (const later of laterInThread.all(row.thread_id ?? row.id, row.search_key)) {
        const laterRecord = toRecord(later);
        const scrubbed = scrubConversation(laterRecord.request, texts);
        if (scrubbed === undefined) continue;
        setRequest.run(JSON.stringify(scrubbed), later.id);
        if (later.search_key === null) continue;
        ftsDelete.run(later.search_key);
        const prompt = promptText(laterRecord.endpoint, scrubbed);
        const answer = answerText(laterRecord.answerContent, laterRecord.answerThinking);
        if (prompt !== '' || answer !== '') ftsInsert.run(later.search_key, prompt, answer);
      }
    }
    const after = byId.get(id);
    return after && toView(after);
  });

  const retentionCut = ({ olderThan, maxRecords }: RetentionLimits): number | null => {
    let cut: number | null = null;
    if (olderThan !== null) {
      const oldest = nthOldestKey.get(0)?.k;
      if (oldest !== undefined && oldest < keyAt(olderThan)) cut = keyAt(olderThan) - 1;
    }
    if (maxRecords !== null) {
      const excess = countAll.get()!.n - maxRecords;
      if (excess > 0) {
        const k = nthOldestKey.get(excess - 1)?.k;
        if (k !== undefined) cut = cut === null ? k : Math.max(cut, k);
      }
    }
    return cut;
  };

  const deleteUpTo = db.transaction((cut: number, batch: number): number => {
    const keys = deleteBatch.all(cut, batch);
    for (const { k } of keys) ftsDelete.run(k);
    return keys.length;
  });

  const usage = (by: UsageBy, since: number, until: number): { series: UsagePoint[]; totals: UsagePoint } => {
    const from = Math.floor(since / HOUR_MS) * HOUR_MS;
    const to = Math.ceil(until / HOUR_MS) * HOUR_MS;
    const keyExpr =
      by === 'day'
        ? `bucket - bucket % ${DAY_MS}`
        : by === 'hour'
          ? 'bucket'
          : by === 'model'
            ? 'model'
            : 'token_id';
    // Whole days come from the daily table, the hours at either end from the hourly one.
    const dayFrom = Math.ceil(from / DAY_MS) * DAY_MS;
    const dayTo = Math.floor(to / DAY_MS) * DAY_MS;
    const columns = `${keyExpr} AS key, requests, errors, refused, prompt_tokens, completion_tokens, duration_ms_sum, ${LATENCY_BOUNDS.map((_, i) => `lat_${i}`).join(', ')}`;
    const useDaily = by !== 'hour' && dayFrom < dayTo;
    const parts = useDaily
      ? [
          `SELECT ${columns} FROM usage_daily WHERE bucket >= @dayFrom AND bucket < @dayTo`,
          `SELECT ${columns} FROM usage_hourly WHERE bucket >= @from AND bucket < @dayFrom`,
          `SELECT ${columns} FROM usage_hourly WHERE bucket >= @dayTo AND bucket < @to`,
        ]
      : [`SELECT ${columns} FROM usage_hourly WHERE bucket >= @from AND bucket < @to`];
    const sql = `SELECT key, ${SUMS} FROM (${parts.join(' UNION ALL ')}) GROUP BY key`;
    const rows = prepared(sql).all({ from, to, dayFrom, dayTo }) as UsageRow[];
    const totals = point('total', sumRows(rows));

    if (by === 'day' || by === 'hour') {
      const step = by === 'day' ? DAY_MS : HOUR_MS;
      const byKey = new Map(rows.map((row) => [Number(row.key), row]));
      const series: UsagePoint[] = [];
      for (let t = Math.floor(from / step) * step; t < to; t += step) {
        const iso = new Date(t).toISOString();
        series.push(point(by === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00Z`, byKey.get(t)));
      }
      return { series, totals };
    }
    const names = by === 'token' ? new Map(tokenNames.all().map((t) => [t.id, t.name])) : undefined;
    const series = rows
      .map((row) => {
        const p = point(String(row.key), row);
        if (names) p.label = names.get(String(row.key)) ?? (row.key === '' ? '(no token)' : String(row.key));
        return p;
      })
      .sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key));
    return { series, totals };
  };

  /** Runs `work` with deleted content overwritten on disk, not just unlinked. */
  const securely = <T>(work: () => T): T => {
    const before = db.pragma('secure_delete', { simple: true }) as number;
    db.pragma('secure_delete = ON');
    try {
      return work();
    } finally {
      db.pragma(`secure_delete = ${before}`);
    }
  };

  return {
    search,
    findById: (id) => {
      const row = byId.get(id);
      return row && toView(row);
    },
    modelNames: () => distinctModels.all().map((row) => row.name),
    findThread: (id, limit = 1000) => {
      const found = threadOf.get(id);
      if (!found) return undefined;
      const threadId = found.thread_id ?? id;
      const records = found.thread_id === null ? [byId.get(id)!] : threadRows.all(threadId, limit);
      return { threadId, records: records.map(toView) };
    },
    redact: (id, by, at) =>
      securely(() => {
        const view = redact(id, by, at);
        if (view) purgePending = true;
        return view;
      }),
    purgePending: () => purgePending,
    purgeStep: (pages = 500) =>
      securely(() => {
        // A negative page count merges every segment, so erased entries are dropped from all of them.
        const before = totalChanges.get()!.n;
        mergeStep.run(-pages);
        const more = totalChanges.get()!.n - before > 1;
        if (!more) {
          purgePending = false;
          // Old page images in the write-ahead log go too (skipped while readers hold it).
          db.pragma('wal_checkpoint(TRUNCATE)');
        }
        return more;
      }),
    retentionCut,
    deleteUpTo: (cut, batch) => deleteUpTo(cut, batch),
    indexBacklog: (limit) => indexer.indexBacklog(limit),
    usage,
    count: () => countAll.get()!.n,
  };
}
