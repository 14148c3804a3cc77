/**
 * The PostgreSQL history store in one object: the writer (the history writer's sink) and
 * the read side (search, threads, redaction, retention, usage series), each from its own
 * module, over one pool. What SQLite's history repository and search repository give,
 * async; the wiring can also take the parts one by one.
 */
import { createPostgresHistoryWriter, type PostgresHistoryWriter } from './history-event-writer.js';
import { createPostgresHistoryRedaction, type PostgresHistoryRedaction } from './history-redaction.js';
import { createPostgresHistoryRetention, type PostgresHistoryRetention } from './history-retention.js';
import { createPostgresHistorySearch, type PostgresHistorySearch } from './history-search.js';
import { createPostgresHistoryThreads, type PostgresHistoryThreads } from './history-threads.js';
import type { PostgresPool } from './postgres-pool.js';
import { createPostgresUsageSeries, type PostgresUsageSeries } from './usage-series.js';

export interface PostgresHistoryStore
  extends PostgresHistoryWriter,
    PostgresHistorySearch,
    PostgresHistoryThreads,
    PostgresHistoryRedaction,
    PostgresHistoryRetention,
    PostgresUsageSeries {}

export interface PostgresHistoryStoreOptions {
  /** This companion's node: its events are numbered in this node's sequence. */
  nodeId: string;
  /** The database's URL, to name it (without its password) in errors. */
  url: string;
}

export function createPostgresHistoryStore(
  pool: PostgresPool,
  { nodeId, url }: PostgresHistoryStoreOptions,
): PostgresHistoryStore {
  return {
    ...createPostgresHistoryWriter(pool, nodeId, { url }),
    ...createPostgresHistorySearch(pool),
    ...createPostgresHistoryThreads(pool),
    ...createPostgresHistoryRedaction(pool, nodeId),
    ...createPostgresHistoryRetention(pool),
    ...createPostgresUsageSeries(pool),
  };
}
