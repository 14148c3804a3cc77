import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import { postgresInstalled, startPrivatePostgres } from '../../../scripts/private-postgres.mjs';
import { freshPostgresDatabase, postgresServerUrl, postgresSkip } from '../../../test/support/postgres.js';
import { CompanionError } from '../../errors/companion-error.js';
import { migratePostgres } from './migrate.js';
import { postgresMigrations } from './migrations/index.js';
import { openPostgres } from './open-postgres.js';
import { createPostgresPool, isPostgresUnavailableError, type PostgresPool } from './postgres-pool.js';

const skip = postgresSkip;

function pool(t: TestContext, url: string): PostgresPool {
  const opened = createPostgresPool(url);
  t.after(() => opened.end());
  return opened;
}

async function tables(db: PostgresPool): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  return rows.map((row) => row.name);
}

async function appliedVersions(db: PostgresPool) {
  const { rows } = await db.query<{ version: number; applied_at: Date }>(
    'SELECT version, applied_at FROM schema_migrations ORDER BY version',
  );
  return rows;
}

/** A URL whose password is wrong (or replaced) but that points at the test server. */
async function withPassword(password: string): Promise<string> {
  const url = new URL(await postgresServerUrl());
  url.password = password;
  return url.toString();
}

/** The error `promise` rejects with (failing the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected a rejection');
}

const EXPECTED_TABLES = [
  'admin_sessions',
  'admins',
  'audit_log',
  'history_events',
  'history_heads',
  'history_records',
  'login_failures',
  'meta',
  'quota_reservations',
  'schema_migrations',
  'settings',
  'token_usage',
  'tokens',
  'usage_daily',
  'usage_hourly',
];

test('an empty database gets the whole schema, once', { skip }, async (t) => {
  const db = pool(t, await freshPostgresDatabase(t));
  const latest = postgresMigrations.at(-1)!.version;
  assert.deepEqual(await migratePostgres(db), {
    applied: postgresMigrations.map((m) => m.version),
    version: latest,
  });
  assert.deepEqual(await tables(db), EXPECTED_TABLES);
  const before = await appliedVersions(db);

  assert.deepEqual(await migratePostgres(db), { applied: [], version: latest });
  assert.deepEqual(await appliedVersions(db), before);
});

test('five companions starting at once against one database all start, and the schema is applied once', {
  skip,
}, async (t) => {
  const url = await freshPostgresDatabase(t);
  const pools = Array.from({ length: 5 }, () => pool(t, url));
  const results = await Promise.all(pools.map((p) => migratePostgres(p)));
  assert.equal(results.filter((r) => r.applied.length > 0).length, 1);
  assert.ok(results.every((r) => r.version === postgresMigrations.at(-1)!.version));
  assert.deepEqual(
    (await appliedVersions(pools[0]!)).map((row) => row.version),
    postgresMigrations.map((m) => m.version),
  );
  assert.deepEqual(await tables(pools[0]!), EXPECTED_TABLES);
});

test('a migration that fails leaves the database as it was: all pending migrations or none', {
  skip,
}, async (t) => {
  const db = pool(t, await freshPostgresDatabase(t));
  const broken = [
    ...postgresMigrations,
    { version: 99, name: 'broken', sql: 'ALTER TABLE nowhere ADD COLUMN x int' },
  ];
  const error = await rejection(migratePostgres(db, broken));
  assert.match(error.message, /relation "nowhere" does not exist/);
  assert.deepEqual(await tables(db), []);
  // The connection went back to the pool usable.
  assert.equal((await migratePostgres(db)).applied.length, postgresMigrations.length);
});

test('a database migrated by a newer companion is refused, saying why', { skip }, async (t) => {
  const url = await freshPostgresDatabase(t);
  const newer = [
    ...postgresMigrations,
    { version: 1000, name: 'from-the-future', sql: 'CREATE TABLE later (x int)' },
  ];
  await migratePostgres(pool(t, url), newer);

  const error = await rejection(openPostgres(url));
  assert.ok(error instanceof CompanionError);
  assert.equal(error.code, 'store_unavailable');
  assert.match(
    error.message,
    /schema is at version 1000 \(from-the-future\), newer than this ollama-companion knows/,
  );
  assert.match(error.message, /upgrade/);
});

test('the same database opens by a postgresql:// URL', { skip }, async (t) => {
  const url = new URL(await freshPostgresDatabase(t));
  const opened = await openPostgres(url.toString().replace(/^postgres:/, 'postgresql:'));
  t.after(() => opened.end());
  assert.deepEqual(await tables(opened), EXPECTED_TABLES);
});

test('a wrong password is refused by the server, and the message does not repeat it', { skip }, async () => {
  const wrong = 'Wr0ng-but-Secret';
  const url = await withPassword(wrong);
  const error = await rejection(openPostgres(url));
  assert.match(error.message, /password authentication failed for user "postgres"/);
  assert.match(error.message, /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres/);
  assert.doesNotMatch(error.message, new RegExp(wrong));
  assert.doesNotMatch(JSON.stringify(error, Object.getOwnPropertyNames(error)), new RegExp(wrong));
});

test('a server that does not answer, or a bad URL, fails with a reason and without the password', {
  skip,
}, async () => {
  const secret = 'n0t-f0r-logs';
  const closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const refused = await rejection(openPostgres(`postgres://app:${secret}@127.0.0.1:${closedPort}/companion`));
  assert.match(refused.message, /ECONNREFUSED/);
  assert.match(refused.message, /postgres:\/\/app:\*\*\*@127\.0\.0\.1/);

  const tls = await rejection(openPostgres(`${await withPassword(secret)}?sslmode=require`));
  assert.match(tls.message, /does not support SSL/);

  const malformed = await rejection(openPostgres(`postgres://app:${secret}@127.0.0.1:port/companion`));
  assert.match(malformed.message, /not a valid database URL/);

  for (const error of [refused, tls, malformed]) {
    assert.doesNotMatch(error.message, new RegExp(secret));
    assert.doesNotMatch(String(error.stack), new RegExp(secret));
  }
});

const ownServerSkip = postgresInstalled()
  ? false
  : 'needs PostgreSQL installed, to start and stop a server of its own';

test('a pool outlives its server stopping: the error is reported, the process goes on', {
  skip: ownServerSkip,
}, async (t) => {
  const server = await startPrivatePostgres();
  t.after(() => server.stop());
  const errors: Error[] = [];
  const db = createPostgresPool(server.url, { onIdleError: (error) => errors.push(error) });
  t.after(() => db.end());
  await db.query('SELECT 1');
  await server.stop();
  // The idle connection learns that the server is gone.
  for (let i = 0; i < 100 && errors.length === 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(errors.length > 0, 'the idle connection reported the stop');
  assert.ok(errors.every((error) => error instanceof CompanionError));
  assert.doesNotMatch(errors.map((error) => error.message).join('\n'), new RegExp(server.password));
  const next = await rejection(db.query('SELECT 1'));
  assert.match(next.message, /ECONNREFUSED/);
  // What a writer checks to keep its batch for later rather than drop it.
  assert.equal(isPostgresUnavailableError(next), true);
});

test('a statement that is wrong is not taken for the database being away', { skip }, async (t) => {
  const db = pool(t, await freshPostgresDatabase(t));
  assert.equal(isPostgresUnavailableError(await rejection(db.query('SELECT * FROM nowhere'))), false);
});

test('a token change made by any connection is announced to listeners and moves the tokens version', {
  skip,
}, async (t) => {
  const url = await freshPostgresDatabase(t);
  const db = pool(t, url);
  await migratePostgres(db);
  const version = async () =>
    Number(
      (await db.query<{ value: string }>("SELECT value FROM meta WHERE key = 'tokens_version'")).rows[0]
        ?.value,
    );
  const before = await version();
  // Released before the test ends: the pool's end (an after hook) waits for it.
  const listener = await db.connect();
  try {
    const heard = new Promise<string>((resolve) => listener.once('notification', (n) => resolve(n.channel)));
    await listener.query('LISTEN companion_tokens');
    await db.query(
      `INSERT INTO tokens (id, name, prefix, secret_hash, models, scopes, created_at, updated_at, origin_node)
       VALUES ('t1', 'laptop', 'oc_abc', 'hash', '["*"]', '["inference"]', 1, 1, 'node-a')`,
    );
    // Bounded so that a missing notification fails here rather than at the suite's timeout.
    const nothing = new Promise<string>((resolve) => setTimeout(resolve, 20_000, 'nothing heard').unref());
    assert.equal(await Promise.race([heard, nothing]), 'companion_tokens');
  } finally {
    listener.release();
  }
  assert.equal(await version(), before + 1);
});
