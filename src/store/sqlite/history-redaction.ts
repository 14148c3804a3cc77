/**
 * Redaction in SQLite: one transaction erases a record's content, its text index entry
 * and the copies of it that later turns of its conversation resent (those are rewritten
 * and re-indexed without it). FTS5 only marks deleted entries, so the words stay in the
 * index's segments until a purge merges them away: `purgeStep` does that a few hundred
 * pages at a time, with freed pages overwritten.
 */
import type { HistoryRedaction } from '../../history/history-redaction.js';
import type { HistoryView } from '../../history/history-search.js';
import { answerText, conversationOf, newTurn, promptText } from '../../history/search-text.js';
import { redactionTexts, scrubConversation } from '../../history/thread-keys.js';
import type { Db } from '../database.js';
import { toRecord } from '../history-repository.js';
import { toView, type ViewRow } from './history-view-row.js';
import { securely, zeroFreedSpace } from './secure-delete.js';

export function createSqliteHistoryRedaction(db: Db): HistoryRedaction {
  zeroFreedSpace(db);
  const byId = db.prepare<[string], ViewRow>('SELECT * FROM history WHERE id = ?');
  const erase = db.prepare(`
    UPDATE history SET request_json = NULL, answer_content = NULL, answer_thinking = NULL,
      answer_tool_calls = NULL, answer_summary = NULL, continuation_hash = NULL,
      redacted_at = @at, redacted_by = @by
    WHERE id = @id`);
  const laterInThread = db.prepare<[string, number], ViewRow>(
    'SELECT * FROM history WHERE thread_id = ? AND search_key > ? AND redacted_at IS NULL ORDER BY search_key',
  );
  const setRequest = db.prepare('UPDATE history SET request_json = ? WHERE id = ?');
  const ftsDelete = db.prepare('DELETE FROM history_fts WHERE rowid = ?');
  const ftsInsert = db.prepare('INSERT INTO history_fts (rowid, prompt, answer) VALUES (?, ?, ?)');
  const totalChanges = db.prepare<[], { n: number }>('SELECT total_changes() AS n');
  const mergeStep = db.prepare("INSERT INTO history_fts (history_fts, rank) VALUES ('merge', ?)");
  // Per process: after a restart the segments are not rewritten for redactions made before it.
  let purgePending = false;

  const redact = db.transaction((id: string, by: string, at: number): HistoryView | undefined => {
    const row = byId.get(id);
    if (!row) return undefined;
    if (row.redacted_at !== null) return toView(row);
    const record = toRecord(row);
    const conversation = conversationOf(record.endpoint, record.request);
    const said = conversation
      ? newTurn(conversation).map((m) => m.text)
      : [promptText(record.endpoint, record.request)];
    const texts = redactionTexts([...said, record.answerContent ?? '']);
    erase.run({ id, at, by });
    if (row.search_key !== null) {
      ftsDelete.run(row.search_key);
      // Later turns of the conversation resend this exchange: erase those copies too.
      for (const later of laterInThread.all(row.thread_id ?? row.id, row.search_key)) {
        const laterRecord = toRecord(later);
        const scrubbed = scrubConversation(laterRecord.request, texts);
        if (scrubbed === undefined) continue;
        setRequest.run(JSON.stringify(scrubbed), later.id);
        if (later.search_key === null) continue;
        ftsDelete.run(later.search_key);
        const prompt = promptText(laterRecord.endpoint, scrubbed);
        const answer = answerText(laterRecord.answerContent, laterRecord.answerThinking);
        if (prompt !== '' || answer !== '') ftsInsert.run(later.search_key, prompt, answer);
      }
    }
    const after = byId.get(id);
    return after && toView(after);
  });

  return {
    redact: async (id, by, at) =>
      securely(db, () => {
        const view = redact(id, by, at);
        if (view) purgePending = true;
        return view;
      }),
    purgePending: async () => purgePending,
    purgeStep: async (pages = 500) =>
      securely(db, () => {
        // A negative page count merges every segment, so erased entries are dropped from all of them.
        const before = totalChanges.get()!.n;
        mergeStep.run(-pages);
        const more = totalChanges.get()!.n - before > 1;
        if (!more) {
          purgePending = false;
          // Old page images in the write-ahead log go too (skipped while readers hold it).
          db.pragma('wal_checkpoint(TRUNCATE)');
        }
        return more;
      }),
  };
}
