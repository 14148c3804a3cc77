import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { freshPostgresDatabase, postgresSkip as skip } from '../../../test/support/postgres.js';
import { CompanionError } from '../../errors/companion-error.js';
import { databasePassword } from './database-url.js';
import { createPostgresPool } from './postgres-pool.js';
import {
  FEED_APPLICATION_NAME,
  listenForTokenChanges,
  type TokenChangeCause,
  type TokenChangeFeed,
} from './token-change-feed.js';
import { createPostgresTokenStore } from './token-store.js';
import { migratedPool, sampleToken } from './token-store.test-helper.js';

/** What a feed's listener heard, and a way to wait for the next thing it hears. */
function recorder() {
  const heard: TokenChangeCause[] = [];
  const errors: CompanionError[] = [];
  let waiting: { cause: TokenChangeCause; resolve: () => void } | undefined;
  return {
    heard,
    errors,
    onChange(cause: TokenChangeCause) {
      heard.push(cause);
      if (waiting?.cause === cause) waiting.resolve();
    },
    onError(error: CompanionError) {
      errors.push(error);
    },
    /** Resolves when `cause` is heard after this call; fails after a bound, not at the suite's timeout. */
    next(cause: TokenChangeCause): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${cause}" heard`)), 20_000);
        waiting = {
          cause,
          resolve: () => {
            clearTimeout(timer);
            waiting = undefined;
            resolve();
          },
        };
      });
    },
  };
}

async function feedOn(
  t: TestContext,
  url: string,
  heard: ReturnType<typeof recorder>,
): Promise<TokenChangeFeed> {
  const pool = createPostgresPool(url);
  const feed = await listenForTokenChanges(url, pool, {
    onChange: heard.onChange,
    onError: heard.onError,
    minBackoffMs: 20,
    maxBackoffMs: 200,
  });
  t.after(async () => {
    await feed.close();
    await pool.end();
  });
  return feed;
}

test('a token made, changed or revoked on one companion is announced on another, and its version moves', {
  skip,
}, async (t) => {
  const url = await freshPostgresDatabase(t);
  const store = createPostgresTokenStore(await migratedPool(t, url), 'node-a');
  const heard = recorder();
  const feed = await feedOn(t, url, heard);
  assert.equal(feed.listening, true);
  const versions = [await feed.tokensVersion()];

  const token = sampleToken();
  const made = heard.next('notified');
  await store.insert(token, 'hash');
  await made;
  versions.push(await feed.tokensVersion());

  const changed = heard.next('notified');
  await store.update({ ...token, limits: { ...token.limits, maxConcurrent: 9 } });
  await changed;
  versions.push(await feed.tokensVersion());

  const revoked = heard.next('notified');
  await store.update({ ...token, enabled: false, revokedAt: 1 });
  await revoked;
  versions.push(await feed.tokensVersion());

  assert.deepEqual(versions, [versions[0]!, versions[0]! + 1, versions[0]! + 2, versions[0]! + 3]);
  // Usage writes are no token change.
  await store.writeUsage([{ tokenId: token.id, window: 'total', windowStart: 0, calls: 1 }]);
  assert.equal(await feed.tokensVersion(), versions[3]);
});

test('a listening connection the server drops is reopened, and the listener told to reload', {
  skip,
}, async (t) => {
  const url = await freshPostgresDatabase(t);
  const pool = await migratedPool(t, url);
  const store = createPostgresTokenStore(pool, 'node-a');
  const heard = recorder();
  const feed = await feedOn(t, url, heard);

  const back = heard.next('reconnected');
  const { rows } = await pool.query<{ ended: boolean }>(
    `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = $1`,
    [FEED_APPLICATION_NAME],
  );
  assert.deepEqual(rows, [{ ended: true }]);
  await back;
  assert.equal(feed.listening, true);
  assert.ok(heard.errors.length > 0, 'the drop was reported');
  assert.ok(heard.errors.every((error) => error instanceof CompanionError));

  // Listening again: a change made now is heard.
  const made = heard.next('notified');
  await store.insert(sampleToken(), 'hash');
  await made;
});

/** A TCP relay to the database that can go away (connections cut, new ones refused) and come back. */
async function relay(t: TestContext, target: string) {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(Number(to.port), to.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => {});
          socket.on('close', () => {
            sockets.delete(socket);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
      server = s;
    });
  const port = await listen(0);
  const down = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server?.close(() => resolve());
    });
  t.after(down);
  const url = new URL(target);
  url.port = String(port);
  return { url: url.toString(), down, up: () => listen(port) };
}

test('the database unreachable for a while: the feed keeps trying, then listens again', {
  skip,
}, async (t) => {
  const direct = await freshPostgresDatabase(t);
  const store = createPostgresTokenStore(await migratedPool(t, direct), 'node-a');
  const path = await relay(t, direct);
  const heard = recorder();
  const feed = await feedOn(t, path.url, heard);

  await path.down();
  // Several attempts fail while it is away, and the process goes on.
  for (let i = 0; i < 200 && heard.errors.length < 3; i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(heard.errors.length >= 3, `retried (${heard.errors.length} errors)`);
  assert.equal(feed.listening, false);
  assert.match(heard.errors.at(-1)!.message, /ECONNREFUSED/);
  const password = databasePassword(direct);
  for (const error of heard.errors) assert.ok(!error.message.includes(password));
  // A token made meanwhile is not announced; coming back says "reload".
  await store.insert(sampleToken(), 'hash');
  const back = heard.next('reconnected');
  await path.up();
  await back;
  assert.equal(feed.listening, true);
  const made = heard.next('notified');
  await store.insert(sampleToken({ name: 'desk' }), 'hash-2');
  await made;
});

test('a feed that cannot connect at first fails with the reason and without the password', {
  skip,
}, async (t) => {
  const direct = await freshPostgresDatabase(t);
  const url = new URL(direct);
  url.password = 'not-the-Password-1';
  const pool = createPostgresPool(url.toString());
  t.after(() => pool.end());
  await assert.rejects(
    listenForTokenChanges(url.toString(), pool, { onChange: () => {} }),
    (error: unknown) => {
      assert.ok(error instanceof CompanionError);
      assert.match(error.message, /password authentication failed/);
      assert.doesNotMatch(error.message, /not-the-Password-1/);
      return true;
    },
  );
});
