import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openDatabase } from './database.js';
import { createHistoryRepository } from './history-repository.js';
import { type ContractHistoryStore, historyStoreContract } from './history-store-contract.test-helper.js';
import { createSqliteHistoryReads } from './sqlite/history-reads.js';

/** The SQLite store in the contract's async shape. */
function open(t: TestContext): ContractHistoryStore {
  const dir = mkdtempSync(join(tmpdir(), 'history-contract-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const repo = createHistoryRepository(db, 'node-a');
  const reads = createSqliteHistoryReads(db);
  return {
    writeBatch: async (batch) => repo.writeBatch(batch),
    search: (filter, page) => reads.search.search(filter, page),
    findById: (id) => reads.search.findById(id),
    modelNames: () => reads.search.modelNames(),
    findThread: (id, limit) => reads.threads.findThread(id, limit),
    redact: (id, by, at) => reads.redaction.redact(id, by, at),
    retentionCut: (limits) => reads.retention.retentionCut(limits),
    deleteUpTo: (cut, batch) => reads.retention.deleteUpTo(cut, batch),
    usage: (by, since, until) => reads.usage.usage(by, since, until),
    count: () => reads.search.count(),
  };
}

for (const { name, run } of historyStoreContract) {
  test(`SQLite history: ${name}`, (t) => run(open(t)));
}
