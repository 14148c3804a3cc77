/** Node-wide facts kept in the database: this node's identity and change detection. */
import { randomBytes } from 'node:crypto';
import type { Db } from './database.js';

export interface MetaRepository {
  /** This node's stable identity, created on first use. */
  nodeId(): string;
  /**
   * A number that changes whenever another connection (another process, such as the
   * CLI) commits to the database; cheap enough to poll.
   */
  dataVersion(): number;
  /** Moves whenever a token is created, changed or removed, by any connection. */
  tokensVersion(): number;
  /**
   * Commits a write that changes nothing (this node's own row, rewritten as it is), so a
   * read-only file, a full disk or a vanished directory shows here as it would for history.
   * @throws the database's error when the store cannot be written
   */
  probeWritable(): void;
}

export function createMetaRepository(db: Db): MetaRepository {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
  const rewrite = db.prepare("UPDATE meta SET value = value WHERE key = 'node_id'");
  return {
    nodeId() {
      const existing = get.get('node_id');
      if (existing) return existing.value;
      insert.run('node_id', `node-${randomBytes(8).toString('hex')}`);
      return get.get('node_id')!.value;
    },
    dataVersion: () => db.pragma('data_version', { simple: true }) as number,
    tokensVersion: () => Number(get.get('tokens_version')?.value ?? 0),
    probeWritable() {
      // The probe answers an unauthenticated request on the request thread: it must not
      // wait out the busy timeout while the history writer holds the lock. A store that
      // another writer is writing to is writable.
      const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
      db.pragma('busy_timeout = 0');
      try {
        rewrite.run();
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
      } finally {
        db.pragma(`busy_timeout = ${busyTimeout}`);
      }
    },
  };
}
