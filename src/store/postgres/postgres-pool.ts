/**
 * The connection pool to a PostgreSQL database (node-postgres), and how its failures are
 * told: as a CompanionError naming the database by its redacted URL, never with the
 * password. Nothing outside store/postgres/ holds the pool.
 */
import pg from 'pg';
import { CompanionError } from '../../errors/companion-error.js';
import { databasePassword, driverConnectionString, redactDatabaseUrl } from './database-url.js';

export type PostgresPool = pg.Pool;
export type PostgresClient = pg.PoolClient;

export interface PostgresPoolOptions {
  /** Connections at most (node-postgres's default is 10). */
  max?: number;
  /** Shown in pg_stat_activity, so an operator can tell companions apart. */
  applicationName?: string;
  /**
   * Told about errors of idle connections (the server restarted or went away). The pool
   * drops such a connection and opens a new one when next needed; without a listener the
   * error would end the process.
   */
  onIdleError?: (error: CompanionError) => void;
}

/** How long a new connection may take before the attempt fails (a dead host, a full server). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens a pool to the database at `url`. Connections open lazily: a wrong host or password
 * shows on the first query (see `postgresFailure` for how to report it).
 * @throws CompanionError bad_request when `url` is not a PostgreSQL URL
 */
export function createPostgresPool(url: string, options: PostgresPoolOptions = {}): PostgresPool {
  const pool = new pg.Pool({
    connectionString: driverConnectionString(url),
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'ollama-companion',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
  });
  pool.on('error', (error) => options.onIdleError?.(postgresFailure(error, url)));
  return pool;
}

/**
 * SQLSTATE classes that say the database cannot be used now (as opposed to a statement
 * that is wrong): 08 connection, 53 resources (disk full, too many connections), 57P
 * shut down or starting, 58 system I/O; and socket errors from Node.
 */
export function isPostgresUnavailableError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    return (
      error instanceof Error &&
      /Connection terminated|timeout exceeded when trying to connect/i.test(error.message)
    );
  }
  return (
    /^(08|53|58)/.test(code) ||
    code.startsWith('57P') ||
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EPIPE',
    ].includes(code)
  );
}

/**
 * `error` from the driver as a CompanionError that names the database by its redacted
 * URL. The driver's message is kept (it says what went wrong: refused, wrong password, no
 * such database) with the password scrubbed out, should a message ever echo it; the
 * driver's error is not attached, as it may carry connection parameters. Whether the
 * database is only unavailable for now is `isPostgresUnavailableError` of the original.
 */
export function postgresFailure(error: unknown, url: string): CompanionError {
  if (error instanceof CompanionError) return error;
  const password = databasePassword(url);
  let message = error instanceof Error ? error.message : String(error);
  if (password !== '') message = message.split(password).join('***');
  const code = (error as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : '';
  // 'internal': the message names the host and user, which the log and the command line
  // may show but an API client must not see.
  return new CompanionError(
    'internal',
    500,
    `PostgreSQL at ${redactDatabaseUrl(url)}: ${message}${sqlState}`,
  );
}
