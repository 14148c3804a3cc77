/**
 * One history export, as the admin API, the token holder's export and `history export`
 * all produce it: the records matching a filter, oldest first, in one format. Records
 * are read from the store a page at a time, only when the reader has taken the previous
 * ones, so an export of any size streams in small memory; the same records give the
 * same bytes whoever asks.
 */
import { Readable } from 'node:stream';
import { type ExportFormat, exportChunks, exportWriter } from './export-formats.js';
import type { HistorySearch, HistorySearchFilter, HistoryView } from './history-search.js';

/** Records per read from the store. */
const PAGE = 100;

export interface HistoryExport {
  contentType: string;
  /** A file name for a download: `history-<time of export>.<extension>`. */
  fileName: string;
  /** The export's text, in pieces of about one record. */
  body: Readable;
}

/** Records matching the filter, oldest first, read a page at a time as the consumer asks. */
export async function* matchingRecords(
  search: Pick<HistorySearch, 'search'>,
  filter: HistorySearchFilter,
): AsyncGenerator<HistoryView> {
  let cursor: string | undefined;
  do {
    const page = await search.search(filter, { order: 'asc', limit: PAGE, ...(cursor ? { cursor } : {}) });
    yield* page.records;
    cursor = page.next ?? undefined;
  } while (cursor);
}

export function exportHistory(
  search: Pick<HistorySearch, 'search'>,
  filter: HistorySearchFilter,
  format: ExportFormat,
  now = Date.now(),
): HistoryExport {
  const writer = exportWriter(format);
  const stamp = new Date(now).toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return {
    contentType: writer.contentType,
    fileName: `history-${stamp}.${writer.extension}`,
    body: Readable.from(exportChunks(format, matchingRecords(search, filter)), { highWaterMark: 8 }),
  };
}
