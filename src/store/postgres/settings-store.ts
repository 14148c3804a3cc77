/**
 * Runtime settings in PostgreSQL (the `SettingsStore` port): one JSON value per key,
 * shared by every companion on the database. Each value keeps the companion that set it
 * last and when (origin_node, updated_at), so the mesh can settle concurrent changes.
 */
import { settingsFromStored, storedChanges } from '../../settings/runtime-settings.js';
import type { SettingsStore } from '../../settings/settings-store.js';
import type { PostgresPool } from './postgres-pool.js';

export function createPostgresSettingsStore(
  pool: PostgresPool,
  nodeId: string,
  now: () => number = Date.now,
): SettingsStore {
  const read = async () =>
    settingsFromStored(
      (await pool.query<{ key: string; value: string }>('SELECT key, value FROM settings')).rows,
    );
  return {
    read,
    async write(changes) {
      const stored = storedChanges(changes);
      // One statement: the values land together, or none does.
      await pool.query(
        `INSERT INTO settings (key, value, origin_node, updated_at)
         SELECT key, value, $3, $4 FROM unnest($1::text[], $2::text[]) AS s (key, value)
         ON CONFLICT (key) DO UPDATE
           SET value = excluded.value, origin_node = excluded.origin_node, updated_at = excluded.updated_at`,
        [stored.map((s) => s.key), stored.map((s) => s.value), nodeId, now()],
      );
      return read();
    },
  };
}
