/**
 * History search, conversations, redaction and the usage rollup.
 *
 * `search_key` orders history: started_at * 1024 + a tie-breaker, unique, so that "newest
 * first" is one integer and a time range is a key range. It is also the rowid of the
 * full-text index, which therefore returns matches already in time order and can stop
 * after one page. Rows written before this migration have no key yet; the background
 * maintenance job indexes them (`search_key IS NULL` is its backlog).
 */
export const sql = `
ALTER TABLE history ADD COLUMN search_key INTEGER;
ALTER TABLE history ADD COLUMN thread_id TEXT;          -- id of the thread's first record
ALTER TABLE history ADD COLUMN parent_id TEXT;          -- the exchange this one continues
ALTER TABLE history ADD COLUMN continuation_hash TEXT;  -- hash(token, messages + answer)
ALTER TABLE history ADD COLUMN redacted_at INTEGER;     -- epoch ms; content erased, tombstone kept
ALTER TABLE history ADD COLUMN redacted_by TEXT;

CREATE UNIQUE INDEX history_search_key ON history (search_key);
CREATE INDEX history_token_key ON history (token_id, search_key);
CREATE INDEX history_model_key ON history (model, search_key);
CREATE INDEX history_outcome_key ON history (outcome, search_key);
CREATE INDEX history_status_key ON history (status, search_key);
CREATE INDEX history_thread ON history (thread_id, search_key);
CREATE INDEX history_continuation ON history (continuation_hash, token_id, search_key)
  WHERE continuation_hash IS NOT NULL;

-- Prompt and answer text; rowid = history.search_key. Contentless: the text lives only in
-- history, and a deleted row leaves no copy behind in a content table.
CREATE VIRTUAL TABLE history_fts USING fts5(
  prompt, answer,
  content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);

-- Usage counters per hour (and per day, so a long range reads few rows), token and
-- model, added to as records finish; the dashboard reads these instead of scanning
-- history. Retention and redaction leave them alone: usage stays countable after the
-- content is gone. lat_0..lat_19 count durations per bucket (upper bounds in
-- history-indexer.ts) for percentiles.
CREATE TABLE usage_hourly (
  bucket            INTEGER NOT NULL,      -- epoch ms of the UTC hour
  token_id          TEXT NOT NULL,         -- '' when none
  model             TEXT NOT NULL,         -- '' when none
  requests          INTEGER NOT NULL DEFAULT 0,
  errors            INTEGER NOT NULL DEFAULT 0,
  refused           INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  duration_ms_sum   REAL NOT NULL DEFAULT 0,
  lat_0 INTEGER NOT NULL DEFAULT 0, lat_1 INTEGER NOT NULL DEFAULT 0, lat_2 INTEGER NOT NULL DEFAULT 0,
  lat_3 INTEGER NOT NULL DEFAULT 0, lat_4 INTEGER NOT NULL DEFAULT 0, lat_5 INTEGER NOT NULL DEFAULT 0,
  lat_6 INTEGER NOT NULL DEFAULT 0, lat_7 INTEGER NOT NULL DEFAULT 0, lat_8 INTEGER NOT NULL DEFAULT 0,
  lat_9 INTEGER NOT NULL DEFAULT 0, lat_10 INTEGER NOT NULL DEFAULT 0, lat_11 INTEGER NOT NULL DEFAULT 0,
  lat_12 INTEGER NOT NULL DEFAULT 0, lat_13 INTEGER NOT NULL DEFAULT 0, lat_14 INTEGER NOT NULL DEFAULT 0,
  lat_15 INTEGER NOT NULL DEFAULT 0, lat_16 INTEGER NOT NULL DEFAULT 0, lat_17 INTEGER NOT NULL DEFAULT 0,
  lat_18 INTEGER NOT NULL DEFAULT 0, lat_19 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, token_id, model)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_daily (
  bucket            INTEGER NOT NULL,      -- epoch ms of the UTC day
  token_id          TEXT NOT NULL,         -- '' when none
  model             TEXT NOT NULL,         -- '' when none
  requests          INTEGER NOT NULL DEFAULT 0,
  errors            INTEGER NOT NULL DEFAULT 0,
  refused           INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  duration_ms_sum   REAL NOT NULL DEFAULT 0,
  lat_0 INTEGER NOT NULL DEFAULT 0, lat_1 INTEGER NOT NULL DEFAULT 0, lat_2 INTEGER NOT NULL DEFAULT 0,
  lat_3 INTEGER NOT NULL DEFAULT 0, lat_4 INTEGER NOT NULL DEFAULT 0, lat_5 INTEGER NOT NULL DEFAULT 0,
  lat_6 INTEGER NOT NULL DEFAULT 0, lat_7 INTEGER NOT NULL DEFAULT 0, lat_8 INTEGER NOT NULL DEFAULT 0,
  lat_9 INTEGER NOT NULL DEFAULT 0, lat_10 INTEGER NOT NULL DEFAULT 0, lat_11 INTEGER NOT NULL DEFAULT 0,
  lat_12 INTEGER NOT NULL DEFAULT 0, lat_13 INTEGER NOT NULL DEFAULT 0, lat_14 INTEGER NOT NULL DEFAULT 0,
  lat_15 INTEGER NOT NULL DEFAULT 0, lat_16 INTEGER NOT NULL DEFAULT 0, lat_17 INTEGER NOT NULL DEFAULT 0,
  lat_18 INTEGER NOT NULL DEFAULT 0, lat_19 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, token_id, model)
) STRICT, WITHOUT ROWID;
`;
