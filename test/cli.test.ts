/**
 * The command line as scripts use it: `token`, `admin`, `history export` and `serve`'s
 * refusal of bad settings, run as the real executable against a data dir, some of them
 * while a server runs on it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Ollama } from 'ollama';
import { request } from 'undici';
import {
  type CliResult,
  emulatorFor,
  eventually,
  ollamaClient,
  runCli,
  startCompanion,
  tempDir,
} from './support/companion-harness.js';

const SECRET = /^oc_[A-Za-z0-9_-]{20,}$/;

interface TokenView {
  id: string;
  name: string;
  prefix: string;
  status: string;
  models: string[];
  scopes: string[];
  limits: Record<'total' | 'minute' | 'hour' | 'day' | 'month' | 'maxConcurrent', number | null>;
  usage?: Record<string, number>;
  expiresAt: string | null;
  historyMode: string;
  token?: string;
}

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  return result.stdout;
}

/** A refused command: non-zero exit, one readable error on stderr, nothing on stdout. */
function refusedWith(result: CliResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, 'the command should fail');
  assert.equal(result.stdout, '', 'nothing on stdout');
  assert.match(result.stderr, /^error: /);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

function cli(dataDir: string) {
  return (...args: string[]) => runCli([...args, '--data-dir', dataDir]);
}

async function status(url: string, secret: string): Promise<number> {
  const res = await request(`${url}/api/tags`, { headers: { authorization: `Bearer ${secret}` } });
  await res.body.dump();
  return res.statusCode;
}

async function serverOn(t: TestContext, dataDir: string) {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, { dataDir });
  return { emulator, companion };
}

test('token create prints the secret alone on stdout; --json prints the record with it in "token"', async (t) => {
  const dataDir = tempDir(t);
  const run = cli(dataDir);
  const plain = await run('token', 'create', '--name', 'laptop');
  const out = ok(plain, 'token create');
  assert.equal(plain.stderr, '');
  assert.equal(out.split('\n').length, 2, 'one line');
  assert.ok(out.endsWith('\n'));
  const secret = out.trim();
  assert.ok(SECRET.test(secret), 'stdout holds the secret and nothing else');

  const json = await run(
    'token',
    'create',
    '--name',
    'ci',
    '--models',
    'llama3.2,qwen3:*',
    '--calls-per-day',
    '500',
    '--max-concurrent',
    '2',
    '--expires',
    '30d',
    '--json',
  );
  const record = JSON.parse(ok(json, 'token create --json')) as TokenView;
  assert.ok(SECRET.test(record.token ?? ''), 'the secret is in field "token"');
  assert.ok(record.token?.startsWith(record.prefix), 'the prefix is the start of the secret');
  assert.equal(record.name, 'ci');
  assert.deepEqual(record.models, ['llama3.2', 'qwen3:*']);
  assert.deepEqual(record.scopes, ['inference', 'embeddings', 'read']);
  assert.equal(record.limits.day, 500);
  assert.equal(record.limits.maxConcurrent, 2);
  assert.equal(record.status, 'active');
  const expires = Date.parse(record.expiresAt ?? '');
  assert.ok(Math.abs(expires - (Date.now() + 30 * 86_400_000)) < 60_000, 'expires in 30 days');

  // The secret is shown once: never again in list or show.
  const seen = await Promise.all([
    run('token', 'list'),
    run('token', 'list', '--json'),
    run('token', 'show', 'laptop', '--json'),
  ]);
  for (const text of seen.map((result) => ok(result, 'list/show'))) {
    assert.equal(text.includes(secret), false);
    assert.equal(text.includes(record.token!), false);
  }

  // Both secrets work against a server on that data dir.
  const { companion, emulator } = await serverOn(t, dataDir);
  assert.equal(await status(companion.url, secret), 200);
  assert.equal(await status(companion.url, record.token!), 200);
  assert.equal(JSON.stringify(emulator.requests).includes(secret), false);
});

test('a token made by the CLI works on the very next request to the running server', async (t) => {
  const { companion } = await serverOn(t, tempDir(t));
  const refused: string[] = [];
  for (let i = 0; i < 10; i++) {
    const made = await runCli(['token', 'create', '--name', `demo-${i}`, '--data-dir', companion.dataDir]);
    const secret = ok(made, 'token create').trim();
    // At once, as `TOKEN=$(ollama-companion token create …) && curl …` does.
    await ollamaClient(companion, secret)
      .list()
      .catch((error: Error) => refused.push(`demo-${i}: ${error.message}`));
  }
  assert.deepEqual(refused, [], 'every new token is accepted on its first request');
});

test('token list, show by name and by id', async (t) => {
  const run = cli(tempDir(t));
  ok(await run('token', 'create', '--name', 'alpha'), 'create alpha');
  ok(await run('token', 'create', '--name', 'beta', '--scopes', 'inference,show'), 'create beta');

  const [listed, listedJson] = await Promise.all([run('token', 'list'), run('token', 'list', '--json')]);
  const table = ok(listed, 'token list').trim().split('\n');
  assert.match(table[0] ?? '', /^NAME\s+PREFIX\s+STATUS/);
  assert.equal(table.length, 3);
  assert.match(table[1] ?? '', /^alpha\s+oc_\S+\s+active/);
  assert.match(table[2] ?? '', /^beta\s+oc_\S+\s+active\s+inference,show/);

  const all = JSON.parse(ok(listedJson, 'list --json')) as TokenView[];
  assert.deepEqual(
    all.map((v) => v.name),
    ['alpha', 'beta'],
  );
  const beta = all[1]!;

  const [nameResult, idResult, textResult, unknownResult] = await Promise.all([
    run('token', 'show', 'beta', '--json'),
    run('token', 'show', beta.id, '--json'),
    run('token', 'show', beta.id),
    run('token', 'show', 'gamma'),
  ]);
  const byName = JSON.parse(ok(nameResult, 'show by name')) as TokenView;
  const byId = JSON.parse(ok(idResult, 'show by id')) as TokenView;
  assert.equal(byName.id, beta.id);
  assert.deepEqual(byId, byName);
  assert.deepEqual(byName.scopes, ['inference', 'show']);
  assert.deepEqual(byName.usage, { total: 0, minute: 0, hour: 0, day: 0, month: 0 });

  const text = ok(textResult, 'show as text');
  assert.match(text, /^name:\s+beta$/m);
  assert.match(text, new RegExp(`^id:\\s+${beta.id}$`, 'm'));
  assert.match(text, /^status:\s+active$/m);

  refusedWith(unknownResult, /gamma/);
});

test('token update changes every policy setting; the running server applies it within a second', async (t) => {
  const dataDir = tempDir(t);
  const run = cli(dataDir);
  const secret = ok(await run('token', 'create', '--name', 'worker'), 'create').trim();
  const { companion } = await serverOn(t, dataDir);
  assert.equal(await status(companion.url, secret), 200);

  const updated = JSON.parse(
    ok(
      await run(
        'token',
        'update',
        'worker',
        '--models',
        'llama3*,nomic-embed-text',
        '--scopes',
        'inference,embeddings,read,show,metrics',
        '--max-calls',
        '1000',
        '--calls-per-minute',
        '10',
        '--calls-per-hour',
        '100',
        '--calls-per-day',
        '500',
        '--calls-per-month',
        '9000',
        '--max-concurrent',
        '3',
        '--expires',
        '2099-01-31',
        '--history',
        'metadata',
        '--json',
      ),
      'update',
    ),
  ) as TokenView;
  assert.deepEqual(updated.models, ['llama3*', 'nomic-embed-text']);
  assert.deepEqual(updated.scopes, ['inference', 'embeddings', 'read', 'show', 'metrics']);
  assert.deepEqual(updated.limits, {
    total: 1000,
    minute: 10,
    hour: 100,
    day: 500,
    month: 9000,
    maxConcurrent: 3,
  });
  assert.equal(updated.expiresAt, new Date(Date.parse('2099-01-31')).toISOString());
  assert.equal(updated.historyMode, 'metadata');

  // The running server sees the new model list: /api/tags narrows to the allowed models.
  const names = await eventually(async () => {
    const res = await request(`${companion.url}/api/tags`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    const body = (await res.body.json()) as { models: { name: string }[] };
    const list = body.models.map((m) => m.name).sort();
    return list.includes('qwen3:8b') ? undefined : list;
  }, 2000);
  assert.deepEqual(names, ['llama3.2:latest', 'nomic-embed-text:latest']);

  const lifted = JSON.parse(
    ok(
      await run('token', 'update', updated.id, '--max-calls', 'none', '--expires', 'never', '--json'),
      'lift',
    ),
  ) as TokenView;
  assert.equal(lifted.limits.total, null);
  assert.equal(lifted.expiresAt, null);
  assert.equal(lifted.limits.day, 500, 'other limits stay');

  const disabled = JSON.parse(ok(await run('token', 'update', 'worker', '--disable', '--json'), 'disable'));
  assert.equal((disabled as TokenView).status, 'disabled');
  await eventually(async () => ((await status(companion.url, secret)) === 403 ? true : undefined), 2000);
  ok(await run('token', 'update', 'worker', '--enable'), 'enable');
  await eventually(async () => ((await status(companion.url, secret)) === 200 ? true : undefined), 2000);

  const renamed = JSON.parse(
    ok(await run('token', 'update', 'worker', '--name', 'builder', '--json'), 'rename'),
  ) as TokenView;
  assert.equal(renamed.name, 'builder');
  assert.equal(renamed.id, updated.id);
  assert.equal(await status(companion.url, secret), 200, 'a rename keeps the secret working');
});

test('token revoke: at once refused by the running server, shown as revoked', async (t) => {
  const dataDir = tempDir(t);
  const run = cli(dataDir);
  const secret = ok(await run('token', 'create', '--name', 'leaked'), 'create').trim();
  const { companion } = await serverOn(t, dataDir);
  assert.equal(await status(companion.url, secret), 200);

  const revoked = await run('token', 'revoke', 'leaked');
  assert.match(ok(revoked, 'revoke'), /^revoked leaked \(oc_\S+\)\n$/);
  assert.equal(revoked.stdout.includes(secret), false);
  await eventually(async () => ((await status(companion.url, secret)) === 401 ? true : undefined), 1500);
  const shown = JSON.parse(ok(await run('token', 'show', 'leaked', '--json'), 'show')) as TokenView;
  assert.equal(shown.status, 'revoked');
  refusedWith(await run('token', 'revoke', 'never-existed'), /never-existed/);
});

test('bad token flags: non-zero exit, a readable error, nothing on stdout, nothing created', async (t) => {
  const run = cli(tempDir(t));
  ok(await run('token', 'create', '--name', 'existing'), 'create');
  const cases: [string[], RegExp][] = [
    [['token', 'create', '--name', 'x1', '--scopes', 'inference,admin'], /unknown scope "admin"/],
    [['token', 'create', '--name', 'x2', '--max-calls', 'abc'], /--max-calls/],
    [['token', 'create', '--name', 'x4', '--expires', 'someday'], /expir/],
    [['token', 'create', '--name', 'x5', '--expires', '2001-01-01'], /past/],
    [['token', 'create', '--name', 'x6', '--history', 'everything'], /--history/],
    [['token', 'create', '--name', 'existing'], /existing/],
    [['token', 'create', '--name', 'x8', '--bogus'], /unknown option '--bogus'/],
    [['token', 'update', 'existing', '--calls-per-day', 'lots'], /--calls-per-day/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(...args)));
  results.forEach((result, i) => {
    const [args, pattern] = cases[i]!;
    assert.doesNotThrow(() => refusedWith(result, pattern), `token ${args.slice(1).join(' ')}`);
  });
  const listed = JSON.parse(ok(await run('token', 'list', '--json'), 'list')) as TokenView[];
  assert.deepEqual(
    listed.map((v) => v.name),
    ['existing'],
  );
  assert.equal(listed[0]?.limits.day, null, 'a refused update changed nothing');
});

test('admin create reads the password from stdin; a short one is refused', async (t) => {
  const dataDir = tempDir(t);
  assert.equal(ok(await runCli(['admin', 'list', '--data-dir', dataDir]), 'empty list'), '');
  const made = await runCli(['admin', 'create', '--username', 'alice', '--data-dir', dataDir], {
    input: 'a long passphrase\n',
  });
  assert.match(ok(made, 'admin create'), /alice/);
  assert.equal(made.stdout.includes('a long passphrase'), false);
  const viewer = await runCli(
    ['admin', 'create', '--username', 'bob', '--role', 'viewer', '--data-dir', dataDir],
    {
      input: 'another long passphrase',
    },
  );
  ok(viewer, 'admin create viewer');

  const [short, taken, badRole] = await Promise.all([
    runCli(['admin', 'create', '--username', 'carol', '--data-dir', dataDir], { input: 'short\n' }),
    runCli(['admin', 'create', '--username', 'alice', '--data-dir', dataDir], {
      input: 'yet another passphrase',
    }),
    runCli(['admin', 'create', '--username', 'dave', '--role', 'god', '--data-dir', dataDir], {
      input: 'a long passphrase',
    }),
  ]);
  refusedWith(short, /password too short/);
  refusedWith(taken, /alice/);
  refusedWith(badRole, /--role/);

  const list = ok(await runCli(['admin', 'list', '--data-dir', dataDir]), 'admin list');
  assert.deepEqual(list.trim().split('\n'), ['alice\towner', 'bob\tviewer']);
  assert.equal(list.includes('passphrase'), false);
});

test('history export prints one JSON record per line; --token, --model and --since filter', async (t) => {
  const dataDir = tempDir(t);
  const run = cli(dataDir);
  const { companion, emulator } = await serverOn(t, dataDir);
  // One after the other, so once the server knows `two` it knows `one` as well.
  const one = ok(await run('token', 'create', '--name', 'one'), 'create').trim();
  const two = ok(await run('token', 'create', '--name', 'two'), 'create').trim();
  await eventually(async () => ((await status(companion.url, two)) === 200 ? true : undefined), 2000);
  const onDisk = (count: number) =>
    eventually(() => {
      void companion.companion.history.flush();
      const all = [...companion.companion.historyRepo.iterate({})];
      return all.length === count && all.every((r) => r.outcome !== 'in_progress') ? true : undefined;
    });

  const client = (secret: string) =>
    new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  await client(one).chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'first question' }] });
  await client(one).generate({ model: 'qwen3:8b', prompt: 'second question', stream: false });
  await client(two).chat({
    model: 'llama3.2:latest',
    messages: [{ role: 'user', content: 'third question' }],
  });
  // Every request of a known token is recorded, the /api/tags above included.
  await onDisk(4);
  const since = new Date(Date.now() + 5);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await client(two).embed({ model: 'nomic-embed-text', input: 'fourth' });
  await onDisk(5);

  const lines = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const twoId = companion.companion.tokens.get('two').id;
  const today = new Date().toISOString().slice(0, 10);
  const [everything, ofOne, ofTwo, llama, qwen, recent, sinceToday, future] = await Promise.all([
    run('history', 'export', '--format', 'jsonl'),
    run('history', 'export', '--token', 'one'),
    run('history', 'export', '--token', twoId),
    run('history', 'export', '--model', 'llama3.2'),
    run('history', 'export', '--model', 'qwen3:8b', '--token', 'one'),
    run('history', 'export', '--since', since.toISOString()),
    run('history', 'export', '--since', today),
    run('history', 'export', '--since', '2999-01-01'),
  ]);

  const all = lines(ok(everything, 'export'));
  assert.ok(everything.stdout.endsWith('\n'));
  assert.equal(everything.stdout.split('\n').length, all.length + 1, 'one record per line, no blank lines');
  assert.equal(all.length, 5);
  for (const record of all) {
    assert.equal(typeof record.id, 'string');
    assert.equal(record.originNode, companion.companion.nodeId);
    assert.equal(record.outcome, 'ok');
  }
  const chat = all.find((r) => r.endpoint === '/api/chat' && r.tokenName === 'one');
  assert.equal(chat?.answerContent, 'Echo: first question');
  assert.deepEqual((chat!.request as { messages: unknown }).messages, [
    { role: 'user', content: 'first question' },
  ]);
  for (const secret of [one, two]) assert.equal(everything.stdout.includes(secret), false);

  assert.deepEqual(
    lines(ok(ofOne, 'by token name')).map((r) => r.endpoint),
    ['/api/chat', '/api/generate'],
  );
  assert.deepEqual(
    lines(ok(ofTwo, 'by token id')).map((r) => r.endpoint),
    ['/api/tags', '/api/chat', '/api/embed'],
  );
  // `llama3.2` names the same model as `llama3.2:latest`, as in token model rules.
  assert.deepEqual(
    lines(ok(llama, 'by model'))
      .map((r) => r.tokenName)
      .sort(),
    ['one', 'two'],
  );
  const qwenLines = lines(ok(qwen, 'by model and token'));
  assert.equal(qwenLines.length, 1);
  assert.equal(qwenLines[0]?.answerContent, 'Echo: second question');
  assert.deepEqual(
    lines(ok(recent, 'since')).map((r) => r.endpoint),
    ['/api/embed'],
  );
  assert.equal(lines(ok(sinceToday, 'since a date')).length, 5);
  assert.equal(ok(future, 'since the future'), '');

  const [badDate, badToken, badFormat] = await Promise.all([
    run('history', 'export', '--since', 'last tuesday'),
    run('history', 'export', '--token', 'nobody'),
    run('history', 'export', '--format', 'xml'),
  ]);
  refusedWith(badDate, /--since/);
  refusedWith(badToken, /nobody/);
  refusedWith(badFormat, /--format/);
  assert.equal(JSON.stringify(emulator.requests).includes(one), false);
});

test('serve with a bad setting exits non-zero naming the setting: flag, environment, config file', async (t) => {
  const dataDir = tempDir(t);
  const serve = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(['serve', '--data-dir', dataDir, ...args], { env });
  const configFile = join(dataDir, 'bad.json');
  writeFileSync(configFile, JSON.stringify({ port: 'eleven' }));
  const unknownKey = join(dataDir, 'unknown.json');
  writeFileSync(unknownKey, JSON.stringify({ prot: 11435 }));

  const [flag, empty, env, file, unknown, upstream, range] = await Promise.all([
    serve(['--port', 'abc']),
    serve(['--port', '']),
    serve([], { OLLAMA_COMPANION_PORT: 'abc' }),
    serve(['--config', configFile]),
    serve(['--config', unknownKey]),
    serve(['--upstream', 'not a url']),
    serve(['--port', '70000']),
  ]);
  refusedWith(flag, /port.*flag --port/);
  refusedWith(empty, /port.*flag --port/);
  refusedWith(env, /port.*OLLAMA_COMPANION_PORT/);
  refusedWith(file, new RegExp(`port.*config file ${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  refusedWith(unknown, /unknown setting "prot"/);
  refusedWith(upstream, /upstream.*flag --upstream/);
  refusedWith(range, /port.*65535/);

  // The default config file in the data dir is read too.
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ logLevel: 'loud' }));
  refusedWith(await serve([]), /logLevel.*config\.json/);
});
