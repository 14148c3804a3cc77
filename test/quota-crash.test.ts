/**
 * Strict quotas across a crash: calls forwarded just before a `kill -9` of the real
 * executable still count after the restart, so a token never gets more calls than its
 * quota, whether the quota is a lifetime total or a per-window limit. What a crash may
 * cost instead is bounded: at most 1/20 of a limit. A clean stop costs nothing.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { emulatorFor, runCli, tempDir } from './support/companion-harness.js';
import type { Emulator } from './support/ollama-emulator.js';
import { type ServeProcess, serve } from './support/serve-process.js';

// Usage counters also travel with the history writer's batches; its longest flush
// interval makes sure none of them is written before the kill, however slow the machine.
// The guarantee must not depend on that interval.
const ENV = { OLLAMA_COMPANION_HISTORY_FLUSH_MS: '5000' };

interface Quota {
  tag: string;
  flags: string[];
  limit: number;
  /** Calls made before the process stops. */
  before: number;
}

async function createToken(dataDir: string, quota: Quota): Promise<string> {
  const created = await runCli([
    'token',
    'create',
    '--name',
    quota.tag,
    '--init',
    '--data-dir',
    dataDir,
    ...quota.flags,
  ]);
  assert.equal(created.code, 0, created.stderr);
  return created.stdout.trim();
}

async function chat(url: string, secret: string, content: string): Promise<number> {
  const response = await request(`${url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content }], stream: false }),
  });
  await response.body.text();
  return response.statusCode;
}

/** Calls that reached Ollama for the token whose prompts start with `tag`. */
function forwardedFor(emulator: Emulator, tag: string): number {
  return emulator.requests.filter((r) => {
    const body = r.body as { messages?: Array<{ content?: string }> } | undefined;
    return r.path === '/api/chat' && body?.messages?.[0]?.content?.startsWith(`${tag} `) === true;
  }).length;
}

/**
 * Makes each token's `before` calls at once on a first process, stops it with `stop`,
 * starts a second one on the same data dir and asks each token for more calls than its
 * whole quota. Answers what reached Ollama per token.
 */
async function acrossRestart(
  t: TestContext,
  quotas: Quota[],
  stop: (server: ServeProcess) => Promise<void>,
): Promise<Record<string, number>> {
  const emulator = await emulatorFor(t);
  const dataDir = tempDir(t);
  const secrets = new Map<string, string>();
  for (const quota of quotas) secrets.set(quota.tag, await createToken(dataDir, quota));

  const first = await serve(t, dataDir, emulator.url, ENV);
  const before = await Promise.all(
    quotas.flatMap((q) =>
      Array.from({ length: q.before }, (_, i) =>
        chat(first.url, secrets.get(q.tag)!, `${q.tag} before ${i}`),
      ),
    ),
  );
  assert.deepEqual(
    before.filter((s) => s !== 200),
    [],
  );
  await stop(first);

  const second = await serve(t, dataDir, emulator.url, ENV);
  for (const q of quotas) {
    const statuses = await Promise.all(
      Array.from({ length: q.limit + 5 }, (_, i) =>
        chat(second.url, secrets.get(q.tag)!, `${q.tag} after ${i}`),
      ),
    );
    assert.deepEqual(
      statuses.filter((s) => s !== 200 && s !== 429),
      [],
    );
  }
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0);
  return Object.fromEntries(quotas.map((q) => [q.tag, forwardedFor(emulator, q.tag)]));
}

test('kill -9 just after calls were forwarded: after the restart no quota is overshot', async (t) => {
  const quotas: Quota[] = [
    { tag: 'total', flags: ['--max-calls', '20'], limit: 20, before: 15 },
    { tag: 'daily', flags: ['--calls-per-day', '20'], limit: 20, before: 15 },
    { tag: 'large', flags: ['--max-calls', '200'], limit: 200, before: 150 },
  ];
  const reached = await acrossRestart(t, quotas, async (server) => {
    await sleep(40);
    server.child.kill('SIGKILL');
    assert.equal((await server.exited).signal, 'SIGKILL');
  });
  t.diagnostic(`calls that reached Ollama: ${JSON.stringify(reached)}`);
  for (const q of quotas) {
    const got = reached[q.tag] ?? 0;
    assert.ok(got <= q.limit, `${q.tag}: ${got} calls reached Ollama on a quota of ${q.limit}`);
    // The README's bound: a crash costs at most 1/20 of a limit.
    assert.ok(got >= q.limit - Math.floor(q.limit / 20), `${q.tag}: only ${got} of ${q.limit} calls`);
  }
});

test('a clean stop and restart keeps every call of the quota', async (t) => {
  const quotas: Quota[] = [{ tag: 'large', flags: ['--max-calls', '200'], limit: 200, before: 150 }];
  const reached = await acrossRestart(t, quotas, async (server) => {
    server.child.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
  });
  assert.deepEqual(reached, { large: 200 });
});
