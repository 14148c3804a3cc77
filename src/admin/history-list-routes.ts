/**
 * The admin history list: search and filter, newest first, a page at a time with an
 * opaque cursor.
 */
import type { FastifyInstance } from 'fastify';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { ErrorAnswer, Page } from './api-views.js';
import { historyFilter, historyPage } from './history-listing.js';
import { HistoryItem, HistoryQuery } from './history-views.js';

export async function historyListRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { companion } = deps;
  const { search } = companion.historyReads;

  api.get(
    '/history',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Search and filter history, newest first',
        tags: ['history'],
        querystring: HistoryQuery,
        response: { 200: Page(HistoryItem), 400: ErrorAnswer },
      },
    },
    async (request) =>
      historyPage(search, await historyFilter(companion, request.query), {
        cursor: request.query.cursor,
        limit: request.query.limit,
      }),
  );
}
