import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompanionError } from '../errors/companion-error.js';
import { compileModelPattern, compileModelRules, isCloudModel, normalizeModelName } from './model-rules.js';

test('names are compared the way Ollama resolves them', () => {
  assert.equal(normalizeModelName('llama3.2'), 'llama3.2:latest');
  assert.equal(normalizeModelName('llama3.2:latest'), 'llama3.2:latest');
  assert.equal(normalizeModelName('registry.ollama.ai/library/llama3.2'), 'llama3.2:latest');
  assert.equal(normalizeModelName('Qwen3:8B'), 'qwen3:8b');
  assert.equal(normalizeModelName('example.com:5000/team/model'), 'example.com:5000/team/model:latest');
});

test('an exact rule allows the model under each of its names, and nothing else', () => {
  const allows = compileModelRules(['llama3.2']);
  for (const name of ['llama3.2', 'llama3.2:latest', 'registry.ollama.ai/library/llama3.2:latest']) {
    assert.ok(allows(name), name);
  }
  for (const name of ['llama3.2:1b', 'llama3', 'llama3.2-evil', 'qwen3:8b', 'other/llama3.2']) {
    assert.ok(!allows(name), name);
  }
});

test('globs match the name as written or as Ollama resolves it', () => {
  const llama = compileModelRules(['llama3*']);
  for (const name of ['llama3', 'llama3.2', 'llama3.2:1b', 'llama3:70b']) assert.ok(llama(name), name);
  for (const name of ['qwen3:8b', 'codellama3', 'nomic-embed-text']) assert.ok(!llama(name), name);

  const qwen = compileModelRules(['qwen3:*']);
  assert.ok(qwen('qwen3:8b'));
  assert.ok(qwen('qwen3'), 'qwen3 is qwen3:latest');
  assert.ok(!qwen('qwen3.5:8b'));
  assert.ok(!qwen('llama3.2'));

  assert.ok(!llama('llama3.evil.example/ns/x'), 'a glob does not cross into another registry or namespace');
  assert.ok(
    compileModelRules(['hf.co/*/*'])('hf.co/unsloth/gemma-3'),
    'namespaces are matched segment by segment',
  );

  const dots = compileModelRules(['llama3.?']);
  assert.ok(dots('llama3.2'));
  assert.ok(!dots('llama3x2'), 'a dot in a rule is a dot, not any character');
});

test('several rules allow the union; no rules or "*" allow every local model', () => {
  const both = compileModelRules(['llama3.2', 'qwen3:*']);
  assert.ok(both('llama3.2') && both('qwen3:8b'));
  assert.ok(!both('nomic-embed-text'));
  assert.ok(compileModelRules([])('anything'));
  assert.ok(compileModelRules(['*'])('anything'));
});

test('empty or blank rules are refused when a token is made', () => {
  for (const rule of ['', '  ', 'llama 3']) {
    assert.throws(
      () => compileModelRules([rule]),
      (error: unknown) => error instanceof CompanionError && error.status === 400,
    );
  }
});

test('cloud models are told by their tag (cloud, …-cloud) or a name ending in -cloud', () => {
  for (const name of [
    'gpt-oss:120b-cloud',
    'gemma4:cloud',
    'GLM-4.6:Cloud',
    'kimi-k2-cloud',
    'team/x:cloud',
    'gemma4:cloud@sha256:0a1b',
    ' Registry.Ollama.AI/library/gpt-oss:20B-Cloud ',
  ]) {
    assert.ok(isCloudModel(name), name);
  }
  for (const name of ['llama3.2', 'qwen3:8b', 'cloud', 'wordcloud:7b', 'cloud:latest', 'x:cloudy']) {
    assert.ok(!isCloudModel(name), name);
  }
});

test('"all models" and local globs never reach a cloud model', () => {
  for (const rules of [[], ['*'], ['gpt-oss*'], ['gpt-oss:*'], ['*:*'], ['gemma4*', '*cloud']]) {
    const allows = compileModelRules(rules);
    for (const cloud of ['gpt-oss:120b-cloud', 'gemma4:cloud'])
      assert.ok(!allows(cloud), `${rules} → ${cloud}`);
  }
  assert.ok(compileModelRules(['gpt-oss*'])('gpt-oss:20b'), 'the local model is still allowed');
});

test('cloud models are granted by a cloud pattern or by their exact name', () => {
  const all = compileModelRules(['*', '*-cloud', '*:cloud']);
  for (const name of ['llama3.2', 'gpt-oss:120b-cloud', 'gemma4:cloud', 'kimi-k2-cloud']) {
    assert.ok(all(name), name);
  }
  const one = compileModelRules(['gemma4:cloud']);
  assert.ok(one('gemma4:cloud'));
  assert.ok(!one('gpt-oss:120b-cloud'));
  assert.ok(!one('llama3.2'), 'a cloud grant alone gives no local model');
  const family = compileModelRules(['gpt-oss:*-cloud']);
  assert.ok(family('gpt-oss:120b-cloud') && family('gpt-oss:20b-cloud'));
  assert.ok(!family('gpt-oss:20b') && !family('gemma4:cloud'));
});

test('a history filter pattern matches local models exactly as the same token rule allows them', () => {
  const names = [
    'llama3.2',
    'llama3.2:latest',
    'llama3.2:1b',
    'LLama3.1:8B',
    'registry.ollama.ai/library/llama3.2:latest',
    'hf.co/someone/tiny:1b',
    'llama3.evil.example/ns/x',
    'qwen3:8b',
    'qwen3',
    'codellama:13b',
    'llama3_2',
  ];
  for (const pattern of [
    'llama3.2',
    'llama3*',
    'llama3.*',
    '*:1b',
    'qwen3:*',
    'hf.co/*/*',
    '*:latest',
    'LLAMA3.?:*b',
  ]) {
    const rule = compileModelRules([pattern]);
    const filter = compileModelPattern(pattern);
    for (const name of names) assert.equal(filter(name), rule(name), `${pattern} on ${name}`);
  }
});

test('a history filter pattern also covers cloud models, and a blank or spaced one matches nothing', () => {
  assert.ok(compileModelPattern('*')('gpt-oss:120b-cloud'), 'a filter only selects what to show');
  assert.ok(compileModelPattern('gpt-oss*')('gpt-oss:120b-cloud'));
  assert.ok(compileModelPattern('gemma4:cloud')('gemma4:cloud'));
  for (const pattern of ['', '  ', 'llama 3']) assert.ok(!compileModelPattern(pattern)('llama3.2'), pattern);
});
