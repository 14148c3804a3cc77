/**
 * One request as history keeps it: who asked, what, what came back, and how long it
 * took. Built in two steps, because a request cut off by a crash must leave its start.
 */
import type { HistoryMode } from '../policy/token.js';

export type Outcome = 'in_progress' | 'ok' | 'error' | 'refused' | 'aborted';

export interface HistoryStart {
  id: string;
  servedBy: string;
  tokenId: string | null;
  tokenName: string | null;
  tokenPrefix: string | null;
  method: string;
  endpoint: string;
  model: string | null;
  stream: boolean | null;
  startedAt: number;
  historyMode: HistoryMode;
  /** The request's prompt, messages and options; null in metadata mode. */
  request: unknown;
  clientAddr: string | null;
  userAgent: string | null;
}

export interface HistoryEnd {
  finishedAt: number;
  ttftMs: number | null;
  durationMs: number;
  status: number;
  outcome: Exclude<Outcome, 'in_progress'>;
  error: string | null;
  answerContent: string | null;
  answerThinking: string | null;
  answerToolCalls: unknown[] | null;
  answerSummary: unknown;
  doneReason: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  totalNs: number | null;
  loadNs: number | null;
  promptEvalNs: number | null;
  evalNs: number | null;
}

export interface HistoryRecord extends HistoryStart, Partial<Omit<HistoryEnd, 'outcome'>> {
  originNode: string;
  originSeq: number;
  outcome: Outcome;
}
