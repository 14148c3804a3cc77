import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompanionError } from '../errors/companion-error.js';
import { type HistoryFilterLookups, historyFilter } from './history-filter.js';

const lookups: HistoryFilterLookups = {
  tokenId: (nameOrId) => (nameOrId === 'alice' ? 'id-alice' : nameOrId),
  modelNames: async () => ['gemma3:1b', 'llama3.1:8b', 'llama3.2', 'llama3.2:latest', 'qwen3:8b'],
};

test('every field becomes the store filter; blank fields filter nothing', async () => {
  assert.deepEqual(
    await historyFilter(
      {
        q: ' bread ',
        token: 'alice',
        model: 'llama3.*',
        endpoint: '/api/chat',
        status: 'OK',
        since: '2026-11-01',
        until: '1800000000000',
      },
      lookups,
    ),
    {
      q: 'bread',
      tokenId: 'id-alice',
      models: ['llama3.1:8b', 'llama3.2', 'llama3.2:latest'],
      endpoint: '/api/chat',
      outcome: 'ok',
      since: Date.UTC(2026, 10, 1),
      until: 1_800_000_000_000,
    },
  );
  assert.deepEqual(await historyFilter({ q: ' ', token: '', model: '', status: '', since: '' }, lookups), {});
  assert.deepEqual(await historyFilter({ status: '4xx' }, lookups), { statusClass: 4 });
  assert.deepEqual(await historyFilter({ status: '429' }, lookups), { status: 429 });
  assert.deepEqual((await historyFilter({ model: 'llama3.2' }, lookups)).models, [
    'llama3.2',
    'llama3.2:latest',
  ]);
  assert.deepEqual(
    (await historyFilter({ model: 'mistral*' }, lookups)).models,
    [],
    'a pattern that matches no name',
  );
  assert.equal(
    (await historyFilter({ token: 'bob' }, lookups, 'mine')).tokenId,
    'mine',
    'a fixed token wins',
  );
});

test('a bad status or time is refused, named as the caller names the field', async () => {
  const refused = (pattern: RegExp) => (error: unknown) =>
    error instanceof CompanionError && error.status === 400 && pattern.test(error.message);
  await assert.rejects(historyFilter({ status: 'sideways' }, lookups), refused(/^status: expected one of/));
  await assert.rejects(historyFilter({ since: 'last tuesday' }, lookups), refused(/^since: expected an ISO/));
  await assert.rejects(
    historyFilter({ until: 'soon' }, { ...lookups, fieldName: (field) => `--${field}` }),
    refused(/^--until: expected/),
  );
});
