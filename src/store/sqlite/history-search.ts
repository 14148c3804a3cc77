/**
 * Finding history records in SQLite: full-text search with filters and an opaque
 * cursor, one record by id, the distinct model names and the record count. Pages are
 * read in search-key order from an index (the text index for a text search, the
 * (model, search_key) index per model name), so a page costs about its own size.
 */
import {
  CursorError,
  type HistoryPage,
  type HistorySearch,
  type HistorySearchFilter,
  type PageRequest,
} from '../../history/history-search.js';
import type { Db } from '../database.js';
import { keyAt } from '../history-indexer.js';
import { ftsQuery } from './fts-query.js';
import { toView, type ViewRow } from './history-view-row.js';
import { statementCache } from './statement-cache.js';

/** Up to this many model names, a page is merged from one index read per name. */
const MERGED_MODELS = 16;

function encodeCursor(key: number): string {
  return Buffer.from(`h1:${key}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^h1:(\d{1,16})$/.exec(text);
  if (!match) throw new CursorError('invalid cursor');
  return Number(match[1]);
}

export function createSqliteHistorySearch(db: Db): HistorySearch {
  const byId = db.prepare<[string], ViewRow>('SELECT * FROM history WHERE id = ?');
  const countAll = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM history');
  // Distinct names by skipping through the (model, search_key) index, one probe per
  // name, rather than reading every record.
  const distinctModels = db.prepare<[], { name: string }>(`
    WITH RECURSIVE names(name) AS (
      SELECT (SELECT MIN(model) FROM history)
      UNION ALL
      SELECT (SELECT MIN(model) FROM history WHERE model > names.name) FROM names WHERE names.name IS NOT NULL
    )
    SELECT name FROM names WHERE name IS NOT NULL`);
  const prepared = statementCache(db);

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

  return {
    search: async (filter, page) => search(filter, page),
    findById: async (id) => {
      const row = byId.get(id);
      return row && toView(row);
    },
    modelNames: async () => distinctModels.all().map((row) => row.name),
    count: async () => countAll.get()!.n,
  };
}
