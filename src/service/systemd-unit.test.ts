import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { ServiceDescription } from './service-description.js';
import { execWord, systemdUnit } from './systemd-unit.js';

const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
const NO_ANALYZE = !hasAnalyze && 'systemd-analyze is not installed (Debian package systemd)';

function service(overrides: Partial<ServiceDescription> = {}): ServiceDescription {
  return {
    scope: 'user',
    label: 'dev.ollama-companion',
    summary: 'Ollama Companion',
    program: '/usr/bin/node',
    args: [
      '/opt/oc/bin/ollama-companion.js',
      'serve',
      '--data-dir',
      '/home/ada/.local/share/ollama-companion',
    ],
    workingDir: '/home/ada',
    logDir: '/home/ada/.local/share/ollama-companion/logs',
    ...overrides,
  };
}

const lines = (unit: string) => unit.split('\n');

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'unit-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `systemd-analyze verify` on the unit; returns its output, which holds any complaint. */
function verify(
  t: TestContext,
  unit: string,
  scope: 'user' | 'system',
): { status: number | null; output: string } {
  const dir = tempDir(t);
  const file = join(dir, 'ollama-companion.service');
  writeFileSync(file, unit);
  const runtime = join(dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const result = spawnSync('systemd-analyze', [...(scope === 'user' ? ['--user'] : []), 'verify', file], {
    encoding: 'utf8',
    // A user manager needs a runtime dir, which a session would have.
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('a user unit starts the companion with Restart=on-failure and is wanted by default.target', () => {
  const unit = lines(systemdUnit(service()));
  assert.ok(unit.includes('[Unit]') && unit.includes('[Service]') && unit.includes('[Install]'));
  assert.ok(unit.includes('Description=Ollama Companion'));
  assert.ok(
    unit.includes(
      'ExecStart=/usr/bin/node /opt/oc/bin/ollama-companion.js serve --data-dir /home/ada/.local/share/ollama-companion',
    ),
  );
  assert.ok(unit.includes('Restart=on-failure'));
  assert.ok(unit.includes('WorkingDirectory=/home/ada'));
  assert.ok(unit.includes('WantedBy=default.target'));
  // A user manager cannot see system units; it runs as its owner.
  assert.equal(
    unit.some((l) => /^(User|After|Wants)=/.test(l)),
    false,
  );
});

test('a system unit runs as the given user after the network and Ollama, wanted by multi-user.target', () => {
  const unit = lines(systemdUnit(service({ scope: 'system', user: 'ada' })));
  assert.ok(unit.includes('User=ada'));
  assert.ok(unit.includes('After=network-online.target ollama.service'));
  assert.ok(unit.includes('Wants=network-online.target'));
  assert.ok(unit.includes('WantedBy=multi-user.target'));
  assert.equal(unit.indexOf('After=network-online.target ollama.service') < unit.indexOf('[Service]'), true);
});

test('ExecStart words with spaces, quotes, backslashes, % and $ are quoted so systemd reads them back', () => {
  assert.equal(execWord('/usr/bin/node'), '/usr/bin/node');
  assert.equal(execWord('--upstream'), '--upstream');
  assert.equal(execWord('http://gpu-box:11434'), 'http://gpu-box:11434');
  assert.equal(execWord('/home/ada/My Data'), '"/home/ada/My Data"');
  assert.equal(execWord('say "hi"'), '"say \\"hi\\""');
  assert.equal(execWord('C:\\x'), '"C:\\\\x"');
  // `%h` would be the home directory and `$HOME` a variable: both stay literal.
  assert.equal(execWord('/data/100%h'), '"/data/100%%h"');
  assert.equal(execWord('$HOME/x'), '"$$HOME/x"');
  assert.equal(execWord(''), '""');
  assert.equal(execWord(';'), '\\;');
  assert.equal(execWord("it's"), '"it\'s"');
});

test('a value with a line break is refused instead of ending the line early', () => {
  assert.throws(
    () => systemdUnit(service({ args: ['serve', '--data-dir', '/tmp/a\nExecStartPre=/bin/sh'] })),
    /line break or control character/,
  );
  assert.throws(
    () => systemdUnit(service({ scope: 'system', user: 'ada\nUser=root' })),
    /User holds a line break/,
  );
  assert.throws(() => systemdUnit(service({ program: '/opt/"node"/bin/node' })), /quote or backslash/);
});

test('% in settings other than ExecStart is doubled too (specifiers expand there as well)', () => {
  const unit = lines(systemdUnit(service({ workingDir: '/srv/100%', scope: 'system', user: 'ada' })));
  assert.ok(unit.includes('WorkingDirectory=/srv/100%%'));
});

test('systemd-analyze accepts both units, with a program path holding a space and %', {
  skip: NO_ANALYZE,
}, (t) => {
  const dir = tempDir(t);
  const programDir = join(dir, 'node 20%');
  mkdirSync(programDir);
  const program = join(programDir, 'node');
  writeFileSync(program, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const args = [
    '/opt/oc/bin/ollama-companion.js',
    'serve',
    '--data-dir',
    join(dir, 'my data $x %h'),
    '--port',
    '11435',
  ];
  for (const scope of ['user', 'system'] as const) {
    const unit = systemdUnit(service({ scope, user: 'root', program, args, workingDir: dir }));
    const { status, output } = verify(t, unit, scope);
    assert.equal(status, 0, `${scope} unit: ${output}`);
    assert.doesNotMatch(output, /not executable|special characters|Unknown|Invalid|bad unit/i, output);
  }
  // The check is real: a program path written without quotes fails it.
  const unquoted = systemdUnit(service({ scope: 'system', user: 'root', program, args }))
    .replace(/^ExecStart="([^"]*)"/m, 'ExecStart=$1')
    .replace(/%%/, '%');
  assert.notEqual(verify(t, unquoted, 'system').status, 0);
});
