import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Token } from '../policy/token.js';
import { auditSummary } from './audit-summary.js';
import { tokenChangedDetails, tokenCreatedDetails } from './token-audit.js';

const token: Token = {
  id: 't1',
  name: 'laptop',
  prefix: 'oc_abcd',
  models: ['llama3.2:*'],
  scopes: ['inference', 'embeddings', 'read'],
  limits: { calls: { total: null, minute: null, hour: null, day: 100, month: null }, maxConcurrent: null },
  expiresAt: null,
  enabled: true,
  revokedAt: null,
  historyMode: 'full',
  createdAt: 0,
  updatedAt: 0,
  originNode: 'n1',
};

const summary = (action: string, details: Record<string, unknown> | null, targetName: string | null) =>
  auditSummary({ action, details, targetName });

test('a new token reads as its models, scopes and limits, without its name (the target shows it)', () => {
  const details = tokenCreatedDetails(token);
  assert.equal(details.name, 'laptop');
  assert.equal(
    summary('token.create', details, 'laptop'),
    'models: llama3.2:*; scopes: inference, embeddings, read; calls/day: 100',
  );
});

test('a change reads as before → after, only for what changed', () => {
  const after: Token = {
    ...token,
    name: 'desk',
    models: ['*'],
    limits: { ...token.limits, calls: { ...token.limits.calls, day: null, hour: 10 } },
    expiresAt: Date.parse('2030-01-02T03:04:00Z'),
    enabled: false,
  };
  const details = tokenChangedDetails(token, after);
  assert.deepEqual(Object.keys(details), [
    'name',
    'models',
    'callsPerHour',
    'callsPerDay',
    'expiresAt',
    'enabled',
  ]);
  assert.equal(
    summary('token.update', details, 'desk'),
    'name: laptop → desk; models: llama3.2:* → *; calls/hour: none → 10; calls/day: 100 → none; ' +
      'expires: never → 2030-01-02 03:04 UTC; enabled: yes → no',
  );
  assert.deepEqual(tokenChangedDetails(token, { ...token }), {});
});

test('entries of every kind read as words, older raw shapes included', () => {
  // The request body as the API recorded it before changes were recorded.
  assert.equal(
    summary('token.update', { models: ['*'], callsPerDay: 100 }, 'x'),
    'models: *; calls/day: 100',
  );
  assert.equal(
    summary('admin.update', { username: 'vic', passwordChanged: true, sessionsEnded: 2 }, 'vic'),
    'password changed; 2 sessions ended',
  );
  assert.equal(
    summary('admin.update', { role: { from: 'viewer', to: 'owner' } }, 'vic'),
    'role: viewer → owner',
  );
  assert.equal(summary('admin.delete', { username: 'vic', role: 'admin' }, 'vic'), 'role: admin');
  assert.equal(summary('login', { reason: 'throttled' }, null), 'too many failed sign-ins');
  assert.equal(
    summary('settings.update', { historyMaxAgeDays: { from: 90, to: null } }, null),
    'keep history (days): 90 → none',
  );
  assert.equal(
    summary('admin.unlock', { username: 'vic', failuresForgotten: 1 }, 'vic'),
    '1 failed sign-in forgotten',
  );
  assert.equal(summary('token.revoke', null, 'laptop'), '');
  assert.equal(summary('x', { odd: { nested: [1] } }, null), 'odd: {"nested":[1]}');
});
