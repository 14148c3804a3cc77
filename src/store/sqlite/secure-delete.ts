/**
 * How erased history content leaves the disk, not just the tables: SQLite's
 * `secure_delete`, kept at FAST for everyday updates and deletes and raised to ON for
 * the work of a redaction.
 */
import type { Db } from '../database.js';

/**
 * Space freed inside a page (an updated or deleted row) is zeroed when that costs no
 * extra write, so an erased prompt leaves no stale copy beside the row that replaced it.
 * Set on the connection; setting it again changes nothing.
 */
export function zeroFreedSpace(db: Db): void {
  db.pragma('secure_delete = FAST');
}

/** Runs `work` with deleted content overwritten on disk, not just unlinked. */
export function securely<T>(db: Db, work: () => T): T {
  const before = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    return work();
  } finally {
    db.pragma(`secure_delete = ${before}`);
  }
}
