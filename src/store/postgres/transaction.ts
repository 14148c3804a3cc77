/**
 * One transaction on a connection of the pool: BEGIN, the work, COMMIT; ROLLBACK when the
 * work throws. A transaction that PostgreSQL ended for a conflict with another one
 * (serialization failure, deadlock) is run again from the start, a few times: such an
 * error says nothing about the work itself, and a caller must not take it for bad data.
 */
import type { PostgresClient, PostgresPool } from './postgres-pool.js';

/** SQLSTATEs that ask for the transaction to be tried again. */
const RETRY_CODES = new Set(['40001', '40P01']);
const ATTEMPTS = 5;

export async function inTransaction<T>(
  pool: PostgresPool,
  work: (client: PostgresClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      const code = (error as { code?: unknown } | null)?.code;
      if (attempt < ATTEMPTS && typeof code === 'string' && RETRY_CODES.has(code)) continue;
      throw error;
    } finally {
      // A connection that could not even roll back is closed, not reused.
      client.release(broken);
    }
  }
}
