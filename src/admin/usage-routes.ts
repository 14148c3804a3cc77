/**
 * Usage series for the dashboard's charts: requests, errors, tokens and latency per day
 * or hour (every bucket present, zeros included), or per model or token (busiest first).
 * Read from the hourly/daily rollups, so the answer takes the same time for any amount
 * of history; hour resolution (since/until are widened to whole hours, UTC).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../errors/companion-error.js';
import type { UsageBy } from '../history/usage-series.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { ErrorAnswer } from './api-views.js';

const DAY_MS = 86_400_000;
const BY = ['day', 'hour', 'model', 'token'] as const;
/** Most buckets a time series may have, so a wide range cannot ask for a huge answer. */
const MAX_POINTS = { day: 3660, hour: 24 * 62 } as const;

const UsageQuery = Type.Object(
  {
    by: Type.Optional(
      Type.Union(
        BY.map((by) => Type.Literal(by)),
        { default: 'day' },
      ),
    ),
    since: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'ISO 8601 or epoch ms; default 30 days ago (24 hours for by=hour).',
      }),
    ),
    until: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 or epoch ms; default now.' })),
  },
  { additionalProperties: false },
);

const UsagePointView = Type.Object({
  key: Type.String({
    description: 'YYYY-MM-DD (day), YYYY-MM-DDTHH:00Z (hour), the model, or the token id.',
  }),
  label: Type.Optional(Type.String({ description: 'The token name (by=token).' })),
  requests: Type.Integer(),
  errors: Type.Integer({ description: 'Requests that failed or were cut off.' }),
  refused: Type.Integer({ description: 'Requests refused by policy (403/429).' }),
  promptTokens: Type.Integer(),
  completionTokens: Type.Integer(),
  avgLatencyMs: Type.Union([Type.Number(), Type.Null()]),
  p95LatencyMs: Type.Union([Type.Number(), Type.Null()], {
    description: 'Estimated from latency buckets (10 ms … 2 min).',
  }),
});

const UsageAnswer = Type.Object({
  by: Type.String(),
  since: Type.String(),
  until: Type.String(),
  series: Type.Array(UsagePointView),
  totals: UsagePointView,
});

function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw badRequest(`${field}: expected an ISO 8601 time or epoch milliseconds`);
  return ms;
}

export async function usageRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const usageSeries = deps.companion.historyReads.usage;

  api.get(
    '/usage',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Usage series for charts: per day, hour, model or token',
        tags: ['usage'],
        querystring: UsageQuery,
        response: { 200: UsageAnswer, 400: ErrorAnswer },
      },
    },
    async (request) => {
      const by: UsageBy = request.query.by ?? 'day';
      const now = Date.now();
      const until = parseTime(request.query.until, 'until') ?? now;
      const since = parseTime(request.query.since, 'since') ?? until - (by === 'hour' ? DAY_MS : 30 * DAY_MS);
      if (since >= until) throw badRequest('since must be before until');
      if (by === 'day' || by === 'hour') {
        const points = (until - since) / (by === 'day' ? DAY_MS : DAY_MS / 24);
        if (points > MAX_POINTS[by]) {
          throw badRequest(`too long a range for by=${by}: at most ${MAX_POINTS[by]} points`);
        }
      }
      const { series, totals } = await usageSeries.usage(by, since, until);
      return {
        by,
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        series,
        totals,
      };
    },
  );
}
