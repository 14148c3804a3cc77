/**
 * The audit log through the admin API: targets by name, details in words, and the
 * filters by actor (an admin, the command line, one OS user), action (one or a family),
 * outcome and time range, alone and together, with their refusals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminClient, signedIn } from './support/admin-client.js';
import { emulatorFor, runCli, startCompanion } from './support/companion-harness.js';

interface AuditItem {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  targetName: string | null;
  summary: string;
  outcome: string;
}

type Audit = { items: AuditItem[]; next: string | null };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('audit entries name their target and say what changed; filters by actor, action and time narrow them', async (t) => {
  const emulator = await emulatorFor(t);
  const server = await startCompanion(t, emulator.url);
  const olivia = await signedIn(server.url, server.companion, 'olivia', 'owner');
  const adam = await signedIn(server.url, server.companion, 'adam', 'admin');

  const made = await olivia.call<{ id: string }>('POST', '/admin/api/tokens', {
    name: 'laptop',
    models: ['llama3.2:*'],
  });
  assert.equal(made.status, 201);
  await pause(20);
  const middle = Date.now();
  await pause(20);
  await adam.call('PATCH', `/admin/api/tokens/${made.body.id}`, { models: ['*'], callsPerDay: 100 });
  assert.equal((await runCli(['token', 'create', '--name', 'script', '--data-dir', server.dataDir])).code, 0);
  await pause(20);
  const late = Date.now();
  await pause(20);
  await adam.call('DELETE', `/admin/api/tokens/${made.body.id}`);
  await adam.call('DELETE', '/admin/api/admins/nobody-has-this-id'); // refused: adam is no owner

  const get = async (query: string) => {
    const answer = await olivia.call<Audit>('GET', `/admin/api/audit${query}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.body.items.map((e) => `${e.actor} ${e.action} ${e.outcome}`);
  };

  const everything = (await olivia.call<Audit>('GET', '/admin/api/audit')).body.items;
  const update = everything.find((e) => e.action === 'token.update')!;
  assert.equal(update.targetName, 'laptop', 'the token by name, not its id');
  assert.equal(update.summary, 'models: llama3.2:* → *; calls/day: none → 100');
  const login = everything.find((e) => e.action === 'login' && e.actor === 'adam')!;
  assert.equal(login.targetName, 'adam');

  assert.deepEqual(await get('?actor=adam'), [
    'adam admin.delete denied',
    'adam token.revoke ok',
    'adam token.update ok',
    'adam login ok',
  ]);
  assert.deepEqual(await get('?actor=cli'), ['cli:root token.create ok']);
  assert.deepEqual(await get('?actor=cli:root'), ['cli:root token.create ok']);
  assert.deepEqual(await get('?actor=cli:somebody-else'), []);
  assert.deepEqual(await get('?action=token.*'), [
    'adam token.revoke ok',
    'cli:root token.create ok',
    'adam token.update ok',
    'olivia token.create ok',
  ]);
  assert.deepEqual(await get('?action=token.create&actor=olivia'), ['olivia token.create ok']);
  assert.deepEqual(await get('?outcome=denied'), ['adam admin.delete denied']);
  const since = new Date(middle).toISOString();
  assert.deepEqual(await get(`?action=token.*&since=${since}&until=${late}`), [
    'cli:root token.create ok',
    'adam token.update ok',
  ]);
  assert.deepEqual(await get(`?since=${late}&actor=adam&action=token.*`), ['adam token.revoke ok']);

  // Paging keeps the filters.
  const first = await olivia.call<Audit>('GET', '/admin/api/audit?action=token.*&limit=3');
  const second = await olivia.call<Audit>(
    'GET',
    `/admin/api/audit?action=token.*&limit=3&cursor=${first.body.next}`,
  );
  assert.deepEqual(
    second.body.items.map((e) => e.action),
    ['token.create'],
  );

  const facets = await olivia.call<{ actors: { actor: string }[]; actions: string[] }>(
    'GET',
    '/admin/api/audit/facets',
  );
  assert.deepEqual(
    facets.body.actors.map((a) => a.actor),
    ['adam', 'olivia', 'cli:root'],
  );
  assert.deepEqual(facets.body.actions, [
    'admin.delete',
    'login',
    'token.create',
    'token.revoke',
    'token.update',
  ]);

  const badTime = await olivia.call<{ error: { message: string } }>(
    'GET',
    '/admin/api/audit?since=yesterday',
  );
  assert.equal(badTime.status, 400);
  assert.equal(badTime.body.error.message, 'since must be an ISO 8601 time or epoch milliseconds');
  const badOutcome = await olivia.call('GET', '/admin/api/audit?outcome=maybe');
  assert.equal(badOutcome.status, 400);
  assert.equal((await new AdminClient(server.url).call('GET', '/admin/api/audit/facets')).status, 401);
});
