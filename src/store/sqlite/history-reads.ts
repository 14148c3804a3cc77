/**
 * The history's read side on SQLite: every port of `HistoryReads`, over one database.
 */
import type { HistoryReads } from '../../history/history-reads.js';
import type { Db } from '../database.js';
import { createSqliteHistoryRedaction } from './history-redaction.js';
import { createSqliteHistoryRetention } from './history-retention.js';
import { createSqliteHistorySearch } from './history-search.js';
import { createSqliteHistoryThreads } from './history-threads.js';
import { createSqliteSearchBackfill } from './search-backfill.js';
import { createSqliteUsageSeries } from './usage-series.js';

export function createSqliteHistoryReads(db: Db): HistoryReads {
  return {
    search: createSqliteHistorySearch(db),
    threads: createSqliteHistoryThreads(db),
    redaction: createSqliteHistoryRedaction(db),
    retention: createSqliteHistoryRetention(db),
    backfill: createSqliteSearchBackfill(db),
    usage: createSqliteUsageSeries(db),
  };
}
