/**
 * A history batch as it travels to the writer thread: one flat array of the records'
 * fields in a fixed order, instead of an object per start and end. Structured clone
 * writes every property name of every object again (about 35 per record) and the
 * receiving thread looks each one up while it rebuilds the object; a flat array of
 * values costs a fraction of that on both threads. Nested values (the request, tool
 * calls, the answer summary) are carried as they are.
 *
 * Invariant: `decodeBatch(encodeBatch(b))` equals `b` field for field, records in order.
 */
import type { HistoryEnd, HistoryStart } from '../history/history-record.js';
import type { HistoryBatch } from './history-repository.js';

/** What follows in the array: a start alone, or a start and its end (with whether the start row exists). */
const STARTED = 0;
const FINISHED = 1;
const FINISHED_START_WRITTEN = 2;

export type WireBatch = unknown[];

function pushStart(out: unknown[], s: HistoryStart): void {
  out.push(
    s.id,
    s.servedBy,
    s.tokenId,
    s.tokenName,
    s.tokenPrefix,
    s.method,
    s.endpoint,
    s.model,
    s.stream,
    s.startedAt,
    s.historyMode,
    s.request,
    s.clientAddr,
    s.userAgent,
  );
}

function pushEnd(out: unknown[], e: HistoryEnd): void {
  out.push(
    e.finishedAt,
    e.ttftMs,
    e.durationMs,
    e.status,
    e.outcome,
    e.error,
    e.answerContent,
    e.answerThinking,
    e.answerToolCalls,
    e.answerSummary,
    e.doneReason,
    e.promptTokens,
    e.completionTokens,
    e.totalNs,
    e.loadNs,
    e.promptEvalNs,
    e.evalNs,
  );
}

export function encodeBatch(batch: HistoryBatch): WireBatch {
  const out: unknown[] = [];
  for (const start of batch.started) {
    out.push(STARTED);
    pushStart(out, start);
  }
  for (const { start, end, startWritten } of batch.finished) {
    out.push(startWritten ? FINISHED_START_WRITTEN : FINISHED);
    pushStart(out, start);
    pushEnd(out, end);
  }
  return out;
}

export function decodeBatch(wire: WireBatch): HistoryBatch {
  const batch: HistoryBatch = { started: [], finished: [] };
  let i = 0;
  while (i < wire.length) {
    const kind = wire[i++];
    const start: HistoryStart = {
      id: wire[i++] as string,
      servedBy: wire[i++] as string,
      tokenId: wire[i++] as string | null,
      tokenName: wire[i++] as string | null,
      tokenPrefix: wire[i++] as string | null,
      method: wire[i++] as string,
      endpoint: wire[i++] as string,
      model: wire[i++] as string | null,
      stream: wire[i++] as boolean | null,
      startedAt: wire[i++] as number,
      historyMode: wire[i++] as HistoryStart['historyMode'],
      request: wire[i++],
      clientAddr: wire[i++] as string | null,
      userAgent: wire[i++] as string | null,
    };
    if (kind === STARTED) {
      batch.started.push(start);
      continue;
    }
    const end: HistoryEnd = {
      finishedAt: wire[i++] as number,
      ttftMs: wire[i++] as number | null,
      durationMs: wire[i++] as number,
      status: wire[i++] as number,
      outcome: wire[i++] as HistoryEnd['outcome'],
      error: wire[i++] as string | null,
      answerContent: wire[i++] as string | null,
      answerThinking: wire[i++] as string | null,
      answerToolCalls: wire[i++] as unknown[] | null,
      answerSummary: wire[i++],
      doneReason: wire[i++] as string | null,
      promptTokens: wire[i++] as number | null,
      completionTokens: wire[i++] as number | null,
      totalNs: wire[i++] as number | null,
      loadNs: wire[i++] as number | null,
      promptEvalNs: wire[i++] as number | null,
      evalNs: wire[i++] as number | null,
    };
    batch.finished.push({ start, end, startWritten: kind === FINISHED_START_WRITTEN });
  }
  return batch;
}
