/**
 * Health as an operator sees it: /healthz and /readyz without a token, the log saying
 * once that Ollama does not answer and once that it answers again, and a 502 that says
 * where the companion looked for Ollama and which setting to change. Runs the installed
 * executable, so the log is the process's real stdout.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, runCli, tempDir } from './support/companion-harness.js';
import { HEALTH_CHECK_USER_AGENT, startEmulator } from './support/ollama-emulator.js';
import { serve } from './support/serve-process.js';

/** A port nothing listens on (yet). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise((resolve) => server.close(resolve));
  return address.port;
}

type LogLine = Record<string, unknown> & { msg: string };

function logLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

const CHECK_MS = 150;

test('Ollama down, then up: /readyz follows, the log says each change once, a 502 names the URL', async (t) => {
  const port = await closedPort();
  const upstream = `http://127.0.0.1:${port}`;
  const dataDir = tempDir(t);
  const created = await runCli(['token', 'create', '--name', 'health', '--data-dir', dataDir, '--init']);
  assert.equal(created.code, 0, created.stderr);
  const secret = created.stdout.trim();
  const server = await serve(t, dataDir, upstream, {
    OLLAMA_COMPANION_UPSTREAM_CHECK_MS: String(CHECK_MS),
  });

  // Liveness needs no token and says only that the process answers.
  const live = await fetch(`${server.url}/healthz`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: 'ok' });

  // Readiness: Ollama is down, the store is fine; nothing else is revealed.
  const notReady = await eventually(async () => {
    const res = await fetch(`${server.url}/readyz`);
    const body = await res.text();
    return res.status === 503 ? body : undefined;
  });
  assert.deepEqual(JSON.parse(notReady), { status: 'not ready', ollama: false, store: true });
  assert.ok(!notReady.includes(String(port)) && !notReady.includes(dataDir), 'no URL or path in /readyz');

  // Several checks later, still one warning.
  await sleep(CHECK_MS * 6);
  const down = logLines(server.stdout()).filter((l) => /is not answering/.test(l.msg));
  assert.equal(down.length, 1, `one warning over several checks:\n${server.stdout()}`);
  assert.equal(
    down[0]?.msg,
    `Ollama at ${upstream} is not answering (ECONNREFUSED); is it running? set --upstream or OLLAMA_COMPANION_UPSTREAM`,
  );

  // A request meanwhile: a 502 naming the URL and the setting, and one log line without a stack.
  const before = logLines(server.stdout()).length;
  const failed = await fetch(`${server.url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'anyone?' }] }),
  });
  assert.equal(failed.status, 502);
  assert.deepEqual(await failed.json(), {
    error: `cannot reach Ollama at ${upstream} (ECONNREFUSED); is it running? set --upstream`,
  });
  const failureLines = await eventually(() => {
    const lines = logLines(server.stdout())
      .slice(before)
      .filter((l) => !/is not answering/.test(l.msg));
    return lines.length > 0 ? lines : undefined;
  });
  await sleep(200);
  const after = logLines(server.stdout())
    .slice(before)
    .filter((l) => !/is not answering/.test(l.msg));
  assert.equal(after.length, 1, `one line for one failure:\n${JSON.stringify(after, null, 1)}`);
  assert.equal(failureLines[0]?.status, 502);
  assert.equal(failureLines[0]?.path, '/api/chat');
  assert.ok(!JSON.stringify(after).includes('stack'), 'no stack in the log');
  assert.ok(!JSON.stringify(after).includes(secret), 'no secret in the log');

  // Ollama starts on that port: one "answers again", and ready.
  const emulator = await startEmulator({ port, recordHealthChecks: true });
  t.after(() => emulator.close());
  await eventually(async () => ((await fetch(`${server.url}/readyz`)).status === 200 ? true : undefined));
  const ready = await fetch(`${server.url}/readyz`);
  assert.deepEqual(await ready.json(), { status: 'ready', ollama: true, store: true });
  await sleep(CHECK_MS * 4);
  const lines = logLines(server.stdout());
  const upAgain = lines.filter((l) => /answers again/.test(l.msg));
  assert.deepEqual(
    upAgain.map((l) => l.msg),
    [`Ollama at ${upstream} answers again (version 0.12.6)`],
  );
  assert.equal(lines.filter((l) => /is not answering/.test(l.msg)).length, 1);

  // Health checks are neither refusals nor failures: nothing about them in the log or metrics.
  assert.ok(!server.stdout().includes('/healthz') && !server.stdout().includes('/readyz'));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^companion_unauthenticated_total 0$/m);
  // The probe carries no credentials to Ollama.
  const probes = emulator.requests.filter((r) => r.path === '/api/version');
  assert.ok(probes.length > 0);
  assert.ok(
    probes.every(
      (r) => r.headers.authorization === undefined && r.headers['user-agent'] === HEALTH_CHECK_USER_AGENT,
    ),
  );
});
