import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openDatabase } from './database.js';
import { createHistoryRepository } from './history-repository.js';
import { createHistorySearchRepository } from './history-search-repository.js';
import { type ContractHistoryStore, historyStoreContract } from './history-store-contract.test-helper.js';

/** The SQLite store in the contract's async shape. */
function open(t: TestContext): ContractHistoryStore {
  const dir = mkdtempSync(join(tmpdir(), 'history-contract-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const repo = createHistoryRepository(db, 'node-a');
  const search = createHistorySearchRepository(db);
  return {
    writeBatch: async (batch) => repo.writeBatch(batch),
    search: async (filter, page) => search.search(filter, page),
    findById: async (id) => search.findById(id),
    modelNames: async () => search.modelNames(),
    findThread: async (id, limit) => search.findThread(id, limit),
    redact: async (id, by, at) => search.redact(id, by, at),
    retentionCut: async (limits) => search.retentionCut(limits),
    deleteUpTo: async (cut, batch) => search.deleteUpTo(cut, batch),
    usage: async (by, since, until) => search.usage(by, since, until),
    count: async () => search.count(),
  };
}

for (const { name, run } of historyStoreContract) {
  test(`SQLite history: ${name}`, (t) => run(open(t)));
}
