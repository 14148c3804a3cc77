/**
 * The 64-connection phase: the same wrk load straight to the emulator ("direct"), through the bare
 * pass-through (bench/bare-pass-through.js, the reference) and through the companion, in one run. Each
 * side's server is its own process, so its CPU (from /proc) and RSS (sampled) are its own; the emulator's
 * CPU is counted beside each side too, since all of them share the same two cores.
 *
 * With several rounds, the three sides take turns in a rotating order (each goes first once in three),
 * so a burst of other work on the machine lands on every side alike rather than on one.
 */
import { cpuMs, othersMeter, RssSampler } from './processes.js';
import { monotonicUs, type ProfileWindow } from './profile-summary.js';
import { count, mb, ms, type Row, ratio } from './report.js';
import { pooledSummary, requestsPerSecond, runWrk, type WrkResult, type WrkSummary } from './wrk.js';

export const SIDES = ['direct', 'bare', 'companion'] as const;
export type Side = (typeof SIDES)[number];

export interface ProxyTarget {
  /** The URL wrk loads (`…/api/chat`). */
  url: string;
  authorization?: string;
  /** The process serving it: the emulator itself for `direct`. */
  pid: number;
}

export interface ProxyPhaseOptions {
  targets: Record<Side, ProxyTarget>;
  emulatorPid: number;
  /** Other processes of ours that stay up meanwhile (not counted as interference). */
  otherPids: number[];
  cores: number;
  body: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  /** Called just before and just after each measured companion run (history counters). */
  companionRun?: { before(): Promise<void>; after(run: WrkResult): Promise<void> };
}

export interface SideMeasure {
  runs: WrkResult[];
  serverCpuMs: number;
  /** The serving process's main thread alone (the thread that answers requests; its id is the pid). */
  serverMainCpuMs: number;
  emulatorCpuMs: number;
  rssPeakBytes: number;
  rssMeanBytes: number;
  /** When its measured runs took place, to cut a CPU profile to them. */
  windows: ProfileWindow[];
}

export interface ProxyPhase {
  sides: Record<Side, SideMeasure>;
  /** Each round's order and requests/s per side. */
  rounds: { order: Side[]; requestsPerSecond: Record<Side, number> }[];
  /** Share of the machine other processes took during the measured runs. */
  othersShare: number;
}

function emptyMeasure(): SideMeasure {
  return {
    runs: [],
    serverCpuMs: 0,
    serverMainCpuMs: 0,
    emulatorCpuMs: 0,
    rssPeakBytes: 0,
    rssMeanBytes: 0,
    windows: [],
  };
}

export async function runProxyPhase(o: ProxyPhaseOptions): Promise<ProxyPhase> {
  const load = (side: Side, seconds: number) =>
    runWrk({ ...o.targets[side], body: o.body, threads: 2, connections: o.connections, seconds });
  for (const side of SIDES) await load(side, o.warmupSeconds);

  const sides: Record<Side, SideMeasure> = {
    direct: emptyMeasure(),
    bare: emptyMeasure(),
    companion: emptyMeasure(),
  };
  const rounds: ProxyPhase['rounds'] = [];
  const pids = [o.emulatorPid, o.targets.bare.pid, o.targets.companion.pid, ...o.otherPids];
  const others = othersMeter([...new Set(pids)], o.cores);
  for (let r = 0; r < o.rounds; r++) {
    const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]!);
    const perSecond: Record<Side, number> = { direct: 0, bare: 0, companion: 0 };
    for (const side of order) {
      const m = sides[side];
      const pid = o.targets[side].pid;
      if (side === 'companion') await o.companionRun?.before();
      const server0 = cpuMs(pid);
      const main0 = cpuMs(pid, pid);
      const emulator0 = cpuMs(o.emulatorPid);
      const rss = new RssSampler(pid);
      const window = { fromUs: monotonicUs(), toUs: 0 };
      const run = await load(side, o.seconds);
      window.toUs = monotonicUs();
      const sampled = rss.stop();
      m.serverCpuMs += cpuMs(pid) - server0;
      m.serverMainCpuMs += cpuMs(pid, pid) - main0;
      m.emulatorCpuMs += cpuMs(o.emulatorPid) - emulator0;
      m.rssPeakBytes = Math.max(m.rssPeakBytes, sampled.peakBytes);
      m.rssMeanBytes += sampled.meanBytes / o.rounds;
      m.runs.push(run);
      m.windows.push(window);
      perSecond[side] = requestsPerSecond(run);
      if (side === 'companion') await o.companionRun?.after(run);
    }
    rounds.push({ order, requestsPerSecond: perSecond });
  }
  return { sides, rounds, othersShare: others().share };
}

/** The phase's figures: every side's, and the companion's against the bare pass-through and direct. */
export function proxyFigures(phase: ProxyPhase) {
  const per = <T>(f: (side: Side, m: SideMeasure) => T) =>
    Object.fromEntries(SIDES.map((s) => [s, f(s, phase.sides[s])])) as Record<Side, T>;
  const summary: Record<Side, WrkSummary> = per((_, m) => pooledSummary(m.runs));
  const requests = per((_, m) => m.runs.reduce((n, r) => n + r.requests, 0));
  const seconds = per((_, m) => m.runs.reduce((n, r) => n + r.durationUs, 0) / 1e6);
  const rps = per((s) => requests[s] / seconds[s]);
  /** The serving process's CPU per 1,000 requests (for direct, the emulator's). */
  const cpuPer1000 = per((s, m) => m.serverCpuMs / (requests[s] / 1000));
  /** Of which the main thread; the rest is the history writer, V8's GC helpers and libuv's pool. */
  const mainCpuPer1000 = per((s, m) => m.serverMainCpuMs / (requests[s] / 1000));
  const emulatorCpuPer1000 = per((s, m) => m.emulatorCpuMs / (requests[s] / 1000));
  /** Everything serving a request costs: the proxy and the emulator behind it. */
  const chainCpuPer1000 = per((s) => (s === 'direct' ? 0 : cpuPer1000[s]) + emulatorCpuPer1000[s]);
  const rssPeak = per((_, m) => m.rssPeakBytes);
  const byRound = phase.rounds.map((r) => ({
    order: r.order,
    companionToBare: r.requestsPerSecond.companion / r.requestsPerSecond.bare,
    companionToDirect: r.requestsPerSecond.companion / r.requestsPerSecond.direct,
    bareToDirect: r.requestsPerSecond.bare / r.requestsPerSecond.direct,
  }));
  return {
    summary,
    rps,
    cpuPer1000,
    mainCpuPer1000,
    emulatorCpuPer1000,
    chainCpuPer1000,
    rssPeak,
    rssMean: per((_, m) => m.rssMeanBytes),
    companionSeconds: seconds.companion,
    ratios: {
      companionToBare: rps.companion / rps.bare,
      companionToDirect: rps.companion / rps.direct,
      bareToDirect: rps.bare / rps.direct,
      cpuCompanionToBare: cpuPer1000.companion / cpuPer1000.bare,
      cpuCompanionToDirect: cpuPer1000.companion / cpuPer1000.direct,
      cpuBareToDirect: cpuPer1000.bare / cpuPer1000.direct,
      mainCpuCompanionToBare: mainCpuPer1000.companion / mainCpuPer1000.bare,
      chainCpuCompanionToBare: chainCpuPer1000.companion / chainCpuPer1000.bare,
      rssCompanionToBare: rssPeak.companion / rssPeak.bare,
      rssCompanionToDirect: rssPeak.companion / rssPeak.direct,
    },
    byRound,
  };
}

export type ProxyFigures = ReturnType<typeof proxyFigures>;

export interface ProxyTargets {
  throughputRatio: number;
  throughputRatioToBare: number;
  rssUnderLoadMb: number;
}

export function proxyMet(f: ProxyFigures, t: ProxyTargets) {
  return {
    throughput: f.ratios.companionToDirect >= t.throughputRatio,
    throughputToBare: f.ratios.companionToBare >= t.throughputRatioToBare,
    rss: f.rssPeak.companion <= t.rssUnderLoadMb * 1024 * 1024,
  };
}

/** The table's rows for this phase; `direct` is the emulator on its own. */
export function proxyRows(f: ProxyFigures, t: ProxyTargets, connections: number, rounds: number): Row[] {
  const met = proxyMet(f, t);
  const of = rounds > 1 ? `, ${rounds} rounds` : '';
  const rowsOf = (measure: string, value: (s: Side) => string): Row => ({
    measure,
    direct: value('direct'),
    bare: value('bare'),
    companion: value('companion'),
  });
  return [
    {
      ...rowsOf(`Requests/s, ${connections} connections${of}`, (s) => count(f.rps[s])),
      delta: ratio(f.ratios.companionToDirect, 2),
      vsBare: ratio(f.ratios.companionToBare, 2),
      target: `≥ ${t.throughputRatio}× direct`,
      met: met.throughput,
    },
    {
      measure: '  against the bare pass-through, every feature on',
      vsBare: ratio(f.ratios.companionToBare, 2),
      target: `≥ ${t.throughputRatioToBare}× bare`,
      met: met.throughputToBare,
    },
    {
      ...rowsOf(
        `Latency p50 / p99 at ${connections} conns (ms)`,
        (s) => `${ms(f.summary[s].p50Ms, 2)} / ${ms(f.summary[s].p99Ms, 2)}`,
      ),
    },
    {
      ...rowsOf('CPU per 1,000 requests (ms)', (s) =>
        s === 'direct' ? `${ms(f.cpuPer1000[s], 1)} (emulator)` : ms(f.cpuPer1000[s], 1),
      ),
      delta: ratio(f.ratios.cpuCompanionToDirect, 2),
      vsBare: ratio(f.ratios.cpuCompanionToBare, 2),
    },
    {
      ...rowsOf('  of which the main thread (ms)', (s) => ms(f.mainCpuPer1000[s], 1)),
      delta: ratio(f.mainCpuPer1000.companion / f.mainCpuPer1000.direct, 2),
      vsBare: ratio(f.ratios.mainCpuCompanionToBare, 2),
    },
    {
      ...rowsOf('  with the emulator behind it (ms)', (s) => ms(f.chainCpuPer1000[s], 1)),
      vsBare: ratio(f.ratios.chainCpuCompanionToBare, 2),
    },
    {
      ...rowsOf(`RSS peak, ${connections} connections`, (s) =>
        s === 'direct' ? `${mb(f.rssPeak[s])} (emulator)` : mb(f.rssPeak[s]),
      ),
      delta: ratio(f.ratios.rssCompanionToDirect, 2),
      vsBare: ratio(f.ratios.rssCompanionToBare, 2),
      target: `≤ ${t.rssUnderLoadMb} MB`,
      met: met.rss,
    },
  ];
}
