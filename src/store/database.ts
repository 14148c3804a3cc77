/**
 * Opens the embedded SQLite database in WAL mode and brings its schema up to date.
 * Several processes may open the same file (the server and the CLI), so every
 * connection waits on a busy lock instead of failing.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from './migrations/index.js';

export type Db = Database.Database;

export const DATABASE_FILE = 'companion.db';

/** Opens (creating when absent) `<dataDir>/companion.db` and applies pending migrations. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, DATABASE_FILE));
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives a process crash (kill -9); only an OS crash
  // may lose the last transactions.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // better-sqlite3 builds SQLite with a 16 MB page cache per connection, and the server
  // holds two (requests and the history writer): as history grows, both fill up and
  // stay resident. 4 MB each keeps the hot index pages; the rest come from the OS cache.
  db.pragma('cache_size = -4000');
  // After a checkpoint has copied the log into the database, the log file is cut back to
  // this size instead of keeping the largest size it ever reached, so space freed on a
  // full disk is not held by the log.
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  migrate(db);
  return db;
}

/** Bytes the write-ahead log keeps after a checkpoint (SQLite's default checkpoint is at about 4 MB). */
export const JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024;

/**
 * SQLite result codes (primary, as better-sqlite3 names them) that say the store cannot
 * be written now — no space, an I/O error, a lock held too long, a read-only or missing
 * file — as opposed to a write that is wrong in itself (a constraint, a value too big).
 * A write that failed this way may succeed later unchanged.
 */
const UNAVAILABLE = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_NOMEM',
  'SQLITE_PROTOCOL',
  'SQLITE_NOLFS',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_PERM',
];

/** True when `error` is SQLite saying the store cannot be written now (see UNAVAILABLE). */
export function isStoreUnavailableError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return UNAVAILABLE.some((primary) => code === primary || code.startsWith(`${primary}_`));
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return;
  db.transaction(() => {
    // Re-read inside the write transaction: another process may have migrated meanwhile.
    const now = db.pragma('user_version', { simple: true }) as number;
    for (const migration of pending) {
      if (migration.version <= now) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}
