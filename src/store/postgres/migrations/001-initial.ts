/**
 * The PostgreSQL schema: what the SQLite migrations 001-006 hold, for a database that
 * several companions (nodes) share, with the history kept as events.
 *
 * Conventions, the same as in SQLite so that `store copy` moves values unchanged:
 * times are epoch milliseconds in bigint; ids are text; JSON is kept as text, exactly as
 * written (key order, escapes), since nothing queries inside it on the server and jsonb
 * would refuse a `\u0000` that a prompt may hold. PostgreSQL text holds no NUL character:
 * the repositories replace one in plain text columns (JSON escapes it already).
 */
export const sql = `
-- Facts of the whole site (every companion on this database). Unlike SQLite's meta there
-- is no node_id here: each companion keeps its own identity in its data dir.
CREATE TABLE meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO meta (key, value) VALUES ('tokens_version', '0');

CREATE TABLE tokens (
  id               text PRIMARY KEY,
  name             text NOT NULL UNIQUE,
  prefix           text NOT NULL,
  secret_hash      text NOT NULL UNIQUE,
  models           text NOT NULL,            -- JSON array of names or globs
  scopes           text NOT NULL,            -- JSON array of scope names
  max_calls        bigint,
  calls_per_minute bigint,
  calls_per_hour   bigint,
  calls_per_day    bigint,
  calls_per_month  bigint,
  max_concurrent   integer,                  -- per companion: each caps what it forwards
  expires_at       bigint,
  enabled          boolean NOT NULL DEFAULT true,
  revoked_at       bigint,                   -- a revoked token never comes back
  history_mode     text NOT NULL DEFAULT 'full' CHECK (history_mode IN ('full', 'metadata', 'off')),
  created_at       bigint NOT NULL,
  updated_at       bigint NOT NULL,
  origin_node      text NOT NULL
);

-- A token change made by any companion or the CLI is seen by every running server before
-- its next request that needs it: the NOTIFY wakes listeners at commit, and the version
-- (as in SQLite) lets a server that missed a notification (reconnecting) see it moved.
-- Per statement, so a bulk change bumps once.
CREATE FUNCTION tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'tokens_version';
  PERFORM pg_notify('companion_tokens', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER tokens_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tokens
  FOR EACH STATEMENT EXECUTE FUNCTION tokens_changed();

-- Calls counted per token, window and node: each companion adds only to its own rows, so
-- they never contend, and a token's usage in a window is the sum over nodes of the rows
-- whose window_start is that window's start (others count as zero). The mesh replicates
-- these rows as they are. reserved: as in SQLite's migration 005, refunded reservations
-- included; NULL when not known. ("window" is a reserved word here: queries quote it.)
CREATE TABLE token_usage (
  token_id     text NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  "window"     text NOT NULL CHECK ("window" IN ('total', 'minute', 'hour', 'day', 'month')),
  node_id      text NOT NULL,
  window_start bigint NOT NULL,
  calls        bigint NOT NULL,
  reserved     bigint,
  PRIMARY KEY (token_id, "window", node_id)
);

-- The slot counter that makes a call quota strict across every companion on this
-- database: one row per token and window, reserved atomically and conditionally (all
-- windows under their limits, or a new window_start) by reserve_quota below before a
-- call is forwarded, and given back when it is refunded. It takes the place of SQLite's
-- per-node quota leases: the reservation is itself durable, so there is nothing to lease.
CREATE TABLE quota_reservations (
  token_id     text NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  "window"     text NOT NULL CHECK ("window" IN ('total', 'minute', 'hour', 'day', 'month')),
  window_start bigint NOT NULL,
  reserved     bigint NOT NULL CHECK (reserved >= 0),
  PRIMARY KEY (token_id, "window")
);

-- reserve_quota(token, windows, starts): reserves one call of the token in every window
-- given (windows[i] starting at starts[i]) when each window the token limits is below its
-- limit, all or none, in one statement (so one round trip). It answers one row: outcome
-- 'reserved'; 'exhausted' with the first full window in the order given, its count and
-- limit; 'revoked' (revoked or gone); or 'disabled'. The limits are the token's as stored
-- now, so a quota lowered or a token revoked by another companion a moment ago holds
-- already. The rows are locked in window order, so concurrent callers queue and never
-- deadlock. A row of an older window start is that window rolled over; a window without a
-- row yet (inserted with start -1) or rolled over starts from the calls the nodes counted
-- in it without reserving (a quota added to a token in use). A caller whose clock is
-- behind counts in the newer window another companion opened.
CREATE FUNCTION reserve_quota(p_token text, p_windows text[], p_starts bigint[])
  RETURNS TABLE (outcome text, full_window text, full_used bigint, full_limit bigint)
  LANGUAGE plpgsql AS $fn$
DECLARE
  t tokens%ROWTYPE;
  r record;
  v_used bigint;
  v_limit bigint;
  v_first bigint;
  v_windows text[] := '{}';
  v_starts bigint[] := '{}';
  v_counts bigint[] := '{}';
BEGIN
  SELECT * INTO t FROM tokens WHERE id = p_token;
  IF NOT FOUND OR t.revoked_at IS NOT NULL THEN
    RETURN QUERY SELECT 'revoked'::text, NULL::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;
  IF NOT t.enabled THEN
    RETURN QUERY SELECT 'disabled'::text, NULL::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;
  INSERT INTO quota_reservations AS q (token_id, "window", window_start, reserved)
    SELECT p_token, x.w, -1, 0 FROM unnest(p_windows) AS x(w)
    WHERE NOT EXISTS (SELECT 1 FROM quota_reservations e WHERE e.token_id = p_token AND e."window" = x.w)
    ORDER BY x.w
    ON CONFLICT DO NOTHING;
  FOR r IN
    SELECT q."window" AS w, q.window_start, q.reserved, x.s, x.i
    FROM quota_reservations q
    JOIN unnest(p_windows, p_starts) WITH ORDINALITY AS x(w, s, i) ON q."window" = x.w
    WHERE q.token_id = p_token
    ORDER BY q."window"
    FOR UPDATE OF q
  LOOP
    IF r.window_start >= r.s THEN
      v_used := r.reserved;
    ELSE
      SELECT COALESCE(sum(u.calls), 0) INTO v_used FROM token_usage u
        WHERE u.token_id = p_token AND u."window" = r.w AND u.window_start = r.s;
    END IF;
    v_limit := CASE r.w WHEN 'total' THEN t.max_calls WHEN 'minute' THEN t.calls_per_minute
      WHEN 'hour' THEN t.calls_per_hour WHEN 'day' THEN t.calls_per_day
      WHEN 'month' THEN t.calls_per_month END;
    IF v_limit IS NOT NULL AND v_used >= v_limit AND (v_first IS NULL OR r.i < v_first) THEN
      v_first := r.i;
      full_window := r.w;
      full_used := v_used;
      full_limit := v_limit;
    END IF;
    v_windows := v_windows || r.w;
    v_starts := v_starts || greatest(r.window_start, r.s);
    v_counts := v_counts || v_used;
  END LOOP;
  IF v_first IS NOT NULL THEN
    outcome := 'exhausted';
    RETURN NEXT;
    RETURN;
  END IF;
  UPDATE quota_reservations q SET window_start = n.s, reserved = n.c + 1
    FROM unnest(v_windows, v_starts, v_counts) AS n(w, s, c)
    WHERE q.token_id = p_token AND q."window" = n.w;
  RETURN QUERY SELECT 'reserved'::text, NULL::text, NULL::bigint, NULL::bigint;
END
$fn$;

-- origin_node: the node where the account was made or last changed (for the mesh).
CREATE TABLE admins (
  id            text PRIMARY KEY,
  username      text NOT NULL,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL,
  origin_node   text NOT NULL
);
-- Names are unique regardless of case, as SQLite's COLLATE NOCASE made them; look up
-- with lower(username) = lower($1) to use this index.
CREATE UNIQUE INDEX admins_username ON admins (lower(username));

-- One row per signed-in browser; only the SHA-256 of the cookie's id is stored. Shared by
-- every companion on this database, so a session made on one is valid on all.
CREATE TABLE admin_sessions (
  id_hash      text PRIMARY KEY,
  admin_id     text NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
  csrf_token   text NOT NULL,
  created_at   bigint NOT NULL,              -- the absolute expiry counts from here
  last_seen_at bigint NOT NULL,              -- the idle expiry counts from here
  ip           text,
  user_agent   text
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen_at);

-- Every admin action, refused attempts included; no foreign key to admins, as entries
-- outlive the accounts they name. origin_node: the companion where it happened. The id
-- is BY DEFAULT so that store copy keeps SQLite's ids (and then moves the sequence on).
CREATE TABLE audit_log (
  id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at             bigint NOT NULL,
  origin_node    text NOT NULL,
  actor_kind     text NOT NULL DEFAULT 'admin' CHECK (actor_kind IN ('admin', 'cli')),
  admin_id       text,
  admin_username text,
  os_user        text,
  action         text NOT NULL,
  target_type    text,
  target_id      text,
  target_name    text,
  details        text,                       -- JSON
  ip             text,
  outcome        text NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed'))
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action);

-- Failed (or still running) sign-in attempts under each key they count against
-- ('user:<account>', 'addr:<address>'): shared, so the throttle holds across companions.
CREATE TABLE login_failures (
  id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  key     text NOT NULL,
  account text,                              -- lower-case username tried
  at      bigint NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_account ON login_failures (account);
CREATE INDEX login_failures_at ON login_failures (at);

-- Settings that may change while servers run. origin_node and updated_at say which node
-- set a value last and when (0: copied from a store that did not keep it), so the mesh
-- can settle concurrent changes, the latest winning.
CREATE TABLE settings (
  key         text PRIMARY KEY,
  value       text NOT NULL,                 -- JSON
  origin_node text NOT NULL,
  updated_at  bigint NOT NULL DEFAULT 0
);

-- History as each node's log of events. A node's events are numbered 1, 2, 3, … without a
-- gap (head = the highest seq written), which is what a peer pulls: "node X, after seq N".
-- Kinds: 'start' (a request began: who, what, the request), 'end' (its answer, counters,
-- outcome), 'redaction' (its content erased, by whom). A request that ended before its
-- start was written gets both events in one batch. payload: the event's fields as JSON.
-- A redaction also erases the content from the payloads of the record's earlier events
-- (and of later records that resent it) in its transaction: the events stay, so the
-- sequence stays gapless, and a peer that had them applies the redaction event.
CREATE TABLE history_events (
  node_id   text NOT NULL,
  seq       bigint NOT NULL CHECK (seq > 0),
  kind      text NOT NULL CHECK (kind IN ('start', 'end', 'redaction')),
  record_id text NOT NULL,
  at        bigint NOT NULL,                 -- when it happened on its node
  payload   text NOT NULL,
  PRIMARY KEY (node_id, seq)
);
CREATE INDEX history_events_record ON history_events (record_id);

-- Each node's head, taken and moved in the transaction that appends its events
-- (INSERT … ON CONFLICT DO UPDATE SET head = head + n RETURNING head): the row lock keeps
-- two writers of one node (a server and the CLI) from taking the same numbers, without a
-- max() scan; a rolled-back batch gives its numbers back, so no gap appears.
CREATE TABLE history_heads (
  node_id text PRIMARY KEY,
  head    bigint NOT NULL CHECK (head >= 0)
);

-- The current view of each record, derived from its events and updated in the same
-- transaction that appends them; what search, threads, export and retention read. The
-- columns are those of SQLite's history table. origin_node/origin_seq: the node and seq
-- of the record's start event; served_by: the node whose Ollama answered.
-- search_key = started_at * 1024 + n (history-indexer.ts), unique: newest-first order and
-- the cursor in one integer. Companions on one database may pick the same n for the same
-- millisecond; the writer takes the next n on a conflict.
-- search_vector: the prompt (weight A) and the answer and thinking (weight B), tokens the
-- writer cut and folded as SQLite's unicode61 tokenizer does (lower case, diacritics
-- removed; store/postgres/full-text.ts), passed as a tsvector literal, and queries built
-- the same way as tsquery literals, so that words, "phrases" (<->), prefix* (:*) and
-- -exclusion (!) match as on SQLite, with no extension and no server text search
-- configuration involved. NULL once redacted or when there is no text.
-- search_key and thread_id are never NULL here (SQLite's may be, for rows its indexer has
-- not reached yet): the writer derives them with the row, and store copy indexes a
-- SQLite backlog before it copies.
CREATE TABLE history_records (
  id                text PRIMARY KEY,
  origin_node       text NOT NULL,
  origin_seq        bigint NOT NULL,
  served_by         text NOT NULL,
  token_id          text,
  token_name        text,
  token_prefix      text,
  method            text NOT NULL,
  endpoint          text NOT NULL,
  model             text,
  stream            boolean,
  started_at        bigint NOT NULL,
  finished_at       bigint,
  ttft_ms           double precision,
  duration_ms       double precision,
  status            integer,                 -- HTTP status sent to the client
  outcome           text NOT NULL CHECK (outcome IN ('in_progress', 'ok', 'error', 'refused', 'aborted')),
  error             text,
  history_mode      text NOT NULL,
  request_json      text,                    -- messages/prompt/options; NULL in metadata mode
  answer_content    text,
  answer_thinking   text,
  answer_tool_calls text,
  answer_summary    text,
  done_reason       text,
  prompt_tokens     bigint,
  completion_tokens bigint,
  total_ns          bigint,
  load_ns           bigint,
  prompt_eval_ns    bigint,
  eval_ns           bigint,
  client_addr       text,
  user_agent        text,
  search_key        bigint NOT NULL UNIQUE,
  thread_id         text NOT NULL,           -- id of the thread's first record
  parent_id         text,                    -- the exchange this one continues
  continuation_hash text,                    -- hash(token, messages + answer)
  redacted_at       bigint,
  redacted_by       text,
  search_vector     tsvector,
  UNIQUE (origin_node, origin_seq)
);
CREATE INDEX history_records_started_at ON history_records (started_at);
CREATE INDEX history_records_token_key ON history_records (token_id, search_key);
CREATE INDEX history_records_model_key ON history_records (model, search_key);
CREATE INDEX history_records_outcome_key ON history_records (outcome, search_key);
CREATE INDEX history_records_status_key ON history_records (status, search_key);
CREATE INDEX history_records_thread ON history_records (thread_id, search_key);
CREATE INDEX history_records_continuation ON history_records (continuation_hash, token_id, search_key)
  WHERE continuation_hash IS NOT NULL;
-- Records a stopped companion left running, closed as interrupted at its next start.
CREATE INDEX history_records_running ON history_records (served_by) WHERE outcome = 'in_progress';
CREATE INDEX history_records_search ON history_records USING gin (search_vector);

-- Usage per hour and per day, token and model, added to as records end (by every
-- companion, with INSERT … ON CONFLICT DO UPDATE SET requests = requests + …); the
-- dashboard reads these instead of scanning history. Retention and redaction leave them
-- alone. lat_0..lat_19 count durations per bucket (bounds in history-indexer.ts).
CREATE TABLE usage_hourly (
  bucket            bigint NOT NULL,         -- epoch ms of the UTC hour
  token_id          text NOT NULL,           -- '' when none
  model             text NOT NULL,           -- '' when none
  requests          bigint NOT NULL DEFAULT 0,
  errors            bigint NOT NULL DEFAULT 0,
  refused           bigint NOT NULL DEFAULT 0,
  prompt_tokens     bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  duration_ms_sum   double precision NOT NULL DEFAULT 0,
  lat_0 bigint NOT NULL DEFAULT 0, lat_1 bigint NOT NULL DEFAULT 0, lat_2 bigint NOT NULL DEFAULT 0,
  lat_3 bigint NOT NULL DEFAULT 0, lat_4 bigint NOT NULL DEFAULT 0, lat_5 bigint NOT NULL DEFAULT 0,
  lat_6 bigint NOT NULL DEFAULT 0, lat_7 bigint NOT NULL DEFAULT 0, lat_8 bigint NOT NULL DEFAULT 0,
  lat_9 bigint NOT NULL DEFAULT 0, lat_10 bigint NOT NULL DEFAULT 0, lat_11 bigint NOT NULL DEFAULT 0,
  lat_12 bigint NOT NULL DEFAULT 0, lat_13 bigint NOT NULL DEFAULT 0, lat_14 bigint NOT NULL DEFAULT 0,
  lat_15 bigint NOT NULL DEFAULT 0, lat_16 bigint NOT NULL DEFAULT 0, lat_17 bigint NOT NULL DEFAULT 0,
  lat_18 bigint NOT NULL DEFAULT 0, lat_19 bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, token_id, model)
);
-- The same per UTC day (bucket: epoch ms of the day's start).
CREATE TABLE usage_daily (LIKE usage_hourly INCLUDING ALL);
`;
