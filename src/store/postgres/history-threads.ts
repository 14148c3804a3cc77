/**
 * Conversations in PostgreSQL's history view: the records that share a record's thread
 * (thread_id, the id of the thread's first record, derived when each row was written),
 * oldest first, as SQLite's findThread gives them.
 */
import type { HistoryView } from '../../history/history-search.js';
import { type HistoryViewRow, toHistoryView, VIEW_COLUMNS } from './history-view-row.js';
import type { PostgresPool } from './postgres-pool.js';

export interface PostgresHistoryThreads {
  /** The conversation record `id` belongs to, oldest first (at most `limit` records); undefined for no such record. */
  findThread(id: string, limit?: number): Promise<{ threadId: string; records: HistoryView[] } | undefined>;
}

export function createPostgresHistoryThreads(pool: PostgresPool): PostgresHistoryThreads {
  return {
    async findThread(id, limit = 1000) {
      const { rows: found } = await pool.query<{ thread_id: string }>({
        name: 'history-thread-of',
        text: 'SELECT thread_id FROM history_records WHERE id = $1',
        values: [id],
      });
      const threadId = found[0]?.thread_id;
      if (threadId === undefined) return undefined;
      const { rows } = await pool.query<HistoryViewRow>({
        name: 'history-thread-records',
        text: `SELECT ${VIEW_COLUMNS} FROM history_records WHERE thread_id = $1 ORDER BY search_key LIMIT $2`,
        values: [threadId, Math.max(1, limit)],
      });
      return { threadId, records: rows.map(toHistoryView) };
    },
  };
}
