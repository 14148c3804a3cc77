/**
 * Token holders' own view, without an admin: `GET /api/companion/me` with the token (in
 * any form the proxy accepts) answers its limits, usage and its own history records —
 * never anyone else's — with the admin history's filters and cursor; `/export` streams
 * them. The token's id is a fixed filter: a `token` parameter is refused.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tokenFromHeaders } from '../auth/credentials.js';
import type { KnownToken } from '../auth/token-directory.js';
import { pathToken } from '../server/path-guard.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { HistoryModeName, ScopeName, TokenLimitsView, TokenUsageView, usageView } from './api-views.js';
import { sendTokenHistoryExport } from './history-export-routes.js';
import { tokenHistoryPage } from './history-listing.js';
import { ExportQuery, HistoryItem, HistoryQuery } from './history-views.js';

const MeQuery = Type.Omit(HistoryQuery, ['token'], { additionalProperties: false });
const MeExportQuery = Type.Omit(ExportQuery, ['token'], { additionalProperties: false });

const MeAnswer = Type.Object({
  token: Type.Object({
    name: Type.String(),
    prefix: Type.String(),
    scopes: Type.Array(ScopeName),
    models: Type.Array(Type.String()),
    limits: TokenLimitsView,
    usage: TokenUsageView,
    expiresAt: Type.Union([Type.String(), Type.Null()]),
    historyMode: HistoryModeName,
  }),
  history: Type.Object({
    items: Type.Array(HistoryItem),
    next: Type.Union([Type.String(), Type.Null()]),
  }),
});

export async function selfServiceRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { companion } = deps;
  // Authenticated before the query is read: without a valid token, the answer is 401.
  const known = new WeakMap<FastifyRequest, KnownToken>();
  const onRequest = async (request: FastifyRequest) => {
    known.set(
      request,
      companion.directory.authenticate(tokenFromHeaders(request.headers) ?? pathToken(request.raw)),
    );
  };
  const authenticate = (request: FastifyRequest): KnownToken => known.get(request)!;

  api.get(
    '/api/companion/me',
    {
      onRequest,
      schema: {
        summary: 'For token holders: this token’s limits, usage and own history',
        tags: ['token holders'],
        security: [{ token: [] }],
        querystring: MeQuery,
        response: { 200: MeAnswer },
      },
    },
    async (request) => {
      const { token } = authenticate(request);
      const history = await tokenHistoryPage(companion, token.id, {
        ...request.query,
        limit: request.query.limit ?? 50,
      });
      return {
        token: {
          name: token.name,
          prefix: token.prefix,
          scopes: token.scopes,
          models: token.models,
          limits: { ...token.limits.calls, maxConcurrent: token.limits.maxConcurrent },
          usage: usageView(companion.ledger.usage(token.id)),
          expiresAt: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
          historyMode: token.historyMode,
        },
        history,
      };
    },
  );

  api.get(
    '/api/companion/me/export',
    {
      onRequest,
      schema: {
        summary: 'For token holders: export this token’s own history (JSONL, CSV or Markdown), streamed',
        tags: ['token holders'],
        security: [{ token: [] }],
        querystring: MeExportQuery,
        produces: ['application/x-ndjson', 'text/csv', 'text/markdown'],
      },
    },
    async (request, reply) => {
      const { token } = authenticate(request);
      return sendTokenHistoryExport(reply, companion, token.id, request.query);
    },
  );
}
