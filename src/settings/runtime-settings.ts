/**
 * Runtime settings: the few that an admin may change while the server runs (history
 * retention, session idle time). A store keeps one JSON value per key; a missing or
 * unreadable value reads as its default, so nothing needs seeding. The reading and
 * writing of those values is here so every store decodes them alike.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

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

/** One stored setting: its key and its value as JSON text. */
export interface StoredSetting {
  key: string;
  value: string;
}

/**
 * Every setting from what a store holds, defaults filled in. Unknown keys, values that
 * are not JSON and values out of range are passed over (read as their default).
 */
export function settingsFromStored(stored: Iterable<StoredSetting>): RuntimeSettings {
  const settings: RuntimeSettings = { ...DEFAULT_SETTINGS };
  for (const { key, value } of stored) {
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
}

/** The values to store for a change (already validated), one per key it names. */
export function storedChanges(changes: Partial<RuntimeSettings>): StoredSetting[] {
  return KEYS.filter((key) => key in changes).map((key) => ({
    key,
    value: JSON.stringify(changes[key] ?? null),
  }));
}
