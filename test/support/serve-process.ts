/**
 * The real executable as a child process, for tests that stop it with signals
 * (SIGTERM, kill -9) or need its log: `ollama-companion serve` on a random port, and an
 * Ollama emulator in a process of its own, so a load test's clients, the emulator and
 * the companion do not share an event loop. Both are killed when the test ends.
 * The executable runs dist/: build first (`npx tsc -p tsconfig.build.json`).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { BIN } from './companion-harness.js';

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything the process printed on stdout so far (its JSON log). */
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function killOnEnd(t: TestContext, child: ChildProcessWithoutNullStreams): void {
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Starts `ollama-companion serve` and waits for its "companion listening" log line. */
export async function serve(
  t: TestContext,
  dataDir: string,
  upstream: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--upstream', upstream],
    { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  killOnEnd(t, child);
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "companion listening" line:\n${out}\n${err}`)),
      10_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('companion listening')) continue;
        const entry = JSON.parse(line) as { msg: string; url: string };
        if (entry.msg === 'companion listening') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${err}`));
    });
  });
  return { child, url, stdout: () => out, exited };
}

/** The log lines printed so far, parsed. */
export function logLines(server: ServeProcess): { level: number; msg: string; [key: string]: unknown }[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
}

const EMULATOR_MAIN = fileURLToPath(new URL('./emulator-main.ts', import.meta.url));

/** The Ollama emulator in its own process (see emulator-main.ts for the flags). */
export async function emulatorProcess(t: TestContext, flags: string[] = []): Promise<{ url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', EMULATOR_MAIN, ...flags], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  killOnEnd(t, child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the emulator did not start: ${out}`)), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited with ${code}: ${out}`));
    });
  });
}

/** Runs `read` on the data dir's SQLite file through a connection of its own, as a backup would. */
export function onDisk<T>(dataDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'companion.db'));
  try {
    return read(db);
  } finally {
    db.close();
  }
}
