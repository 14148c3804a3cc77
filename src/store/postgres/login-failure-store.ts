/**
 * Failed sign-ins in PostgreSQL (the `LoginFailureStore` of the sign-in throttle), shared
 * by every companion on the database and the CLI: the throttle holds across companions,
 * survives a restart, and `admin unlock` lifts it everywhere. Bounded: failures leave as
 * they age out of the window, and past `MAX_ROWS` the oldest go first.
 *
 * Parallel guesses are counted: `addUnlessThrottled` first takes a transaction-scoped
 * advisory lock per key (in one order, so two attempts cannot wait for each other), then
 * counts and writes. Attempts on the same key, on any companion, run one after the other,
 * each counting what the earlier ones committed; attempts on other keys do not wait.
 */
import { blockingFailure, type LoginFailureStore } from '../../auth/login-failure-store.js';
import type { PostgresPool } from './postgres-pool.js';
import { inTransaction } from './transaction.js';

/** Far above what the throttle lets through (5 per key per window) from any real set of clients. */
const MAX_ROWS = 100_000;
/** The bytes of 'olfl' read as an integer: the namespace of the per-key locks. */
const KEY_LOCKS = 0x6f6c666c;

export function createPostgresLoginFailureStore(pool: PostgresPool): LoginFailureStore {
  const recent = async (key: string, since: number): Promise<number[]> => {
    const { rows } = await pool.query<{ at: string }>(
      'SELECT at FROM login_failures WHERE key = $1 AND at > $2 ORDER BY at, id',
      [key, since],
    );
    return rows.map((row) => Number(row.at));
  };

  /**
   * Forgets failures out of the window and past the cap, of every key. After the commit
   * and outside the locks, as it decides nothing; rows another statement holds (an unlock,
   * another companion forgetting) are skipped rather than waited for, so this never waits
   * and never deadlocks: what it skips goes with a later attempt.
   */
  const forget = async (since: number): Promise<void> => {
    await pool.query(
      `DELETE FROM login_failures WHERE id IN (
         SELECT id FROM login_failures
         WHERE at <= $1 OR id <= (SELECT MAX(id) FROM login_failures) - $2
         FOR UPDATE SKIP LOCKED)`,
      [since, MAX_ROWS],
    );
  };

  return {
    recent,
    async addUnlessThrottled(keys, account, at, limit) {
      const blocker = await inTransaction(pool, async (db) => {
        // The subquery's order is the order the locks are taken in.
        await db.query(
          `SELECT pg_advisory_xact_lock($1, h)
           FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS locks`,
          [KEY_LOCKS, keys],
        );
        const { rows } = await db.query<{ key: string; at: string }>(
          `SELECT key, at FROM login_failures WHERE key = ANY($1::text[]) AND at > $2 ORDER BY at, id`,
          [keys, limit.since],
        );
        let found: number | null = null;
        for (const key of keys) {
          const times = rows.filter((row) => row.key === key).map((row) => Number(row.at));
          const blocking = blockingFailure(times, limit.maxFailures);
          if (blocking !== undefined) found = Math.max(found ?? blocking, blocking);
        }
        if (found !== null) return found;
        await db.query(
          'INSERT INTO login_failures (key, account, at) SELECT k, $2, $3 FROM unnest($1::text[]) AS k',
          [keys, account, at],
        );
        return null;
      });
      await forget(limit.since);
      return blocker;
    },
    async takeBack(keys, at) {
      await pool.query(
        `DELETE FROM login_failures WHERE id IN (
           SELECT (SELECT id FROM login_failures WHERE key = k AND at = $2 ORDER BY id DESC LIMIT 1)
           FROM unnest($1::text[]) AS k)`,
        [keys, at],
      );
    },
    async clear(key) {
      await pool.query('DELETE FROM login_failures WHERE key = $1', [key]);
    },
    async clearAccount(account) {
      await pool.query('DELETE FROM login_failures WHERE account = $1', [account]);
    },
  };
}
