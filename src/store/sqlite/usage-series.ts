/**
 * Usage series from SQLite's hourly and daily rollups (written with each history batch
 * by the indexer), so a series costs the same for any amount of history. Which rows a
 * range reads, and how their sums become points, is shared with PostgreSQL
 * (`usage-rollup.ts`).
 */
import type { UsageBy, UsagePoint, UsageSeries } from '../../history/usage-series.js';
import type { Db } from '../database.js';
import { DAY_MS } from '../history-indexer.js';
import { LATENCY_COLUMNS, rollupRange, type UsageTally, usageAnswer } from '../usage-rollup.js';
import { statementCache } from './statement-cache.js';

const SUMS = [
  'SUM(requests) AS requests',
  'SUM(errors) AS errors',
  'SUM(refused) AS refused',
  'SUM(prompt_tokens) AS prompt_tokens',
  'SUM(completion_tokens) AS completion_tokens',
  'SUM(duration_ms_sum) AS duration_ms_sum',
  ...LATENCY_COLUMNS.map((column) => `SUM(${column}) AS ${column}`),
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

const tally = (row: UsageRow): UsageTally => ({
  key: String(row.key),
  requests: row.requests,
  errors: row.errors,
  refused: row.refused,
  promptTokens: row.prompt_tokens,
  completionTokens: row.completion_tokens,
  durationMsSum: row.duration_ms_sum,
  latency: LATENCY_COLUMNS.map((column) => row[column as `lat_${number}`] ?? 0),
});

export function createSqliteUsageSeries(db: Db): UsageSeries {
  const tokenNames = db.prepare<[], { id: string; name: string }>('SELECT id, name FROM tokens');
  const prepared = statementCache(db);

  const usage = (by: UsageBy, since: number, until: number): { series: UsagePoint[]; totals: UsagePoint } => {
    const range = rollupRange(by, since, until);
    const keyExpr =
      by === 'day'
        ? `bucket - bucket % ${DAY_MS}`
        : by === 'hour'
          ? 'bucket'
          : by === 'model'
            ? 'model'
            : 'token_id';
    const columns = `${keyExpr} AS key, requests, errors, refused, prompt_tokens, completion_tokens, duration_ms_sum, ${LATENCY_COLUMNS.join(', ')}`;
    const parts = range.useDaily
      ? [
          `SELECT ${columns} FROM usage_daily WHERE bucket >= @dayFrom AND bucket < @dayTo`,
          `SELECT ${columns} FROM usage_hourly WHERE bucket >= @from AND bucket < @dayFrom`,
          `SELECT ${columns} FROM usage_hourly WHERE bucket >= @dayTo AND bucket < @to`,
        ]
      : [`SELECT ${columns} FROM usage_hourly WHERE bucket >= @from AND bucket < @to`];
    const sql = `SELECT key, ${SUMS} FROM (${parts.join(' UNION ALL ')}) GROUP BY key`;
    const { from, to, dayFrom, dayTo } = range;
    const rows = prepared(sql).all({ from, to, dayFrom, dayTo }) as UsageRow[];
    const names = by === 'token' ? new Map(tokenNames.all().map((t) => [t.id, t.name])) : undefined;
    return usageAnswer(by, range, rows.map(tally), names);
  };

  return { usage: async (by, since, until) => usage(by, since, until) };
}
