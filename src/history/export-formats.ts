/**
 * History export formats, written one record at a time so that an export of any size
 * streams in constant memory: JSON Lines (one API record per line), CSV (RFC 4180, one
 * exchange per row) and Markdown (one section per exchange, readable as a transcript).
 * The text depends only on the records: the same records give the same bytes.
 */
import type { HistoryView } from './history-search.js';
import { answerText, conversationOf, newTurn, promptText } from './search-text.js';

export const EXPORT_FORMATS = ['jsonl', 'csv', 'markdown'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportWriter {
  contentType: string;
  extension: string;
  head(): string;
  record(view: HistoryView): string;
  tail(): string;
}

export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** What every view of a record shows: who, what, when, how it went; times in ISO 8601. */
export function recordSummary(view: HistoryView) {
  return {
    id: view.id,
    threadId: view.threadId,
    parentId: view.parentId,
    startedAt: iso(view.startedAt) as string,
    finishedAt: iso(view.finishedAt),
    durationMs: view.durationMs ?? null,
    ttftMs: view.ttftMs ?? null,
    tokenId: view.tokenId,
    tokenName: view.tokenName,
    tokenPrefix: view.tokenPrefix,
    method: view.method,
    endpoint: view.endpoint,
    model: view.model,
    status: view.status ?? null,
    outcome: view.outcome,
    error: view.error ?? null,
    promptTokens: view.promptTokens ?? null,
    completionTokens: view.completionTokens ?? null,
    historyMode: view.historyMode,
    servedBy: view.servedBy,
    clientAddr: view.clientAddr,
    redactedAt: iso(view.redactedAt),
    redactedBy: view.redactedBy,
  };
}

/** A record as the API and the JSONL export show it: every stored field, times in ISO 8601. */
export function recordJson(view: HistoryView) {
  return {
    ...recordSummary(view),
    stream: view.stream,
    request: view.request,
    answerContent: view.answerContent ?? null,
    answerThinking: view.answerThinking ?? null,
    answerToolCalls: view.answerToolCalls ?? null,
    answerSummary: view.answerSummary ?? null,
    doneReason: view.doneReason ?? null,
    totalNs: view.totalNs ?? null,
    loadNs: view.loadNs ?? null,
    promptEvalNs: view.promptEvalNs ?? null,
    evalNs: view.evalNs ?? null,
    userAgent: view.userAgent,
    originNode: view.originNode,
    originSeq: view.originSeq,
  };
}

const jsonl: ExportWriter = {
  contentType: 'application/x-ndjson; charset=utf-8',
  extension: 'jsonl',
  head: () => '',
  record: (view) => `${JSON.stringify(recordJson(view))}\n`,
  tail: () => '',
};

const CSV_COLUMNS = [
  'id',
  'started_at',
  'finished_at',
  'token_name',
  'token_prefix',
  'token_id',
  'endpoint',
  'model',
  'status',
  'outcome',
  'duration_ms',
  'ttft_ms',
  'prompt_tokens',
  'completion_tokens',
  'thread_id',
  'parent_id',
  'redacted_at',
  'prompt',
  'answer',
  'error',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes
 * doubled. Text that a spreadsheet would run as a formula (=, +, -, @, tab or CR at the
 * start) gets a leading apostrophe, in every column; numbers are left as numbers.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let out = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(out)) out = `'${out}`;
  return /[",\r\n]/.test(out) ? `"${out.replace(/"/g, '""')}"` : out;
}

const csv: ExportWriter = {
  contentType: 'text/csv; charset=utf-8',
  extension: 'csv',
  head: () => `${CSV_COLUMNS.join(',')}\r\n`,
  record: (view) =>
    `${[
      csvField(view.id),
      csvField(iso(view.startedAt)),
      csvField(iso(view.finishedAt)),
      csvField(view.tokenName),
      csvField(view.tokenPrefix),
      csvField(view.tokenId),
      csvField(view.endpoint),
      csvField(view.model),
      csvField(view.status),
      csvField(view.outcome),
      csvField(view.durationMs === undefined ? null : Math.round(view.durationMs * 10) / 10),
      csvField(view.ttftMs == null ? null : Math.round(view.ttftMs * 10) / 10),
      csvField(view.promptTokens),
      csvField(view.completionTokens),
      csvField(view.threadId),
      csvField(view.parentId),
      csvField(iso(view.redactedAt)),
      csvField(promptText(view.endpoint, view.request)),
      csvField(view.answerContent),
      csvField(view.error),
    ].join(',')}\r\n`,
  tail: () => '',
};

const ROLE_TITLES: Record<string, string> = {
  system: 'System',
  developer: 'System',
  user: 'User',
  assistant: 'Assistant',
  tool: 'Tool',
};

/** A code fence longer than any run of backticks in `text`. */
function fenced(text: string, language = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text}\n${fence}`;
}

const inline = (text: string): string => text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);

function markdownRecord(view: HistoryView): string {
  const when = `${iso(view.startedAt)
    ?.replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')}`;
  const lines: string[] = [`## ${when} · ${inline(view.model ?? 'no model')} · ${inline(view.endpoint)}`, ''];
  const facts = [
    `token ${view.tokenName ? `**${inline(view.tokenName)}**` : 'none'}`,
    `status ${view.status ?? '–'} ${view.outcome}`,
  ];
  if (view.durationMs !== undefined) facts.push(`${Math.round(view.durationMs)} ms`);
  if (view.ttftMs != null) facts.push(`first token after ${Math.round(view.ttftMs)} ms`);
  if (view.promptTokens != null || view.completionTokens != null) {
    facts.push(`${view.promptTokens ?? 0} prompt + ${view.completionTokens ?? 0} completion tokens`);
  }
  facts.push(`id \`${view.id}\``);
  if (view.threadId !== view.id) facts.push(`thread \`${view.threadId}\``);
  if (view.parentId !== null) facts.push(`continues \`${view.parentId}\``);
  lines.push(facts.join(' · '), '');

  if (view.redactedAt !== null) {
    lines.push(
      `*Content redacted on ${iso(view.redactedAt)}${view.redactedBy ? ` by ${inline(view.redactedBy)}` : ''}.*`,
      '',
    );
  } else if (view.historyMode !== 'full') {
    lines.push(`*Content not kept (history mode: ${view.historyMode}).*`, '');
  } else {
    const conversation = conversationOf(view.endpoint, view.request);
    const asked = conversation
      ? newTurn(conversation)
      : [{ role: 'user', text: promptText(view.endpoint, view.request) }];
    for (const message of asked) {
      if (message.text === '') continue;
      lines.push(`### ${ROLE_TITLES[message.role] ?? inline(message.role)}`, '', message.text, '');
    }
    if (view.answerThinking) {
      lines.push('### Assistant (thinking)', '', ...view.answerThinking.split('\n').map((l) => `> ${l}`), '');
    }
    const answer = answerText(view.answerContent, null);
    if (answer !== '') lines.push('### Assistant', '', answer, '');
    if (view.answerToolCalls?.length) {
      lines.push('### Tool calls', '', fenced(JSON.stringify(view.answerToolCalls, null, 2), 'json'), '');
    }
  }
  if (view.error) lines.push(`**Error:** ${inline(view.error)}`, '');
  lines.push('---', '', '');
  return lines.join('\n');
}

// No export time in the text (the download's file name has it): an export is a
// function of its records.
const markdown: ExportWriter = {
  contentType: 'text/markdown; charset=utf-8',
  extension: 'md',
  head: () => '# Ollama Companion history\n\n',
  record: markdownRecord,
  tail: () => '',
};

const WRITERS: Record<ExportFormat, ExportWriter> = { jsonl, csv, markdown };

export function exportWriter(format: ExportFormat): ExportWriter {
  return WRITERS[format];
}

/** The export as a sequence of strings, one record at a time, pulled as the reader is ready. */
export async function* exportChunks(
  format: ExportFormat,
  records: Iterable<HistoryView> | AsyncIterable<HistoryView>,
): AsyncGenerator<string> {
  const writer = exportWriter(format);
  const head = writer.head();
  if (head !== '') yield head;
  for await (const view of records) yield writer.record(view);
  const tail = writer.tail();
  if (tail !== '') yield tail;
}
