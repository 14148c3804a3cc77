/**
 * A row of PostgreSQL's history_records (the current view of a record) and the record it
 * reads as: the same HistoryView that SQLite's store gives, field for field. bigint
 * columns come from the driver as strings and are read as numbers here (every value
 * fits: epoch milliseconds, counters, keys below 2^53).
 */
import type { HistoryRecord } from '../../history/history-record.js';
import type { HistoryView } from '../../history/history-search.js';

type BigInt = string | number;

export interface HistoryViewRow {
  id: string;
  origin_node: string;
  origin_seq: BigInt;
  served_by: string;
  token_id: string | null;
  token_name: string | null;
  token_prefix: string | null;
  method: string;
  endpoint: string;
  model: string | null;
  stream: boolean | null;
  started_at: BigInt;
  finished_at: BigInt | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  status: number | null;
  outcome: HistoryRecord['outcome'];
  error: string | null;
  history_mode: HistoryRecord['historyMode'];
  request_json: string | null;
  answer_content: string | null;
  answer_thinking: string | null;
  answer_tool_calls: string | null;
  answer_summary: string | null;
  done_reason: string | null;
  prompt_tokens: BigInt | null;
  completion_tokens: BigInt | null;
  total_ns: BigInt | null;
  load_ns: BigInt | null;
  prompt_eval_ns: BigInt | null;
  eval_ns: BigInt | null;
  client_addr: string | null;
  user_agent: string | null;
  search_key: BigInt;
  thread_id: string;
  parent_id: string | null;
  continuation_hash: string | null;
  redacted_at: BigInt | null;
  redacted_by: string | null;
}

/** The view's columns as a select list (search_vector left out: it is only matched against). */
export const VIEW_COLUMNS = `id, origin_node, origin_seq, served_by, token_id, token_name, token_prefix, method,
  endpoint, model, stream, started_at, finished_at, ttft_ms, duration_ms, status, outcome, error, history_mode,
  request_json, answer_content, answer_thinking, answer_tool_calls, answer_summary, done_reason, prompt_tokens,
  completion_tokens, total_ns, load_ns, prompt_eval_ns, eval_ns, client_addr, user_agent, search_key, thread_id,
  parent_id, continuation_hash, redacted_at, redacted_by`;

const num = (value: BigInt | null): number | null => (value === null ? null : Number(value));
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function toHistoryView(row: HistoryViewRow): HistoryView {
  return {
    id: row.id,
    originNode: row.origin_node,
    originSeq: Number(row.origin_seq),
    servedBy: row.served_by,
    tokenId: row.token_id,
    tokenName: row.token_name,
    tokenPrefix: row.token_prefix,
    method: row.method,
    endpoint: row.endpoint,
    model: row.model,
    stream: row.stream,
    startedAt: Number(row.started_at),
    historyMode: row.history_mode,
    request: parse(row.request_json),
    clientAddr: row.client_addr,
    userAgent: row.user_agent,
    outcome: row.outcome,
    ...(row.outcome === 'in_progress'
      ? {}
      : {
          finishedAt: num(row.finished_at) ?? undefined,
          ttftMs: row.ttft_ms,
          durationMs: row.duration_ms ?? undefined,
          status: row.status ?? undefined,
          error: row.error,
          answerContent: row.answer_content,
          answerThinking: row.answer_thinking,
          answerToolCalls: parse(row.answer_tool_calls) as unknown[] | null,
          answerSummary: parse(row.answer_summary),
          doneReason: row.done_reason,
          promptTokens: num(row.prompt_tokens),
          completionTokens: num(row.completion_tokens),
          totalNs: num(row.total_ns),
          loadNs: num(row.load_ns),
          promptEvalNs: num(row.prompt_eval_ns),
          evalNs: num(row.eval_ns),
        }),
    threadId: row.thread_id,
    parentId: row.parent_id,
    redactedAt: num(row.redacted_at),
    redactedBy: row.redacted_by,
  };
}
