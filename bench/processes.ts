/**
 * Child processes of the benchmark (emulators, companions, wrk) and what /proc says about them. Every
 * child is tracked and killed by its own pid when the benchmark ends, fails or is interrupted.
 */
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

const children = new Set<ChildProcess>();

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Asks a child to stop, waits up to `graceMs`, then kills it. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = delay(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

export function killAllChildren(): void {
  for (const child of children) {
    if (running(child)) child.kill('SIGKILL');
  }
  children.clear();
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child, 3000)));
}

process.once('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

/** Resolves with the first stdout line of `child` that parses as JSON with a `url`. */
export function waitForUrlLine(child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(
      () => fail(new Error(`${what} did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (data: Buffer) => {
      buffered += data.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as { url?: unknown };
          if (typeof parsed.url === 'string') {
            cleanup();
            resolve(parsed.url);
            return;
          }
        } catch {
          // not the line we wait for
        }
      }
    };
    const onErr = (data: Buffer) => {
      stderr = (stderr + data.toString('utf8')).slice(-4000);
    };
    const onExit = (code: number | null) =>
      fail(new Error(`${what} exited (${code}) before listening:\n${stderr}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining so the child never blocks on a full pipe.
      child.stdout?.resume();
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

/** Polls a log file (pino JSON lines) until a line with `msg === message` appears; returns it. */
export async function waitForLogLine(
  child: ChildProcess,
  logFile: string,
  message: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running(child)) {
      throw new Error(`process exited (${child.exitCode}) before "${message}":\n${tail(logFile)}`);
    }
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes(message)) continue;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === message) return parsed;
      } catch {
        // a line still being written
      }
    }
    await delay(50);
  }
  throw new Error(`no "${message}" log line within ${timeoutMs} ms:\n${tail(logFile)}`);
}

export function tail(file: string, chars = 3000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

/** A file descriptor for a child's stdout/stderr; closed in the parent once the child has it. */
export function openLog(file: string): number {
  return openSync(file, 'a');
}

export function closeLog(fd: number): void {
  closeSync(fd);
}

// ---------------------------------------------------------------------------------------------------
// /proc
// ---------------------------------------------------------------------------------------------------

let clockTicks: number | undefined;

/** Clock ticks per second (USER_HZ), for utime/stime. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size in bytes (VmRSS), or null when the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time used so far (user + system), in milliseconds: by the whole process, or by one of its threads. */
export function cpuMs(pid: number, tid?: number): number {
  const stat = readFileSync(
    tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    'utf8',
  );
  // Fields after the command name (which may hold spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / ticksPerSecond();
}

/** Samples a process's RSS every `everyMs` until stopped; reports the peak and mean. */
export class RssSampler {
  private readonly timer: NodeJS.Timeout;
  private peak = 0;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly pid: number,
    everyMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    const rss = rssBytes(this.pid);
    if (rss === null) return;
    this.peak = Math.max(this.peak, rss);
    this.sum += rss;
    this.count++;
  }

  stop(): { peakBytes: number; meanBytes: number; samples: number } {
    clearInterval(this.timer);
    this.sample();
    return { peakBytes: this.peak, meanBytes: this.count ? this.sum / this.count : 0, samples: this.count };
  }
}

/** CPU time the whole machine spent busy (all cores, all processes), in milliseconds. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return (busy * 1000) / ticksPerSecond();
}

/** CPU time of this process and of its children that have ended and been reaped, in milliseconds. */
export function ownAndChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return (ticks * 1000) / ticksPerSecond();
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/**
 * Waits (at most `maxSeconds`) until the machine has been under `threshold` busy for three seconds in a
 * row, since other work on a 2-core machine skews every ratio. Returns the busy share last seen.
 */
export async function waitForQuiet(maxSeconds: number, threshold = 0.1): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let quietSeconds = 0;
  let share = 0;
  do {
    const a = machineTicks();
    await delay(1000);
    const b = machineTicks();
    share = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    quietSeconds = share < threshold ? quietSeconds + 1 : 0;
  } while (quietSeconds < 3 && Date.now() < deadline);
  return share;
}

/**
 * Starts measuring the CPU that processes other than ours (this one, its reaped children and `pids`)
 * use; the returned function reports it and its share of the whole machine since the start.
 */
export function othersMeter(pids: number[], cores: number): () => { cpuMs: number; share: number } {
  const ours = () => ownAndChildrenCpuMs() + pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const wall0 = Date.now();
  const busy0 = machineBusyMs();
  const ours0 = ours();
  return () => {
    const others = Math.max(0, machineBusyMs() - busy0 - (ours() - ours0));
    return { cpuMs: others, share: others / (Math.max(1, Date.now() - wall0) * cores) };
  };
}
