/**
 * Starts a real companion for a test: its own temporary data dir, a real SQLite file,
 * listening on 127.0.0.1 with a random port, pointed at the given upstream. Stops and
 * cleans up when the test ends. `runCli` runs the installed executable as users do.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ollama } from 'ollama';
import type { Config } from '../../src/config/config-schema.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { TokenPolicyInput } from '../../src/policy/token.js';
import { type RunningServer, startServer } from '../../src/server/lifecycle.js';
import { type Emulator, type EmulatorOptions, startEmulator } from './ollama-emulator.js';

export const BIN = fileURLToPath(new URL('../../bin/ollama-companion.js', import.meta.url));

export function tempDir(t: TestContext, prefix = 'companion-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestCompanion extends RunningServer {
  dataDir: string;
  /** Creates a token the way an admin would and returns its secret. */
  token(name: string, policy?: TokenPolicyInput): string;
}

export async function startCompanion(
  t: TestContext,
  upstream: string,
  settings: Partial<Config> = {},
): Promise<TestCompanion> {
  const dataDir = settings.dataDir ?? tempDir(t);
  const config = loadConfig({
    flags: {
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      historyFlushMs: 20,
      ...settings,
      dataDir,
      upstream,
    },
    env: {},
  });
  const server = await startServer(config);
  t.after(() => server.stop());
  return {
    ...server,
    dataDir,
    token(name, policy = {}) {
      const { secret } = server.companion.tokens.create(name, policy);
      server.companion.directory.reload();
      return secret;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user and group (the tests run as root). */
  uid?: number;
  gid?: number;
  /** Kill the command after this long; its result then has code null. */
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `ollama-companion <args>` in a child process. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Polls until `check` returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  ms = 3000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The `ollama` npm client as a token holder configures it. */
export function ollamaClient(companion: Pick<TestCompanion, 'url'>, secret: string): Ollama {
  return new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
}

/** An Ollama emulator that stops when the test ends. */
export async function emulatorFor(t: TestContext, options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = await startEmulator(options);
  t.after(() => emulator.close());
  return emulator;
}
