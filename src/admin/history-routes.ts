/**
 * History through the admin API: search and filter (newest first, opaque cursor), one
 * record, its conversation, streamed export, and redaction. `historyPage` and
 * `sendHistoryExport` are shared with the token holders' self-service routes, which pass
 * their own token id as a fixed filter.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { badRequest, notFound } from '../errors/companion-error.js';
import {
  EXPORT_FORMATS,
  type ExportFormat,
  iso,
  recordJson,
  recordSummary,
} from '../history/export-formats.js';
import { exportHistory } from '../history/history-export.js';
import { historyFilter as filterFrom, type HistoryFilterInput } from '../history/history-filter.js';
import {
  CursorError,
  type HistorySearch,
  type HistorySearchFilter,
  type HistoryView,
} from '../history/history-search.js';
import { answerText, preview, promptText, snippet } from '../history/search-text.js';
import type { Companion } from '../server/companion.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { ErrorAnswer, Page } from './api-views.js';

const Time = (description: string) =>
  Type.Optional(
    Type.String({ maxLength: 40, description: `${description}: ISO 8601 or epoch milliseconds.` }),
  );

const filterFields = {
  q: Type.Optional(
    Type.String({
      maxLength: 500,
      description:
        'Full-text search over prompts and answers: words (all must occur), "a phrase", prefix*, -excluded.',
    }),
  ),
  token: Type.Optional(Type.String({ maxLength: 200, description: 'Token id or name.' })),
  model: Type.Optional(
    Type.String({
      maxLength: 200,
      description:
        'A model name or a glob, as in token model rules: `llama3.2` (also `llama3.2:latest`), `llama3.*`, `*:1b`.',
    }),
  ),
  endpoint: Type.Optional(
    Type.String({ maxLength: 100, description: 'e.g. /api/chat, /v1/chat/completions.' }),
  ),
  status: Type.Optional(
    Type.String({
      maxLength: 20,
      description:
        'An outcome (ok, error, refused, aborted, in_progress), an HTTP status (429) or a class (4xx).',
    }),
  ),
  since: Time('Records started at or after this time'),
  until: Time('Records started before this time'),
};

export const HistoryQuery = Type.Object(
  {
    ...filterFields,
    cursor: Type.Optional(Type.String({ maxLength: 100, description: 'The `next` of the previous page.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const ExportQuery = Type.Object(
  {
    ...filterFields,
    format: Type.Optional(
      Type.Union(
        EXPORT_FORMATS.map((format) => Type.Literal(format)),
        { default: 'jsonl' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ExportQuery = Static<typeof ExportQuery>;

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const HistoryItem = Type.Object({
  id: Type.String(),
  threadId: Type.String({ description: 'Id of the first record of the conversation.' }),
  parentId: Type.Union([Type.String(), Type.Null()], { description: 'The exchange this one continues.' }),
  startedAt: Type.String(),
  finishedAt: NullableString,
  durationMs: NullableNumber,
  ttftMs: NullableNumber,
  tokenId: NullableString,
  tokenName: NullableString,
  tokenPrefix: NullableString,
  method: Type.String(),
  endpoint: Type.String(),
  model: NullableString,
  status: NullableNumber,
  outcome: Type.String(),
  error: NullableString,
  promptTokens: NullableNumber,
  completionTokens: NullableNumber,
  historyMode: Type.String(),
  servedBy: Type.String(),
  clientAddr: NullableString,
  redactedAt: NullableString,
  redactedBy: NullableString,
  prompt: Type.String({ description: 'The start of what was asked (the new turn of a conversation).' }),
  answer: Type.String({ description: 'The start of the answer.' }),
  snippet: Type.Optional(Type.String({ description: 'Text around the first search word found.' })),
});
export type HistoryItem = Static<typeof HistoryItem>;

export const HistoryRecordView = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'Every stored field of a record: request (messages, prompt, options), answerContent, answerThinking, ' +
    'answerToolCalls, counters and timings, times in ISO 8601.',
});

/** A record as a list shows it: metadata, counters and the start of prompt and answer. */
export function historyItem(view: HistoryView, terms: readonly string[] = []): HistoryItem {
  const prompt = promptText(view.endpoint, view.request);
  const answer = answerText(view.answerContent, view.answerThinking);
  const found = snippet(prompt, terms) ?? snippet(answer, terms);
  return {
    ...recordSummary(view),
    prompt: preview(prompt),
    answer: preview(view.answerContent ?? ''),
    ...(found !== undefined ? { snippet: found } : {}),
  };
}

/**
 * The repository filter for a query. A token the directory does not know is taken as an
 * id (its records may outlive it). `fixedTokenId` (self-service) overrides any `token`
 * given. Rejects with CompanionError(bad_request).
 */
export function historyFilter(
  companion: Companion,
  query: HistoryFilterInput,
  fixedTokenId?: string,
): Promise<HistorySearchFilter> {
  return filterFrom(
    query,
    {
      tokenId: (nameOrId) => {
        try {
          return companion.tokens.get(nameOrId).id;
        } catch {
          return nameOrId;
        }
      },
      modelNames: () => companion.historyReads.search.modelNames(),
    },
    fixedTokenId,
  );
}

/** One page of records, newest first. Rejects with CompanionError(bad_request) for a bad cursor. */
export async function historyPage(
  search: HistorySearch,
  filter: HistorySearchFilter,
  page: { cursor?: string | undefined; limit?: number | undefined },
): Promise<{ items: HistoryItem[]; next: string | null }> {
  try {
    const found = await search.search(filter, {
      ...(page.cursor ? { cursor: page.cursor } : {}),
      limit: page.limit ?? 50,
    });
    return { items: found.records.map((view) => historyItem(view, found.terms)), next: found.next };
  } catch (error) {
    if (error instanceof CursorError) throw badRequest('invalid cursor');
    throw error;
  }
}

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

/**
 * A token holder's own records, newest first, with the same filters and cursor as the
 * admin list (`token` is ignored: it is always `tokenId`). For `GET /api/companion/me`.
 * Rejects with CompanionError(bad_request).
 */
export async function tokenHistoryPage(
  companion: Companion,
  tokenId: string,
  query: Partial<HistoryQuery>,
): Promise<{ items: HistoryItem[]; next: string | null }> {
  return historyPage(companion.historyReads.search, await historyFilter(companion, query, tokenId), {
    cursor: query.cursor,
    limit: query.limit,
  });
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

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export async function historyRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { companion } = deps;
  const { search, threads, redaction } = companion.historyReads;

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
      deps.audit(request, 'history.export', { type: 'history' }, { format, ...request.query });
      return sendHistoryExport(reply, search, filter, format);
    },
  );

  api.get(
    '/history/:id',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'One history record with everything stored about it',
        tags: ['history'],
        params: IdParams,
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
        params: IdParams,
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

  api.delete(
    '/history/:id',
    {
      onRequest: deps.requireRole('admin'),
      config: { auditAction: 'history.redact', auditTarget: 'history' },
      schema: {
        summary: 'Redact a record: its prompt and answer are erased everywhere, a tombstone stays',
        tags: ['history'],
        params: IdParams,
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
      deps.audit(
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
