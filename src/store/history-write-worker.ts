/**
 * The history writer thread: owns one SQLite connection and writes the batches it
 * receives in the order received, answering each with success or the failure's message.
 * A batch is one transaction: its history rows (with their index and rollups) and the
 * usage counters commit together or not at all, so a batch that failed can be sent
 * again unchanged. Batches that queued up while a transaction ran share the next one.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { type Db, isStoreUnavailableError, openDatabase } from './database.js';
import { decodeBatch } from './history-batch-wire.js';
import type { HistoryBatch } from './history-repository.js';
import { createHistoryRepository } from './history-repository.js';
import {
  type WorkerReply,
  type WorkerRequest,
  type WriterThreadOptions,
  wallClock,
} from './history-write-thread.js';
import { createTokenRepository, type UsageCount } from './token-repository.js';
import { pauseEvery } from './write-pacing.js';

const { dataDir, nodeId } = workerData as WriterThreadOptions;
const db: Db = openDatabase(dataDir);
// A 0.2 ms pause after each millisecond of work: a batch takes about a sixth longer
// (asleep, not on the CPU), and a request waiting for this core gets it within about
// a millisecond. A late batch is written without them: its records are due.
const pause = pauseEvery(1, 0.2);
let paced = true;
const history = createHistoryRepository(db, nodeId, () => {
  if (paced) pause();
});
const tokens = createTokenRepository(db);
const port = parentPort!;

// The repositories' own transactions become savepoints inside this one.
const writeAll = db.transaction((batch: HistoryBatch, usage: UsageCount[]) => {
  if (batch.started.length > 0 || batch.finished.length > 0) history.writeBatch(batch);
  tokens.writeUsage(usage);
});

/**
 * Gives the log's space back to the file system: after the store could not be written
 * (the disk was full), and once it can again. Fails harmlessly while a reader holds the log.
 */
function truncateLog(): void {
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // The disk may still be full; the next failure or recovery tries again.
  }
}

let failing = false;

/** Writes requests in one transaction; answers each. */
function writeTogether(requests: WorkerRequest[]): WorkerReply[] {
  const batch: HistoryBatch =
    requests.length === 1 ? decodeBatch(requests[0]!.batch) : decodeBatch(requests.flatMap((r) => r.batch));
  // Counter values are absolute: a later batch's value replaces an earlier one's.
  const usage =
    requests.length === 1
      ? requests[0]!.usage
      : [
          ...new Map(
            requests.flatMap((r) => r.usage.map((u) => [`${u.tokenId}\u0000${u.window}`, u] as const)),
          ).values(),
        ];
  paced = requests.every((r) => !r.urgent);
  try {
    writeAll.immediate(batch, usage);
    if (failing) {
      failing = false;
      truncateLog();
    }
    const committedAt = wallClock();
    return requests.map((r) => ({ id: r.id, ok: true, committedAt }));
  } catch (error) {
    const storeUnavailable = isStoreUnavailableError(error);
    if (storeUnavailable && !failing) {
      failing = true;
      truncateLog();
    }
    // Written together, one bad record fails them all: each is tried alone to find it.
    if (!storeUnavailable && requests.length > 1) return requests.flatMap((r) => writeTogether([r]));
    const message = (error as Error).message;
    return requests.map((r) => ({ id: r.id, ok: false, message, storeUnavailable }));
  }
}

function close(): void {
  db.close();
  port.close();
}

port.on('message', (first: WorkerRequest | 'close') => {
  if (first === 'close') {
    close();
    return;
  }
  // Batches that arrived while the last transaction ran are written together, in one:
  // the request thread sends a batch without waiting for the answer to the one before.
  const requests = [first];
  let closing = false;
  for (;;) {
    const more = receiveMessageOnPort(port)?.message as WorkerRequest | 'close' | undefined;
    if (more === undefined) break;
    if (more === 'close') {
      closing = true;
      break;
    }
    requests.push(more);
  }
  for (const reply of writeTogether(requests)) port.postMessage(reply);
  if (closing) close();
});
