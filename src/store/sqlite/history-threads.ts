/**
 * Reading conversations from SQLite: the records sharing a record's `thread_id`, in
 * search-key order. A record not yet indexed (older data) is a thread of its own.
 */
import type { HistoryThreads } from '../../history/history-threads.js';
import type { Db } from '../database.js';
import { toView, type ViewRow } from './history-view-row.js';

export function createSqliteHistoryThreads(db: Db): HistoryThreads {
  const byId = db.prepare<[string], ViewRow>('SELECT * FROM history WHERE id = ?');
  const threadOf = db.prepare<[string], { thread_id: string | null }>(
    'SELECT thread_id FROM history WHERE id = ?',
  );
  const threadRows = db.prepare<[string, number], ViewRow>(
    'SELECT * FROM history WHERE thread_id = ? ORDER BY search_key LIMIT ?',
  );
  return {
    findThread: async (id, limit = 1000) => {
      const found = threadOf.get(id);
      if (!found) return undefined;
      const threadId = found.thread_id ?? id;
      const records = found.thread_id === null ? [byId.get(id)!] : threadRows.all(threadId, limit);
      return { threadId, records: records.map(toView) };
    },
  };
}
