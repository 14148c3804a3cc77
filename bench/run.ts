/**
 * `npm run bench`: the same load straight to an Ollama emulator and through the companion (auth, policy,
 * history and metrics on, a real token, info logs to a file), each as its own process, with wrk as the
 * load generator. Prints a table with the targets beside the figures and writes bench/results.json.
 *
 * Options: --seconds N (each measured 64-connection wrk phase, default 10), --latency-rounds N (alternating
 * direct/companion rounds at one request in flight, default 5), --latency-seconds N (each such round, default 4),
 * --warmup N (default 2), --streams N (256),
 * --chunks N (50), --chunk-delay-ms N (20), --waves N (8), --warmup-waves N (10), --profile (CPU-profile the companion and rank
 * its hot spots), --no-build (use dist/ as it is), --keep (keep the temporary directory), --wait-quiet N (wait
 * up to N s, default 30, for other processes to leave the CPUs alone; 0 to skip), --history-records N (history
 * search over N stored records, default 1,000,000; 0 to skip).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { benchHistorySearch } from './history-search-bench.js';
import {
  closeLog,
  cpuMs,
  machineBusyMs,
  openLog,
  othersMeter,
  ownAndChildrenCpuMs,
  RssSampler,
  rssBytes,
  spawnTracked,
  stopAllChildren,
  stopChild,
  waitForLogLine,
  waitForQuiet,
  waitForUrlLine,
} from './processes.js';
import {
  formatProfile,
  type ProfileSummary,
  type ProfileWindow,
  summariseProfile,
} from './profile-summary.js';
import { count, mb, ms, percentile, type Row, ratio, signedMs, table } from './report.js';
import { expectedPieces, openPool, runWave, type StreamOutcome, type StreamWave } from './streams.js';
import { ensureWrk, failures, requestsPerSecond, runWrk, type WrkResult } from './wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'ollama-companion.js');
const EMULATOR = join(ROOT, 'test', 'support', 'emulator-main.ts');
const RESULTS = join(ROOT, 'bench', 'results.json');
const MODEL = 'llama3.2:latest';
/** The Node flags the executable's `#!/usr/bin/env -S node …` line sets, so the companion runs as installed. */
const NODE_FLAGS = readFileSync(BIN, 'utf8').split('\n')[0]!.split(/\s+/).slice(3);

const TARGETS = {
  addedP50Ms: 0.25,
  addedP99Ms: 2.5,
  throughputRatio: 0.45,
  answerTimeRatio: 1.02,
  rssUnderLoadMb: 150,
};

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    'latency-rounds': { type: 'string', default: '5' },
    'latency-seconds': { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    streams: { type: 'string', default: '256' },
    chunks: { type: 'string', default: '50' },
    'chunk-delay-ms': { type: 'string', default: '20' },
    waves: { type: 'string', default: '8' },
    'warmup-waves': { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '30' },
    'history-records': { type: 'string', default: '1000000' },
  },
  strict: true,
});

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const SECONDS = positive('seconds', opts.seconds);
const WARMUP = positive('warmup', opts.warmup);
const LATENCY_ROUNDS = positive('latency-rounds', opts['latency-rounds']);
const LATENCY_SECONDS = positive('latency-seconds', opts['latency-seconds']);
const STREAMS = positive('streams', opts.streams);
const CHUNKS = positive('chunks', opts.chunks);
const CHUNK_DELAY_MS = positive('chunk-delay-ms', opts['chunk-delay-ms']);
const WAVES = positive('waves', opts.waves);
const WARMUP_WAVES = positive('warmup-waves', opts['warmup-waves']);

const say = (text: string) => process.stdout.write(`${text}\n`);

// ---------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------

interface Emulator {
  url: string;
  pid: number;
}

async function startEmulator(chunkDelayMs: number, chunks: number): Promise<Emulator> {
  const child = spawnTracked(
    process.execPath,
    [
      '--import',
      'tsx',
      EMULATOR,
      '--port',
      '0',
      '--chunk-delay-ms',
      String(chunkDelayMs),
      '--chunks',
      String(chunks),
      '--parallel',
      '4096',
      '--max-queue',
      '4096',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await waitForUrlLine(child, 'emulator', 20_000);
  return { url, pid: child.pid! };
}

interface Companion {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startCompanion(
  tmp: string,
  dataDir: string,
  upstream: string,
  label: string,
): Promise<Companion> {
  const logFile = join(tmp, `companion-${label}.log`);
  const fd = openLog(logFile);
  const profileArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', join(tmp, `profile-${label}`)] : [];
  const child = spawnTracked(
    process.execPath,
    [
      ...NODE_FLAGS,
      ...profileArgs,
      BIN,
      'serve',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--upstream',
      upstream,
      '--log-level',
      'info',
    ],
    { cwd: ROOT, stdio: ['ignore', fd, fd] },
  );
  closeLog(fd);
  const line = await waitForLogLine(child, logFile, 'companion listening', 20_000);
  if (typeof line.url !== 'string') throw new Error('the "companion listening" line has no url');
  return { url: line.url, pid: child.pid!, stop: () => stopChild(child, 20_000) };
}

function createToken(dataDir: string): string {
  const secret = execFileSync(
    process.execPath,
    [
      BIN,
      'token',
      'create',
      '--name',
      'bench',
      '--init',
      '--data-dir',
      dataDir,
      '--models',
      'llama3.2*',
      '--scopes',
      'inference,read',
      '--calls-per-minute',
      '100000000',
      '--calls-per-day',
      '1000000000',
      '--max-concurrent',
      '4096',
      '--history',
      'full',
    ],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  if (!secret || secret.includes('\n')) throw new Error('token create did not print one secret');
  return secret;
}

// ---------------------------------------------------------------------------------------------------
// Checks and probes
// ---------------------------------------------------------------------------------------------------

const chatBody = (content: string, stream: boolean) =>
  JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], stream });

async function post(
  url: string,
  body: string,
  authorization?: string,
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  const res = await request(`${url}/api/chat`, { method: 'POST', headers, body });
  return { status: res.statusCode, text: await res.body.text() };
}

async function sanityCheck(direct: string, companion: string, authorization: string): Promise<void> {
  const body = chatBody('hello', false);
  const d = await post(direct, body);
  const c = await post(companion, body, authorization);
  const anonymous = await post(companion, body);
  const content = (text: string) => (JSON.parse(text) as { message?: { content?: string } }).message?.content;
  if (d.status !== 200 || content(d.text) !== 'Echo: hello') throw new Error(`direct answered ${d.status}`);
  if (c.status !== 200 || content(c.text) !== 'Echo: hello') {
    throw new Error(`companion answered ${c.status}: ${c.text.slice(0, 200)}`);
  }
  if (anonymous.status !== 401)
    throw new Error(`companion let a request without a token through (${anonymous.status})`);
}

async function metric(url: string, name: string): Promise<number> {
  const res = await request(`${url}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

function historyRows(dataDir: string): number {
  const db = new Database(join(dataDir, 'companion.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM history').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function machine(wrk: string) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  return {
    cpu: model,
    cores: cpus().length,
    node: process.version,
    kernel: `Linux ${release()}`,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    loadGenerator: wrk,
  };
}

function wrkSummary(r: WrkResult) {
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

/**
 * The one-in-flight figures over alternating rounds: each side's median per measure, and the
 * added latency as the median of the rounds' own differences.
 */
function latencyFigures(pairs: { direct: WrkResult; companion: WrkResult }[]) {
  const rounds = pairs.map((r) => ({ direct: wrkSummary(r.direct), companion: wrkSummary(r.companion) }));
  const median = (values: number[]) => percentile(values, 50);
  const side = (pick: (r: (typeof rounds)[number]) => ReturnType<typeof wrkSummary>) => ({
    requests: rounds.reduce((n, r) => n + pick(r).requests, 0),
    p50Ms: median(rounds.map((r) => pick(r).p50Ms)),
    p90Ms: median(rounds.map((r) => pick(r).p90Ms)),
    p99Ms: median(rounds.map((r) => pick(r).p99Ms)),
    p999Ms: median(rounds.map((r) => pick(r).p999Ms)),
  });
  const added = rounds.map((r) => ({
    p50Ms: r.companion.p50Ms - r.direct.p50Ms,
    p99Ms: r.companion.p99Ms - r.direct.p99Ms,
  }));
  return {
    rounds,
    direct: side((r) => r.direct),
    companion: side((r) => r.companion),
    added,
    addedP50Ms: median(added.map((a) => a.p50Ms)),
    addedP99Ms: median(added.map((a) => a.p99Ms)),
  };
}

function streamSummary(outcomes: StreamOutcome[], wallMs: number[], expected: number) {
  const ok = outcomes.filter((o) => o.status === 200 && !o.error);
  const lost = outcomes.reduce((n, o) => n + Math.max(0, expected - o.pieces) + (o.done ? 0 : 1), 0);
  return {
    streams: outcomes.length,
    failedStreams: outcomes.length - ok.length,
    wrongContent: outcomes.filter((o) => !o.contentOk).length,
    chunksLost: lost,
    chunksExpected: outcomes.length * (expected + 1),
    ttfcP50Ms: percentile(
      outcomes.map((o) => o.ttfcMs),
      50,
    ),
    ttfcP99Ms: percentile(
      outcomes.map((o) => o.ttfcMs),
      99,
    ),
    answerP50Ms: percentile(
      outcomes.map((o) => o.totalMs),
      50,
    ),
    answerP99Ms: percentile(
      outcomes.map((o) => o.totalMs),
      99,
    ),
    afterFirstChunkP50Ms: percentile(
      outcomes.map((o) => o.totalMs - o.ttfcMs),
      50,
    ),
    waveWallMs: wallMs.reduce((a, b) => a + b, 0) / Math.max(1, wallMs.length),
  };
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Number.isFinite(value) ? Math.round(value * f) / f : -1;
}

/** Now on CLOCK_MONOTONIC in microseconds, the clock of V8's CPU profiles. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** Ranks the companion's CPU profiles over the measured phases: `phase → [companion label, window]`. */
function profileSummaries(
  tmp: string,
  phases: Record<string, [string, ProfileWindow]>,
): Record<string, ProfileSummary> {
  const out: Record<string, ProfileSummary> = {};
  for (const [phase, [label, window]] of Object.entries(phases)) {
    const dir = join(tmp, `profile-${label}`);
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    } catch {
      continue;
    }
    const file = files[0];
    if (file) out[phase] = summariseProfile(join(dir, file), 15, window);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const wrkVersion = ensureWrk();
  const host = machine(wrkVersion);
  say(`Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGb} GB, Node ${host.node}, ${host.kernel}`);
  say(`Load generator: ${wrkVersion}`);
  say(
    `Companion: node ${[...NODE_FLAGS, 'bin/ollama-companion.js'].join(' ')} serve (the executable's own flags)`,
  );

  if (!opts['no-build']) {
    say('Building (npm run build)…');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }

  const quietWait = Number(opts['wait-quiet']);
  if (quietWait > 0) {
    say(`Waiting (up to ${quietWait} s) for the CPUs to be quiet…`);
    const share = await waitForQuiet(quietWait);
    if (share >= 0.1)
      say(`The machine is still ${(100 * share).toFixed(0)}% busy after ${quietWait} s; going on.`);
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  const busy0 = machineBusyMs();
  const own0 = ownAndChildrenCpuMs();
  const wall0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'companion-bench-'));
  const dataDir = join(tmp, 'data');
  mkdirSync(dataDir);
  try {
    const [fast, slow] = await Promise.all([startEmulator(0, 5), startEmulator(CHUNK_DELAY_MS, CHUNKS)]);
    const secret = createToken(dataDir);
    const authorization = `Bearer ${secret}`;
    const nonStream = chatBody('hello', false);

    // ----- one request in flight, then 64 connections -----
    const companionA = await startCompanion(tmp, dataDir, fast.url, 'requests');
    await sanityCheck(fast.url, companionA.url, authorization);
    await delay(1000);
    const rssIdle = rssBytes(companionA.pid) ?? 0;
    say(`Companion idle RSS: ${mb(rssIdle)}`);

    const direct = { url: `${fast.url}/api/chat`, body: nonStream };
    const through = { url: `${companionA.url}/api/chat`, body: nonStream, authorization };

    say(
      `Latency, 1 connection: warm-up ${WARMUP} s each, then ${LATENCY_ROUNDS} rounds of ${LATENCY_SECONDS} s direct and ${LATENCY_SECONDS} s companion…`,
    );
    await runWrk({ ...direct, threads: 1, connections: 1, seconds: WARMUP });
    await runWrk({ ...through, threads: 1, connections: 1, seconds: WARMUP });
    const latencyOthers = othersMeter([fast.pid, slow.pid, companionA.pid], host.cores);
    const latencyWindow = { fromUs: monotonicUs(), toUs: 0 };
    // The tail of one request in flight moves with whatever else the machine does from one
    // second to the next, so the two sides alternate, each round in the opposite order, and
    // each round's difference is taken between neighbours in time.
    const latencyRounds: { direct: WrkResult; companion: WrkResult }[] = [];
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      const one = { threads: 1, connections: 1, seconds: LATENCY_SECONDS };
      if (round % 2 === 0) {
        const d = await runWrk({ ...direct, ...one });
        latencyRounds.push({ direct: d, companion: await runWrk({ ...through, ...one }) });
      } else {
        const c = await runWrk({ ...through, ...one });
        latencyRounds.push({ direct: await runWrk({ ...direct, ...one }), companion: c });
      }
    }
    latencyWindow.toUs = monotonicUs();
    const latencyNoise = latencyOthers();

    say(`Requests/s, 64 connections: warm-up ${WARMUP} s each, then ${SECONDS} s each…`);
    await runWrk({ ...direct, threads: 2, connections: 64, seconds: WARMUP });
    await runWrk({ ...through, threads: 2, connections: 64, seconds: WARMUP });
    const throughputOthers = othersMeter([fast.pid, slow.pid, companionA.pid], host.cores);
    const emuCpu0 = cpuMs(fast.pid);
    const rpsDirect = await runWrk({ ...direct, threads: 2, connections: 64, seconds: SECONDS });
    const emuCpu1 = cpuMs(fast.pid);

    const historyBefore = await metric(companionA.url, 'companion_history_records_written_total');
    const rowsBefore = historyRows(dataDir);
    const cpuBefore = cpuMs(companionA.pid);
    const emuCpu2 = cpuMs(fast.pid);
    const rssLoad = new RssSampler(companionA.pid);
    const throughputWindow = { fromUs: monotonicUs(), toUs: 0 };
    const rpsCompanion = await runWrk({ ...through, threads: 2, connections: 64, seconds: SECONDS });
    throughputWindow.toUs = monotonicUs();
    const rssThroughput = rssLoad.stop();
    const throughputNoise = throughputOthers();
    const cpuAfter = cpuMs(companionA.pid);
    const emuCpu3 = cpuMs(fast.pid);
    const historyAfter = await metric(companionA.url, 'companion_history_records_written_total');
    const loadSeconds = rpsCompanion.durationUs / 1e6;
    await delay(2000);
    const historyQueueAfter = await metric(companionA.url, 'companion_history_queue_depth');
    const rowsAfter = historyRows(dataDir);
    const rssAfterLoad = rssBytes(companionA.pid) ?? 0;
    await companionA.stop();

    // ----- 256 slow streams -----
    const wave: StreamWave = {
      streams: STREAMS,
      chunks: CHUNKS,
      model: MODEL,
      prompt: 'Tell me, in plenty of words, how a companion proxy keeps every chunk of a slow stream intact.',
    };
    const expected = expectedPieces(wave);
    const companionB = await startCompanion(tmp, dataDir, slow.url, 'streams');
    await delay(500);
    const rssStreamsIdle = rssBytes(companionB.pid) ?? 0;
    const waveTimeout = 30_000 + CHUNKS * CHUNK_DELAY_MS * 4;
    const directPool = openPool(slow.url, STREAMS + 16);
    const companionPool = openPool(companionB.url, STREAMS + 16);
    const streamDirect = { url: slow.url };
    const streamCompanion = { url: companionB.url, authorization };
    say(
      `Streams: ${STREAMS} at once, ${expected} chunks ${CHUNK_DELAY_MS} ms apart; ${WARMUP_WAVES} warm-up + ${WAVES} waves each…`,
    );
    // One wave's answer time moves by a percent or two from the next (GC pauses, three busy
    // processes on two cores), as much as the effect measured: many waves, each side going
    // first in turn.
    const p50Answer = (outcomes: StreamOutcome[]) =>
      percentile(
        outcomes.map((o) => o.totalMs),
        50,
      );
    const wavePair = async (i: number) => {
      const runDirect = () => runWave(directPool, streamDirect, wave, waveTimeout);
      const runCompanion = () => runWave(companionPool, streamCompanion, wave, waveTimeout);
      const first = i % 2 === 0 ? await runDirect() : undefined;
      const companion = await runCompanion();
      const direct = first ?? (await runDirect());
      return { direct, companion, ratio: p50Answer(companion.outcomes) / p50Answer(direct.outcomes) };
    };
    // Both sides start cold, and a server lives warm: V8 keeps optimizing the companion's
    // per-request code for about ten waves (some 2,500 streams), and those waves run 2–4%
    // slower. The measured waves come after that; the warm-up ratios are printed too.
    const warmupRatios: number[] = [];
    for (let i = 0; i < WARMUP_WAVES; i++) warmupRatios.push((await wavePair(i)).ratio);
    const directOutcomes: StreamOutcome[] = [];
    const companionOutcomes: StreamOutcome[] = [];
    const directWalls: number[] = [];
    const companionWalls: number[] = [];
    const rssStreamSampler = new RssSampler(companionB.pid);
    const streamCpu0 = cpuMs(companionB.pid);
    const streamsOthers = othersMeter([fast.pid, slow.pid, companionB.pid], host.cores);
    const streamsWindow = { fromUs: monotonicUs(), toUs: 0 };
    const waveRatios: number[] = [];
    for (let i = 0; i < WAVES; i++) {
      const pair = await wavePair(i);
      directOutcomes.push(...pair.direct.outcomes);
      directWalls.push(pair.direct.wallMs);
      companionOutcomes.push(...pair.companion.outcomes);
      companionWalls.push(pair.companion.wallMs);
      waveRatios.push(pair.ratio);
    }
    streamsWindow.toUs = monotonicUs();
    const streamCpu1 = cpuMs(companionB.pid);
    const streamsNoise = streamsOthers();
    const rssStreams = rssStreamSampler.stop();
    await Promise.all([directPool.close(), companionPool.close()]);
    await companionB.stop();
    const rows = historyRows(dataDir);
    await stopAllChildren();
    // CPU the rest of the machine used meanwhile: figures are only comparable on a quiet machine.
    const othersMs = Math.max(0, machineBusyMs() - busy0 - (ownAndChildrenCpuMs() - own0));
    const othersShare = othersMs / ((Date.now() - wall0) * host.cores);

    // ----- figures -----
    const lat = latencyFigures(latencyRounds);
    const addedP50 = lat.addedP50Ms;
    const addedP99 = lat.addedP99Ms;
    const thr = { direct: wrkSummary(rpsDirect), companion: wrkSummary(rpsCompanion) };
    const rpsRatio = requestsPerSecond(rpsCompanion) / requestsPerSecond(rpsDirect);
    const cpuPer1000 = (cpuAfter - cpuBefore) / (rpsCompanion.requests / 1000);
    const emuCpuPer1000Direct = (emuCpu1 - emuCpu0) / (rpsDirect.requests / 1000);
    const emuCpuPer1000Through = (emuCpu3 - emuCpu2) / (rpsCompanion.requests / 1000);
    const historyPerSecond = (historyAfter - historyBefore) / loadSeconds;
    const rowsPerSecond = (rowsAfter - rowsBefore) / loadSeconds;
    const sd = streamSummary(directOutcomes, directWalls, expected);
    const sc = streamSummary(companionOutcomes, companionWalls, expected);
    const answerRatio = sc.answerP50Ms / sd.answerP50Ms;
    const answerP99Ratio = sc.answerP99Ms / sd.answerP99Ms;
    const wallRatio = sc.waveWallMs / sd.waveWallMs;
    const rssPeak = rssStreams.peakBytes;
    const streamCpuPer1000 = (streamCpu1 - streamCpu0) / ((STREAMS * WAVES) / 1000);

    const met = {
      addedP50: addedP50 <= TARGETS.addedP50Ms,
      addedP99: addedP99 <= TARGETS.addedP99Ms,
      throughput: rpsRatio >= TARGETS.throughputRatio,
      chunksLost: sc.chunksLost === 0 && sc.failedStreams === 0 && sc.wrongContent === 0,
      answerTime: answerRatio <= TARGETS.answerTimeRatio,
      rss: rssPeak <= TARGETS.rssUnderLoadMb * 1024 * 1024,
    };
    const failuresSeen =
      latencyRounds.reduce((n, r) => n + failures(r.direct) + failures(r.companion), 0) +
      failures(rpsDirect) +
      failures(rpsCompanion);

    const tableRows: Row[] = [
      {
        measure: `Latency p50, 1 in flight (ms, median of ${LATENCY_ROUNDS})`,
        direct: ms(lat.direct.p50Ms),
        companion: ms(lat.companion.p50Ms),
        delta: signedMs(addedP50),
        target: `≤ +${TARGETS.addedP50Ms} ms`,
        met: met.addedP50,
      },
      {
        measure: `Latency p99, 1 in flight (ms, median of ${LATENCY_ROUNDS})`,
        direct: ms(lat.direct.p99Ms),
        companion: ms(lat.companion.p99Ms),
        delta: signedMs(addedP99),
        target: `≤ +${TARGETS.addedP99Ms} ms`,
        met: met.addedP99,
      },
      {
        measure: 'Requests/s, 64 connections',
        direct: count(thr.direct.requestsPerSecond),
        companion: count(thr.companion.requestsPerSecond),
        delta: ratio(rpsRatio, 2),
        target: `≥ ${TARGETS.throughputRatio}×`,
        met: met.throughput,
      },
      {
        measure: 'Latency p50 / p99 at 64 conns (ms)',
        direct: `${ms(thr.direct.p50Ms, 2)} / ${ms(thr.direct.p99Ms, 2)}`,
        companion: `${ms(thr.companion.p50Ms, 2)} / ${ms(thr.companion.p99Ms, 2)}`,
      },
      {
        measure: `Time to first chunk p50, ${STREAMS} streams`,
        direct: ms(sd.ttfcP50Ms, 2),
        companion: ms(sc.ttfcP50Ms, 2),
        delta: signedMs(sc.ttfcP50Ms - sd.ttfcP50Ms, 2),
      },
      {
        measure: `Time to first chunk p99, ${STREAMS} streams`,
        direct: ms(sd.ttfcP99Ms, 2),
        companion: ms(sc.ttfcP99Ms, 2),
        delta: signedMs(sc.ttfcP99Ms - sd.ttfcP99Ms, 2),
      },
      {
        measure: `Chunks lost, ${STREAMS} streams × ${WAVES}`,
        direct: `${sd.chunksLost} / ${count(sd.chunksExpected)}`,
        companion: `${sc.chunksLost} / ${count(sc.chunksExpected)}`,
        delta: sc.failedStreams + sc.wrongContent > 0 ? `${sc.failedStreams} failed streams` : '',
        target: '0',
        met: met.chunksLost,
      },
      {
        measure: `Answer time p50, ${STREAMS} streams (ms)`,
        direct: ms(sd.answerP50Ms, 1),
        companion: ms(sc.answerP50Ms, 1),
        delta: ratio(answerRatio),
        target: `≤ ${TARGETS.answerTimeRatio}×`,
        met: met.answerTime,
      },
      {
        measure: `First to last chunk p50, ${STREAMS} streams`,
        direct: ms(sd.afterFirstChunkP50Ms, 1),
        companion: ms(sc.afterFirstChunkP50Ms, 1),
        delta: signedMs(sc.afterFirstChunkP50Ms - sd.afterFirstChunkP50Ms, 1),
      },
      {
        measure: `Answer time p99, ${STREAMS} streams (ms)`,
        direct: ms(sd.answerP99Ms, 1),
        companion: ms(sc.answerP99Ms, 1),
        delta: ratio(answerP99Ratio),
      },
      { measure: 'RSS idle', companion: mb(rssIdle) },
      { measure: 'RSS peak, 64-connection run', companion: mb(rssThroughput.peakBytes) },
      {
        measure: `RSS peak, ${STREAMS} streams`,
        companion: mb(rssPeak),
        target: `≤ ${TARGETS.rssUnderLoadMb} MB`,
        met: met.rss,
      },
      {
        measure: 'CPU per 1,000 requests (ms)',
        direct: `${ms(emuCpuPer1000Direct, 1)} (emulator)`,
        companion: ms(cpuPer1000, 1),
      },
      {
        measure: 'History row writes/s (metric)',
        companion: count(historyPerSecond),
        delta: `of ${count(thr.companion.requestsPerSecond)} req/s`,
      },
      {
        measure: 'History rows added/s (SQLite)',
        companion: count(rowsPerSecond),
      },
    ];

    say('');
    say(table(tableRows));
    say('');
    say(
      `History rows in the database after stop: ${count(rows)}; queue depth 2 s after the load: ${historyQueueAfter}.`,
    );
    say(`wrk failures (non-2xx, timeouts, socket errors): ${failuresSeen}.`);
    say(
      `Other processes used ${(othersMs / 1000).toFixed(1)} CPU-s during the run (${(100 * othersShare).toFixed(1)}% of the machine; load average ${load} at start)${othersShare > 0.05 ? ' — the machine was not quiet, figures are noisy' : ''}.`,
    );
    const pct = (share: number) => `${(100 * share).toFixed(0)}%`;
    say(
      `Share of the machine taken by other processes per phase: latency ${pct(latencyNoise.share)}, requests/s ${pct(throughputNoise.share)}, streams ${pct(streamsNoise.share)}.`,
    );
    say(
      `Companion CPU per 1,000 streams: ${ms(streamCpuPer1000, 0)} ms; wave wall time ratio ${ratio(wallRatio)}.`,
    );
    say(
      `Added latency at 1 in flight, round by round (p50 / p99 ms): ${lat.added.map((a) => `${signedMs(a.p50Ms)} / ${signedMs(a.p99Ms)}`).join(', ')}; the table gives each side's median and the median of these differences.`,
    );
    say(
      `Answer time p50 ratio wave by wave: ${waveRatios.map((r) => ratio(r)).join(', ')} (the table pools all ${WAVES} waves); during the warm-up: ${warmupRatios.map((r) => ratio(r)).join(', ')}.`,
    );

    const profiles = opts.profile
      ? profileSummaries(tmp, {
          latency: ['requests', latencyWindow],
          throughput: ['requests', throughputWindow],
          streams: ['streams', streamsWindow],
        })
      : {};
    for (const [label, summary] of Object.entries(profiles)) {
      say('');
      say(`Companion CPU profile, measured ${label} phase only`);
      say(formatProfile(summary));
    }

    const hotSpots = (list: { name: string; percent: number }[]) =>
      Object.fromEntries(list.map((h) => [h.name, round(h.percent, 1)]));
    const results = {
      date: new Date(started).toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      machine: host,
      interference: {
        loadAverageAtStart: Number(load),
        otherProcessesCpuSeconds: round(othersMs / 1000, 1),
        otherProcessesMachineShare: round(othersShare, 3),
        latencyPhaseShare: round(latencyNoise.share, 3),
        throughputPhaseShare: round(throughputNoise.share, 3),
        streamsPhaseShare: round(streamsNoise.share, 3),
      },
      settings: {
        wrkSeconds: SECONDS,
        latencyRounds: LATENCY_ROUNDS,
        latencySecondsPerRound: LATENCY_SECONDS,
        warmupSeconds: WARMUP,
        streams: STREAMS,
        chunksPerStream: expected,
        chunkDelayMs: CHUNK_DELAY_MS,
        waves: WAVES,
        companionLogLevel: 'info',
        tokenPolicy:
          'models llama3.2*, scopes inference+read, per-minute/day quotas, max-concurrent, history full',
      },
      latency: {
        rounds: lat.rounds.map((r) => ({ direct: roundAll(r.direct), companion: roundAll(r.companion) })),
        direct: roundAll(lat.direct),
        companion: roundAll(lat.companion),
        addedP50Ms: round(addedP50),
        addedP99Ms: round(addedP99),
        addedP50MsByRound: lat.added.map((a) => round(a.p50Ms)),
        addedP99MsByRound: lat.added.map((a) => round(a.p99Ms)),
      },
      throughput: {
        connections: 64,
        direct: roundAll(thr.direct),
        companion: roundAll(thr.companion),
        ratio: round(rpsRatio),
      },
      streams: {
        direct: roundAll(sd),
        companion: roundAll(sc),
        addedTtfcP50Ms: round(sc.ttfcP50Ms - sd.ttfcP50Ms),
        addedTtfcP99Ms: round(sc.ttfcP99Ms - sd.ttfcP99Ms),
        answerTimeRatio: round(answerRatio, 4),
        answerTimeP99Ratio: round(answerP99Ratio, 4),
        answerTimeRatioByWave: waveRatios.map((r) => round(r, 4)),
        answerTimeRatioByWarmupWave: warmupRatios.map((r) => round(r, 4)),
        waveWallRatio: round(wallRatio, 4),
      },
      resources: {
        rssIdleMb: round(rssIdle / 1024 ** 2, 1),
        rssPeakThroughputMb: round(rssThroughput.peakBytes / 1024 ** 2, 1),
        rssAfterThroughputMb: round(rssAfterLoad / 1024 ** 2, 1),
        rssIdleStreamsMb: round(rssStreamsIdle / 1024 ** 2, 1),
        rssPeakStreamsMb: round(rssPeak / 1024 ** 2, 1),
        rssMeanStreamsMb: round(rssStreams.meanBytes / 1024 ** 2, 1),
        cpuMsPer1000Requests: round(cpuPer1000, 1),
        cpuMsPer1000Streams: round(streamCpuPer1000, 1),
        emulatorCpuMsPer1000RequestsDirect: round(emuCpuPer1000Direct, 1),
        emulatorCpuMsPer1000RequestsThroughCompanion: round(emuCpuPer1000Through, 1),
      },
      history: {
        recordsWrittenPerSecond: Math.round(historyPerSecond),
        rowsAddedPerSecond: Math.round(rowsPerSecond),
        companionRequestsPerSecond: thr.companion.requestsPerSecond,
        queueDepthAfterLoad: historyQueueAfter,
        rowsInDatabase: rows,
      },
      targets: {
        addedLatencyP50: { target: `<= ${TARGETS.addedP50Ms} ms`, value: round(addedP50), met: met.addedP50 },
        addedLatencyP99: { target: `<= ${TARGETS.addedP99Ms} ms`, value: round(addedP99), met: met.addedP99 },
        throughputRatio: {
          target: `>= ${TARGETS.throughputRatio}x direct`,
          value: round(rpsRatio),
          met: met.throughput,
        },
        chunksLost: { target: '0', value: sc.chunksLost, met: met.chunksLost },
        answerTimeRatio: {
          target: `<= ${TARGETS.answerTimeRatio}x direct`,
          value: round(answerRatio, 4),
          met: met.answerTime,
        },
        rssUnderStreamLoad: {
          target: `<= ${TARGETS.rssUnderLoadMb} MB`,
          value: round(rssPeak / 1024 ** 2, 1),
          met: met.rss,
        },
      },
      ...(opts.profile
        ? {
            profile: Object.fromEntries(
              Object.entries(profiles).map(([label, s]) => [
                label,
                {
                  busyMs: s.busyMs,
                  functionsSelfPercent: hotSpots(s.functions),
                  modulesSelfPercent: hotSpots(s.modules),
                  ownFunctionsTotalPercent: hotSpots(s.ownTotals),
                },
              ]),
            ),
          }
        : {}),
    };
    const historyRecords = Number(opts['history-records']);
    if (historyRecords > 0) {
      say('');
      say(`History search: filling a database with ${count(historyRecords)} records (takes a few minutes)…`);
      const search = await benchHistorySearch({ records: historyRecords, log: () => {} });
      say(
        `Full-text search p50 / p95: ${search.fullTextP50Ms} / ${search.fullTextP95Ms} ms (target p95 < 100 ms)`,
      );
      say(
        `Search with a token or model filter p95: ${search.filteredP95Ms} ms; listing p95: ${search.listP95Ms} ms`,
      );
      say(
        `Dashboard usage query (30 days): ${search.usageQueryMs} ms (target < 200 ms); 90 days: ${search.usage90dMs} ms`,
      );
      say(`Database: ${search.databaseMb} MB, loaded in ${search.loadSeconds} s`);
      Object.assign(results, { historySearch: search });
    }
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    say('');
    say(`Wrote bench/results.json (${Math.round((Date.now() - started) / 1000)} s in all).`);
    if (failuresSeen > 0) process.exitCode = 1;
  } finally {
    await stopAllChildren();
    if (opts.keep || opts.profile)
      say(`Kept ${tmp} (logs, database${opts.profile ? ', CPU profiles' : ''}).`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

function roundAll<T extends Record<string, number>>(values: T): Record<keyof T, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v)])) as Record<keyof T, number>;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  async (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    await stopAllChildren();
    process.exit(1);
  },
);
