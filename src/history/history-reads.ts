/**
 * Every port of the history's read side, as one store backend provides them together:
 * the composition root builds one of these and hands each part to the module that uses it.
 */
import type { HistoryRedaction } from './history-redaction.js';
import type { HistoryRetention } from './history-retention.js';
import type { HistorySearch } from './history-search.js';
import type { HistoryThreads } from './history-threads.js';
import type { SearchBackfill } from './search-backfill.js';
import type { UsageSeries } from './usage-series.js';

export interface HistoryReads {
  search: HistorySearch;
  threads: HistoryThreads;
  redaction: HistoryRedaction;
  retention: HistoryRetention;
  backfill: SearchBackfill;
  usage: UsageSeries;
}
