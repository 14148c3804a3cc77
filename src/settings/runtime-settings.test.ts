import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SETTINGS, settingsFromStored, storedChanges } from './runtime-settings.js';

test('a stored value that is unreadable or out of range reads as its default', () => {
  const stored = [
    { key: 'sessionIdleMinutes', value: '-4' },
    { key: 'historyMaxRecords', value: '{not json' },
    { key: 'somethingElse', value: '1' },
  ];
  assert.deepEqual(settingsFromStored(stored), DEFAULT_SETTINGS);
});

test('what a change stores reads back as the change, null included', () => {
  const stored = storedChanges({ historyMaxAgeDays: 30, historyMaxRecords: null });
  assert.deepEqual(
    stored.map((s) => s.key),
    ['historyMaxAgeDays', 'historyMaxRecords'],
  );
  assert.deepEqual(settingsFromStored(stored), { ...DEFAULT_SETTINGS, historyMaxAgeDays: 30 });
});
