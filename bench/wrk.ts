/**
 * wrk, the load generator: installed from Debian when missing (as root), run with bench/wrk-post.lua,
 * its one-line JSON summary parsed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnTracked } from './processes.js';

const SCRIPT = fileURLToPath(new URL('./wrk-post.lua', import.meta.url));

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: {
    min: number;
    mean: number;
    stdev: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
  };
}

export interface WrkRun {
  url: string;
  threads: number;
  connections: number;
  seconds: number;
  body: string;
  authorization?: string;
}

function wrkVersion(): string | null {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) return null;
  return `${probe.stdout}${probe.stderr}`.split('\n')[0]?.trim() ?? 'wrk';
}

/** Returns wrk's version line, installing wrk first when it is missing and we are root. */
export function ensureWrk(): string {
  const present = wrkVersion();
  if (present) return present;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'wrk is not installed. Install it and run again:\n  sudo apt-get update && sudo apt-get install -y wrk',
    );
  }
  process.stdout.write('wrk is missing; installing it: apt-get update && apt-get install -y wrk\n');
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', 'wrk'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = wrkVersion();
  if (!installed) throw new Error('wrk is still missing after apt-get install');
  return installed;
}

export function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = [
    '-t',
    String(run.threads),
    '-c',
    String(run.connections),
    '-d',
    `${run.seconds}s`,
    '--timeout',
    '5s',
    '-s',
    SCRIPT,
    run.url,
  ];
  const child = spawnTracked('wrk', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BENCH_BODY: run.body, BENCH_AUTHORIZATION: run.authorization ?? '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    const hardStop = setTimeout(() => child.kill('SIGKILL'), (run.seconds + 15) * 1000);
    child.once('error', (error) => {
      clearTimeout(hardStop);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(hardStop);
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk failed (exit ${code}):\n${stdout}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as WrkResult);
    });
  });
}

export function requestsPerSecond(result: WrkResult): number {
  return result.requests / (result.durationUs / 1e6);
}

export function failures(result: WrkResult): number {
  const e = result.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}
