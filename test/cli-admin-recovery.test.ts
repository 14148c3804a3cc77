/**
 * Getting back in from the command line, against a running server on the same data dir:
 * `admin reset-password` (sign-in works with the new password only, open sessions end),
 * `admin role` and `admin remove` (never leaving no owner; a removed account's sessions
 * end), `admin unlock` (the sign-in throttle lifts on the running server). Each is in the
 * audit log as the command line's, run by the OS user.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminClient } from './support/admin-client.js';
import { type CliResult, emulatorFor, runCli, startCompanion } from './support/companion-harness.js';

const OLD = 'the first long password';
const NEW = 'a brand new long password';
const VICTOR = 'victor long password';

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  assert.equal(result.stderr, '', `${what}: nothing on stderr`);
  return result.stdout;
}

/** A refused command: the exit code, one readable line on stderr, nothing on stdout. */
function refused(result: CliResult, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^error: .*\n$/);
  assert.match(result.stderr, pattern);
}

async function serverWithOwner(t: Parameters<typeof startCompanion>[0]) {
  const emulator = await emulatorFor(t);
  const server = await startCompanion(t, emulator.url);
  const admin = (args: string[], input?: string) =>
    runCli(['admin', ...args, '--data-dir', server.dataDir], {
      timeoutMs: 20_000,
      ...(input !== undefined ? { input } : {}),
    });
  ok(await admin(['create', '--username', 'olivia'], OLD), 'admin create');
  return { server, admin };
}

interface AuditItem {
  actor: string | null;
  action: string;
  targetName: string | null;
  summary: string;
}

async function cliAudit(client: AdminClient): Promise<string[]> {
  const answer = await client.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?actor=cli');
  return answer.body.items.map((e) => `${e.actor} ${e.action} ${e.targetName}: ${e.summary}`);
}

test('admin reset-password: the new password signs in, the old one does not, open sessions end', async (t) => {
  const { server, admin } = await serverWithOwner(t);
  const laptop = new AdminClient(server.url);
  const phone = new AdminClient(server.url);
  assert.equal((await laptop.login('olivia', OLD)).status, 200);
  assert.equal((await phone.login('olivia', OLD)).status, 200);

  assert.equal(
    ok(await admin(['reset-password', 'olivia'], `${NEW}\n`), 'reset'),
    'password of olivia reset; 2 sessions ended\n',
  );
  assert.equal((await laptop.call('GET', '/admin/api/me')).status, 401, 'the open session ended');
  assert.equal((await phone.call('GET', '/admin/api/me')).status, 401);
  assert.equal((await new AdminClient(server.url).login('olivia', OLD)).status, 401, 'old password');
  const fresh = new AdminClient(server.url);
  assert.equal((await fresh.login('olivia', NEW)).status, 200, 'new password');

  refused(
    await admin(['reset-password', 'nobody'], NEW),
    3,
    /no admin named "nobody" \(see: ollama-companion admin list\)/,
  );
  refused(await admin(['reset-password', 'olivia'], 'short'), 2, /password too short/);
  assert.equal((await fresh.call('GET', '/admin/api/me')).status, 200, 'a refused reset changes nothing');

  assert.deepEqual(await cliAudit(fresh), [
    'cli:root admin.update olivia: password changed; 2 sessions ended',
    'cli:root admin.create olivia: role: owner',
  ]);
});

test('admin role and admin remove never leave no owner; a removed account is signed out', async (t) => {
  const { server, admin } = await serverWithOwner(t);
  ok(await admin(['create', '--username', 'victor', '--role', 'viewer'], VICTOR), 'create victor');
  const olivia = new AdminClient(server.url);
  const victor = new AdminClient(server.url);
  assert.equal((await olivia.login('olivia', OLD)).status, 200);
  assert.equal((await victor.login('victor', VICTOR)).status, 200);

  refused(
    await admin(['role', 'olivia', 'viewer']),
    2,
    /the last owner cannot be removed or demoted: make another admin owner first/,
  );
  refused(await admin(['remove', 'olivia']), 2, /the last owner cannot be removed or demoted/);
  refused(await admin(['role', 'olivia', 'god']), 2, /the role expects owner, admin, viewer/);
  refused(await admin(['role', 'ghost', 'admin']), 3, /no admin named "ghost"/);
  refused(await admin(['remove', 'ghost']), 3, /no admin named "ghost"/);

  assert.equal(ok(await admin(['role', 'victor', 'owner']), 'promote'), 'victor is now owner\n');
  assert.equal(ok(await admin(['role', 'victor', 'owner']), 'again'), 'victor is owner already\n');
  assert.equal(ok(await admin(['role', 'olivia', 'viewer']), 'demote'), 'olivia is now viewer\n');
  const me = await olivia.call<{ admin: { role: string } }>('GET', '/admin/api/me');
  assert.equal(me.body.admin.role, 'viewer', 'the running server applies the role at once');
  assert.equal((await olivia.call('POST', '/admin/api/tokens', { name: 'x' })).status, 403);
  refused(await admin(['remove', 'victor']), 2, /last owner/);

  assert.equal(
    ok(await admin(['remove', 'olivia']), 'remove'),
    'removed viewer olivia; their sessions ended\n',
  );
  assert.equal((await olivia.call('GET', '/admin/api/me')).status, 401, 'signed out');
  assert.equal((await new AdminClient(server.url).login('olivia', OLD)).status, 401, 'gone');
  assert.equal(ok(await admin(['list']), 'list'), 'victor\towner\n');

  assert.deepEqual(await cliAudit(victor), [
    'cli:root admin.delete olivia: role: viewer',
    'cli:root admin.update olivia: role: owner → viewer',
    'cli:root admin.update victor: role: viewer → owner',
    'cli:root admin.create victor: role: viewer',
    'cli:root admin.create olivia: role: owner',
  ]);
});

test('admin unlock lifts the sign-in throttle on the running server, for the account and its address', async (t) => {
  const { server, admin } = await serverWithOwner(t);
  for (let i = 0; i < 5; i++) {
    assert.equal((await new AdminClient(server.url).login('olivia', `wrong guess ${i}`)).status, 401);
  }
  const locked = await new AdminClient(server.url).login('olivia', OLD);
  assert.equal(locked.status, 429, 'throttled, even with the right password');
  // The address is throttled as well: another account from here is refused too.
  ok(await admin(['create', '--username', 'victor', '--role', 'viewer'], VICTOR), 'create victor');
  assert.equal((await new AdminClient(server.url).login('victor', VICTOR)).status, 429);

  assert.equal(
    ok(await admin(['unlock', 'olivia']), 'unlock'),
    'unlocked olivia: 5 failed sign-ins forgotten\n',
  );
  const back = new AdminClient(server.url);
  assert.equal((await back.login('olivia', OLD)).status, 200, 'signs in at once');
  assert.equal((await new AdminClient(server.url).login('victor', VICTOR)).status, 200, 'the address too');
  refused(await admin(['unlock', 'ghost']), 3, /no admin named "ghost"/);

  assert.deepEqual((await cliAudit(back)).slice(0, 2), [
    'cli:root admin.unlock olivia: 5 failed sign-ins forgotten',
    'cli:root admin.create victor: role: viewer',
  ]);
});
