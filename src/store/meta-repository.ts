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
}

export function createMetaRepository(db: Db): MetaRepository {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
  return {
    nodeId() {
      const existing = get.get('node_id');
      if (existing) return existing.value;
      insert.run('node_id', `node-${randomBytes(8).toString('hex')}`);
      return get.get('node_id')!.value;
    },
    dataVersion: () => db.pragma('data_version', { simple: true }) as number,
    tokensVersion: () => Number(get.get('tokens_version')?.value ?? 0),
  };
}
