/**
 * What both backends' usage series share: which rollup rows a range reads (whole days
 * from the daily table, the hours at either end from the hourly one), and how the summed
 * rows become the dashboard's points (averages, a p95 interpolated inside the latency
 * bucket that holds it, empty hours or days filled in). Each backend only runs its SQL
 * and hands the sums over as tallies.
 */
import type { UsageBy, UsagePoint } from '../history/usage-series.js';
import { DAY_MS, HOUR_MS, LATENCY_BOUNDS } from './history-indexer.js';

/** One key's sums over the rollup rows of a range. */
export interface UsageTally {
  /** The day or hour (epoch ms, as text), the model or the token id. */
  key: string;
  requests: number;
  errors: number;
  refused: number;
  promptTokens: number;
  completionTokens: number;
  durationMsSum: number;
  /** Requests per latency bucket, in `LATENCY_BOUNDS` order. */
  latency: number[];
}

/** The rollup rows a range reads: [from, to) widened to whole hours; whole days in between. */
export interface RollupRange {
  from: number;
  to: number;
  dayFrom: number;
  dayTo: number;
  /** Read whole days from the daily table (never for an hourly series). */
  useDaily: boolean;
}

export function rollupRange(by: UsageBy, since: number, until: number): RollupRange {
  const from = Math.floor(since / HOUR_MS) * HOUR_MS;
  const to = Math.ceil(until / HOUR_MS) * HOUR_MS;
  const dayFrom = Math.ceil(from / DAY_MS) * DAY_MS;
  const dayTo = Math.floor(to / DAY_MS) * DAY_MS;
  return { from, to, dayFrom, dayTo, useDaily: by !== 'hour' && dayFrom < dayTo };
}

/** The rollup columns a tally is summed from, in the order `LATENCY_BOUNDS` gives the buckets. */
export const LATENCY_COLUMNS = LATENCY_BOUNDS.map((_, i) => `lat_${i}`);

/** The duration below which 95 % of requests finished, interpolated inside its bucket. */
function p95(tally: UsageTally): number | null {
  if (tally.requests === 0) return null;
  const target = tally.requests * 0.95;
  let seen = 0;
  for (let i = 0; i < LATENCY_BOUNDS.length; i++) {
    const inBucket = tally.latency[i] ?? 0;
    if (seen + inBucket >= target && inBucket > 0) {
      const low = i === 0 ? 0 : (LATENCY_BOUNDS[i - 1] as number);
      const high = LATENCY_BOUNDS[i] as number;
      if (!Number.isFinite(high)) return low;
      return Math.round(low + ((high - low) * (target - seen)) / inBucket);
    }
    seen += inBucket;
  }
  return null;
}

function sum(tallies: UsageTally[]): UsageTally {
  const total: UsageTally = {
    key: 'total',
    requests: 0,
    errors: 0,
    refused: 0,
    promptTokens: 0,
    completionTokens: 0,
    durationMsSum: 0,
    latency: LATENCY_BOUNDS.map(() => 0),
  };
  for (const t of tallies) {
    total.requests += t.requests;
    total.errors += t.errors;
    total.refused += t.refused;
    total.promptTokens += t.promptTokens;
    total.completionTokens += t.completionTokens;
    total.durationMsSum += t.durationMsSum;
    for (let i = 0; i < total.latency.length; i++) total.latency[i]! += t.latency[i] ?? 0;
  }
  return total;
}

function point(key: string, tally: UsageTally | undefined): UsagePoint {
  const requests = tally?.requests ?? 0;
  return {
    key,
    requests,
    errors: tally?.errors ?? 0,
    refused: tally?.refused ?? 0,
    promptTokens: tally?.promptTokens ?? 0,
    completionTokens: tally?.completionTokens ?? 0,
    avgLatencyMs: tally && requests > 0 ? Math.round((tally.durationMsSum / requests) * 10) / 10 : null,
    p95LatencyMs: tally ? p95(tally) : null,
  };
}

/**
 * The series and totals from one tally per key: every hour or day of the range in order
 * (empty ones included), or models and tokens by requests, tokens labelled by `names`.
 */
export function usageAnswer(
  by: UsageBy,
  range: RollupRange,
  tallies: UsageTally[],
  names?: Map<string, string>,
): { series: UsagePoint[]; totals: UsagePoint } {
  const totals = point('total', sum(tallies));
  if (by === 'day' || by === 'hour') {
    const step = by === 'day' ? DAY_MS : HOUR_MS;
    const byKey = new Map(tallies.map((t) => [Number(t.key), t]));
    const series: UsagePoint[] = [];
    for (let at = Math.floor(range.from / step) * step; at < range.to; at += step) {
      const iso = new Date(at).toISOString();
      series.push(point(by === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00Z`, byKey.get(at)));
    }
    return { series, totals };
  }
  const series = tallies
    .map((t) => {
      const p = point(t.key, t);
      if (names) p.label = names.get(t.key) ?? (t.key === '' ? '(no token)' : t.key);
      return p;
    })
    .sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key));
  return { series, totals };
}
