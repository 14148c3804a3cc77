/**
 * The command line as scripts use it: `token`, `admin`, `history export` and `serve`'s
 * refusal of bad settings, run as the real executable against a data dir, some of them
 * while a server runs on it.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ollama } from 'ollama';
import { request } from 'undici';
import { envName, settingNames } from '../src/config/config-schema.js';
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
const SECRET_LINE = /^oc_[A-Za-z0-9_-]{20,}\n$/;

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
  const plain = await run('token', 'create', '--name', 'laptop', '--init');
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
  ok(await run('token', 'create', '--name', 'alpha', '--init'), 'create alpha');
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
  const secret = ok(await run('token', 'create', '--name', 'worker', '--init'), 'create').trim();
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
  const secret = ok(await run('token', 'create', '--name', 'leaked', '--init'), 'create').trim();
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
  ok(await run('token', 'create', '--name', 'existing', '--init'), 'create');
  const cases: [string[], RegExp][] = [
    [['token', 'create', '--name', 'x1', '--scopes', 'inference,admin'], /unknown scope "admin"/],
    [['token', 'create', '--name', 'x2', '--max-calls', 'abc'], /--max-calls/],
    [['token', 'create', '--name', 'x4', '--expires', 'someday'], /expir/],
    [['token', 'create', '--name', 'x5', '--expires', '2001-01-01'], /past/],
    [['token', 'create', '--name', 'x6', '--history', 'everything'], /--history/],
    [['token', 'create', '--name', 'existing'], /existing/],
    [['token', 'create', '--name', 'x8', '--bogus'], /unknown option '--bogus'/],
    [['token', 'update', 'existing', '--calls-per-day', 'lots'], /--calls-per-day/],
    // An empty model list is refused, never read as "every model".
    [['token', 'create', '--name', 'x9', '--models', ''], /models is empty; .*"\*" for all local models/],
    [['token', 'update', 'existing', '--models', ' , '], /models is empty/],
    [
      ['token', 'update', 'existing', '--enable', '--disable'],
      /'--enable' cannot be used with option '--disable'/,
    ],
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
  assert.deepEqual(listed[0]?.models, ['*']);
  assert.equal(listed[0]?.status, 'active');
});

test('a revoked token’s name stays taken, and the refusal says why and what to do', async (t) => {
  const run = cli(tempDir(t));
  ok(await run('token', 'create', '--name', 'old', '--init'), 'create old');
  ok(await run('token', 'create', '--name', 'other'), 'create other');
  ok(await run('token', 'revoke', 'old'), 'revoke');
  const [again, rename, taken] = await Promise.all([
    run('token', 'create', '--name', 'old'),
    run('token', 'update', 'other', '--name', 'old'),
    run('token', 'create', '--name', 'other'),
  ]);
  for (const result of [again, rename]) {
    refusedWith(result, /a revoked token named "old" exists; revoked names stay taken .*choose another name/);
  }
  refusedWith(taken, /a token named "other" exists; choose another name/);
});

test('admin create reads the password from stdin; a short one is refused', async (t) => {
  const dataDir = tempDir(t);
  const made = await runCli(['admin', 'create', '--username', 'alice', '--init', '--data-dir', dataDir], {
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

/** A short-lived listener, to hold a port the way another program would. */
async function portInUse(t: TestContext): Promise<number> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as AddressInfo).port;
}

/** A read-only tmpfs, unmounted (then removed) when the test ends. */
function readOnlyMount(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'companion-ro-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
  t.after(() => {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function selfSignedPair(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

test('serve that cannot start says why in one line and exits non-zero, with no stack trace', async (t) => {
  const dir = tempDir(t);
  const port = await portInUse(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const readOnly = readOnlyMount(t);
  const one = selfSignedPair(dir, 'one');
  const two = selfSignedPair(dir, 'two');
  const serve = (...args: string[]) =>
    runCli(['serve', '--port', '0', '--data-dir', join(dir, 'data'), ...args], { timeoutMs: 20_000 });

  const cases: [string, Promise<CliResult>, RegExp][] = [
    [
      'port in use',
      serve('--port', String(port)),
      new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`),
    ],
    [
      'a host of another machine',
      serve('--host', '192.0.2.1'),
      /cannot listen on 192\.0\.2\.1: it is not an address of this machine.*--host/,
    ],
    [
      'a host that does not resolve',
      serve('--host', 'no-such-host.invalid'),
      /cannot listen on no-such-host\.invalid: the name does not resolve.*--host/,
    ],
    ['data dir is a file', serve('--data-dir', file), /data dir .*a-file is not a directory.*--data-dir/],
    [
      'data dir under a file',
      serve('--data-dir', join(file, 'sub')),
      /data dir .*a-file\/sub is not a directory.*--data-dir/,
    ],
    [
      'read-only data dir',
      serve('--data-dir', readOnly),
      /cannot write data dir .*companion-ro-\w+: the file system is read-only.*--data-dir/,
    ],
    [
      'data dir under /proc',
      serve('--data-dir', '/proc/x'),
      /cannot create data dir \/proc\/x: .*--data-dir/,
    ],
    [
      'missing certificate',
      serve('--tls-cert', join(dir, 'none.pem'), '--tls-key', one.key),
      /TLS certificate .*none\.pem does not exist; check --tls-cert/,
    ],
    [
      'swapped certificate and key',
      serve('--tls-cert', one.key, '--tls-key', one.cert),
      /--tls-cert .*one-key\.pem holds a private key and --tls-key .*one-cert\.pem a certificate; swap the two/,
    ],
    [
      'key of another certificate',
      serve('--tls-cert', one.cert, '--tls-key', two.key),
      /TLS key .*two-key\.pem does not belong to certificate .*one-cert\.pem/,
    ],
  ];
  const results = await Promise.all(cases.map(([, result]) => result));
  results.forEach((result, i) => {
    const [what, , pattern] = cases[i]!;
    assert.notEqual(result.code, null, `${what}: still running after 20 s`);
    assert.doesNotThrow(() => refusedWith(result, pattern), `${what}: ${result.stderr}`);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, `${what}: one line`);
  });

  // The stack, for a bug report, with --log-level debug.
  const debug = await serve('--port', String(port), '--log-level', 'debug');
  assert.notEqual(debug.code, 0);
  assert.match(debug.stderr, /^error: port \d+ on 127\.0\.0\.1 is already in use/);
  assert.match(debug.stderr, /\n\s+at /, 'the stack follows at debug level');
});

test('a database this user may not use, or one that is not a database: one line, no SqliteError stack', {
  skip: process.getuid?.() !== 0 && 'needs root, to run the command as another user',
}, async (t) => {
  const parent = tempDir(t);
  chmodSync(parent, 0o755);
  const dataDir = join(parent, 'data');
  ok(await runCli(['token', 'create', '--name', 'mine', '--init', '--data-dir', dataDir]), 'create');
  const asNobody = (dir: string) =>
    runCli(['token', 'list', '--data-dir', dir], { uid: 65534, gid: 65534, timeoutMs: 20_000 });
  // As made: the data dir is the owner's alone.
  refusedWith(
    await asNobody(dataDir),
    /cannot read or write data dir .*data: permission denied.*run as the user who owns it/,
  );
  // A data dir anyone may write to, but a database only its owner may change.
  chmodSync(dataDir, 0o777);
  for (const name of readdirSync(dataDir)) chmodSync(join(dataDir, name), 0o644);
  refusedWith(
    await asNobody(dataDir),
    /cannot read or write .*data\/companion\.db in the data dir: permission denied for user nobody/,
  );
  // A file that is not a SQLite database at all.
  const other = join(parent, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'companion.db'), 'not a database, but long enough to be read as one');
  refusedWith(
    await runCli(['token', 'list', '--data-dir', other]),
    /the database in .*other is not a companion database.*choose another --data-dir/,
  );
});

test('commands other than serve refuse a data dir without a database, naming it; --init makes one', async (t) => {
  const dir = tempDir(t);
  const typo = join(dir, 'compainon');
  const cases: [string[], RegExp][] = [
    [['token', 'create', '--name', 'demo'], /; pass --init to create an empty one here\)$/m],
    [['token', 'list'], /\(is --data-dir right\? `serve` creates it\)$/m],
    [['token', 'show', 'demo'], /serve` creates it/],
    [['history', 'export'], /serve` creates it/],
    [['admin', 'create', '--username', 'alice'], /pass --init/],
  ];
  const results = await Promise.all(
    cases.map(([args]) => runCli([...args, '--data-dir', typo], { input: 'a long passphrase' })),
  );
  results.forEach((result, i) => {
    const [args, pattern] = cases[i]!;
    refusedWith(
      result,
      new RegExp(`no companion database in ${typo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `),
    );
    assert.match(result.stderr, pattern, args.join(' '));
    assert.equal(result.stdout.includes('oc_'), false, 'no secret printed');
  });
  assert.equal(existsSync(typo), false, 'nothing was created');

  // Under /proc the refusal comes at once too, and --init says why it cannot make one there.
  const [proc, procInit] = await Promise.all([
    runCli(['token', 'create', '--name', 'demo', '--data-dir', '/proc/x'], { timeoutMs: 20_000 }),
    runCli(['token', 'create', '--name', 'demo', '--init', '--data-dir', '/proc/x'], { timeoutMs: 20_000 }),
  ]);
  refusedWith(proc, /no companion database in \/proc\/x/);
  refusedWith(procInit, /cannot create data dir \/proc\/x/);

  const made = await runCli(['token', 'create', '--name', 'demo', '--init', '--data-dir', typo]);
  assert.match(ok(made, 'create --init'), SECRET_LINE);
  assert.ok(existsSync(join(typo, 'companion.db')));
  assert.match(ok(await runCli(['token', 'list', '--data-dir', typo]), 'list'), /^demo\s/m);
});

test('--version prints the package version; serve --help lists every setting; update shows no defaults', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const [version, serveHelp, updateHelp, createHelp] = await Promise.all([
    runCli(['--version']),
    runCli(['serve', '--help']),
    runCli(['token', 'update', '--help']),
    runCli(['token', 'create', '--help']),
  ]);
  assert.equal(ok(version, '--version'), `${pkg.version}\n`);
  const help = ok(serveHelp, 'serve --help');
  for (const setting of settingNames) {
    assert.match(
      help,
      new RegExp(`^  ${setting} \\(${envName(setting)}[,)]`, 'm'),
      `${setting} and its variable`,
    );
  }
  assert.match(
    help,
    /^ {2}port \(OLLAMA_COMPANION_PORT, --port\)\n\s+Port to listen on\..*Default: 11435\./m,
  );
  assert.match(help, /config\.json/);
  assert.doesNotMatch(ok(updateHelp, 'update --help'), /default/i, 'update keeps what is not given');
  assert.match(ok(createHelp, 'create --help'), /--models <globs>[\s\S]*\(default: \*\)/);
});

test('npx ollama-companion works from the clone, as the README writes it', async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  // Offline: the executable must come from the clone itself, never from the registry.
  const result = await new Promise<CliResult>((resolve, reject) => {
    execFile(
      'npx',
      ['ollama-companion', '--version'],
      { cwd: root, env: { ...process.env, npm_config_offline: 'true' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && error.code === undefined) reject(error);
        else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
  assert.equal(ok(result, 'npx ollama-companion --version'), `${pkg.version}\n`);
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
