/**
 * Brings a PostgreSQL database's schema up to date at start, as database.ts does for
 * SQLite: every pending migration in one transaction (all or none), recorded in
 * schema_migrations. Several companions may start at once against one database: a
 * transaction-scoped advisory lock lets one migrate while the others wait, and they then
 * find nothing pending. A database migrated by a newer companion is refused rather than
 * used with a schema this code does not know.
 */
import { CompanionError } from '../../errors/companion-error.js';
import { type PostgresMigration, postgresMigrations } from './migrations/index.js';
import type { PostgresPool } from './postgres-pool.js';

/**
 * The advisory lock key all companions agree on (advisory locks are per database, so
 * companions on other databases of the same server do not wait for each other).
 * The bytes of 'olcm' read as an integer; any fixed number would do.
 */
const MIGRATION_LOCK = 0x6f6c636d;

export interface MigrationResult {
  /** Versions this call applied; empty when the schema was already current. */
  applied: number[];
  /** The schema version after the call. */
  version: number;
}

/**
 * Applies the pending migrations of `migrations` (default: all the code knows).
 * @throws CompanionError store_unavailable when the database has a migration newer than
 *   the code knows; the database's own error (rolled back) when a migration fails
 */
export async function migratePostgres(
  pool: PostgresPool,
  migrations: readonly PostgresMigration[] = postgresMigrations,
): Promise<MigrationResult> {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    // Held until COMMIT or ROLLBACK, also when the connection drops.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    const current = rows.reduce((max, row) => Math.max(max, row.version), 0);
    if (current > latest) {
      const newest = rows[rows.length - 1];
      throw new CompanionError(
        'store_unavailable',
        503,
        `the database's schema is at version ${current} (${newest?.name}), newer than this ollama-companion knows (${latest}): ` +
          'a newer companion has migrated it; upgrade this one to use this database',
      );
    }
    const done = new Set(rows.map((row) => row.version));
    const pending = migrations.filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version);
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
    return { applied: pending.map((m) => m.version), version: Math.max(current, latest) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    // A connection that could not even roll back is closed, not reused.
    client.release(broken);
  }
}
