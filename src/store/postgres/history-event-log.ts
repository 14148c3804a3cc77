/**
 * Appending to a node's history event log (history_events), inside the caller's
 * transaction. The head (history_heads) is moved by the number of events first: its row
 * lock orders every writer of that node, and a rolled-back transaction gives its numbers
 * back, so each node's seq stays 1, 2, 3, … without a gap or a collision.
 */
import type { PostgresClient } from './postgres-pool.js';

export type HistoryEventKind = 'start' | 'end' | 'redaction';

export interface HistoryEvent {
  kind: HistoryEventKind;
  recordId: string;
  /** When it happened on its node (epoch ms). */
  at: number;
  /** The event's fields, as JSON text. */
  payload: string;
}

/** Takes `count` numbers of `nodeId`'s sequence; returns the first. */
export async function takeSeqs(client: PostgresClient, nodeId: string, count: number): Promise<number> {
  const { rows } = await client.query<{ head: string }>({
    name: 'history-take-seqs',
    text: `INSERT INTO history_heads (node_id, head) VALUES ($1, $2)
      ON CONFLICT (node_id) DO UPDATE SET head = history_heads.head + excluded.head RETURNING head`,
    values: [nodeId, count],
  });
  return Number(rows[0]!.head) - count + 1;
}

/** Writes `events` with seq `firstSeq`, `firstSeq + 1`, … (numbers taken with takeSeqs). */
export async function insertEvents(
  client: PostgresClient,
  nodeId: string,
  firstSeq: number,
  events: readonly HistoryEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await client.query({
    name: 'history-insert-events',
    text: `INSERT INTO history_events (node_id, seq, kind, record_id, at, payload)
      SELECT $1, e.seq, e.kind, e.record_id, e.at, e.payload
      FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS e(seq, kind, record_id, at, payload)`,
    values: [
      nodeId,
      events.map((_, i) => firstSeq + i),
      events.map((e) => e.kind),
      events.map((e) => e.recordId),
      events.map((e) => Math.floor(e.at)),
      events.map((e) => e.payload),
    ],
  });
}

/** Takes numbers for `events` and writes them; returns the first seq (undefined when none). */
export async function appendEvents(
  client: PostgresClient,
  nodeId: string,
  events: readonly HistoryEvent[],
): Promise<number | undefined> {
  if (events.length === 0) return undefined;
  const first = await takeSeqs(client, nodeId, events.length);
  await insertEvents(client, nodeId, first, events);
  return first;
}
