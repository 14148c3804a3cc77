/**
 * Cloud models of a signed-in Ollama (`gpt-oss:120b-cloud`, `gemma4:cloud`) run on the
 * owner's paid ollama.com account. A token for "all models" gets the local ones only:
 * cloud models are missing from its listings and refused with a 403 that says why,
 * until the token is granted them by pattern or by name.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { emulatorFor, ollamaClient, runCli, startCompanion } from './support/companion-harness.js';
import { cloudModels, defaultModels } from './support/ollama-emulator.js';

const LOCAL = ['llama3.2:latest', 'qwen3:8b', 'nomic-embed-text:latest'];
const CLOUD = ['gpt-oss:120b-cloud', 'gemma4:cloud'];
const WHY = /is a cloud model, billed to the owner's ollama\.com account; this token has no cloud grant/;

async function setup(t: TestContext) {
  const emulator = await emulatorFor(t, {
    models: [...defaultModels(), ...cloudModels()],
    loaded: ['llama3.2:latest', 'gpt-oss:120b-cloud'],
  });
  const companion = await startCompanion(t, emulator.url);
  return { emulator, companion };
}

async function listings(url: string, secret: string) {
  const get = async (path: string) => {
    const res = await request(`${url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(res.statusCode, 200, path);
    return (await res.body.json()) as { models?: Array<{ name: string }>; data?: Array<{ id: string }> };
  };
  return {
    tags: (await get('/api/tags')).models?.map((m) => m.name).sort(),
    ps: (await get('/api/ps')).models?.map((m) => m.name).sort(),
    v1: (await get('/v1/models')).data?.map((m) => m.id).sort(),
  };
}

test('a token for all models sees and uses local models only; cloud ones are hidden and refused', async (t) => {
  const { emulator, companion } = await setup(t);
  const secret = companion.token('everything-local');

  assert.deepEqual(await listings(companion.url, secret), {
    tags: [...LOCAL].sort(),
    ps: ['llama3.2:latest'],
    v1: [...LOCAL].sort(),
  });

  emulator.reset();
  const ollama = ollamaClient(companion, secret);
  await assert.rejects(
    ollama.chat({ model: 'gpt-oss:120b-cloud', messages: [{ role: 'user', content: 'hi' }], stream: false }),
    (error: { status_code?: number; message: string }) =>
      error.status_code === 403 && WHY.test(error.message),
  );
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, maxRetries: 0 });
  await assert.rejects(
    openai.chat.completions.create({ model: 'gemma4:cloud', messages: [{ role: 'user', content: 'hi' }] }),
    (error: Error) => error instanceof OpenAI.PermissionDeniedError && WHY.test(error.message),
  );
  const show = await request(`${companion.url}/api/show`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'gpt-oss:120b-cloud' }),
  });
  assert.equal(show.statusCode, 403);
  await show.body.dump();
  assert.deepEqual(emulator.requests, [], 'nothing about a cloud model reached Ollama');

  const local = await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'hi' }],
    stream: false,
  });
  assert.equal(local.message.content, 'Echo: hi');
});

test('cloud patterns grant every cloud model; an exact name grants that one only', async (t) => {
  const { companion } = await setup(t);
  const both = companion.token('with-cloud', { models: ['*', '*-cloud', '*:cloud'] });
  assert.deepEqual(await listings(companion.url, both), {
    tags: [...LOCAL, ...CLOUD].sort(),
    ps: ['gpt-oss:120b-cloud', 'llama3.2:latest'],
    v1: [...LOCAL, ...CLOUD].sort(),
  });
  const answer = await ollamaClient(companion, both).chat({
    model: 'gpt-oss:120b-cloud',
    messages: [{ role: 'user', content: 'hello cloud' }],
    stream: false,
  });
  assert.equal(answer.message.content, 'Echo: hello cloud');

  const one = companion.token('one-cloud-model', { models: ['gemma4:cloud'] });
  assert.deepEqual(await listings(companion.url, one), {
    tags: ['gemma4:cloud'],
    ps: [],
    v1: ['gemma4:cloud'],
  });
  const client = ollamaClient(companion, one);
  const ok = await client.generate({ model: 'gemma4:cloud', prompt: 'fine', stream: false });
  assert.equal(ok.response, 'Echo: fine');
  await assert.rejects(
    client.generate({ model: 'gpt-oss:120b-cloud', prompt: 'not this one', stream: false }),
    (error: { status_code?: number; message: string }) =>
      error.status_code === 403 && /is a cloud model/.test(error.message),
  );

  const glob = companion.token('gpt-oss-family', { models: ['gpt-oss*'] });
  await assert.rejects(
    ollamaClient(companion, glob).generate({ model: 'gpt-oss:120b-cloud', prompt: 'x', stream: false }),
    (error: { status_code?: number }) => error.status_code === 403,
    'a local glob does not reach the cloud model of the same family',
  );
});

test('`token create --help` says how cloud models are granted', async () => {
  const help = await runCli(['token', 'create', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(
    help.stdout.replace(/\s+/g, ' '),
    /all local models; cloud models need their names or "\*-cloud,\*:cloud"/,
  );
});
