/**
 * Settings as the executable reads them: a flag beats the environment, which beats the
 * config file, which beats the default; a config file with an unknown key stops the
 * start; without --data-dir the data lives in the platform's user data directory.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { BIN, runCli, tempDir } from './support/companion-harness.js';

interface Listening {
  url: string;
  upstream: string;
  dataDir: string;
}

/**
 * Runs `serve` until it logs "companion listening", then stops it with SIGTERM.
 * Returns what it logged it listens with.
 */
function serveOnce(t: TestContext, args: string[], env: NodeJS.ProcessEnv): Promise<Listening> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { ...process.env, OLLAMA_COMPANION_UPSTREAM: undefined, OLLAMA_COMPANION_PORT: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let found: Listening | undefined;
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}\n${err}`)), 10_000);
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (found) return;
      for (const line of out.split('\n')) {
        if (!line.includes('"companion listening"')) continue;
        found = JSON.parse(line) as Listening;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (found && code === 0) resolve(found);
      else reject(new Error(`serve exited with ${code}:\n${err}`));
    });
  });
}

test('serve: a flag beats the environment, which beats the config file, which beats the default', async (t) => {
  const dirs = [tempDir(t), tempDir(t), tempDir(t), tempDir(t)] as const;
  // Upstreams are only logged here, never contacted.
  const fromFile = 'http://127.0.0.1:1111';
  const fromEnv = 'http://127.0.0.1:2222';
  const fromFlag = 'http://127.0.0.1:3333';
  for (const dir of dirs.slice(0, 3)) {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ upstream: fromFile, port: 0, host: '127.0.0.1' }),
    );
  }
  const [file, env, flag, none] = await Promise.all([
    serveOnce(t, ['--data-dir', dirs[0]], {}),
    serveOnce(t, ['--data-dir', dirs[1]], { OLLAMA_COMPANION_UPSTREAM: fromEnv }),
    serveOnce(t, ['--data-dir', dirs[2], '--upstream', fromFlag], { OLLAMA_COMPANION_UPSTREAM: fromEnv }),
    serveOnce(t, ['--data-dir', dirs[3]], { OLLAMA_COMPANION_PORT: '0' }),
  ]);
  assert.equal(file.upstream, fromFile);
  assert.equal(env.upstream, fromEnv);
  assert.equal(flag.upstream, fromFlag);
  assert.equal(none.upstream, 'http://127.0.0.1:11434', 'the default');
  // The port 0 from the config file (or the environment) was honoured: no one got 11435.
  for (const listening of [file, env, flag, none]) {
    assert.match(listening.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(listening.url).port, '11435');
  }
  assert.equal(file.dataDir, dirs[0]);
});

test('a config file with an unknown key stops serve and the other commands, naming the key', async (t) => {
  const dataDir = tempDir(t);
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ port: 0, uptream: 'http://127.0.0.1:11434' }));
  const [serve, list] = await Promise.all([
    runCli(['serve', '--data-dir', dataDir]),
    runCli(['token', 'list', '--data-dir', dataDir]),
  ]);
  for (const result of [serve, list]) {
    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /unknown setting "uptream"/);
    assert.match(result.stderr, /config\.json/);
  }
  assert.equal(existsSync(join(dataDir, 'companion.db')), false, 'nothing was started or created');
});

test('without --data-dir the data lives under $XDG_DATA_HOME, else ~/.local/share', {
  skip: process.platform !== 'linux',
}, async (t) => {
  const xdg = tempDir(t);
  const home = tempDir(t);
  const created = await runCli(['token', 'create', '--name', 'xdg', '--init'], {
    env: {
      OLLAMA_COMPANION_DATA_DIR: undefined,
      OLLAMA_COMPANION_CONFIG: undefined,
      XDG_DATA_HOME: xdg,
      HOME: home,
    },
  });
  assert.equal(created.code, 0, created.stderr);
  assert.ok(existsSync(join(xdg, 'ollama-companion', 'companion.db')));
  const listed = await runCli(['token', 'list', '--data-dir', join(xdg, 'ollama-companion')]);
  assert.match(listed.stdout, /^xdg\s/m);

  mkdirSync(join(home, '.local', 'share'), { recursive: true });
  const fallback = await runCli(['token', 'create', '--name', 'home', '--init'], {
    env: {
      OLLAMA_COMPANION_DATA_DIR: undefined,
      OLLAMA_COMPANION_CONFIG: undefined,
      XDG_DATA_HOME: undefined,
      HOME: home,
    },
  });
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.ok(existsSync(join(home, '.local', 'share', 'ollama-companion', 'companion.db')));
});
