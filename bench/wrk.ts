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

/** One run's figures as the report and bench/results.json give them (latencies in ms). */
export function wrkSummary(r: WrkResult) {
  return {
    requests: r.requests,
    requestsPerSecond: Math.round(requestsPerSecond(r)),
    failures: failures(r),
    p50Ms: r.latencyUs.p50 / 1000,
    p90Ms: r.latencyUs.p90 / 1000,
    p99Ms: r.latencyUs.p99 / 1000,
    p999Ms: r.latencyUs.p999 / 1000,
    meanMs: r.latencyUs.mean / 1000,
  };
}

export type WrkSummary = ReturnType<typeof wrkSummary>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Several runs against one side as one: requests and failures summed, requests/s over the summed
 * time, each latency figure the median of the runs' own (for one run, that run's figures).
 */
export function pooledSummary(runs: WrkResult[]): WrkSummary {
  if (runs.length === 1) return wrkSummary(runs[0]!);
  const each = runs.map(wrkSummary);
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.durationUs, 0) / 1e6;
  const pick = (key: keyof WrkSummary) => median(each.map((s) => s[key]));
  return {
    requests,
    requestsPerSecond: Math.round(requests / seconds),
    failures: each.reduce((n, s) => n + s.failures, 0),
    p50Ms: pick('p50Ms'),
    p90Ms: pick('p90Ms'),
    p99Ms: pick('p99Ms'),
    p999Ms: pick('p999Ms'),
    meanMs: pick('meanMs'),
  };
}
