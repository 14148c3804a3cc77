/**
 * A history row as the read side selects it (`SELECT * FROM history`), and the record
 * view it becomes: the stored record plus its conversation and redaction fields.
 */
import type { HistoryView } from '../../history/history-search.js';
import { type HistoryRow, toRecord } from '../history-repository.js';

export interface ViewRow extends HistoryRow {
  search_key: number | null;
  thread_id: string | null;
  parent_id: string | null;
  redacted_at: number | null;
  redacted_by: string | null;
}

/** A record not yet indexed (older data) is its own thread. */
export function toView(row: ViewRow): HistoryView {
  return {
    ...toRecord(row),
    threadId: row.thread_id ?? row.id,
    parentId: row.parent_id,
    redactedAt: row.redacted_at,
    redactedBy: row.redacted_by,
  };
}
