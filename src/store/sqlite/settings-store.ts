/**
 * Runtime settings: the few that an admin may change while the server runs (history
 * retention, session idle time). Stored one JSON value per key; a missing or unreadable
 * value reads as its default, so the table never needs to be seeded.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Db } from '../database.js';

export const RuntimeSettingsSchema = Type.Object(
  {
    historyMaxAgeDays: Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()], {
      description: 'History records older than this many days are removed; null keeps them.',
    }),
    historyMaxRecords: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description: 'At most this many history records are kept, the oldest go first; null: no limit.',
    }),
    sessionIdleMinutes: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1440,
      description: 'An admin session unused for this long ends.',
    }),
  },
  { additionalProperties: false },
);

export type RuntimeSettings = Static<typeof RuntimeSettingsSchema>;
export type SettingKey = keyof RuntimeSettings;

export const DEFAULT_SETTINGS: Readonly<RuntimeSettings> = Object.freeze({
  historyMaxAgeDays: null,
  historyMaxRecords: null,
  sessionIdleMinutes: 30,
});

const KEYS = Object.keys(RuntimeSettingsSchema.properties) as SettingKey[];

export interface SettingsRepository {
  /** Every setting, defaults filled in. Read from the database each time: another process may write. */
  read(): RuntimeSettings;
  /** Stores the given values (already validated) and returns the whole set. */
  write(changes: Partial<RuntimeSettings>): RuntimeSettings;
}

export function createSettingsRepository(db: Db): SettingsRepository {
  const all = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM settings');
  const upsert = db.prepare(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const read = (): RuntimeSettings => {
    const settings: RuntimeSettings = { ...DEFAULT_SETTINGS };
    for (const { key, value } of all.all()) {
      if (!KEYS.includes(key as SettingKey)) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        continue;
      }
      const candidate = { ...settings, [key]: parsed };
      if (Value.Check(RuntimeSettingsSchema, candidate)) Object.assign(settings, candidate);
    }
    return settings;
  };
  const write = db.transaction((changes: Partial<RuntimeSettings>) => {
    for (const key of KEYS) {
      if (key in changes) upsert.run(key, JSON.stringify(changes[key] ?? null));
    }
  });
  return {
    read,
    write(changes) {
      write(changes);
      return read();
    },
  };
}
