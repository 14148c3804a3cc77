/**
 * History export through the API, streamed (see history/history-export.ts): the admin
 * export of any records, audited, and the token holder's export of its own records
 * (`GET /api/companion/me/export`, routed by the self-service routes).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ExportFormat } from '../history/export-formats.js';
import { exportHistory } from '../history/history-export.js';
import type { HistorySearch, HistorySearchFilter } from '../history/history-search.js';
import type { Companion } from '../server/companion.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { historyFilter } from './history-listing.js';
import { ExportQuery } from './history-views.js';

/** Sends the export of the records matching `filter`, streamed (see history-export.ts). */
export function sendHistoryExport(
  reply: FastifyReply,
  search: HistorySearch,
  filter: HistorySearchFilter,
  format: ExportFormat,
): FastifyReply {
  const exported = exportHistory(search, filter, format);
  return reply
    .headers({
      'content-type': exported.contentType,
      'content-disposition': `attachment; filename="${exported.fileName}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })
    .send(exported.body);
}

/** A token holder's own export (`GET /api/companion/me/export`), streamed like the admin one. */
export async function sendTokenHistoryExport(
  reply: FastifyReply,
  companion: Companion,
  tokenId: string,
  query: Partial<ExportQuery>,
): Promise<FastifyReply> {
  const filter = await historyFilter(companion, query, tokenId);
  return sendHistoryExport(reply, companion.historyReads.search, filter, query.format ?? 'jsonl');
}

export async function historyExportRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { companion } = deps;
  const { search } = companion.historyReads;

  api.get(
    '/history/export',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Export history matching the filters (oldest first), streamed: JSONL, CSV or Markdown',
        tags: ['history'],
        querystring: ExportQuery,
        produces: ['application/x-ndjson', 'text/csv', 'text/markdown'],
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'jsonl';
      const filter = await historyFilter(companion, request.query);
      await deps.audit(request, 'history.export', { type: 'history' }, { format, ...request.query });
      return sendHistoryExport(reply, search, filter, format);
    },
  );
}
