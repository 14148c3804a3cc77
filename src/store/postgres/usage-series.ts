/**
 * The usage series behind the dashboard, from PostgreSQL's hourly and daily rollups
 * (usage_hourly, usage_daily), with the same answers as SQLite's: which rows a range
 * reads, and how their sums become points, is shared (`usage-rollup.ts`).
 */

import type { UsageBy, UsagePoint } from '../../history/usage-series.js';
import { DAY_MS } from '../history-indexer.js';
import { LATENCY_COLUMNS, rollupRange, usageAnswer } from '../usage-rollup.js';
import type { PostgresPool } from './postgres-pool.js';

export interface PostgresUsageSeries {
  /** Series over [since, until), widened to whole hours, and the totals over the same range. */
  usage(by: UsageBy, since: number, until: number): Promise<{ series: UsagePoint[]; totals: UsagePoint }>;
}

const SUMS = [
  'requests',
  'errors',
  'refused',
  'prompt_tokens',
  'completion_tokens',
  'duration_ms_sum',
  ...LATENCY_COLUMNS,
]
  .map((column) => `sum(${column})::double precision AS ${column}`)
  .join(', ');

export function createPostgresUsageSeries(pool: PostgresPool): PostgresUsageSeries {
  return {
    async usage(by, since, until) {
      const range = rollupRange(by, since, until);
      // The key expression is one of four constants; the range is parameters.
      const keyExpr =
        by === 'day'
          ? `(bucket - bucket % ${DAY_MS})::text`
          : by === 'hour'
            ? 'bucket::text'
            : by === 'model'
              ? 'model'
              : 'token_id';
      const columns = `${keyExpr} AS key, requests, errors, refused, prompt_tokens, completion_tokens, duration_ms_sum, ${LATENCY_COLUMNS.join(', ')}`;
      const parts = range.useDaily
        ? [
            `SELECT ${columns} FROM usage_daily WHERE bucket >= $3 AND bucket < $4`,
            `SELECT ${columns} FROM usage_hourly WHERE bucket >= $1 AND bucket < $3`,
            `SELECT ${columns} FROM usage_hourly WHERE bucket >= $4 AND bucket < $2`,
          ]
        : [`SELECT ${columns} FROM usage_hourly WHERE bucket >= $1 AND bucket < $2`];
      const { rows } = await pool.query<Record<string, string | number>>(
        `SELECT key, ${SUMS} FROM (${parts.join(' UNION ALL ')}) AS u GROUP BY key`,
        range.useDaily ? [range.from, range.to, range.dayFrom, range.dayTo] : [range.from, range.to],
      );
      const tallies = rows.map((r) => ({
        key: String(r.key),
        requests: Number(r.requests),
        errors: Number(r.errors),
        refused: Number(r.refused),
        promptTokens: Number(r.prompt_tokens),
        completionTokens: Number(r.completion_tokens),
        durationMsSum: Number(r.duration_ms_sum),
        latency: LATENCY_COLUMNS.map((column) => Number(r[column])),
      }));
      let names: Map<string, string> | undefined;
      if (by === 'token') {
        const { rows: tokens } = await pool.query<{ id: string; name: string }>(
          'SELECT id, name FROM tokens',
        );
        names = new Map(tokens.map((t) => [t.id, t.name]));
      }
      return usageAnswer(by, range, tallies, names);
    },
  };
}
