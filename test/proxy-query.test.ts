/**
 * Query strings on the way to Ollama: clients that put a key in the URL (`?api_key=`,
 * `?key=`, `?token=` …) must not hand it to Ollama and its logs. The companion runs as
 * the real executable at debug log level, so every line it prints is checked too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { emulatorFor, runCli, tempDir } from './support/companion-harness.js';
import { serve } from './support/serve-process.js';

test('credential-looking query parameters and the token itself never reach Ollama or the log', async (t) => {
  const emulator = await emulatorFor(t);
  const dataDir = tempDir(t);
  const created = await runCli(['token', 'create', '--name', 'query', '--data-dir', dataDir, '--init']);
  assert.equal(created.code, 0, created.stderr);
  const secret = created.stdout.trim();
  const server = await serve(t, dataDir, emulator.url, { OLLAMA_COMPANION_LOG_LEVEL: 'debug' });
  const auth = { authorization: `Bearer ${secret}` };
  const enc = encodeURIComponent(secret);

  const attempts: Array<{ path: string; headers: Record<string, string> }> = [
    { path: `/api/tags?api_key=${enc}`, headers: auth },
    { path: `/api/tags?key=${enc}&verbose=1`, headers: auth },
    {
      path: `/api/tags?Token=abc&ACCESS_TOKEN=def&apiKey=ghi&auth=jkl&password=mno&secret=pqr`,
      headers: auth,
    },
    { path: `/api/tags?x-api-key=${enc}&client_secret=s3&hf_token=t4`, headers: auth },
    { path: `/api/tags?q=${enc}&page=2`, headers: auth },
    { path: `/api/tags?note=Bearer%20${enc}`, headers: auth },
    { path: `/t/${enc}/api/tags?k=${enc}&keep=yes`, headers: {} },
    { path: `/v1/models?api_key=${enc}`, headers: auth },
    { path: `/api/version?key=${enc}`, headers: auth },
  ];
  for (const { path, headers } of attempts) {
    const res = await request(`${server.url}${path}`, { headers });
    assert.equal(res.statusCode, 200, path);
    await res.body.dump();
  }
  // A refused request with its key in the query: nothing reaches Ollama, nothing is logged.
  const refused = await request(`${server.url}/api/tags?api_key=${enc}`);
  assert.equal(refused.statusCode, 401);
  await refused.body.dump();

  const seen = emulator.requests.map((r) => r.url);
  assert.deepEqual(seen, [
    '/api/tags',
    '/api/tags?verbose=1',
    '/api/tags',
    '/api/tags',
    '/api/tags?page=2',
    '/api/tags',
    '/api/tags?keep=yes',
    '/v1/models',
    '/api/version',
  ]);
  for (const url of seen) {
    for (const leaked of [secret, enc, 'abc', 'def', 'ghi', 'jkl', 'mno', 'pqr', 's3', 't4']) {
      assert.ok(!url.includes(`=${leaked}`), `${leaked} reached Ollama in ${url}`);
    }
  }

  // Everything printed, after a clean stop (so buffered log lines are written).
  server.child.kill('SIGTERM');
  await server.exited;
  const log = server.stdout();
  assert.match(log, /"level":20/, 'the log ran at debug level');
  assert.ok(!log.includes(secret) && !log.includes(enc), 'the token never appears in the log');
  assert.ok(!log.includes('api_key'), 'nor do the query strings that carried it');
});
