import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { launchdLogFiles, launchdPlist, xmlText } from './launchd-plist.js';
import type { ServiceDescription } from './service-description.js';

const hasPlistlib = spawnSync('python3', ['-c', 'import plistlib']).status === 0;

function service(overrides: Partial<ServiceDescription> = {}): ServiceDescription {
  return {
    scope: 'user',
    label: 'dev.ollama-companion',
    summary: 'Ollama Companion',
    program: '/opt/homebrew/bin/node',
    args: [
      '/opt/oc/bin/ollama-companion.js',
      'serve',
      '--data-dir',
      '/Users/ada/Library/Application Support/oc',
    ],
    workingDir: '/Users/ada',
    logDir: '/Users/ada/Library/Application Support/oc/logs',
    ...overrides,
  };
}

/** The plist as a real parser (Python's plistlib, the format's reference reader) reads it. */
function parse(plist: string): Record<string, unknown> {
  const result = spawnSync(
    'python3',
    ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'],
    { input: plist, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

test('a LaunchAgent runs the program with its arguments at load, restarted after a failure', () => {
  const plist = launchdPlist(service());
  assert.ok(plist.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist'));
  assert.match(plist, /<key>Label<\/key>\n\s*<string>dev\.ollama-companion<\/string>/);
  assert.match(plist, /<key>RunAtLoad<\/key>\n\s*<true\/>/);
  assert.match(plist, /<key>KeepAlive<\/key>\n\s*<dict>\n\s*<key>SuccessfulExit<\/key>\n\s*<false\/>/);
  assert.match(
    plist,
    /<key>ProgramArguments<\/key>\n\s*<array>\n\s*<string>\/opt\/homebrew\/bin\/node<\/string>\n\s*<string>\/opt\/oc\/bin\/ollama-companion\.js<\/string>\n\s*<string>serve<\/string>/,
  );
  assert.match(
    plist,
    /<string>\/Users\/ada\/Library\/Application Support\/oc\/logs\/companion\.log<\/string>/,
  );
  assert.doesNotMatch(plist, /UserName/, 'an agent runs as the user who loads it');
});

test('a LaunchDaemon names the user it runs as', () => {
  assert.match(
    launchdPlist(service({ scope: 'system', user: 'ada' })),
    /<key>UserName<\/key>\n\s*<string>ada<\/string>/,
  );
});

test('values are XML-escaped; control characters are refused', () => {
  assert.equal(xmlText('x', `a&b<c>"d"'e`), 'a&amp;b&lt;c&gt;&quot;d&quot;&apos;e');
  const plist = launchdPlist(service({ args: ['serve', '--data-dir', '/tmp/</string><string>--evil'] }));
  assert.match(plist, /<string>\/tmp\/&lt;\/string&gt;&lt;string&gt;--evil<\/string>/);
  assert.throws(() => launchdPlist(service({ args: ['serve', 'a\u0001b'] })), /control character/);
});

test('a plist parser reads back every argument and path exactly', {
  skip: !hasPlistlib && 'python3 with plistlib is not installed',
}, () => {
  const args = [
    '/opt/o c/bin/ollama-companion.js',
    'serve',
    '--data-dir',
    `/Users/ada/R&D <"it's"> 100%`,
    '--host',
    '0.0.0.0',
  ];
  const logDir = '/Users/ada/R&D/logs';
  const read = parse(launchdPlist(service({ scope: 'system', user: 'ada', args, logDir })));
  assert.deepEqual(read, {
    Label: 'dev.ollama-companion',
    ProgramArguments: ['/opt/homebrew/bin/node', ...args],
    WorkingDirectory: '/Users/ada',
    UserName: 'ada',
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    StandardOutPath: launchdLogFiles(logDir).stdout,
    StandardErrorPath: launchdLogFiles(logDir).stderr,
  });
});
