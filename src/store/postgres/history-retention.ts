/**
 * Retention in PostgreSQL, for the retention job (history/retention-job.ts): where the
 * cut lies for an age or a count limit, and deleting the oldest records up to it in
 * small batches. A deleted record goes whole: its view row (and with it its words) and
 * its events. Each node's sequence numbers are never reused (the head stays where it
 * is), so a peer that pulls "after seq N" only finds fewer events; usage rollups stay.
 *
 * There is no backlog to index (the writer derives every row's fields as it writes it)
 * and no text index to purge (a redacted row's words leave the GIN index with its old
 * row version, which vacuum frees): those steps answer "nothing to do".
 */

import type { RetentionLimits } from '../../history/history-retention.js';
import { keyAt } from '../history-indexer.js';
import type { PostgresPool } from './postgres-pool.js';

export interface PostgresHistoryRetention {
  /** The highest search key retention should delete (inclusive), or null when nothing is due. */
  retentionCut(limits: RetentionLimits): Promise<number | null>;
  /** Deletes up to `batch` of the oldest records with a key ≤ `cut`, in one transaction. Returns how many. */
  deleteUpTo(cut: number, batch: number): Promise<number>;
  /** Always 0: rows are indexed as they are written. */
  indexBacklog(limit: number): Promise<number>;
  /** Always false: see the module comment. */
  purgePending(): Promise<boolean>;
  /** Always false (no more steps needed). */
  purgeStep(pages?: number): Promise<boolean>;
}

export function createPostgresHistoryRetention(pool: PostgresPool): PostgresHistoryRetention {
  const nthOldestKey = async (offset: number): Promise<number | undefined> => {
    const { rows } = await pool.query<{ k: string }>({
      name: 'history-nth-oldest-key',
      text: 'SELECT search_key AS k FROM history_records ORDER BY search_key LIMIT 1 OFFSET $1',
      values: [offset],
    });
    return rows[0] ? Number(rows[0].k) : undefined;
  };

  return {
    async retentionCut({ olderThan, maxRecords }) {
      let cut: number | null = null;
      if (olderThan !== null) {
        const oldest = await nthOldestKey(0);
        if (oldest !== undefined && oldest < keyAt(olderThan)) cut = keyAt(olderThan) - 1;
      }
      if (maxRecords !== null) {
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM history_records');
        const excess = Number(rows[0]!.n) - maxRecords;
        if (excess > 0) {
          const k = await nthOldestKey(excess - 1);
          if (k !== undefined) cut = cut === null ? k : Math.max(cut, k);
        }
      }
      return cut;
    },
    async deleteUpTo(cut, batch) {
      // One statement, so one transaction: the rows and their events go together.
      const { rows } = await pool.query<{ n: string }>({
        name: 'history-delete-up-to',
        text: `WITH gone AS (
            DELETE FROM history_records WHERE search_key IN (
              SELECT search_key FROM history_records WHERE search_key <= $1 ORDER BY search_key LIMIT $2
            ) RETURNING id
          ), events AS (
            DELETE FROM history_events e USING gone WHERE e.record_id = gone.id
          )
          SELECT count(*) AS n FROM gone`,
        values: [cut, Math.max(0, batch)],
      });
      return Number(rows[0]!.n);
    },
    indexBacklog: async () => 0,
    purgePending: async () => false,
    purgeStep: async () => false,
  };
}
