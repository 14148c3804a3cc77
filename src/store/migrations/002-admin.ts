/** Admin sessions, the audit log and the settings that may change while the server runs. */
export const sql = `
-- One row per signed-in browser. The cookie holds a random id; only its SHA-256 hash is
-- stored, so a copy of the database does not let anyone sign in.
CREATE TABLE admin_sessions (
  id_hash      TEXT PRIMARY KEY,
  admin_id     TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
  csrf_token   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,           -- epoch ms; the absolute expiry counts from here
  last_seen_at INTEGER NOT NULL,           -- epoch ms; the idle expiry counts from here
  ip           TEXT,
  user_agent   TEXT
) STRICT;

CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);

-- Every admin action, refused attempts included. No foreign key to admins: entries
-- outlive the accounts they name.
CREATE TABLE audit_log (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  at             INTEGER NOT NULL,         -- epoch ms
  admin_id       TEXT,
  admin_username TEXT,
  action         TEXT NOT NULL,
  target_type    TEXT,
  target_id      TEXT,
  details        TEXT,                     -- JSON
  ip             TEXT,
  outcome        TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed'))
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL                      -- JSON
) STRICT;
`;
