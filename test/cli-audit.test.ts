/**
 * What the command line changes is in the audit log, as the command line's and the OS
 * user's who ran it: `token create/update/revoke`, `admin create` and `history export`, run as the real
 * executable (as root and as `nobody`), read back through the admin API of a server on
 * the same data dir, with targets by name and details in words.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AdminClient } from './support/admin-client.js';
import { type CliResult, emulatorFor, runCli, startCompanion, tempDir } from './support/companion-harness.js';

const NOBODY = 65534;
const PASSWORD = 'correct horse battery';

interface AuditItem {
  action: string;
  actor: string | null;
  actorKind: string;
  osUser: string | null;
  adminId: string | null;
  targetType: string | null;
  targetName: string | null;
  summary: string;
  ip: string | null;
  outcome: string;
}

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  return result.stdout;
}

test('token and admin commands are in the audit log as cli:<os user>, with names and readable details', {
  skip: process.getuid?.() !== 0 && 'needs root, to run a command as another user',
}, async (t) => {
  const parent = tempDir(t);
  chmodSync(parent, 0o755);
  const dataDir = join(parent, 'data');
  const run = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
    runCli([...args, '--data-dir', dataDir], { timeoutMs: 20_000, ...options });

  const secret = ok(
    await run([
      'token',
      'create',
      '--name',
      'laptop',
      '--models',
      'llama3.2:*',
      '--calls-per-day',
      '100',
      '--init',
    ]),
    'token create',
  ).trim();
  ok(await run(['token', 'update', 'laptop', '--models', '*']), 'token update');
  ok(await run(['token', 'revoke', 'laptop']), 'token revoke');
  ok(await run(['admin', 'create', '--username', 'olivia'], { input: PASSWORD }), 'admin create owner');
  ok(
    await run(['admin', 'create', '--username', 'victor', '--role', 'viewer'], { input: PASSWORD }),
    'admin create viewer',
  );

  // Another OS user, with the data dir handed over to them.
  for (const path of [dataDir, ...readdirSync(dataDir).map((name) => join(dataDir, name))]) {
    chownSync(path, NOBODY, NOBODY);
  }
  ok(await run(['token', 'create', '--name', 'shared'], { uid: NOBODY, gid: NOBODY }), 'as nobody');
  ok(await run(['history', 'export', '--format', 'csv', '--status', 'ok']), 'history export');
  // Under sudo the person behind root is named; a non-root caller cannot claim one.
  const sudo = { env: { ...process.env, SUDO_USER: 'olivia' } };
  ok(await run(['token', 'create', '--name', 'sudoed'], sudo), 'as root under sudo');
  ok(
    await run(['token', 'create', '--name', 'claimed'], { uid: NOBODY, gid: NOBODY, ...sudo }),
    'as nobody claiming sudo',
  );

  const emulator = await emulatorFor(t);
  const server = await startCompanion(t, emulator.url, { dataDir });
  const owner = new AdminClient(server.url);
  assert.equal((await owner.login('olivia', PASSWORD)).status, 200);

  const all = await owner.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?actor=cli');
  assert.equal(all.status, 200);
  assert.ok(!all.text.includes(secret), 'never the secret');
  assert.deepEqual(
    all.body.items.map((e) => [e.actor, e.action, e.targetType, e.targetName]),
    [
      ['cli:nobody', 'token.create', 'token', 'claimed'],
      ['cli:root (sudo: olivia)', 'token.create', 'token', 'sudoed'],
      ['cli:root', 'history.export', 'history', null],
      ['cli:nobody', 'token.create', 'token', 'shared'],
      ['cli:root', 'admin.create', 'admin', 'victor'],
      ['cli:root', 'admin.create', 'admin', 'olivia'],
      ['cli:root', 'token.revoke', 'token', 'laptop'],
      ['cli:root', 'token.update', 'token', 'laptop'],
      ['cli:root', 'token.create', 'token', 'laptop'],
    ],
  );
  for (const entry of all.body.items) {
    assert.equal(entry.actorKind, 'cli');
    assert.equal(entry.adminId, null);
    assert.equal(entry.ip, null, 'no address: it came from the machine itself');
    assert.equal(entry.outcome, 'ok');
  }
  const [, , exported, , victor, , revoked, updated, created] = all.body.items;
  assert.match(exported!.summary, /status: ok/, 'what was exported, in words');
  assert.equal(created!.summary, 'models: llama3.2:*; scopes: inference, embeddings, read; calls/day: 100');
  assert.equal(updated!.summary, 'models: llama3.2:* → *');
  assert.equal(revoked!.summary, '');
  assert.equal(victor!.summary, 'role: viewer');

  const nobody = await owner.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?actor=cli:nobody');
  assert.deepEqual(
    nobody.body.items.map((e) => [e.osUser, e.action]),
    [
      ['nobody', 'token.create'],
      ['nobody', 'token.create'],
    ],
  );
  const facets = await owner.call<{ actors: { actor: string }[] }>('GET', '/admin/api/audit/facets');
  assert.deepEqual(
    facets.body.actors.map((a) => a.actor),
    ['olivia', 'cli:nobody', 'cli:root', 'cli:root (sudo: olivia)'],
  );
});
