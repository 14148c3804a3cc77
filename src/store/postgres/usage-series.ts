/**
 * The usage series behind the dashboard, from PostgreSQL's hourly and daily rollups
 * (usage_hourly, usage_daily), with the same answers as SQLite's: per day, hour, model
 * or token over [since, until) widened to whole hours, whole days read from the daily
 * table and the hours at either end from the hourly one; averages, and a p95 estimated
 * from the latency buckets.
 *
 * p95/point/sum repeat what SQLite's store/sqlite/usage-series.ts computes from the same
 * columns (its helpers are private to it); once the history port owns them, both
 * backends should share one copy.
 */

import type { UsageBy, UsagePoint } from '../../history/usage-series.js';
import { DAY_MS, HOUR_MS, LATENCY_BOUNDS } from '../history-indexer.js';
import type { PostgresPool } from './postgres-pool.js';

export interface PostgresUsageSeries {
  /** Series over [since, until), widened to whole hours, and the totals over the same range. */
  usage(by: UsageBy, since: number, until: number): Promise<{ series: UsagePoint[]; totals: UsagePoint }>;
}

interface UsageRow {
  key: string;
  requests: number;
  errors: number;
  refused: number;
  promptTokens: number;
  completionTokens: number;
  durationMsSum: number;
  lat: number[];
}

const LAT = LATENCY_BOUNDS.map((_, i) => `lat_${i}`);

/** The duration below which 95 % of requests finished, interpolated inside its bucket. */
function p95(row: UsageRow): number | null {
  if (row.requests === 0) return null;
  const target = row.requests * 0.95;
  let seen = 0;
  for (let i = 0; i < LATENCY_BOUNDS.length; i++) {
    const inBucket = row.lat[i] ?? 0;
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

function sumRows(rows: UsageRow[]): UsageRow {
  const sum: UsageRow = {
    key: 'total',
    requests: 0,
    errors: 0,
    refused: 0,
    promptTokens: 0,
    completionTokens: 0,
    durationMsSum: 0,
    lat: LAT.map(() => 0),
  };
  for (const row of rows) {
    sum.requests += row.requests;
    sum.errors += row.errors;
    sum.refused += row.refused;
    sum.promptTokens += row.promptTokens;
    sum.completionTokens += row.completionTokens;
    sum.durationMsSum += row.durationMsSum;
    for (let i = 0; i < LAT.length; i++) sum.lat[i]! += row.lat[i] ?? 0;
  }
  return sum;
}

function point(key: string, row: UsageRow | undefined): UsagePoint {
  const requests = row?.requests ?? 0;
  return {
    key,
    requests,
    errors: row?.errors ?? 0,
    refused: row?.refused ?? 0,
    promptTokens: row?.promptTokens ?? 0,
    completionTokens: row?.completionTokens ?? 0,
    avgLatencyMs: row && requests > 0 ? Math.round((row.durationMsSum / requests) * 10) / 10 : null,
    p95LatencyMs: row ? p95(row) : null,
  };
}

const SUMS = [
  'requests',
  'errors',
  'refused',
  'prompt_tokens',
  'completion_tokens',
  'duration_ms_sum',
  ...LAT,
]
  .map((column) => `sum(${column})::double precision AS ${column}`)
  .join(', ');

export function createPostgresUsageSeries(pool: PostgresPool): PostgresUsageSeries {
  return {
    async usage(by, since, until) {
      const from = Math.floor(since / HOUR_MS) * HOUR_MS;
      const to = Math.ceil(until / HOUR_MS) * HOUR_MS;
      // The key expression is one of four constants; the range is parameters.
      const keyExpr =
        by === 'day'
          ? `(bucket - bucket % ${DAY_MS})::text`
          : by === 'hour'
            ? 'bucket::text'
            : by === 'model'
              ? 'model'
              : 'token_id';
      const dayFrom = Math.ceil(from / DAY_MS) * DAY_MS;
      const dayTo = Math.floor(to / DAY_MS) * DAY_MS;
      const columns = `${keyExpr} AS key, requests, errors, refused, prompt_tokens, completion_tokens, duration_ms_sum, ${LAT.join(', ')}`;
      const useDaily = by !== 'hour' && dayFrom < dayTo;
      const parts = useDaily
        ? [
            `SELECT ${columns} FROM usage_daily WHERE bucket >= $3 AND bucket < $4`,
            `SELECT ${columns} FROM usage_hourly WHERE bucket >= $1 AND bucket < $3`,
            `SELECT ${columns} FROM usage_hourly WHERE bucket >= $4 AND bucket < $2`,
          ]
        : [`SELECT ${columns} FROM usage_hourly WHERE bucket >= $1 AND bucket < $2`];
      const { rows: raw } = await pool.query<Record<string, string | number>>(
        `SELECT key, ${SUMS} FROM (${parts.join(' UNION ALL ')}) AS u GROUP BY key`,
        useDaily ? [from, to, dayFrom, dayTo] : [from, to],
      );
      const rows: UsageRow[] = raw.map((r) => ({
        key: String(r.key),
        requests: Number(r.requests),
        errors: Number(r.errors),
        refused: Number(r.refused),
        promptTokens: Number(r.prompt_tokens),
        completionTokens: Number(r.completion_tokens),
        durationMsSum: Number(r.duration_ms_sum),
        lat: LAT.map((column) => Number(r[column])),
      }));
      const totals = point('total', sumRows(rows));

      if (by === 'day' || by === 'hour') {
        const step = by === 'day' ? DAY_MS : HOUR_MS;
        const byKey = new Map(rows.map((row) => [Number(row.key), row]));
        const series: UsagePoint[] = [];
        for (let t = Math.floor(from / step) * step; t < to; t += step) {
          const iso = new Date(t).toISOString();
          series.push(point(by === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00Z`, byKey.get(t)));
        }
        return { series, totals };
      }
      let names: Map<string, string> | undefined;
      if (by === 'token') {
        const { rows: tokens } = await pool.query<{ id: string; name: string }>(
          'SELECT id, name FROM tokens',
        );
        names = new Map(tokens.map((t) => [t.id, t.name]));
      }
      const series = rows
        .map((row) => {
          const p = point(row.key, row);
          if (names) p.label = names.get(row.key) ?? (row.key === '' ? '(no token)' : row.key);
          return p;
        })
        .sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key));
      return { series, totals };
    },
  };
}
