/**
 * The history writer thread: owns one SQLite connection and writes each batch it
 * receives (history rows with their index and rollups, then usage counters) in the
 * order received, answering each with success or the failure's message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import type { HistoryBatch } from './history-repository.js';
import { createHistoryRepository } from './history-repository.js';
import type { WorkerReply, WriterThreadOptions } from './history-write-thread.js';
import { createTokenRepository, type UsageCount } from './token-repository.js';
import { pauseEvery } from './write-pacing.js';

const { dataDir, nodeId } = workerData as WriterThreadOptions;
const db = openDatabase(dataDir);
// A 0.2 ms pause after each millisecond of work: a batch takes about a sixth longer
// (asleep, not on the CPU), and a request waiting for this core gets it within about
// a millisecond.
const history = createHistoryRepository(db, nodeId, pauseEvery(1, 0.2));
const tokens = createTokenRepository(db);
const port = parentPort!;

port.on('message', (message: { id: number; batch: HistoryBatch; usage: UsageCount[] } | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: WorkerReply;
  try {
    if (message.batch.started.length > 0 || message.batch.finished.length > 0)
      history.writeBatch(message.batch);
    tokens.writeUsage(message.usage);
    reply = { id: message.id, ok: true };
  } catch (error) {
    reply = { id: message.id, ok: false, message: (error as Error).message };
  }
  port.postMessage(reply);
});
