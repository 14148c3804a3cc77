/**
 * Reading history from PostgreSQL's current view (history_records), as SQLite's search
 * repository does: full-text search with filters and an opaque keyset cursor (newest
 * first by default), one record by id, the model names that occur, the record count.
 * Pages are ordered by search_key (start time × 1024 + n), so records of one millisecond
 * keep their order, and a cursor made by either backend's format ("h1:<key>") is read
 * the same way.
 */

import {
  CursorError,
  type HistoryPage,
  type HistorySearchFilter,
  type HistoryView,
  type PageRequest,
} from '../../history/history-search.js';
import { keyAt } from '../history-indexer.js';
import { searchQuery } from './full-text.js';
import { type HistoryViewRow, toHistoryView, VIEW_COLUMNS } from './history-view-row.js';
import type { PostgresPool } from './postgres-pool.js';

export interface PostgresHistorySearch {
  /** @throws CursorError for a cursor this store did not make. */
  search(filter: HistorySearchFilter, page?: PageRequest): Promise<HistoryPage>;
  findById(id: string): Promise<HistoryView | undefined>;
  /** Every model name that occurs in history, as stored, sorted by code unit (as SQLite's binary order). */
  modelNames(): Promise<string[]>;
  count(): Promise<number>;
}

/** Up to this many model names, a page is merged from one index read per name (as on SQLite). */
const MERGED_MODELS = 16;

export function encodeCursor(key: number): string {
  return Buffer.from(`h1:${key}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^h1:(\d{1,16})$/.exec(text);
  if (!match) throw new CursorError('invalid cursor');
  return Number(match[1]);
}

export function createPostgresHistorySearch(pool: PostgresPool): PostgresHistorySearch {
  const search = async (filter: HistorySearchFilter, page: PageRequest = {}): Promise<HistoryPage> => {
    const limit = Math.max(1, Math.min(page.limit ?? 50, 1000));
    const order = page.order === 'asc' ? 'asc' : 'desc';
    const text = filter.q ? searchQuery(filter.q) : null;
    const terms = text?.terms ?? [];
    const models = filter.models;
    if (models !== undefined && models.length === 0) return { records: [], next: null, terms };

    // Conditions are fixed fragments; every value is a numbered parameter.
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown): string => {
      values.push(value);
      return `$${values.length}`;
    };
    if (text) where.push(`search_vector @@ ${param(text.query)}::tsquery`);
    let low = filter.since !== undefined ? keyAt(filter.since) : undefined;
    let high = filter.until !== undefined ? keyAt(filter.until) : undefined;
    if (page.cursor !== undefined) {
      const at = decodeCursor(page.cursor);
      if (order === 'desc') high = high === undefined ? at : Math.min(high, at);
      else low = low === undefined ? at + 1 : Math.max(low, at + 1);
    }
    if (low !== undefined) where.push(`search_key >= ${param(low)}`);
    if (high !== undefined) where.push(`search_key < ${param(high)}`);
    if (filter.tokenId !== undefined) where.push(`token_id = ${param(filter.tokenId)}`);
    if (filter.endpoint !== undefined) where.push(`endpoint = ${param(filter.endpoint)}`);
    if (filter.outcome !== undefined) where.push(`outcome = ${param(filter.outcome)}`);
    if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
    if (filter.statusClass !== undefined) {
      where.push(
        `status >= ${param(filter.statusClass * 100)} AND status < ${param(filter.statusClass * 100 + 100)}`,
      );
    }
    const direction = order === 'desc' ? 'DESC' : 'ASC';
    const top = param(limit + 1);
    let sql: string;
    if (!text && models && models.length <= MERGED_MODELS) {
      // Each name reads its page from the (model, search_key) index in key order, and the
      // pages are merged: a rare model costs a page, not a scan of all history.
      const arms = models.map(
        (model) =>
          `(SELECT ${VIEW_COLUMNS} FROM history_records WHERE ${[...where, `model = ${param(model)}`].join(' AND ')}
            ORDER BY search_key ${direction} LIMIT ${top})`,
      );
      sql = `SELECT * FROM (${arms.join(' UNION ALL ')}) AS merged ORDER BY search_key ${direction} LIMIT ${top}`;
    } else {
      if (models) where.push(`model = ANY(${param([...models])}::text[])`);
      sql = `SELECT ${VIEW_COLUMNS} FROM history_records
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY search_key ${direction} LIMIT ${top}`;
    }
    const { rows } = await pool.query<HistoryViewRow>(sql, values);
    const more = rows.length > limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return {
      records: rows.map(toHistoryView),
      next: more && last ? encodeCursor(Number(last.search_key)) : null,
      terms,
    };
  };

  return {
    search,
    async findById(id) {
      const { rows } = await pool.query<HistoryViewRow>({
        name: 'history-by-id',
        text: `SELECT ${VIEW_COLUMNS} FROM history_records WHERE id = $1`,
        values: [id],
      });
      return rows[0] && toHistoryView(rows[0]);
    },
    async modelNames() {
      // Distinct names by skipping through the (model, search_key) index, one probe per
      // name, rather than reading every record.
      const { rows } = await pool.query<{ name: string }>({
        name: 'history-model-names',
        text: `WITH RECURSIVE names(name) AS (
            SELECT (SELECT min(model) FROM history_records)
            UNION ALL
            SELECT (SELECT min(model) FROM history_records WHERE model > names.name)
            FROM names WHERE names.name IS NOT NULL
          )
          SELECT name FROM names WHERE name IS NOT NULL`,
      });
      return rows.map((row) => row.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    },
    async count() {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM history_records');
      return Number(rows[0]!.n);
    },
  };
}
