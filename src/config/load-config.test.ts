import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ConfigError, defaultDataDir, loadConfig } from './load-config.js';

function dir(t: TestContext): string {
  const path = mkdtempSync(join(tmpdir(), 'config-test-'));
  t.after(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

function file(t: TestContext, content: unknown): string {
  const path = join(dir(t), 'config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** An environment with nothing of the caller's in it. */
const HOME = { HOME: '/home/ada' };

test('defaults: loopback, port 11435, the local Ollama, the user data dir', () => {
  const config = loadConfig({ env: HOME });
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 11435);
  assert.equal(config.upstream, 'http://127.0.0.1:11434');
  assert.equal(config.publicStatus, false);
  assert.equal(config.metricsFromLoopback, true);
  assert.equal(config.historyFlushMs, 100);
  assert.equal(config.shutdownGraceMs, 15_000);
  assert.equal(config.logLevel, 'info');
  assert.deepEqual(config.corsOrigins, []);
  assert.equal(config.headersTimeoutMs, 10_000);
  assert.equal(config.bodyIdleTimeoutMs, 30_000);
  assert.equal(config.keepAliveTimeoutMs, 65_000);
  assert.equal(config.maxUnauthenticatedPerAddress, 512);
  assert.equal(config.upstreamConnections, 512);
  assert.equal(config.upstreamPerToken, undefined, 'half the connections, decided where the pool is made');
  assert.equal(config.upstreamQueueMs, 30_000);
  if (process.platform === 'linux') assert.equal(config.dataDir, '/home/ada/.local/share/ollama-companion');
});

test('precedence: flag over environment over config file over default, setting by setting', (t) => {
  const configFile = file(t, { port: 1111, host: '0.0.0.0', logLevel: 'warn', historyFlushMs: 250 });
  const env = { ...HOME, OLLAMA_COMPANION_PORT: '2222', OLLAMA_COMPANION_LOG_LEVEL: 'error' };
  const all = loadConfig({ configFile, env, flags: { port: 3333, host: undefined } });
  assert.equal(all.port, 3333, 'the flag wins');
  assert.equal(all.logLevel, 'error', 'the environment beats the file');
  assert.equal(all.host, '0.0.0.0', 'the file beats the default; an undefined flag is no flag');
  assert.equal(all.historyFlushMs, 250);
  assert.equal(all.upstream, 'http://127.0.0.1:11434', 'the default fills the rest');

  assert.equal(loadConfig({ configFile, env }).port, 2222);
  assert.equal(loadConfig({ configFile, env: HOME }).port, 1111);
  assert.equal(loadConfig({ env: HOME }).port, 11435);
});

test('the config file comes from --config, OLLAMA_COMPANION_CONFIG, or <dataDir>/config.json', (t) => {
  const viaEnv = file(t, { port: 4001 });
  assert.equal(loadConfig({ env: { ...HOME, OLLAMA_COMPANION_CONFIG: viaEnv } }).port, 4001);

  const dataDir = dir(t);
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ port: 4002 }));
  assert.equal(loadConfig({ env: HOME, flags: { dataDir } }).port, 4002);
  assert.equal(loadConfig({ env: { ...HOME, OLLAMA_COMPANION_DATA_DIR: dataDir } }).port, 4002);

  const explicit = file(t, { port: 4003 });
  assert.equal(loadConfig({ env: HOME, flags: { dataDir }, configFile: explicit }).port, 4003);
  assert.throws(
    () => loadConfig({ env: HOME, configFile: join(dataDir, 'missing.json') }),
    (error: Error) => error instanceof ConfigError && /missing\.json/.test(error.message),
  );
});

test('an unknown key or a malformed config file is refused, naming the key and the file', (t) => {
  const unknown = file(t, { port: 1, prot: 2 });
  assert.throws(
    () => loadConfig({ env: HOME, configFile: unknown }),
    (error: Error) =>
      error instanceof ConfigError && error.message.includes('"prot"') && error.message.includes(unknown),
  );
  const broken = file(t, '{ "port": 1,');
  assert.throws(
    () => loadConfig({ env: HOME, configFile: broken }),
    (error: Error) => error instanceof ConfigError && error.message.includes(broken),
  );
  assert.throws(() => loadConfig({ env: HOME, configFile: file(t, [1, 2]) }), /JSON object/);
});

test('environment strings become numbers, booleans and lists', () => {
  const config = loadConfig({
    env: {
      ...HOME,
      OLLAMA_COMPANION_PORT: '8080',
      OLLAMA_COMPANION_PUBLIC_STATUS: 'yes',
      OLLAMA_COMPANION_METRICS_FROM_LOOPBACK: 'false',
      OLLAMA_COMPANION_CORS_ORIGINS: 'https://a.example.com, app://obsidian.md',
      OLLAMA_COMPANION_UPSTREAM: 'http://gpu-box:11434/',
      OLLAMA_COMPANION_TRUST_PROXY: 'loopback, 10.0.0.0/8',
    },
  });
  assert.equal(config.port, 8080);
  assert.equal(config.publicStatus, true);
  assert.equal(config.metricsFromLoopback, false);
  assert.deepEqual(config.corsOrigins, ['https://a.example.com', 'app://obsidian.md']);
  assert.equal(config.upstream, 'http://gpu-box:11434', 'the trailing slash is dropped');
  assert.deepEqual(config.trustProxy, ['loopback', '10.0.0.0/8']);
});

test('a bad value names the setting and where it came from', (t) => {
  const cases: [Parameters<typeof loadConfig>[0], RegExp][] = [
    [{ env: HOME, flags: { port: Number('abc') } }, /setting port \(from flag --port\)/],
    [
      { env: { ...HOME, OLLAMA_COMPANION_PORT: 'abc' } },
      /setting port \(from environment variable OLLAMA_COMPANION_PORT\)/,
    ],
    [{ env: { ...HOME, OLLAMA_COMPANION_PORT: '' } }, /setting port/],
    [
      { env: HOME, configFile: file(t, { port: 'eleven' }) },
      /setting port \(from config file .*config\.json\)/,
    ],
    [{ env: HOME, flags: { port: 70_000 } }, /port.*65535/],
    [{ env: HOME, flags: { upstream: 'gpu-box:11434' } }, /setting upstream \(from flag --upstream\)/],
    [{ env: { ...HOME, OLLAMA_COMPANION_METRICS_FROM_LOOPBACK: 'maybe' } }, /metricsFromLoopback/],
    [{ env: HOME, flags: { logLevel: 'loud' } }, /logLevel/],
    [{ env: HOME, flags: { historyFlushMs: 1 } }, /historyFlushMs/],
    [{ env: HOME, flags: { tlsCert: '/etc/cert.pem' } }, /tlsCert\/tlsKey/],
    [
      { env: { ...HOME, OLLAMA_COMPANION_TRUST_PROXY: 'my-proxy' } },
      /setting trustProxy \(from environment variable OLLAMA_COMPANION_TRUST_PROXY\).*my-proxy/,
    ],
    [{ env: HOME, flags: { trustProxy: ['10.0.0.0/33'] } }, /setting trustProxy \(from flag --trust-proxy\)/],
    [{ env: { ...HOME, OLLAMA_COMPANION_HEADERS_TIMEOUT_MS: '5' } }, /setting headersTimeoutMs/],
    [{ env: HOME, flags: { maxUnauthenticatedPerAddress: 0 } }, /maxUnauthenticatedPerAddress/],
    [
      { env: { ...HOME, OLLAMA_COMPANION_UPSTREAM_PER_TOKEN: '600' } },
      /setting upstreamPerToken \(from environment variable OLLAMA_COMPANION_UPSTREAM_PER_TOKEN\).*512/,
    ],
  ];
  for (const [input, pattern] of cases) {
    assert.throws(
      () => loadConfig(input),
      (error: Error) => error instanceof ConfigError && pattern.test(error.message),
      `expected ${pattern}`,
    );
  }
});

test('on Linux the default data dir follows XDG_DATA_HOME, else ~/.local/share', () => {
  assert.equal(
    defaultDataDir({ HOME: '/home/ada', XDG_DATA_HOME: '/data/ada' }, 'linux'),
    '/data/ada/ollama-companion',
  );
  assert.equal(defaultDataDir({ HOME: '/home/ada' }, 'linux'), '/home/ada/.local/share/ollama-companion');
  assert.equal(
    defaultDataDir({ HOME: '/home/ada', XDG_DATA_HOME: 'relative/dir' }, 'linux'),
    '/home/ada/.local/share/ollama-companion',
    'a relative XDG_DATA_HOME is ignored, as the spec says',
  );
  assert.equal(
    defaultDataDir(
      { HOME: '/home/ada', XDG_DATA_HOME: '/data/ada', OLLAMA_COMPANION_DATA_DIR: '/srv/oc' },
      'linux',
    ),
    '/srv/oc',
  );
  if (process.platform === 'linux') {
    assert.equal(
      loadConfig({ env: { HOME: '/home/ada', XDG_DATA_HOME: '/data/ada' } }).dataDir,
      '/data/ada/ollama-companion',
    );
  }
});
