/**
 * Opens the PostgreSQL store, as openDatabase does the SQLite file: a pool to the
 * database at the URL, its schema brought up to date. Fails with a message that names
 * the database without its password.
 */
import { migratePostgres } from './migrate.js';
import {
  createPostgresPool,
  type PostgresPool,
  type PostgresPoolOptions,
  postgresFailure,
} from './postgres-pool.js';

/**
 * @throws CompanionError bad_request for a URL that is not PostgreSQL's; store_unavailable
 *   for a database migrated by a newer companion; internal (the driver's reason: refused,
 *   wrong password, no such database) when it cannot be reached or migrated
 */
export async function openPostgres(url: string, options: PostgresPoolOptions = {}): Promise<PostgresPool> {
  const pool = createPostgresPool(url, options);
  try {
    await migratePostgres(pool);
    return pool;
  } catch (error) {
    await pool.end().catch(() => {});
    throw postgresFailure(error, url);
  }
}
