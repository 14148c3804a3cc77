/**
 * The shapes of history in the admin API and the token holders' pages: the filter and
 * export queries, a record as a list shows it (`historyItem`), and a record with
 * everything stored about it.
 */
import { type Static, Type } from '@sinclair/typebox';
import { EXPORT_FORMATS, recordSummary } from '../history/export-formats.js';
import type { HistoryView } from '../history/history-search.js';
import { answerText, preview, promptText, snippet } from '../history/search-text.js';

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

/** The `:id` of a record in a route's path. */
export const HistoryIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
