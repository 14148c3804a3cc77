/**
 * A real SQLite store in a temporary directory for the history read side's tests, the
 * records they write through the public write path, and the one state that path cannot
 * make: rows as a database from before the search migration held them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { HistoryReads } from '../../history/history-reads.js';
import type { HistoryEnd, HistoryStart } from '../../history/history-record.js';
import { openDatabase } from '../database.js';
import { createHistoryRepository, type HistoryRepository } from '../history-repository.js';
import { createSqliteHistoryReads } from './history-reads.js';

export interface HistoryStoreFixture {
  /** The write path the history writer uses. */
  repo: HistoryRepository;
  reads: HistoryReads;
  /** Turns every record into what a database from before the search migration held: no search fields, no text index, no rollups. */
  forgetSearchFields(): void;
}

export function openHistoryStore(t: TestContext): HistoryStoreFixture {
  const dir = mkdtempSync(join(tmpdir(), 'history-search-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    repo: createHistoryRepository(db, 'node-a'),
    reads: createSqliteHistoryReads(db),
    forgetSearchFields: () =>
      db.exec(`
        UPDATE history SET search_key = NULL, thread_id = NULL, parent_id = NULL, continuation_hash = NULL;
        DELETE FROM history_fts; DELETE FROM usage_hourly; DELETE FROM usage_daily;`),
  };
}

export function start(
  id: string,
  startedAt: number,
  request: unknown,
  extra: Partial<HistoryStart> = {},
): HistoryStart {
  return {
    id,
    servedBy: 'node-a',
    tokenId: 'tok-1',
    tokenName: 'one',
    tokenPrefix: 'oc_1',
    method: 'POST',
    endpoint: '/api/chat',
    model: 'llama3.2',
    stream: true,
    startedAt,
    historyMode: 'full',
    request,
    clientAddr: null,
    userAgent: null,
    ...extra,
  };
}

export function end(answer: string | null, extra: Partial<HistoryEnd> = {}): HistoryEnd {
  return {
    finishedAt: 0,
    ttftMs: 1,
    durationMs: 100,
    status: 200,
    outcome: 'ok',
    error: null,
    answerContent: answer,
    answerThinking: null,
    answerToolCalls: null,
    answerSummary: null,
    doneReason: 'stop',
    promptTokens: 10,
    completionTokens: 20,
    totalNs: null,
    loadNs: null,
    promptEvalNs: null,
    evalNs: null,
    ...extra,
  };
}

/** A chat request whose messages alternate user and assistant, starting with the user. */
export const chat = (...contents: string[]) => ({
  model: 'llama3.2',
  messages: contents.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
});

/** Ids of the newest page, for all records or for a text search. */
export const ids = async (store: HistoryStoreFixture, q?: string): Promise<string[]> =>
  (await store.reads.search.search(q ? { q } : {})).records.map((r) => r.id);
