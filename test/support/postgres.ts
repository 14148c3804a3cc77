/**
 * PostgreSQL for tests: a fresh, empty database per test on the server the test command
 * started (COMPANION_TEST_POSTGRES_URL, see scripts/run-tests.mjs), dropped when the test
 * ends. Run without the test command, a private server is started for this process.
 * Tests skip, saying why, only when there is no server and none can be started.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import {
  type PrivatePostgres,
  postgresInstalled,
  startPrivatePostgres,
} from '../../scripts/private-postgres.mjs';

const ENV = 'COMPANION_TEST_POSTGRES_URL';

/** For `test(name, { skip: postgresSkip }, …)`: a reason when PostgreSQL tests cannot run, else false. */
export const postgresSkip: string | false =
  process.env[ENV] || postgresInstalled()
    ? false
    : `no PostgreSQL: ${ENV} is unset and PostgreSQL is not installed (sh scripts/ensure-postgres.sh)`;

let ownServer: Promise<PrivatePostgres> | undefined;

/** The URL of the test server (its superuser, on its default database). */
export async function postgresServerUrl(): Promise<string> {
  const fromEnv = process.env[ENV];
  if (fromEnv) return fromEnv;
  if (!ownServer) {
    ownServer = startPrivatePostgres();
    // Once this process has nothing else to do (its tests ended, their pools closed).
    process.once('beforeExit', () => void ownServer?.then((server) => server.stop()));
  }
  return (await ownServer).url;
}

/** Runs `sql` on the server's default database over a connection of its own. */
async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: await postgresServerUrl() });
  // A server that stops while this runs fails the query; it must not end the process.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates an empty database with a name of its own and returns its URL (the server's
 * superuser, password included); drops it, connections and all, when the test ends.
 */
export async function freshPostgresDatabase(t: TestContext): Promise<string> {
  const name = `companion_test_${randomBytes(6).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  t.after(() => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(await postgresServerUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
