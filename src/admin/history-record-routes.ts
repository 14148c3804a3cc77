/**
 * One history record through the admin API, with everything stored about it, and the
 * conversation it belongs to.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors/companion-error.js';
import { recordJson } from '../history/export-formats.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { ErrorAnswer } from './api-views.js';
import { HistoryIdParams, HistoryRecordView } from './history-views.js';

export async function historyRecordRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { search, threads } = deps.companion.historyReads;

  api.get(
    '/history/:id',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'One history record with everything stored about it',
        tags: ['history'],
        params: HistoryIdParams,
        response: { 200: HistoryRecordView, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const view = await search.findById(request.params.id);
      if (!view) throw notFound('no such history record');
      return recordJson(view);
    },
  );

  api.get(
    '/threads/:id',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'The conversation record :id belongs to, oldest first',
        tags: ['history'],
        params: HistoryIdParams,
        response: {
          200: Type.Object({ threadId: Type.String(), items: Type.Array(HistoryRecordView) }),
          404: ErrorAnswer,
        },
      },
    },
    async (request) => {
      const thread = await threads.findThread(request.params.id);
      if (!thread) throw notFound('no such history record');
      return { threadId: thread.threadId, items: thread.records.map(recordJson) };
    },
  );
}
