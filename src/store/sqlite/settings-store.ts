/** Runtime settings in SQLite (the `SettingsStore` port): one JSON value per key. */
import { settingsFromStored, storedChanges } from '../../settings/runtime-settings.js';
import type { SettingsStore } from '../../settings/settings-store.js';
import type { Db } from '../database.js';

export function createSqliteSettingsStore(db: Db): SettingsStore {
  const all = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM settings');
  const upsert = db.prepare(
    'INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const write = db.transaction((changes: Parameters<SettingsStore['write']>[0]) => {
    for (const setting of storedChanges(changes)) upsert.run(setting);
  });
  return {
    read: async () => settingsFromStored(all.iterate()),
    async write(changes) {
      write(changes);
      return settingsFromStored(all.iterate());
    },
  };
}
