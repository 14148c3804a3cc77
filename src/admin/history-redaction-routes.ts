/**
 * Redacting a history record through the admin API: its prompt and answer are erased
 * everywhere (copies in later turns of its conversation included), a tombstone stays,
 * the retention job is woken to purge the text index, and the redaction is audited.
 */
import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors/companion-error.js';
import { iso, recordJson } from '../history/export-formats.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { ErrorAnswer } from './api-views.js';
import { HistoryIdParams, HistoryRecordView } from './history-views.js';

export async function historyRedactionRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { companion } = deps;
  const { search, redaction } = companion.historyReads;

  api.delete(
    '/history/:id',
    {
      onRequest: deps.requireRole('admin'),
      config: { auditAction: 'history.redact', auditTarget: 'history' },
      schema: {
        summary: 'Redact a record: its prompt and answer are erased everywhere, a tombstone stays',
        tags: ['history'],
        params: HistoryIdParams,
        response: { 200: HistoryRecordView, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const { admin } = deps.signedIn(request);
      const before = await search.findById(request.params.id);
      if (!before) throw notFound('no such history record');
      const view = await redaction.redact(request.params.id, admin.username, Date.now());
      if (!view) throw notFound('no such history record');
      companion.retention.runSoon();
      await deps.audit(
        request,
        'history.redact',
        { type: 'history', id: view.id },
        {
          tokenName: view.tokenName,
          model: view.model,
          startedAt: iso(view.startedAt),
          ...(before.redactedAt !== null ? { alreadyRedacted: true } : {}),
        },
      );
      return recordJson(view);
    },
  );
}
