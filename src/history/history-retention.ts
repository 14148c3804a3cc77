/**
 * The port through which retention deletes history: where the cut falls for the limits
 * in force, and deleting up to it in small batches (one transaction each), so requests
 * and the history writer never wait behind a long delete. Usage rollups are kept:
 * deleted records stay counted.
 */

export interface RetentionLimits {
  /** Records that started before this (epoch ms) go. */
  olderThan: number | null;
  /** Beyond this many records, the oldest go. */
  maxRecords: number | null;
}

export interface HistoryRetention {
  /** The highest search key retention should delete (inclusive), or null when nothing is due. */
  retentionCut(limits: RetentionLimits): Promise<number | null>;
  /** Deletes up to `batch` of the oldest records with a key ≤ `cut`, in one transaction. Resolves how many. */
  deleteUpTo(cut: number, batch: number): Promise<number>;
}
