/** Tokens, usage counters, admins and the history table with its replication keys. */
export const sql = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE tokens (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL UNIQUE,
  prefix           TEXT NOT NULL,
  secret_hash      TEXT NOT NULL UNIQUE,
  models           TEXT NOT NULL,          -- JSON array of names or globs
  scopes           TEXT NOT NULL,          -- JSON array of scope names
  max_calls        INTEGER,
  calls_per_minute INTEGER,
  calls_per_hour   INTEGER,
  calls_per_day    INTEGER,
  calls_per_month  INTEGER,
  max_concurrent   INTEGER,
  expires_at       INTEGER,                -- epoch ms
  enabled          INTEGER NOT NULL DEFAULT 1,
  revoked_at       INTEGER,                -- epoch ms; a revoked token never comes back
  history_mode     TEXT NOT NULL DEFAULT 'full',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  origin_node      TEXT NOT NULL
) STRICT;

-- One row per token and counting window; a row whose window_start is not the current
-- window's start counts as zero.
CREATE TABLE token_usage (
  token_id     TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  window       TEXT NOT NULL,              -- total | minute | hour | day | month
  window_start INTEGER NOT NULL,
  calls        INTEGER NOT NULL,
  PRIMARY KEY (token_id, window)
) STRICT;

CREATE TABLE admins (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;

-- One record per request. (origin_node, origin_seq) is gapless per node so that peers
-- can pull what they miss; id is globally unique.
CREATE TABLE history (
  id                TEXT PRIMARY KEY,
  origin_node       TEXT NOT NULL,
  origin_seq        INTEGER NOT NULL,
  served_by         TEXT NOT NULL,
  token_id          TEXT,
  token_name        TEXT,
  token_prefix      TEXT,
  method            TEXT NOT NULL,
  endpoint          TEXT NOT NULL,
  model             TEXT,
  stream            INTEGER,
  started_at        INTEGER NOT NULL,      -- epoch ms
  finished_at       INTEGER,
  ttft_ms           REAL,
  duration_ms       REAL,
  status            INTEGER,               -- HTTP status sent to the client
  outcome           TEXT NOT NULL,         -- in_progress | ok | error | refused | aborted
  error             TEXT,
  history_mode      TEXT NOT NULL,
  request_json      TEXT,                  -- messages/prompt/options; NULL in metadata mode
  answer_content    TEXT,
  answer_thinking   TEXT,
  answer_tool_calls TEXT,
  answer_summary    TEXT,
  done_reason       TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  total_ns          INTEGER,
  load_ns           INTEGER,
  prompt_eval_ns    INTEGER,
  eval_ns           INTEGER,
  client_addr       TEXT,
  user_agent        TEXT,
  UNIQUE (origin_node, origin_seq)
) STRICT;

CREATE INDEX history_started_at ON history (started_at);
CREATE INDEX history_token ON history (token_id, started_at);
CREATE INDEX history_model ON history (model, started_at);
`;
