/**
 * The audit log names who acted from the command line (the OS user) as well as signed-in
 * admins, and keeps each target's name at the time, so entries read without looking ids
 * up and stay readable after the token or account is gone. Sign-in failures are kept in
 * the store (not in the server's memory), so a restart does not lift the throttle and the
 * CLI can.
 */
export const sql = `
-- 'admin': through the admin API (admin_id/admin_username; for sign-in attempts only the
-- name tried). 'cli': the command line, run by os_user on the machine.
ALTER TABLE audit_log ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'admin' CHECK (actor_kind IN ('admin', 'cli'));
ALTER TABLE audit_log ADD COLUMN os_user TEXT;
ALTER TABLE audit_log ADD COLUMN target_name TEXT;

UPDATE audit_log
SET target_name = COALESCE(
  (SELECT name FROM tokens WHERE tokens.id = audit_log.target_id),
  json_extract(details, '$.name'))
WHERE target_type = 'token';
UPDATE audit_log
SET target_name = COALESCE(
  (SELECT username FROM admins WHERE admins.id = audit_log.target_id),
  json_extract(details, '$.username'))
WHERE target_type = 'admin';

CREATE INDEX audit_log_action ON audit_log (action);

-- One row per failed (or still running) sign-in attempt, under each key it counts against
-- ('user:<account>', 'addr:<address>'), with the account it was for, so that unlocking an
-- account also forgets what its failures counted against their addresses.
CREATE TABLE login_failures (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  key     TEXT NOT NULL,
  account TEXT,                            -- lower-case username tried
  at      INTEGER NOT NULL                 -- epoch ms
) STRICT;
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_account ON login_failures (account);
CREATE INDEX login_failures_at ON login_failures (at);
`;
