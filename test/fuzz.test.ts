/**
 * A seeded fuzz run against a real companion in front of the Ollama emulator: at least
 * 10,000 raw HTTP requests across every kind of endpoint, with broken JSON, wrong types,
 * huge strings, deep nesting, invalid UTF-8, odd headers and methods and path tricks.
 * Between the companion and the emulator sits a recorder that notes what reached
 * "Ollama" and what it answered, so the run can check, request by request:
 *   - the companion never answers 5xx of its own (a 5xx must be Ollama's, relayed);
 *   - nothing it refused (400/401/403/404/405/413/429 of its own) reached Ollama, and
 *     no token secret did either;
 *   - every well-formed request gets an answer;
 *   - afterwards it still answers, and a normal request is still recorded in history.
 * The seed is printed; `FUZZ_SEED=<n>` replays a run.
 */
import assert from 'node:assert/strict';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { emulatorFor, eventually, ollamaClient, startCompanion } from './support/companion-harness.js';
import { cloudModels, defaultModels } from './support/ollama-emulator.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_204);
const REQUESTS = 10_000;
const CONCURRENCY = 16;
/** A request the companion leaves unanswered this long counts as "no answer". */
const ANSWER_WITHIN_MS = 5_000;
const BODY_LIMIT = 256 * 1024;

// ---------------------------------------------------------------------------------------
// A small seeded PRNG (mulberry32) and helpers
// ---------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(private readonly next: () => number) {}
  float(): number {
    return this.next();
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((sum, [w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [w, value] of items) {
      roll -= w;
      if (roll < 0) return value;
    }
    return items[items.length - 1]![1];
  }
  text(length: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;:!?"\'\\/{}[]<>&%$#@éß漢😀\n\t';
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------

type BodyKind =
  | 'generate'
  | 'chat'
  | 'embed'
  | 'show'
  | 'openai-chat'
  | 'openai-completion'
  | 'openai-embed'
  | 'anthropic'
  | 'responses'
  | 'pull'
  | 'login'
  | 'none';

interface Target {
  method: string;
  path: string;
  body: BodyKind;
}

const TARGETS: Array<readonly [number, Target]> = [
  [10, { method: 'POST', path: '/api/generate', body: 'generate' }],
  [12, { method: 'POST', path: '/api/chat', body: 'chat' }],
  [6, { method: 'POST', path: '/api/embed', body: 'embed' }],
  [4, { method: 'POST', path: '/api/show', body: 'show' }],
  [5, { method: 'GET', path: '/api/tags', body: 'none' }],
  [2, { method: 'GET', path: '/api/ps', body: 'none' }],
  [2, { method: 'GET', path: '/api/version', body: 'none' }],
  [2, { method: 'GET', path: '/', body: 'none' }],
  [10, { method: 'POST', path: '/v1/chat/completions', body: 'openai-chat' }],
  [5, { method: 'POST', path: '/v1/completions', body: 'openai-completion' }],
  [5, { method: 'POST', path: '/v1/embeddings', body: 'openai-embed' }],
  [6, { method: 'POST', path: '/v1/messages', body: 'anthropic' }],
  [5, { method: 'POST', path: '/v1/responses', body: 'responses' }],
  [3, { method: 'GET', path: '/v1/models', body: 'none' }],
  [2, { method: 'GET', path: '/v1/models/llama3.2', body: 'none' }],
  [2, { method: 'POST', path: '/api/pull', body: 'pull' }],
  [1, { method: 'DELETE', path: '/api/delete', body: 'pull' }],
  [1, { method: 'POST', path: '/api/blobs/sha256:0000', body: 'none' }],
  [4, { method: 'GET', path: '/api/nope', body: 'none' }],
  [2, { method: 'POST', path: '/v2/chat', body: 'chat' }],
  [1, { method: 'GET', path: '/admin/api/tokens', body: 'none' }],
  [1, { method: 'POST', path: '/admin/api/login', body: 'login' }],
];

const MODELS = [
  'llama3.2',
  'llama3.2:latest',
  'qwen3:8b',
  'nomic-embed-text',
  'no-such-model',
  'gpt-oss:120b-cloud',
  'gemma4:cloud',
  'registry.ollama.ai/library/llama3.2',
  '../../etc/passwd',
  '',
];

function validBody(kind: BodyKind, dice: Dice): Record<string, unknown> | undefined {
  const model = dice.chance(0.8) ? dice.pick(MODELS.slice(0, 4)) : dice.pick(MODELS);
  const stream = dice.pick([true, false, undefined]);
  const content = dice.text(dice.int(40));
  switch (kind) {
    case 'generate':
      return { model, prompt: content, stream, options: { temperature: dice.float() } };
    case 'chat':
      return { model, messages: [{ role: dice.pick(['user', 'system', 'assistant']), content }], stream };
    case 'embed':
      return { model: dice.pick(['nomic-embed-text', model]), input: dice.pick([content, [content, 'x']]) };
    case 'show':
      return { model };
    case 'openai-chat':
      return { model, messages: [{ role: 'user', content }], stream: stream ?? false };
    case 'openai-completion':
      return { model, prompt: content, stream: stream ?? false, max_tokens: dice.int(50) };
    case 'openai-embed':
      return { model: 'nomic-embed-text', input: content };
    case 'anthropic':
      return { model, max_tokens: 1 + dice.int(100), messages: [{ role: 'user', content }], stream };
    case 'responses':
      return { model, input: content, stream: stream ?? false };
    case 'pull':
      return { model, stream: false };
    case 'login':
      return { username: dice.pick(['olivia', 'root', '', 'a'.repeat(300)]), password: dice.text(12) };
    case 'none':
      return undefined;
  }
}

function nested(depth: number, open: string, close: string, core: string): string {
  return open.repeat(depth) + core + close.repeat(depth);
}

/** Raw bytes that are not valid UTF-8, for splicing into a JSON string. */
const BAD_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0x80]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
];

const WRONG_VALUES: unknown[] = [123, -1, 1e308, true, null, 'x', '', [], [1, 'a'], {}, { nested: { x: 1 } }];

/** The body bytes and a label saying how they were broken. */
function makeBody(kind: BodyKind, dice: Dice): { body: Buffer | undefined; label: string } {
  const valid = validBody(kind, dice);
  if (valid === undefined) {
    if (dice.chance(0.9)) return { body: undefined, label: 'no-body' };
    return { body: Buffer.from(dice.text(20)), label: 'body-on-get' };
  }
  const text = JSON.stringify(valid);
  const mutation = dice.weighted<string>([
    [40, 'valid'],
    [10, 'invalid-json'],
    [12, 'wrong-type'],
    [2, 'huge-string'],
    [3, 'deep-nesting'],
    [6, 'bad-utf8'],
    [6, 'odd-keys'],
    [5, 'random-json'],
    [2, 'empty'],
    [1, 'over-limit'],
    [1, 'nul-bytes'],
  ]);
  switch (mutation) {
    case 'valid':
      return { body: Buffer.from(text), label: mutation };
    case 'invalid-json': {
      const broken = dice.pick([
        () => text.slice(0, dice.int(text.length)),
        () => `${text}${dice.pick(['}', ']', ',', 'garbage', '{"a":1}'])}`,
        () => text.replace(/"/g, "'"),
        () => text.replace(':', ''),
        () => '{"model": NaN}',
        () => '{"model":"llama3.2",}',
        () => `{"model":"llama3.2","prompt":"\\x41"}`,
        () => `{"model":"llama3.2","prompt":"\\ud800"}`,
        () => dice.text(50),
      ])();
      return { body: Buffer.from(broken), label: mutation };
    }
    case 'wrong-type': {
      const fields = [
        ...Object.keys(valid),
        'stream',
        'options',
        'messages',
        'tools',
        'images',
        'format',
        'keep_alive',
      ];
      const copy: Record<string, unknown> = { ...valid, [dice.pick(fields)]: dice.pick(WRONG_VALUES) };
      if (dice.chance(0.3)) copy[dice.pick(fields)] = dice.pick(WRONG_VALUES);
      if (Array.isArray(copy.messages) && dice.chance(0.4)) {
        copy.messages = [
          dice.pick([{ role: 1, content: 'x' }, { role: 'user', content: [1, 2] }, 'hi', null]),
        ];
      }
      return { body: Buffer.from(JSON.stringify(copy)), label: mutation };
    }
    case 'huge-string': {
      const big = 'A'.repeat(32 * 1024 + dice.int(80 * 1024));
      const copy = { ...valid, prompt: big, messages: [{ role: 'user', content: big }] };
      return { body: Buffer.from(JSON.stringify(copy)), label: mutation };
    }
    case 'deep-nesting': {
      const depth = 1000 + dice.int(4001);
      const deep = dice.chance(0.5) ? nested(depth, '[', ']', '1') : nested(depth, '{"a":', '}', '1');
      const where = dice.pick(['options', 'prompt', 'content', 'top']);
      const model = JSON.stringify(valid.model ?? 'llama3.2');
      const raw =
        where === 'options'
          ? `{"model":${model},"prompt":"x","stream":false,"options":{"a":${deep}}}`
          : where === 'prompt'
            ? `{"model":${model},"prompt":${deep},"stream":false}`
            : where === 'content'
              ? `{"model":${model},"messages":[{"role":"user","content":${deep}}],"stream":false}`
              : deep;
      return { body: Buffer.from(raw), label: `${mutation}-${where}` };
    }
    case 'bad-utf8': {
      const at = text.indexOf('"', text.indexOf(':') + 2);
      const cut = at > 0 ? at : Math.floor(text.length / 2);
      const bytes = Buffer.concat([
        Buffer.from(text.slice(0, cut)),
        dice.pick(BAD_UTF8),
        Buffer.from(text.slice(cut)),
      ]);
      return { body: bytes, label: mutation };
    }
    case 'odd-keys': {
      const raw = dice.pick([
        () => text.replace('{', '{"__proto__":{"admin":true},'),
        () => text.replace('{', '{"constructor":{"prototype":{"x":1}},'),
        () => text.replace('"model"', '"Model"'),
        () => text.replace('{', '{"model":"qwen3:8b",'),
        () => text.replace('"model"', '"\\u006dodel"'),
        () => text.replace('"model"', '"MODEL"').replace('{', '{"model":"llama3.2",'),
        () => text.replace('"stream"', '"ſtream"'),
      ])();
      return { body: Buffer.from(raw), label: mutation };
    }
    case 'random-json':
      return { body: Buffer.from(JSON.stringify(randomJson(dice, 3))), label: mutation };
    case 'empty':
      return { body: Buffer.alloc(0), label: mutation };
    case 'over-limit':
      return { body: Buffer.alloc(BODY_LIMIT + 1 + dice.int(1024), 0x20), label: mutation };
    case 'nul-bytes':
      return { body: Buffer.from(text.replace('"model"', '"mo\u0000del"')), label: mutation };
    default:
      throw new Error(`unknown mutation ${mutation}`);
  }
}

function randomJson(dice: Dice, depth: number): unknown {
  const kind = depth <= 0 ? dice.int(4) : dice.int(6);
  switch (kind) {
    case 0:
      return dice.text(dice.int(20));
    case 1:
      return dice.float() * 1e6 - 5e5;
    case 2:
      return dice.pick([true, false, null]);
    case 3:
      return dice.int(10);
    case 4:
      return Array.from({ length: dice.int(4) }, () => randomJson(dice, depth - 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = dice.int(5); i > 0; i--) {
        out[dice.pick(['model', 'prompt', 'messages', 'stream', 'options', 'x', dice.text(4)])] = randomJson(
          dice,
          depth - 1,
        );
      }
      return out;
    }
  }
}

interface Secrets {
  full: string;
  narrow: string;
  quota: string;
}

interface Case {
  id: number;
  label: string;
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  body: Buffer | undefined;
  /** Sent on its own connection with `Connection: close`: it may break the connection. */
  fresh: boolean;
  /** Not valid HTTP (or over Node's limits): Node may close the connection without an answer. */
  malformed: boolean;
}

const PATH_TRICKS: Array<(path: string) => string> = [
  (p) => `/api/..${p}`,
  (p) => `/api/../admin/api/tokens?x=${p}`,
  (p) => p.replace('/api/', '/api/%2e%2e/'),
  (p) => p.replace(/^\//, '//'),
  (p) => p.replace(/\/(?=[^/]*$)/, '%2F'),
  (p) => p.replace(/\/(?=[^/]*$)/, '%2f'),
  (p) => `${p}/`,
  (p) => p.toUpperCase(),
  (p) => p.replace('/api/', '/api/./'),
  (p) => p.replace('/', '\\'),
  (p) => `${p}%00`,
  (p) => `${p};jsessionid=1`,
  (p) => `/t/${p}`,
  (p) => `/t//api${p}`,
  (p) => `${p}?${'q='.repeat(200)}`,
  (p) => `${p}\u00e9`,
  (p) => p.replace('/api/', '/%61pi/'),
];

function makeCase(id: number, dice: Dice, secrets: Secrets): Case {
  const target = dice.weighted(TARGETS);
  const { body, label: bodyLabel } = makeBody(target.body, dice);
  const labels = [`${target.method} ${target.path}`, bodyLabel];
  let method = target.method;
  let path = target.path;
  let fresh = false;
  let malformed = false;
  const headers: OutgoingHttpHeaders = {};

  // Who the request claims to be.
  const who = dice.weighted<string>([
    [55, 'bearer'],
    [8, 'none'],
    [5, 'wrong'],
    [3, 'placeholder'],
    [5, 'basic'],
    [5, 'x-api-key'],
    [3, 'duplicate'],
    [8, 'path'],
    [5, 'narrow'],
    [3, 'quota'],
  ]);
  labels.push(who);
  const secret = who === 'narrow' ? secrets.narrow : who === 'quota' ? secrets.quota : secrets.full;
  switch (who) {
    case 'bearer':
    case 'narrow':
    case 'quota':
      headers.authorization = `Bearer ${secret}`;
      break;
    case 'wrong':
      headers.authorization = `Bearer oc_${dice.text(10).replace(/[^A-Za-z0-9]/g, 'x')}`;
      break;
    case 'placeholder':
      headers.authorization = `Bearer ${dice.pick(['ollama', 'na', '', 'local'])}`;
      break;
    case 'basic':
      headers.authorization = `Basic ${Buffer.from(`user:${secret}`).toString('base64')}`;
      break;
    case 'x-api-key':
      headers['x-api-key'] = secret;
      break;
    case 'duplicate':
      // Two Authorization lines on the wire.
      (headers as Record<string, string[]>).authorization = dice.pick([
        [`Bearer ${secret}`, 'Bearer oc_wrong'],
        ['Bearer oc_wrong', `Bearer ${secret}`],
        [`Bearer ${secret}`, `Bearer ${secret}`],
      ]);
      break;
    case 'path':
      path = `/t/${dice.chance(0.8) ? secret : 'oc_notatoken'}${path}`;
      break;
  }

  if (dice.chance(0.08)) {
    const trick = dice.pick(PATH_TRICKS);
    path = trick(path);
    labels.push('path-trick');
    // Node's parser refuses such a request line (400) and closes the connection.
    if (!/^\/[\x21-\x7e]*$/.test(path)) {
      fresh = true;
      malformed = true;
    }
  }
  if (dice.chance(0.05)) {
    path += `${path.includes('?') ? '&' : '?'}${dice.pick(['api_key', 'key', 'token', 'x'])}=${encodeURIComponent(secrets.full)}`;
    labels.push('query-secret');
  }
  if (dice.chance(0.07)) {
    method = dice.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'GET', 'POST', 'PROPFIND', 'MKCOL']);
    labels.push('odd-method');
  }
  if (dice.chance(0.01)) {
    method = dice.pick(['FOO', 'BREW', 'GETS']);
    labels.push('unknown-method');
    fresh = true;
    malformed = true;
  }

  headers['content-type'] = dice.weighted<string | undefined>([
    [70, 'application/json'],
    [10, undefined],
    [8, 'text/plain'],
    [4, 'application/x-www-form-urlencoded'],
    [4, 'multipart/form-data; boundary=x'],
    [4, 'application/json; charset=latin1'],
  ]);
  if (headers['content-type'] === undefined) delete headers['content-type'];
  if (dice.chance(0.05)) {
    headers.origin = dice.pick([
      'http://localhost:3000',
      'https://evil.example',
      'app://obsidian.md',
      'null',
    ]);
    labels.push('origin');
  }
  if (dice.chance(0.03)) {
    headers.accept = dice.pick(['text/event-stream', '*/*', 'application/x-ndjson', '\u00ff']);
  }
  if (dice.chance(0.02)) {
    // Node's default limit on the whole head is 16 KiB: some of these pass, some get 431.
    headers['x-junk'] = 'j'.repeat(4096 + dice.int(16 * 1024));
    labels.push('huge-header');
    fresh = true;
    malformed = true;
  }
  if (dice.chance(0.03)) {
    headers['x-forwarded-for'] = dice.pick(['1.2.3.4', '::1, 10.0.0.1', 'garbage', '']);
  }
  if (dice.chance(0.02) && body !== undefined && body.length > 2) {
    // Shorter than the body (a longer one would leave the server waiting for the rest).
    headers['content-length'] = dice.pick([String(dice.int(body.length)), 'abc', '-1', '1, 2', '0x10']);
    labels.push('bad-content-length');
    fresh = true;
    malformed = true;
  } else if (dice.chance(0.02) && body !== undefined) {
    headers['transfer-encoding'] = 'chunked';
    labels.push('chunked');
  }
  if (dice.chance(0.01)) {
    headers['content-encoding'] = dice.pick(['gzip', 'br', 'identity']);
    labels.push('content-encoding');
  }
  // The id travels in User-Agent, one of the few headers the companion passes to Ollama.
  headers['user-agent'] = `fuzz/${id}`;
  return { id, label: labels.join(' | '), method, path, headers, body, fresh, malformed };
}

// ---------------------------------------------------------------------------------------
// The recorder between the companion and the emulator
// ---------------------------------------------------------------------------------------

interface Recorder {
  url: string;
  /** Status Ollama answered, by fuzz id. */
  answered: Map<number, number>;
  /** Every request target and header block that reached Ollama, for the secret check. */
  seen: string[];
}

function fuzzId(headers: IncomingHttpHeaders): number | undefined {
  const match = /^fuzz\/(\d+)$/.exec(headers['user-agent'] ?? '');
  return match ? Number(match[1]) : undefined;
}

async function recorder(t: TestContext, upstream: string): Promise<Recorder> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const answered = new Map<number, number>();
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const id = fuzzId(req.headers);
    seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
    const out = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (answer) => {
        if (id !== undefined) answered.set(id, answer.statusCode ?? 0);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    agent.destroy();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, answered, seen };
}

// ---------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------

interface Outcome {
  status: number | 'error' | 'timeout';
  detail: string;
}

function send(base: URL, c: Case, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const headers: OutgoingHttpHeaders = { ...c.headers };
    if (c.fresh) headers.connection = 'close';
    let req: ReturnType<typeof httpRequest>;
    try {
      req = httpRequest({
        host: base.hostname,
        port: base.port,
        method: c.method,
        path: c.path,
        headers,
        agent: c.fresh ? false : agent,
      });
    } catch (error) {
      done({ status: 'error', detail: `client refused to send: ${(error as Error).message}` });
      return;
    }
    timer = setTimeout(() => {
      done({ status: 'timeout', detail: `no answer within ${ANSWER_WITHIN_MS} ms` });
      req.destroy();
    }, ANSWER_WITHIN_MS);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < 2048) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () =>
        done({ status: res.statusCode ?? 0, detail: Buffer.concat(chunks).toString('utf8').slice(0, 300) }),
      );
      res.on('error', (error) => done({ status: res.statusCode ?? 0, detail: `body cut: ${error.message}` }));
      res.on('aborted', () => done({ status: res.statusCode ?? 0, detail: 'body aborted' }));
    });
    req.on('error', (error) => done({ status: 'error', detail: error.message }));
    if (c.body !== undefined && c.headers['transfer-encoding'] === 'chunked') {
      const half = Math.floor(c.body.length / 2);
      req.write(c.body.subarray(0, half));
      req.end(c.body.subarray(half));
    } else {
      if (c.body !== undefined && c.headers['content-length'] === undefined) {
        req.setHeader('content-length', c.body.length);
      }
      req.end(c.body);
    }
  });
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

/** Statuses the companion answers itself when it refuses a request. */
const REFUSALS = new Set([400, 401, 403, 404, 405, 413, 415, 429, 431]);

test(`fuzz: ${REQUESTS} seeded requests leave the companion answering, honest and recording`, async (t) => {
  t.diagnostic(`seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  const emulator = await emulatorFor(t, { models: [...defaultModels(), ...cloudModels()], chunks: 3 });
  const relay = await recorder(t, emulator.url);
  const companion = await startCompanion(t, relay.url, { bodyLimitBytes: BODY_LIMIT });
  const secrets: Secrets = {
    full: companion.token('fuzz-full', { scopes: ['inference', 'embeddings', 'read', 'show'] }),
    narrow: companion.token('fuzz-narrow', { models: ['llama3*'], scopes: ['inference', 'read'] }),
    quota: companion.token('fuzz-quota', { calls: { minute: 3 } }),
  };
  const base = new URL(companion.url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.after(() => agent.destroy());

  const dice = new Dice(mulberry32(SEED));
  const cases = Array.from({ length: REQUESTS }, (_, i) => makeCase(i + 1, dice, secrets));
  const outcomes = new Array<Outcome>(cases.length);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) {
        const index = next++;
        outcomes[index] = await send(base, cases[index]!, agent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  const statuses = new Map<string, number>();
  const findings: string[] = [];
  const finding = (c: Case, o: Outcome, what: string) => {
    findings.push(
      `#${c.id} ${what}: ${c.method} ${c.path.slice(0, 120)} [${c.label}] body ${c.body?.length ?? 0} B ` +
        `→ ${o.status} ${o.detail.slice(0, 200)}`,
    );
  };
  for (const [index, c] of cases.entries()) {
    const o = outcomes[index]!;
    statuses.set(String(o.status), (statuses.get(String(o.status)) ?? 0) + 1);
    const upstream = relay.answered.get(c.id);
    if (o.status === 'timeout') {
      finding(c, o, 'no answer');
      continue;
    }
    if (o.status === 'error') {
      if (!c.malformed) finding(c, o, 'connection failed on a well-formed request');
      continue;
    }
    if (o.status >= 500 && upstream !== o.status) {
      finding(c, o, `5xx from the companion itself (Ollama answered ${upstream ?? 'nothing'})`);
    }
    if (REFUSALS.has(o.status) && upstream !== undefined && upstream !== o.status) {
      finding(c, o, `refused with ${o.status} but reached Ollama (which answered ${upstream})`);
    }
  }
  for (const line of relay.seen) {
    for (const [name, secret] of Object.entries(secrets)) {
      if (line.includes(secret) || line.includes(encodeURIComponent(secret))) {
        findings.push(`the ${name} token reached Ollama: ${line.slice(0, 200)}`);
      }
    }
  }
  const summary = [...statuses.entries()].sort().map(([s, n]) => `${s}: ${n}`);
  t.diagnostic(
    `${cases.length} requests in ${seconds.toFixed(1)} s; ${relay.answered.size} reached Ollama; ${summary.join(', ')}`,
  );
  const shown = findings.slice(0, 40).join('\n');
  assert.equal(findings.length, 0, `the fuzz run (seed ${SEED}) found ${findings.length}:\n${shown}`);

  // Still answering, and still recording history.
  const root = await send(
    base,
    {
      id: 0,
      label: 'after',
      method: 'GET',
      path: '/',
      headers: { authorization: `Bearer ${secrets.full}` },
      body: undefined,
      fresh: true,
      malformed: false,
    },
    agent,
  );
  assert.equal(root.status, 200, `GET / after the run: ${root.detail}`);
  const marker = `after the fuzz run ${SEED}`;
  const since = Date.now() - 1000;
  const answer = await ollamaClient(companion, secrets.full).chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: marker }],
    stream: false,
  });
  assert.equal(answer.message.content, `Echo: ${marker}`);
  await eventually(() => {
    void companion.companion.history.flush();
    for (const record of companion.companion.historyRepo.iterate({ since })) {
      if (record.outcome === 'ok' && record.answerContent === `Echo: ${marker}`) return true;
    }
    return undefined;
  }, 5000);
});
