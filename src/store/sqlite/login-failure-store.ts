/**
 * Failed sign-ins in SQLite (the `LoginFailureStore` of the sign-in throttle), shared
 * by the server and the CLI: the throttle survives a restart, and `admin unlock` lifts
 * it on a running server. Bounded: failures leave as they age out of the window, and
 * past `MAX_ROWS` the oldest go first.
 */
import { blockingFailure, type LoginFailureStore } from '../../auth/login-failure-store.js';
import type { Db } from '../database.js';

/** Far above what the throttle lets through (5 per key per window) from any real set of clients. */
const MAX_ROWS = 100_000;

export function createSqliteLoginFailureStore(db: Db): LoginFailureStore {
  const recent = db.prepare<[string, number], { at: number }>(
    'SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at, id',
  );
  const insert = db.prepare('INSERT INTO login_failures (key, account, at) VALUES (?, ?, ?)');
  const forget = db.prepare('DELETE FROM login_failures WHERE at <= ?');
  // Ids only grow, so everything more than MAX_ROWS ids behind the newest is older than the rest.
  const cap = db.prepare('DELETE FROM login_failures WHERE id <= (SELECT MAX(id) FROM login_failures) - ?');
  const takeBack = db.prepare(`
    DELETE FROM login_failures WHERE id =
      (SELECT id FROM login_failures WHERE key = ? AND at = ? ORDER BY id DESC LIMIT 1)`);
  const clear = db.prepare('DELETE FROM login_failures WHERE key = ?');
  const clearAccount = db.prepare('DELETE FROM login_failures WHERE account = ?');

  // One write transaction: the check sees every failure committed before it, by any process.
  const addUnlessThrottled = db.transaction(
    (keys: readonly string[], account: string | null, at: number, since: number, maxFailures: number) => {
      forget.run(since);
      let blocker: number | null = null;
      for (const key of keys) {
        const found = blockingFailure(
          recent.all(key, since).map((row) => row.at),
          maxFailures,
        );
        if (found !== undefined) blocker = Math.max(blocker ?? found, found);
      }
      if (blocker !== null) return blocker;
      for (const key of keys) insert.run(key, account, at);
      cap.run(MAX_ROWS);
      return null;
    },
  );
  const back = db.transaction((keys: readonly string[], at: number) => {
    for (const key of keys) takeBack.run(key, at);
  });

  return {
    recent: async (key, since) => recent.all(key, since).map((row) => row.at),
    addUnlessThrottled: async (keys, account, at, limit) =>
      addUnlessThrottled.immediate(keys, account, at, limit.since, limit.maxFailures),
    takeBack: async (keys, at) => back.immediate(keys, at),
    clear: async (key) => void clear.run(key),
    clearAccount: async (account) => void clearAccount.run(account),
  };
}
