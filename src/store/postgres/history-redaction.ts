/**
 * Redaction in PostgreSQL: in one transaction, a 'redaction' event appended to the
 * redacting node's log, and the record's content erased everywhere it is kept — its view
 * row (request, answer, words: it is found no more), the payloads of its own start and
 * end events, and the copies that later requests of its conversation resent (their view
 * rows, words and start events). The events stay, so each node's sequence stays
 * gapless, and a peer that had them applies the redaction event. Idempotent: a record
 * already redacted is returned as it is.
 *
 * PostgreSQL has no counterpart of SQLite's secure_delete: the old row versions are
 * freed by (auto)vacuum, not overwritten at once.
 */
import type { HistoryEnd, HistoryStart } from '../../history/history-record.js';
import type { HistoryView } from '../../history/history-search.js';
import { answerText, conversationOf, newTurn, promptText } from '../../history/search-text.js';
import { redactionTexts, scrubConversation } from '../../history/thread-keys.js';
import { searchVector } from './full-text.js';
import { appendEvents } from './history-event-log.js';
import { type HistoryViewRow, toHistoryView, VIEW_COLUMNS } from './history-view-row.js';
import type { PostgresClient, PostgresPool } from './postgres-pool.js';
import { inTransaction } from './transaction.js';

export interface PostgresHistoryRedaction {
  /**
   * Erases the record's content and keeps a tombstone (redactedAt, redactedBy); undefined
   * when there is no such record.
   */
  redact(id: string, by: string, at: number): Promise<HistoryView | undefined>;
}

/** Rewrites the payload of `recordId`'s events of `kind` with `change`. */
async function rewritePayloads(
  client: PostgresClient,
  recordId: string,
  kind: 'start' | 'end',
  change: (payload: Record<string, unknown>) => Record<string, unknown>,
): Promise<void> {
  const { rows } = await client.query<{ node_id: string; seq: string; payload: string }>({
    name: 'history-events-of-record',
    text: 'SELECT node_id, seq, payload FROM history_events WHERE record_id = $1 AND kind = $2',
    values: [recordId, kind],
  });
  for (const row of rows) {
    await client.query({
      name: 'history-event-payload',
      text: 'UPDATE history_events SET payload = $3 WHERE node_id = $1 AND seq = $2',
      values: [
        row.node_id,
        row.seq,
        JSON.stringify(change(JSON.parse(row.payload) as Record<string, unknown>)),
      ],
    });
  }
}

const withoutRequest = (payload: Record<string, unknown>): Partial<HistoryStart> => ({
  ...payload,
  request: null,
});
const withoutAnswer = (payload: Record<string, unknown>): Partial<HistoryEnd> => ({
  ...payload,
  answerContent: null,
  answerThinking: null,
  answerToolCalls: null,
  answerSummary: null,
});

/** `nodeId`: the node whose log the redaction event joins (the companion that redacts). */
export function createPostgresHistoryRedaction(pool: PostgresPool, nodeId: string): PostgresHistoryRedaction {
  const read = async (client: PostgresClient, id: string, lock: boolean) => {
    const { rows } = await client.query<HistoryViewRow>({
      name: lock ? 'history-redaction-lock' : 'history-redaction-read',
      text: `SELECT ${VIEW_COLUMNS} FROM history_records WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      values: [id],
    });
    return rows[0];
  };

  return {
    redact: (id, by, at) =>
      inTransaction(pool, async (client) => {
        const row = await read(client, id, true);
        if (!row) return undefined;
        if (row.redacted_at !== null) return toHistoryView(row);
        const record = toHistoryView(row);
        const conversation = conversationOf(record.endpoint, record.request);
        const said = conversation
          ? newTurn(conversation).map((m) => m.text)
          : [promptText(record.endpoint, record.request)];
        const texts = redactionTexts([...said, record.answerContent ?? '']);

        await appendEvents(client, nodeId, [
          { kind: 'redaction', recordId: id, at, payload: JSON.stringify({ by }) },
        ]);
        await client.query({
          name: 'history-erase',
          text: `UPDATE history_records SET request_json = NULL, answer_content = NULL, answer_thinking = NULL,
              answer_tool_calls = NULL, answer_summary = NULL, continuation_hash = NULL, search_vector = NULL,
              redacted_at = $2, redacted_by = $3
            WHERE id = $1`,
          values: [id, at, by],
        });
        await rewritePayloads(client, id, 'start', withoutRequest);
        await rewritePayloads(client, id, 'end', withoutAnswer);

        // Later turns of the conversation resend this exchange: erase those copies too.
        const { rows: later } = await client.query<HistoryViewRow>({
          name: 'history-later-in-thread',
          text: `SELECT ${VIEW_COLUMNS} FROM history_records
            WHERE thread_id = $1 AND search_key > $2 AND redacted_at IS NULL ORDER BY search_key FOR UPDATE`,
          values: [row.thread_id, row.search_key],
        });
        for (const laterRow of later) {
          const laterRecord = toHistoryView(laterRow);
          const scrubbed = scrubConversation(laterRecord.request, texts);
          if (scrubbed === undefined) continue;
          await client.query({
            name: 'history-set-request',
            text: 'UPDATE history_records SET request_json = $2, search_vector = $3::tsvector WHERE id = $1',
            values: [
              laterRecord.id,
              JSON.stringify(scrubbed),
              searchVector(
                promptText(laterRecord.endpoint, scrubbed),
                answerText(laterRecord.answerContent, laterRecord.answerThinking),
              ),
            ],
          });
          await rewritePayloads(client, laterRecord.id, 'start', (payload) => ({
            ...payload,
            request: scrubbed,
          }));
        }
        const after = await read(client, id, false);
        return after && toHistoryView(after);
      }),
  };
}
