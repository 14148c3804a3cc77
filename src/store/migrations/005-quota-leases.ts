/**
 * Quota leases: the durable high-water mark of calls a token may have reserved in a
 * window, written before the calls it covers are forwarded. `token_usage.reserved`
 * counts reservations including refunded ones, in the same terms as the lease, so a
 * restart can tell how many calls after the last written counter the lease may hide.
 */
export const sql = `
CREATE TABLE quota_leases (
  token_id     TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  window       TEXT NOT NULL,              -- total | minute | hour | day | month
  window_start INTEGER NOT NULL,
  reserved_to  INTEGER NOT NULL,
  PRIMARY KEY (token_id, window)
) STRICT, WITHOUT ROWID;
ALTER TABLE token_usage ADD COLUMN reserved INTEGER;
`;
