/**
 * Indexing older SQLite records for search: the history indexer, which keeps the
 * derived fields in step when records are written, also fills them in for rows written
 * without them (before migration 003).
 */
import type { SearchBackfill } from '../../history/search-backfill.js';
import type { Db } from '../database.js';
import { createHistoryIndexer } from '../history-indexer.js';

export function createSqliteSearchBackfill(db: Db): SearchBackfill {
  const indexer = createHistoryIndexer(db);
  return { indexBacklog: async (limit) => indexer.indexBacklog(limit) };
}
