/**
 * `service install|uninstall` as users run it: the real executable writes a systemd unit
 * or launchd plist into a home or a given directory, refuses to overwrite without --force
 * and contradictory flags, and removes the file again. systemd's own checker reads the
 * units; a plist parser reads the plist, and the command in it starts a companion.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { request } from 'undici';
import { BIN, type CliResult, eventually, runCli, tempDir } from './support/companion-harness.js';

const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
const NO_ANALYZE = !hasAnalyze && 'systemd-analyze is not installed (Debian package systemd)';
/** The Node flags on the executable's first line, which the service must run it with. */
const NODE_FLAGS = (readFileSync(BIN, 'utf8').split('\n')[0] ?? '')
  .split(/\s+/)
  .filter((w) => w.startsWith('--'));
const hasPlistlib = spawnSync('python3', ['-c', 'import plistlib']).status === 0;

const UNIT = join('.config', 'systemd', 'user', 'ollama-companion.service');

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  return result.stdout;
}

/** A refused command: non-zero exit, one readable line on stderr, nothing on stdout. */
function refusedWith(result: CliResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, 'the command should fail');
  assert.equal(result.stdout, '', 'nothing on stdout');
  assert.match(result.stderr, /^error: [^\n]+\n$/);
  assert.match(result.stderr, pattern);
}

/** A home of its own, so the default paths can be used without touching the real ones. */
function home(t: TestContext) {
  const dir = tempDir(t, 'service-home-');
  const env = { HOME: dir, XDG_CONFIG_HOME: '', XDG_DATA_HOME: '', OLLAMA_COMPANION_DATA_DIR: undefined };
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runCli(['service', ...args], { env: { ...env, ...extra }, cwd: dir });
  return { dir, run };
}

function execStart(unit: string): string {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  assert.ok(line, 'the unit has an ExecStart');
  return line.slice('ExecStart='.length);
}

function verify(t: TestContext, file: string, scope: 'user' | 'system'): string {
  const runtime = tempDir(t, 'service-run-');
  const result = spawnSync('systemd-analyze', [...(scope === 'user' ? ['--user'] : []), 'verify', file], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
  });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, output);
  return output;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('install --user writes a unit in ~/.config/systemd/user that runs this node and bin with absolute paths', async (t) => {
  const { dir, run } = home(t);
  writeFileSync(join(dir, 'my config.json'), '{"logLevel":"warn"}');
  const out = ok(
    await run(
      [
        'install',
        '--user',
        '--data-dir',
        'data dir',
        '--config',
        'my config.json',
        '--host',
        '0.0.0.0',
        '--port',
        '11436',
        '--upstream',
        'http://gpu-box:11434',
      ],
      // The shell's settings are not the service's: they stay out of the file.
      { OLLAMA_COMPANION_PORT: '9999' },
    ),
    'install',
  );
  const file = join(dir, UNIT);
  const unit = readFileSync(file, 'utf8');
  assert.equal(
    execStart(unit),
    `${[process.execPath, ...NODE_FLAGS].join(' ')} ${BIN} serve --data-dir "${join(dir, 'data dir')}" --host 0.0.0.0 --port 11436 --upstream http://gpu-box:11434 --config "${join(dir, 'my config.json')}"`,
  );
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, /^WantedBy=default\.target$/m);
  assert.doesNotMatch(unit, /9999|^User=/m);
  assert.equal(statSync(file).mode & 0o777, 0o644);

  assert.ok(out.startsWith(`wrote ${file}\n`), out);
  assert.ok(
    out.includes('  systemctl --user daemon-reload && systemctl --user enable --now ollama-companion\n'),
    out,
  );
  assert.ok(out.includes('  loginctl enable-linger\n'), out);
  if (hasAnalyze) verify(t, file, 'user');
});

test('an existing unit is kept unless --force; --force replaces it', async (t) => {
  const { dir, run } = home(t);
  const file = join(dir, UNIT);
  ok(await run(['install', '--user', '--port', '11436']), 'first install');
  const first = readFileSync(file, 'utf8');

  refusedWith(
    await run(['install', '--user', '--port', '11437']),
    /already exists; pass --force to replace it/,
  );
  assert.equal(readFileSync(file, 'utf8'), first, 'the file is untouched');

  const out = ok(await run(['install', '--user', '--port', '11437', '--force']), 'install --force');
  assert.match(execStart(readFileSync(file, 'utf8')), / --port 11437$/);
  assert.ok(out.startsWith(`replaced ${file}\n`), out);
  assert.ok(out.includes('systemctl --user restart ollama-companion'), 'says how to use the new file');
});

test('install --system runs as who ran sudo, after the network and Ollama, in the user’s data dir', async (t) => {
  const { dir, run } = home(t);
  const out = ok(await run(['install', '--system', '--dir', 'units'], { SUDO_USER: 'nobody' }), 'install');
  const file = join(dir, 'units', 'ollama-companion.service');
  const unit = readFileSync(file, 'utf8');
  assert.match(unit, /^User=nobody$/m);
  assert.match(unit, /^After=network-online\.target ollama\.service$/m);
  assert.match(unit, /^Wants=network-online\.target$/m);
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  // nobody's home (/nonexistent) holds its data dir, as `serve` run by nobody would choose.
  const nobodyHome = spawnSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).stdout.split(':')[5];
  assert.match(
    execStart(unit),
    new RegExp(` serve --data-dir ${nobodyHome}/\\.local/share/ollama-companion$`),
  );
  assert.ok(out.includes('runs as nobody'), out);
  assert.ok(out.includes('systemctl daemon-reload && systemctl enable --now ollama-companion'), out);
  if (hasAnalyze) verify(t, file, 'system');

  const runAs = ok(await run(['install', '--system', '--run-as', 'root', '--print']), 'install --run-as');
  assert.match(runAs, /^User=root$/m);
  refusedWith(
    await run(['install', '--system', '--run-as', 'no-such-user-here', '--print']),
    /no user no-such-user-here/,
  );
});

test('systemd-analyze accepts the user and system units', { skip: NO_ANALYZE }, async (t) => {
  const { dir, run } = home(t);
  ok(await run(['install', '--user', '--dir', 'u', '--data-dir', 'a b %h $HOME']), 'install --user');
  ok(await run(['install', '--system', '--run-as', 'root', '--dir', 's']), 'install --system');
  for (const [sub, scope] of [
    ['u', 'user'],
    ['s', 'system'],
  ] as const) {
    const output = verify(t, join(dir, sub, 'ollama-companion.service'), scope);
    assert.doesNotMatch(output, /ollama-companion\.service:\d+:/, output);
  }
});

test('uninstall removes the unit; a second uninstall says there is nothing and succeeds', async (t) => {
  const { dir, run } = home(t);
  const file = join(dir, UNIT);
  ok(await run(['install', '--user']), 'install');
  const out = ok(await run(['uninstall', '--user']), 'uninstall');
  assert.equal(existsSync(file), false);
  assert.ok(out.startsWith(`removed ${file}\n`), out);
  assert.ok(out.includes('systemctl --user disable --now ollama-companion'), out);
  const again = ok(await run(['uninstall', '--user']), 'second uninstall');
  assert.equal(again, `no service file at ${file}; nothing to remove\n`);
});

test('contradictory or impossible requests are refused with one line and nothing written', async (t) => {
  const { dir, run } = home(t);
  refusedWith(await run(['install', '--user', '--system']), /--user and --system exclude each other/);
  refusedWith(await run(['uninstall', '--user', '--system']), /--user and --system exclude each other/);
  refusedWith(await run(['install', '--user', '--run-as', 'root']), /--run-as is for --system services/);
  refusedWith(
    await run(['install', '--user', '--platform', 'win32']),
    /knows systemd \(Linux\) and launchd \(macOS\), not win32/,
  );
  refusedWith(
    await run(['install', '--user', '--port', 'eleven']),
    /invalid setting port \(from flag --port\)/,
  );
  refusedWith(await run(['install', '--user', '--config', 'missing.json']), /missing\.json/);
  // Root without sudo is never chosen silently as the account of a system service.
  refusedWith(await run(['install', '--system', '--print'], { SUDO_USER: '' }), /pass --run-as USER/);
  assert.equal(existsSync(join(dir, '.config')), false, 'no file was written');
});

test('--print shows the unit on stdout and writes nothing', async (t) => {
  const { dir, run } = home(t);
  const out = ok(await run(['install', '--user', '--print', '--port', '11436']), 'install --print');
  assert.match(out, /^\[Service\]$/m);
  assert.match(execStart(out), / --port 11436$/);
  assert.equal(existsSync(join(dir, '.config')), false);
});

test('on macOS a LaunchAgent plist is written, its log dir made, and the command in it starts the companion', {
  skip: !hasPlistlib && 'python3 with plistlib is not installed',
}, async (t) => {
  const { dir, run } = home(t);
  const port = await freePort();
  const dataDir = join(dir, 'R&D <data>');
  const out = ok(
    await run(['install', '--user', '--platform', 'darwin', '--data-dir', dataDir, '--port', String(port)]),
    'install',
  );
  const file = join(dir, 'Library', 'LaunchAgents', 'dev.ollama-companion.plist');
  assert.ok(out.startsWith(`wrote ${file}\n`), out);
  assert.ok(out.includes(`  launchctl load -w ${file}\n`), out);
  assert.ok(statSync(join(dataDir, 'logs')).isDirectory(), 'launchd needs the log dir to exist');

  const parsed = spawnSync(
    'python3',
    ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))', file],
    { encoding: 'utf8' },
  );
  assert.equal(parsed.status, 0, parsed.stderr);
  const plist = JSON.parse(parsed.stdout) as {
    ProgramArguments: string[];
    RunAtLoad: boolean;
    KeepAlive: unknown;
    StandardOutPath: string;
  };
  assert.equal(plist.RunAtLoad, true);
  assert.deepEqual(plist.KeepAlive, { SuccessfulExit: false });
  assert.equal(plist.StandardOutPath, join(dataDir, 'logs', 'companion.log'));
  const [program, ...args] = plist.ProgramArguments;
  assert.equal(program, process.execPath);
  assert.deepEqual(args, [...NODE_FLAGS, BIN, 'serve', '--data-dir', dataDir, '--port', String(port)]);

  // What launchd would run, run from elsewhere: it serves on the port, in that data dir.
  mkdirSync(join(dir, 'elsewhere'));
  const child = spawn(program!, args, { cwd: join(dir, 'elsewhere'), stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const status = await eventually(async () => {
    try {
      const res = await request(`http://127.0.0.1:${port}/healthz`);
      await res.body.dump();
      return res.statusCode;
    } catch {
      return undefined;
    }
  }, 15_000);
  assert.equal(status, 200);
  assert.ok(existsSync(join(dataDir, 'companion.db')), 'the database is in the data dir');

  const removed = ok(await run(['uninstall', '--user', '--platform', 'darwin']), 'uninstall');
  assert.equal(existsSync(file), false);
  assert.ok(removed.includes('launchctl bootout gui/$(id -u)/dev.ollama-companion'), removed);
});

test('a user who is not root is told that a --system service is installed with sudo', {
  skip: process.getuid?.() !== 0 && 'needs root, to run the command as another user',
}, async () => {
  const result = await runCli(['service', 'install', '--system', '--port', '11436'], {
    uid: 65534,
    gid: 65534,
    cwd: '/',
    env: { HOME: '/nonexistent', SUDO_USER: '' },
  });
  refusedWith(
    result,
    /cannot change \/etc\/systemd\/system\/ollama-companion\.service: permission denied for user nobody; a --system service is installed with sudo/,
  );
});
