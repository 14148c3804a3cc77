/**
 * Retention deletes in SQLite: the cut is a search key (by age: the key of the limit
 * time; by count: the key of the last record in excess), and each batch deletes the
 * oldest rows up to it and their text index entries in one transaction. Usage rollups
 * are separate tables and stay.
 */
import type { HistoryRetention, RetentionLimits } from '../../history/history-retention.js';
import type { Db } from '../database.js';
import { keyAt } from '../history-indexer.js';
import { zeroFreedSpace } from './secure-delete.js';

export function createSqliteHistoryRetention(db: Db): HistoryRetention {
  zeroFreedSpace(db);
  const countAll = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM history');
  const nthOldestKey = db.prepare<[number], { k: number }>(
    'SELECT search_key AS k FROM history WHERE search_key IS NOT NULL ORDER BY search_key LIMIT 1 OFFSET ?',
  );
  const deleteBatch = db.prepare<[number, number], { k: number }>(`
    DELETE FROM history WHERE search_key IN (
      SELECT search_key FROM history WHERE search_key IS NOT NULL AND search_key <= ? ORDER BY search_key LIMIT ?
    ) RETURNING search_key AS k`);
  const ftsDelete = db.prepare('DELETE FROM history_fts WHERE rowid = ?');

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

  return {
    retentionCut: async (limits) => retentionCut(limits),
    deleteUpTo: async (cut, batch) => deleteUpTo(cut, batch),
  };
}
