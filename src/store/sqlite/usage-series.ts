/**
 * Usage series from SQLite's hourly and daily rollups (written with each history batch
 * by the indexer), so a series costs the same for any amount of history. Whole days
 * come from the daily table, the hours at either end of a range from the hourly one;
 * p95 is interpolated inside the latency bucket that holds it.
 */
import type { UsageBy, UsagePoint, UsageSeries } from '../../history/usage-series.js';
import type { Db } from '../database.js';
import { DAY_MS, HOUR_MS, LATENCY_BOUNDS } from '../history-indexer.js';
import { statementCache } from './statement-cache.js';

const SUMS = [
  'SUM(requests) AS requests',
  'SUM(errors) AS errors',
  'SUM(refused) AS refused',
  'SUM(prompt_tokens) AS prompt_tokens',
  'SUM(completion_tokens) AS completion_tokens',
  'SUM(duration_ms_sum) AS duration_ms_sum',
  ...LATENCY_BOUNDS.map((_, i) => `SUM(lat_${i}) AS lat_${i}`),
].join(', ');

interface UsageRow {
  key: string | number;
  requests: number;
  errors: number;
  refused: number;
  prompt_tokens: number;
  completion_tokens: number;
  duration_ms_sum: number;
  [lat: `lat_${number}`]: number;
}

/** The duration below which 95 % of requests finished, interpolated inside its bucket. */
function p95(row: UsageRow): number | null {
  if (row.requests === 0) return null;
  const target = row.requests * 0.95;
  let seen = 0;
  for (let i = 0; i < LATENCY_BOUNDS.length; i++) {
    const inBucket = row[`lat_${i}`] ?? 0;
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
    prompt_tokens: 0,
    completion_tokens: 0,
    duration_ms_sum: 0,
  };
  for (const row of rows) {
    sum.requests += row.requests;
    sum.errors += row.errors;
    sum.refused += row.refused;
    sum.prompt_tokens += row.prompt_tokens;
    sum.completion_tokens += row.completion_tokens;
    sum.duration_ms_sum += row.duration_ms_sum;
    for (let i = 0; i < LATENCY_BOUNDS.length; i++)
      sum[`lat_${i}`] = (sum[`lat_${i}`] ?? 0) + (row[`lat_${i}`] ?? 0);
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
    promptTokens: row?.prompt_tokens ?? 0,
    completionTokens: row?.completion_tokens ?? 0,
    avgLatencyMs: row && requests > 0 ? Math.round((row.duration_ms_sum / requests) * 10) / 10 : null,
    p95LatencyMs: row ? p95(row) : null,
  };
}

export function createSqliteUsageSeries(db: Db): UsageSeries {
  const tokenNames = db.prepare<[], { id: string; name: string }>('SELECT id, name FROM tokens');
  const prepared = statementCache(db);

  const usage = (by: UsageBy, since: number, until: number): { series: UsagePoint[]; totals: UsagePoint } => {
    const from = Math.floor(since / HOUR_MS) * HOUR_MS;
    const to = Math.ceil(until / HOUR_MS) * HOUR_MS;
    const keyExpr =
      by === 'day'
        ? `bucket - bucket % ${DAY_MS}`
        : by === 'hour'
          ? 'bucket'
          : by === 'model'
            ? 'model'
            : 'token_id';
    // Whole days come from the daily table, the hours at either end from the hourly one.
    const dayFrom = Math.ceil(from / DAY_MS) * DAY_MS;
    const dayTo = Math.floor(to / DAY_MS) * DAY_MS;
    const columns = `${keyExpr} AS key, requests, errors, refused, prompt_tokens, completion_tokens, duration_ms_sum, ${LATENCY_BOUNDS.map((_, i) => `lat_${i}`).join(', ')}`;
    const useDaily = by !== 'hour' && dayFrom < dayTo;
    const parts = useDaily
      ? [
          `SELECT ${columns} FROM usage_daily WHERE bucket >= @dayFrom AND bucket < @dayTo`,
          `SELECT ${columns} FROM usage_hourly WHERE bucket >= @from AND bucket < @dayFrom`,
          `SELECT ${columns} FROM usage_hourly WHERE bucket >= @dayTo AND bucket < @to`,
        ]
      : [`SELECT ${columns} FROM usage_hourly WHERE bucket >= @from AND bucket < @to`];
    const sql = `SELECT key, ${SUMS} FROM (${parts.join(' UNION ALL ')}) GROUP BY key`;
    const rows = prepared(sql).all({ from, to, dayFrom, dayTo }) as UsageRow[];
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
    const names = by === 'token' ? new Map(tokenNames.all().map((t) => [t.id, t.name])) : undefined;
    const series = rows
      .map((row) => {
        const p = point(String(row.key), row);
        if (names) p.label = names.get(String(row.key)) ?? (row.key === '' ? '(no token)' : String(row.key));
        return p;
      })
      .sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key));
    return { series, totals };
  };

  return { usage: async (by, since, until) => usage(by, since, until) };
}
