/**
 * `npm run bench`: the same load straight to an Ollama emulator and through the companion (auth, policy,
 * history and metrics on, a real token, info logs to a file), each as its own process, with wrk as the
 * load generator; at 64 connections also through the bare pass-through (bench/bare-pass-through.js), the
 * reference the companion's requests/s is held to. Prints a table with the targets beside the figures and
 * writes bench/results.json.
 *
 * Phases (--only latency,proxy,streams,search,pg-search picks some; default all): latency (one request in
 * flight), proxy (64 connections: direct, bare pass-through, companion), streams (many slow streams at
 * once), search (history search over a large SQLite database), pg-search (the same history and queries
 * on a private PostgreSQL server; skipped when PostgreSQL is not installed).
 *
 * Options: --seconds N (each measured 64-connection wrk run, default 10), --proxy-rounds N (rounds of the
 * 64-connection phase, the three sides in a rotating order, default 1), --latency-rounds N (alternating
 * direct/companion rounds at one request in flight, default 5), --latency-seconds N (each such round, default 4),
 * --warmup N (default 2), --streams N (256),
 * --chunks N (50), --chunk-delay-ms N (20), --waves N (8), --warmup-waves N (10), --profile (CPU-profile the
 * companion and the bare pass-through and rank their hot spots), --no-build (use dist/ as it is), --keep (keep
 * the temporary directory), --wait-quiet N (wait up to N s, default 30, for other processes to leave the CPUs
 * alone; 0 to skip), --history-records N (history search over N stored records, default 1,000,000; 0 to skip),
 * --explain (with pg-search: print EXPLAIN ANALYZE of PostgreSQL's slowest search of each kind).
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
import { postgresInstalled } from '../scripts/private-postgres.mjs';
import { benchHistorySearch, type HistorySearchFigures } from './history-search-bench.js';
import {
  benchPostgresHistorySearch,
  type PostgresHistorySearchFigures,
} from './postgres-history-search-bench.js';
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
  monotonicUs,
  type ProfileSummary,
  type ProfileWindow,
  summariseProfile,
} from './profile-summary.js';
import { proxyFigures, proxyMet, proxyRows, runProxyPhase, SIDES } from './proxy-phase.js';
import { count, mb, ms, percentile, type Row, ratio, signedMs, table } from './report.js';
import { expectedPieces, openPool, runWave, type StreamOutcome, type StreamWave } from './streams.js';
import { ensureWrk, failures, runWrk, type WrkResult, wrkSummary } from './wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'ollama-companion.js');
const EMULATOR = join(ROOT, 'test', 'support', 'emulator-main.ts');
const BARE = join(ROOT, 'bench', 'bare-pass-through.js');
const RESULTS = join(ROOT, 'bench', 'results.json');
const MODEL = 'llama3.2:latest';
/** The Node flags the executable's `#!/usr/bin/env -S node …` line sets, so the companion runs as installed. */
const NODE_FLAGS = readFileSync(BIN, 'utf8').split('\n')[0]!.split(/\s+/).slice(3);

const TARGETS = {
  addedP50Ms: 0.25,
  addedP99Ms: 2.5,
  throughputRatio: 0.45,
  /** Requests/s at 64 connections against the bare pass-through, with every feature on. */
  throughputRatioToBare: 0.8,
  answerTimeRatio: 1.02,
  /** Peak RSS under 64 connections and under the many streams. */
  rssUnderLoadMb: 150,
  /** History search over --history-records records, on either store. */
  searchP95Ms: 100,
  usageQueryMs: 200,
};

const PHASE_NAMES = ['latency', 'proxy', 'streams', 'search', 'pg-search'] as const;
type Phase = (typeof PHASE_NAMES)[number];

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    'proxy-rounds': { type: 'string', default: '1' },
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
    explain: { type: 'boolean', default: false },
  },
  strict: true,
});

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

function phasesOf(raw: string | undefined): Set<Phase> {
  if (raw === undefined) return new Set(PHASE_NAMES);
  const names = raw.split(',').map((n) => n.trim());
  for (const name of names) {
    if (!(PHASE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`--only takes a list of ${PHASE_NAMES.join(', ')}; got "${name}"`);
    }
  }
  return new Set(names as Phase[]);
}

const PHASES = phasesOf(opts.only);
if (Number(opts['history-records']) === 0) {
  PHASES.delete('search');
  PHASES.delete('pg-search');
}
const SECONDS = positive('seconds', opts.seconds);
const PROXY_ROUNDS = positive('proxy-rounds', opts['proxy-rounds']);
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

interface Bare {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The bare pass-through, with the companion's Node flags; the secret goes by environment. */
async function startBare(tmp: string, upstream: string, secret: string): Promise<Bare> {
  const profileArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', join(tmp, 'profile-bare')] : [];
  const child = spawnTracked(
    process.execPath,
    [...NODE_FLAGS, ...profileArgs, BARE, '--port', '0', '--upstream', upstream],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BARE_SECRET: secret } },
  );
  const url = await waitForUrlLine(child, 'bare pass-through', 20_000);
  return { url, pid: child.pid!, stop: () => stopChild(child, 10_000) };
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

/** Checks that direct answers, and that `proxy` (the companion or the bare pass-through) answers with the token and refuses without. */
async function sanityCheck(
  direct: string,
  proxy: string,
  authorization: string,
  what: string,
): Promise<void> {
  const body = chatBody('hello', false);
  const d = await post(direct, body);
  const c = await post(proxy, body, authorization);
  const anonymous = await post(proxy, body);
  const content = (text: string) => (JSON.parse(text) as { message?: { content?: string } }).message?.content;
  if (d.status !== 200 || content(d.text) !== 'Echo: hello') throw new Error(`direct answered ${d.status}`);
  if (c.status !== 200 || content(c.text) !== 'Echo: hello') {
    throw new Error(`${what} answered ${c.status}: ${c.text.slice(0, 200)}`);
  }
  if (anonymous.status !== 401)
    throw new Error(`${what} let a request without a token through (${anonymous.status})`);
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

/**
 * Ranks the CPU profiles over the measured phases: `phase → [process label, its measured windows]`.
 * Node writes one profile per thread (`CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile`): the main
 * thread's is the phase's own, a worker's (the history writer) comes as `<phase>, thread <n>`.
 */
function profileSummaries(
  tmp: string,
  phases: Record<string, [string, ProfileWindow | ProfileWindow[]]>,
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
    for (const file of files.sort()) {
      const thread = Number(file.split('.').at(-3));
      out[thread === 0 ? phase : `${phase}, thread ${thread}`] = summariseProfile(
        join(dir, file),
        15,
        window,
      );
    }
  }
  // The windows, for reading the kept profiles again later (bench/profile-summary.ts).
  writeFileSync(join(tmp, 'profile-windows.json'), `${JSON.stringify(phases, null, 2)}\n`);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------

interface WrkTarget {
  url: string;
  body: string;
  authorization?: string;
}

/**
 * One request in flight, direct and through the companion in alternating rounds. The tail of one
 * request in flight moves with whatever else the machine does from one second to the next, so the two
 * sides alternate, each round in the opposite order, and each round's difference is taken between
 * neighbours in time.
 */
async function latencyPhase(direct: WrkTarget, through: WrkTarget, pids: number[], cores: number) {
  say(
    `Latency, 1 connection: warm-up ${WARMUP} s each, then ${LATENCY_ROUNDS} rounds of ${LATENCY_SECONDS} s direct and ${LATENCY_SECONDS} s companion…`,
  );
  await runWrk({ ...direct, threads: 1, connections: 1, seconds: WARMUP });
  await runWrk({ ...through, threads: 1, connections: 1, seconds: WARMUP });
  const others = othersMeter(pids, cores);
  const window = { fromUs: monotonicUs(), toUs: 0 };
  const rounds: { direct: WrkResult; companion: WrkResult }[] = [];
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    const one = { threads: 1, connections: 1, seconds: LATENCY_SECONDS };
    if (round % 2 === 0) {
      const d = await runWrk({ ...direct, ...one });
      rounds.push({ direct: d, companion: await runWrk({ ...through, ...one }) });
    } else {
      const c = await runWrk({ ...through, ...one });
      rounds.push({ direct: await runWrk({ ...direct, ...one }), companion: c });
    }
  }
  window.toUs = monotonicUs();
  return { rounds, noise: others(), window };
}

/**
 * 64 connections: direct, the bare pass-through and the companion, with the companion's history
 * counters read around each of its runs.
 */
async function proxyPhase(
  tmp: string,
  dataDir: string,
  emulator: Emulator,
  companion: Companion,
  secret: string,
  body: string,
  otherPids: number[],
  cores: number,
) {
  const authorization = `Bearer ${secret}`;
  const bare = await startBare(tmp, emulator.url, secret);
  await sanityCheck(emulator.url, bare.url, authorization, 'the bare pass-through');
  await delay(500);
  const bareRssIdle = rssBytes(bare.pid) ?? 0;
  say(`Bare pass-through idle RSS: ${mb(bareRssIdle)}`);
  say(
    `Requests/s, 64 connections: warm-up ${WARMUP} s each, then ${PROXY_ROUNDS} round${PROXY_ROUNDS > 1 ? 's' : ''} of ${SECONDS} s each for direct, the bare pass-through and the companion…`,
  );
  const written = 'companion_history_records_written_total';
  let writtenBefore = 0;
  let historyWritten = 0;
  const rowsBefore = historyRows(dataDir);
  const phase = await runProxyPhase({
    targets: {
      direct: { url: `${emulator.url}/api/chat`, pid: emulator.pid },
      bare: { url: `${bare.url}/api/chat`, authorization, pid: bare.pid },
      companion: { url: `${companion.url}/api/chat`, authorization, pid: companion.pid },
    },
    emulatorPid: emulator.pid,
    otherPids,
    cores,
    body,
    connections: 64,
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    rounds: PROXY_ROUNDS,
    companionRun: {
      async before() {
        writtenBefore = await metric(companion.url, written);
      },
      async after() {
        historyWritten += (await metric(companion.url, written)) - writtenBefore;
      },
    },
  });
  await delay(2000);
  const historyQueueAfter = await metric(companion.url, 'companion_history_queue_depth');
  const rowsAdded = historyRows(dataDir) - rowsBefore;
  const rssAfterLoad = rssBytes(companion.pid) ?? 0;
  await bare.stop();
  return {
    phase,
    figures: proxyFigures(phase),
    bareRssIdle,
    historyWritten,
    rowsAdded,
    historyQueueAfter,
    rssAfterLoad,
  };
}

/** Many slow streams at once, in waves taken in turn (each side going first every other time). */
async function streamsPhase(
  tmp: string,
  dataDir: string,
  slow: Emulator,
  authorization: string,
  otherPids: number[],
  cores: number,
) {
  const wave: StreamWave = {
    streams: STREAMS,
    chunks: CHUNKS,
    model: MODEL,
    prompt: 'Tell me, in plenty of words, how a companion proxy keeps every chunk of a slow stream intact.',
  };
  const expected = expectedPieces(wave);
  const companionB = await startCompanion(tmp, dataDir, slow.url, 'streams');
  await delay(500);
  const rssIdle = rssBytes(companionB.pid) ?? 0;
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
  const rssSampler = new RssSampler(companionB.pid);
  const cpu0 = cpuMs(companionB.pid);
  const others = othersMeter([...otherPids, companionB.pid], cores);
  const window = { fromUs: monotonicUs(), toUs: 0 };
  const waveRatios: number[] = [];
  for (let i = 0; i < WAVES; i++) {
    const pair = await wavePair(i);
    directOutcomes.push(...pair.direct.outcomes);
    directWalls.push(pair.direct.wallMs);
    companionOutcomes.push(...pair.companion.outcomes);
    companionWalls.push(pair.companion.wallMs);
    waveRatios.push(pair.ratio);
  }
  window.toUs = monotonicUs();
  const cpu = cpuMs(companionB.pid) - cpu0;
  const noise = others();
  const rss = rssSampler.stop();
  await Promise.all([directPool.close(), companionPool.close()]);
  await companionB.stop();
  return {
    expected,
    rssIdle,
    rss,
    cpuMsPer1000: cpu / ((STREAMS * WAVES) / 1000),
    noise,
    window,
    warmupRatios,
    waveRatios,
    direct: streamSummary(directOutcomes, directWalls, expected),
    companion: streamSummary(companionOutcomes, companionWalls, expected),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const wrkVersion = ensureWrk();
  const host = machine(wrkVersion);
  say(`Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGb} GB, Node ${host.node}, ${host.kernel}`);
  say(`Load generator: ${wrkVersion}`);
  say(
    `Companion: node ${[...NODE_FLAGS, 'bin/ollama-companion.js'].join(' ')} serve (the executable's own flags)`,
  );
  say(`Phases: ${[...PHASES].join(', ')}`);

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
    const [fast, slow] = await Promise.all([
      startEmulator(0, 5),
      PHASES.has('streams') ? startEmulator(CHUNK_DELAY_MS, CHUNKS) : Promise.resolve(undefined),
    ]);
    const emulatorPids = slow ? [fast.pid, slow.pid] : [fast.pid];
    const secret = createToken(dataDir);
    const authorization = `Bearer ${secret}`;
    const nonStream = chatBody('hello', false);

    // ----- one request in flight, then 64 connections, on one companion -----
    let rssIdle = Number.NaN;
    let latency: Awaited<ReturnType<typeof latencyPhase>> | undefined;
    let proxy: Awaited<ReturnType<typeof proxyPhase>> | undefined;
    if (PHASES.has('latency') || PHASES.has('proxy')) {
      const companionA = await startCompanion(tmp, dataDir, fast.url, 'requests');
      await sanityCheck(fast.url, companionA.url, authorization, 'the companion');
      await delay(1000);
      rssIdle = rssBytes(companionA.pid) ?? 0;
      say(`Companion idle RSS: ${mb(rssIdle)}`);
      const pids = [...emulatorPids, companionA.pid];
      if (PHASES.has('latency')) {
        latency = await latencyPhase(
          { url: `${fast.url}/api/chat`, body: nonStream },
          { url: `${companionA.url}/api/chat`, body: nonStream, authorization },
          pids,
          host.cores,
        );
      }
      if (PHASES.has('proxy')) {
        proxy = await proxyPhase(tmp, dataDir, fast, companionA, secret, nonStream, pids, host.cores);
      }
      await companionA.stop();
    }

    // ----- many slow streams -----
    const streams = slow
      ? await streamsPhase(tmp, dataDir, slow, authorization, emulatorPids, host.cores)
      : undefined;

    const rows = historyRows(dataDir);
    await stopAllChildren();
    // CPU the rest of the machine used meanwhile: figures are only comparable on a quiet machine.
    const othersMs = Math.max(0, machineBusyMs() - busy0 - (ownAndChildrenCpuMs() - own0));
    const othersShare = othersMs / ((Date.now() - wall0) * host.cores);

    // ----- figures -----
    const lat = latency ? latencyFigures(latency.rounds) : undefined;
    const pf = proxy?.figures;
    const sd = streams?.direct;
    const sc = streams?.companion;
    const answerRatio = sd && sc ? sc.answerP50Ms / sd.answerP50Ms : Number.NaN;
    const answerP99Ratio = sd && sc ? sc.answerP99Ms / sd.answerP99Ms : Number.NaN;
    const wallRatio = sd && sc ? sc.waveWallMs / sd.waveWallMs : Number.NaN;
    const rssPeak = streams?.rss.peakBytes ?? Number.NaN;
    const historyPerSecond = proxy && pf ? proxy.historyWritten / pf.companionSeconds : Number.NaN;
    const rowsPerSecond = proxy && pf ? proxy.rowsAdded / pf.companionSeconds : Number.NaN;

    const met = {
      ...(lat
        ? { addedP50: lat.addedP50Ms <= TARGETS.addedP50Ms, addedP99: lat.addedP99Ms <= TARGETS.addedP99Ms }
        : {}),
      ...(pf ? proxyMet(pf, TARGETS) : {}),
      ...(sc
        ? {
            chunksLost: sc.chunksLost === 0 && sc.failedStreams === 0 && sc.wrongContent === 0,
            answerTime: answerRatio <= TARGETS.answerTimeRatio,
            rssStreams: rssPeak <= TARGETS.rssUnderLoadMb * 1024 * 1024,
          }
        : {}),
    };
    const failuresSeen =
      (latency?.rounds.reduce((n, r) => n + failures(r.direct) + failures(r.companion), 0) ?? 0) +
      (proxy
        ? SIDES.reduce((n, side) => n + proxy.phase.sides[side].runs.reduce((k, r) => k + failures(r), 0), 0)
        : 0);

    // ----- history search, SQLite then PostgreSQL, over the same generated history -----
    const historyRecords = Number(opts['history-records']);
    let historySearch: HistorySearchFigures | undefined;
    if (PHASES.has('search')) {
      say('');
      say(
        `History search (SQLite): filling a database with ${count(historyRecords)} records (takes a few minutes)…`,
      );
      historySearch = await benchHistorySearch({ records: historyRecords, log: () => {} });
      say(`SQLite: loaded in ${historySearch.loadSeconds} s, ${historySearch.databaseMb} MB.`);
    }
    let pgSearch: PostgresHistorySearchFigures | undefined;
    if (PHASES.has('pg-search')) {
      say('');
      if (!postgresInstalled()) {
        say(
          'History search (PostgreSQL): skipped, PostgreSQL is not installed (sh scripts/ensure-postgres.sh).',
        );
      } else {
        say(
          `History search (PostgreSQL): filling a private server with ${count(historyRecords)} records through the store's writeBatch…`,
        );
        say(
          'The private server runs with fsync, synchronous_commit and full_page_writes off (a throwaway cluster): that speeds the fill, not the searches, which only read.',
        );
        pgSearch = await benchPostgresHistorySearch({
          records: historyRecords,
          explain: opts.explain ?? false,
          log: say,
        });
        say(
          `PostgreSQL: ${count(pgSearch.fillRecordsPerSecond)} records/s through writeBatch (batches of ${count(pgSearch.batchSize)}), VACUUM ANALYZE ${pgSearch.vacuumAnalyzeSeconds} s, ${pgSearch.databaseMb} MB.`,
        );
      }
    }

    const tableRows: Row[] = [];
    if (lat) {
      tableRows.push(
        {
          measure: `Latency p50, 1 in flight (ms, median of ${LATENCY_ROUNDS})`,
          direct: ms(lat.direct.p50Ms),
          companion: ms(lat.companion.p50Ms),
          delta: signedMs(lat.addedP50Ms),
          target: `≤ +${TARGETS.addedP50Ms} ms`,
          met: met.addedP50,
        },
        {
          measure: `Latency p99, 1 in flight (ms, median of ${LATENCY_ROUNDS})`,
          direct: ms(lat.direct.p99Ms),
          companion: ms(lat.companion.p99Ms),
          delta: signedMs(lat.addedP99Ms),
          target: `≤ +${TARGETS.addedP99Ms} ms`,
          met: met.addedP99,
        },
      );
    }
    if (pf) tableRows.push(...proxyRows(pf, TARGETS, 64, PROXY_ROUNDS));
    if (sd && sc) {
      tableRows.push(
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
      );
    }
    if (Number.isFinite(rssIdle)) {
      tableRows.push({
        measure: 'RSS idle',
        ...(proxy ? { bare: mb(proxy.bareRssIdle) } : {}),
        companion: mb(rssIdle),
      });
    }
    if (streams) {
      tableRows.push({
        measure: `RSS peak, ${STREAMS} streams`,
        companion: mb(rssPeak),
        target: `≤ ${TARGETS.rssUnderLoadMb} MB`,
        met: met.rssStreams,
      });
    }
    if (pf) {
      tableRows.push(
        {
          measure: 'History row writes/s (metric)',
          companion: count(historyPerSecond),
          delta: `of ${count(pf.rps.companion)} req/s`,
        },
        { measure: 'History rows added/s (SQLite)', companion: count(rowsPerSecond) },
      );
    }

    if (historySearch) tableRows.push(...searchRows('SQLite', historySearch));
    if (pgSearch) {
      tableRows.push(...searchRows('PostgreSQL', pgSearch), {
        measure: 'History fill through writeBatch (PostgreSQL, fsync off)',
        companion: `${count(pgSearch.fillRecordsPerSecond)} records/s`,
      });
    }

    say('');
    say(table(tableRows));
    say('');
    for (const [kind, plan] of Object.entries(pgSearch?.plans ?? {})) {
      say(`PostgreSQL's slowest ${kind} search, EXPLAIN (ANALYZE, BUFFERS):`);
      say(plan);
      say('');
    }
    if (proxy && pf) {
      say(
        `Bare pass-through: bench/bare-pass-through.js (node:http, a constant-time bearer check, undici Pool stream(), nothing else).`,
      );
      say(
        `Emulator CPU per 1,000 requests: direct ${ms(pf.emulatorCpuPer1000.direct, 1)} ms, behind the bare pass-through ${ms(pf.emulatorCpuPer1000.bare, 1)} ms, behind the companion ${ms(pf.emulatorCpuPer1000.companion, 1)} ms.`,
      );
      if (PROXY_ROUNDS > 1) {
        say(
          `Requests/s ratios round by round (companion/bare, companion/direct): ${pf.byRound.map((r) => `${ratio(r.companionToBare, 2)} ${ratio(r.companionToDirect, 2)}`).join(', ')}.`,
        );
      }
      say(
        `History rows in the database after stop: ${count(rows)}; queue depth 2 s after the load: ${proxy.historyQueueAfter}.`,
      );
    }
    say(`wrk failures (non-2xx, timeouts, socket errors): ${failuresSeen}.`);
    say(
      `Other processes used ${(othersMs / 1000).toFixed(1)} CPU-s during the run (${(100 * othersShare).toFixed(1)}% of the machine; load average ${load} at start)${othersShare > 0.05 ? ' — the machine was not quiet, figures are noisy' : ''}.`,
    );
    const pct = (share: number) => `${(100 * share).toFixed(0)}%`;
    const shares = [
      latency ? `latency ${pct(latency.noise.share)}` : '',
      proxy ? `requests/s ${pct(proxy.phase.othersShare)}` : '',
      streams ? `streams ${pct(streams.noise.share)}` : '',
    ].filter(Boolean);
    if (shares.length > 0)
      say(`Share of the machine taken by other processes per phase: ${shares.join(', ')}.`);
    if (streams) {
      say(
        `Companion CPU per 1,000 streams: ${ms(streams.cpuMsPer1000, 0)} ms; wave wall time ratio ${ratio(wallRatio)}.`,
      );
    }
    if (lat) {
      say(
        `Added latency at 1 in flight, round by round (p50 / p99 ms): ${lat.added.map((a) => `${signedMs(a.p50Ms)} / ${signedMs(a.p99Ms)}`).join(', ')}; the table gives each side's median and the median of these differences.`,
      );
    }
    if (streams) {
      say(
        `Answer time p50 ratio wave by wave: ${streams.waveRatios.map((r) => ratio(r)).join(', ')} (the table pools all ${WAVES} waves); during the warm-up: ${streams.warmupRatios.map((r) => ratio(r)).join(', ')}.`,
      );
    }

    const profileWindows: Record<string, [string, ProfileWindow | ProfileWindow[]]> = {};
    if (latency) profileWindows.latency = ['requests', latency.window];
    if (proxy) {
      profileWindows.throughput = ['requests', proxy.phase.sides.companion.windows];
      profileWindows['throughput, bare pass-through'] = ['bare', proxy.phase.sides.bare.windows];
    }
    if (streams) profileWindows.streams = ['streams', streams.window];
    const profiles = opts.profile ? profileSummaries(tmp, profileWindows) : {};
    for (const [label, summary] of Object.entries(profiles)) {
      say('');
      const who = label.includes('bare') ? 'Bare pass-through' : 'Companion';
      say(`${who} CPU profile: ${label}, measured runs only`);
      say(formatProfile(summary));
    }

    const hotSpots = (list: { name: string; percent: number }[]) =>
      Object.fromEntries(list.map((h) => [h.name, round(h.percent, 1)]));
    const mbOf = (bytes: number) => round(bytes / 1024 ** 2, 1);
    const results = {
      date: new Date(started).toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      machine: host,
      phases: [...PHASES],
      interference: {
        loadAverageAtStart: Number(load),
        otherProcessesCpuSeconds: round(othersMs / 1000, 1),
        otherProcessesMachineShare: round(othersShare, 3),
        ...(latency ? { latencyPhaseShare: round(latency.noise.share, 3) } : {}),
        ...(proxy ? { throughputPhaseShare: round(proxy.phase.othersShare, 3) } : {}),
        ...(streams ? { streamsPhaseShare: round(streams.noise.share, 3) } : {}),
      },
      settings: {
        wrkSeconds: SECONDS,
        proxyRounds: PROXY_ROUNDS,
        latencyRounds: LATENCY_ROUNDS,
        latencySecondsPerRound: LATENCY_SECONDS,
        warmupSeconds: WARMUP,
        streams: STREAMS,
        chunksPerStream: streams?.expected ?? null,
        chunkDelayMs: CHUNK_DELAY_MS,
        waves: WAVES,
        companionLogLevel: 'info',
        tokenPolicy:
          'models llama3.2*, scopes inference+read, per-minute/day quotas, max-concurrent, history full',
        barePassThrough:
          'bench/bare-pass-through.js: node:http, constant-time bearer check, undici Pool stream()',
      },
      ...(lat
        ? {
            latency: {
              rounds: lat.rounds.map((r) => ({
                direct: roundAll(r.direct),
                companion: roundAll(r.companion),
              })),
              direct: roundAll(lat.direct),
              companion: roundAll(lat.companion),
              addedP50Ms: round(lat.addedP50Ms),
              addedP99Ms: round(lat.addedP99Ms),
              addedP50MsByRound: lat.added.map((a) => round(a.p50Ms)),
              addedP99MsByRound: lat.added.map((a) => round(a.p99Ms)),
            },
          }
        : {}),
      ...(pf
        ? {
            throughput: {
              connections: 64,
              direct: roundAll(pf.summary.direct),
              companion: roundAll(pf.summary.companion),
              ratio: round(pf.ratios.companionToDirect),
              bare: roundAll(pf.summary.bare),
              ratioToBare: round(pf.ratios.companionToBare),
              bareRatioToDirect: round(pf.ratios.bareToDirect),
              rounds: PROXY_ROUNDS,
              byRound: pf.byRound.map((r) => ({
                order: r.order,
                companionToBare: round(r.companionToBare),
                companionToDirect: round(r.companionToDirect),
                bareToDirect: round(r.bareToDirect),
              })),
            },
          }
        : {}),
      ...(sd && sc
        ? {
            streams: {
              direct: roundAll(sd),
              companion: roundAll(sc),
              addedTtfcP50Ms: round(sc.ttfcP50Ms - sd.ttfcP50Ms),
              addedTtfcP99Ms: round(sc.ttfcP99Ms - sd.ttfcP99Ms),
              answerTimeRatio: round(answerRatio, 4),
              answerTimeP99Ratio: round(answerP99Ratio, 4),
              answerTimeRatioByWave: streams!.waveRatios.map((r) => round(r, 4)),
              answerTimeRatioByWarmupWave: streams!.warmupRatios.map((r) => round(r, 4)),
              waveWallRatio: round(wallRatio, 4),
            },
          }
        : {}),
      resources: {
        ...(Number.isFinite(rssIdle) ? { rssIdleMb: mbOf(rssIdle) } : {}),
        ...(proxy && pf
          ? {
              rssPeakThroughputMb: mbOf(pf.rssPeak.companion),
              rssAfterThroughputMb: mbOf(proxy.rssAfterLoad),
              cpuMsPer1000Requests: round(pf.cpuPer1000.companion, 1),
              emulatorCpuMsPer1000RequestsDirect: round(pf.emulatorCpuPer1000.direct, 1),
              emulatorCpuMsPer1000RequestsThroughCompanion: round(pf.emulatorCpuPer1000.companion, 1),
              bareRssIdleMb: mbOf(proxy.bareRssIdle),
              bareRssPeakThroughputMb: mbOf(pf.rssPeak.bare),
              emulatorRssPeakThroughputMb: mbOf(pf.rssPeak.direct),
              bareCpuMsPer1000Requests: round(pf.cpuPer1000.bare, 1),
              emulatorCpuMsPer1000RequestsThroughBare: round(pf.emulatorCpuPer1000.bare, 1),
              chainCpuMsPer1000RequestsThroughBare: round(pf.chainCpuPer1000.bare, 1),
              chainCpuMsPer1000RequestsThroughCompanion: round(pf.chainCpuPer1000.companion, 1),
              cpuRatioToBare: round(pf.ratios.cpuCompanionToBare),
              mainThreadCpuMsPer1000Requests: round(pf.mainCpuPer1000.companion, 1),
              bareMainThreadCpuMsPer1000Requests: round(pf.mainCpuPer1000.bare, 1),
              emulatorMainThreadCpuMsPer1000RequestsDirect: round(pf.mainCpuPer1000.direct, 1),
            }
          : {}),
        ...(streams
          ? {
              rssIdleStreamsMb: mbOf(streams.rssIdle),
              rssPeakStreamsMb: mbOf(rssPeak),
              rssMeanStreamsMb: mbOf(streams.rss.meanBytes),
              cpuMsPer1000Streams: round(streams.cpuMsPer1000, 1),
            }
          : {}),
      },
      ...(proxy && pf
        ? {
            history: {
              recordsWrittenPerSecond: Math.round(historyPerSecond),
              rowsAddedPerSecond: Math.round(rowsPerSecond),
              companionRequestsPerSecond: Math.round(pf.rps.companion),
              queueDepthAfterLoad: proxy.historyQueueAfter,
              rowsInDatabase: rows,
            },
          }
        : {}),
      targets: {
        ...(lat
          ? {
              addedLatencyP50: {
                target: `<= ${TARGETS.addedP50Ms} ms`,
                value: round(lat.addedP50Ms),
                met: met.addedP50,
              },
              addedLatencyP99: {
                target: `<= ${TARGETS.addedP99Ms} ms`,
                value: round(lat.addedP99Ms),
                met: met.addedP99,
              },
            }
          : {}),
        ...(pf
          ? {
              throughputRatio: {
                target: `>= ${TARGETS.throughputRatio}x direct`,
                value: round(pf.ratios.companionToDirect),
                met: met.throughput,
              },
              throughputRatioToBare: {
                target: `>= ${TARGETS.throughputRatioToBare}x bare pass-through`,
                value: round(pf.ratios.companionToBare),
                met: met.throughputToBare,
              },
              rssUnder64Connections: {
                target: `<= ${TARGETS.rssUnderLoadMb} MB`,
                value: mbOf(pf.rssPeak.companion),
                met: met.rss,
              },
            }
          : {}),
        ...(sc
          ? {
              chunksLost: { target: '0', value: sc.chunksLost, met: met.chunksLost },
              answerTimeRatio: {
                target: `<= ${TARGETS.answerTimeRatio}x direct`,
                value: round(answerRatio, 4),
                met: met.answerTime,
              },
              rssUnderStreamLoad: {
                target: `<= ${TARGETS.rssUnderLoadMb} MB`,
                value: mbOf(rssPeak),
                met: met.rssStreams,
              },
            }
          : {}),
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
                  modulesTotalPercent: hotSpots(s.moduleTotals),
                  ownFunctionsTotalPercent: hotSpots(s.ownTotals),
                },
              ]),
            ),
          }
        : {}),
    };
    if (historySearch) Object.assign(results, { historySearch });
    if (pgSearch) {
      Object.assign(results, {
        historySearchPostgres: {
          ...pgSearch,
          server:
            'private PostgreSQL (scripts/private-postgres.mjs): fsync, synchronous_commit, full_page_writes off; shared_buffers 64MB',
        },
      });
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

/** The history search rows of the table for one store. */
function searchRows(store: string, f: HistorySearchFigures): Row[] {
  const over = `History search over ${count(f.records)} records (${store})`;
  return [
    {
      measure: `${over}: full-text p50 / p95`,
      companion: `${ms(f.fullTextP50Ms, 1)} / ${ms(f.fullTextP95Ms, 1)} ms`,
      target: `p95 < ${TARGETS.searchP95Ms} ms`,
      met: f.fullTextP95Ms < TARGETS.searchP95Ms,
    },
    {
      measure: `${over}: with a token or model filter p95`,
      companion: `${ms(f.filteredP95Ms, 1)} ms`,
      target: `< ${TARGETS.searchP95Ms} ms`,
      met: f.filteredP95Ms < TARGETS.searchP95Ms,
    },
    { measure: `${over}: listing (no search) p95`, companion: `${ms(f.listP95Ms, 1)} ms` },
    {
      measure: `${over}: dashboard usage 30 / 90 days`,
      companion: `${ms(f.usageQueryMs, 1)} / ${ms(f.usage90dMs, 1)} ms`,
      target: `30 d < ${TARGETS.usageQueryMs} ms`,
      met: f.usageQueryMs < TARGETS.usageQueryMs,
    },
  ];
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
