/**
 * Token changes made by any companion or the CLI on the shared database, as they commit:
 * the tokens trigger (migration 001) sends NOTIFY companion_tokens and moves
 * meta.tokens_version. The feed LISTENs on a connection of its own (not the pool's: it
 * is held for good) and calls the listener on each notification.
 *
 * Invariant for the listener: after any change it hears 'notified' or 'reconnected'.
 * Notifications sent while the connection was down are lost, so whenever it comes back
 * (with backoff, for as long as it takes) the listener hears 'reconnected', meaning
 * "anything may have changed". A notification arrives a moment after the commit; a
 * lookup that misses compares `tokensVersion()` (one query) with the version it loaded,
 * so a token made by `token create` just before the request is found.
 */
import pg from 'pg';
import type { CompanionError } from '../../errors/companion-error.js';
import { driverConnectionString } from './database-url.js';
import { type PostgresPool, postgresFailure } from './postgres-pool.js';

const CHANNEL = 'companion_tokens';
/** Shown in pg_stat_activity, so an operator can tell the feed's connection apart. */
export const FEED_APPLICATION_NAME = 'ollama-companion token changes';
const CONNECT_TIMEOUT_MS = 10_000;
/** A server that vanished without closing the socket is noticed by TCP keepalive. */
const KEEPALIVE_DELAY_MS = 10_000;

export type TokenChangeCause = 'notified' | 'reconnected';

export interface TokenChangeFeedOptions {
  /** Told of each change; must not throw. */
  onChange: (cause: TokenChangeCause) => void;
  /** Told when the connection is lost or a reconnection fails (the password redacted). */
  onError?: (error: CompanionError) => void;
  /** The first retry's delay; each next one doubles, up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface TokenChangeFeed {
  /** Whether notifications arrive now (false while reconnecting). */
  readonly listening: boolean;
  /** meta.tokens_version now, read on the pool: it moves with every token change. */
  tokensVersion(): Promise<number>;
  /** Stops listening and reconnecting. */
  close(): Promise<void>;
}

/**
 * Starts listening for token changes on the database at `url`.
 * @throws CompanionError (internal, the password redacted) when the first connection fails
 */
export async function listenForTokenChanges(
  url: string,
  pool: PostgresPool,
  options: TokenChangeFeedOptions,
): Promise<TokenChangeFeed> {
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const config: pg.ClientConfig = {
    connectionString: driverConnectionString(url),
    application_name: FEED_APPLICATION_NAME,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
  };
  let current: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const report = (error: unknown) => options.onError?.(postgresFailure(error, url));

  /** A client that listens, or a rejection; once it is up, losing it schedules a reconnect. */
  const open = async (): Promise<pg.Client> => {
    const client = new pg.Client(config);
    let up = false;
    let gone = false;
    const lost = (error: unknown) => {
      if (gone) return;
      gone = true;
      client.end().catch(() => {});
      // Before it is up, the caller of open() hears of it from the rejection.
      if (!up || closed) return;
      current = undefined;
      report(error);
      reconnectLater();
    };
    // Without an 'error' listener a dropped connection would end the process.
    client.on('error', lost);
    client.on('end', () => lost(new Error('Connection terminated')));
    client.on('notification', (message) => {
      if (message.channel === CHANNEL) options.onChange('notified');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      gone = true;
      client.end().catch(() => {});
      throw error;
    }
    if (gone) throw new Error('Connection terminated');
    up = true;
    return client;
  };

  const reconnectLater = () => {
    if (closed) return;
    // Jittered, so companions that lost the server together do not return in step.
    const delay = Math.min(maxBackoff, minBackoff * 2 ** failures) * (0.5 + Math.random() / 2);
    failures++;
    timer = setTimeout(async () => {
      try {
        const client = await open();
        if (closed) {
          await client.end().catch(() => {});
          return;
        }
        current = client;
        failures = 0;
        options.onChange('reconnected');
      } catch (error) {
        report(error);
        reconnectLater();
      }
    }, delay);
    // Waiting to reconnect keeps no process alive.
    timer.unref();
  };

  try {
    current = await open();
  } catch (error) {
    throw postgresFailure(error, url);
  }

  return {
    get listening() {
      return current !== undefined;
    },
    async tokensVersion() {
      const { rows } = await pool.query<{ value: string }>(
        "SELECT value FROM meta WHERE key = 'tokens_version'",
      );
      return Number(rows[0]?.value ?? 0);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      const client = current;
      current = undefined;
      await client?.end().catch(() => {});
    },
  };
}
