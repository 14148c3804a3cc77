/**
 * The port for finding history records as admins and token holders do: full-text
 * search with filters and an opaque cursor (newest first by default), one record by id,
 * the model names a model pattern chooses from, and the number of records. The store
 * implements it; routes, the export and the CLI read through it.
 */
import type { HistoryRecord, Outcome } from './history-record.js';

/** A stored record with its conversation and redaction fields. */
export interface HistoryView extends HistoryRecord {
  threadId: string;
  parentId: string | null;
  redactedAt: number | null;
  redactedBy: string | null;
}

export interface HistorySearchFilter {
  /** Words and "quoted phrases" over prompts and answers; `word*` for a prefix, `-word` to exclude. */
  q?: string;
  tokenId?: string;
  /**
   * Only records whose model is one of these names, compared as stored (a pattern is
   * turned into the names it matches by the caller, from `modelNames`). Empty: none.
   */
  models?: readonly string[];
  endpoint?: string;
  outcome?: Outcome;
  /** An exact HTTP status, or a class: 4 for 4xx, 5 for 5xx. */
  status?: number;
  statusClass?: number;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

export interface PageRequest {
  /** From a previous page's `next`. */
  cursor?: string;
  limit?: number;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
}

export interface HistoryPage {
  records: HistoryView[];
  /** Cursor of the next page, null at the end. */
  next: string | null;
  /** The plain words of `q`, for highlighting. */
  terms: string[];
}

/** A cursor the store did not make; the routes answer it as a bad request. */
export class CursorError extends Error {}

export interface HistorySearch {
  /** Rejects with CursorError for a cursor this store did not make. */
  search(filter: HistorySearchFilter, page?: PageRequest): Promise<HistoryPage>;
  findById(id: string): Promise<HistoryView | undefined>;
  /** Every model name that occurs in history, as stored, sorted. */
  modelNames(): Promise<string[]>;
  count(): Promise<number>;
}
