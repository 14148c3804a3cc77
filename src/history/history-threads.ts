/**
 * The port for reading conversations: the records of the thread one record belongs to,
 * oldest first. Threads are derived when records are written (see the history writer);
 * this side only reads them.
 */
import type { HistoryView } from './history-search.js';

export interface HistoryThread {
  /** The id of the conversation's first record. */
  threadId: string;
  records: HistoryView[];
}

export interface HistoryThreads {
  /** The conversation record `id` belongs to, oldest first (at most `limit` records); undefined for no such record. */
  findThread(id: string, limit?: number): Promise<HistoryThread | undefined>;
}
