/**
 * A history sink that writes on a worker thread with its own SQLite connection, so the
 * batched transactions (rows, full-text index, rollups, usage counters) never stall
 * the thread that serves requests. Batches are written in the order they are sent.
 */
import { Worker } from 'node:worker_threads';
import {
  type HistorySink,
  storeUnavailable,
  type WriteOptions,
  type WriteReceipt,
} from '../history/history-writer.js';
import { isStoreUnavailableError } from './database.js';
import { encodeBatch, type WireBatch } from './history-batch-wire.js';
import type { HistoryBatch } from './history-repository.js';
import type { UsageCount } from './token-repository.js';

export interface WriterThreadOptions {
  dataDir: string;
  nodeId: string;
}

/**
 * Messages from the worker: one answer per batch, in order. `storeUnavailable` says the
 * store could not be written (disk full, I/O error), not that the batch was at fault.
 */
export type WorkerReply =
  | { id: number; ok: true; committedAt: number }
  | { id: number; ok: false; message: string; storeUnavailable: boolean };

/** A batch as the worker receives it; `sentAt` and `committedAt` are wall-clock ms (`wallClock`). */
export interface WorkerRequest {
  id: number;
  /** The records, flattened (history-batch-wire.ts). */
  batch: WireBatch;
  usage: UsageCount[];
  sentAt: number;
  /** Written without the pauses of write-pacing.ts: the batch is late. */
  urgent: boolean;
}

/** Milliseconds since the epoch, below the millisecond, comparable between threads. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

export interface HistoryWriteThread extends HistorySink {
  writeBatch(batch: HistoryBatch, usage: UsageCount[], options?: WriteOptions): Promise<WriteReceipt>;
  close(): Promise<void>;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Once built, the worker is the compiled .js beside this file. Run from source (tests),
 * a worker thread does not inherit the TypeScript loader, so it registers it first.
 */
function spawnWorker(options: WriterThreadOptions): Worker {
  // A batch (up to a thousand records under load) stays alive while its transaction
  // runs, and a young generation that holds it whole lets it die there. Writing a record
  // leaves about 4 KB of garbage, so 8 MB is enough: under a 10,000 requests/s load the
  // thread spends as little per record as with 32 MB, and the process stays 10 MB
  // smaller under 256 streams.
  const settings = { workerData: options, resourceLimits: { maxYoungGenerationSizeMb: 8 } };
  if (!FROM_SOURCE) return new Worker(new URL('./history-write-worker.js', import.meta.url), settings);
  const source = new URL('./history-write-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { ...settings, eval: true });
}

/**
 * A thread that dies (out of memory, a native fault) fails the batches it held, and the
 * next batch starts a new thread; unless the store itself could not be opened, the
 * history writer then blames the batch and splits it. A batch that cannot be copied to
 * the thread at all fails the same way, at once.
 */
export function startHistoryWriteThread(options: WriterThreadOptions): HistoryWriteThread {
  const waiting = new Map<
    number,
    { sentAt: number; resolve: (receipt: WriteReceipt) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  let worker: Worker | undefined;
  let closing = false;

  const start = (): Worker => {
    const thread = spawnWorker(options);
    let cause: Error | undefined;
    thread.on('message', (reply: WorkerReply) => {
      const entry = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (reply.ok) entry?.resolve({ commitMs: reply.committedAt - entry.sentAt });
      else {
        const error = new Error(reply.message);
        entry?.reject(reply.storeUnavailable ? storeUnavailable(error) : error);
      }
    });
    thread.on('error', (error) => {
      cause = error;
    });
    thread.on('exit', (code) => {
      if (worker === thread) worker = undefined;
      const failure = cause ?? new Error(`history writer thread exited (${code})`);
      // The thread could not open the store (no space for its files, say): not the batch's fault.
      const error = isStoreUnavailableError(cause) ? storeUnavailable(failure) : failure;
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
    });
    return thread;
  };
  worker = start();

  return {
    writeBatch(batch: HistoryBatch, usage: UsageCount[], options?: WriteOptions) {
      if (closing) return Promise.reject(storeUnavailable(new Error('history writer thread closed')));
      worker ??= start();
      const thread = worker;
      const id = ++nextId;
      return new Promise<WriteReceipt>((resolve, reject) => {
        const sentAt = wallClock();
        waiting.set(id, { sentAt, resolve, reject });
        try {
          // Copies the batch (structured clone); throws for a value it cannot copy.
          const urgent = options?.urgent ?? false;
          thread.postMessage({
            id,
            batch: encodeBatch(batch),
            usage,
            sentAt,
            urgent,
          } satisfies WorkerRequest);
        } catch (error) {
          waiting.delete(id);
          reject(error);
        }
      });
    },
    async close() {
      closing = true;
      const thread = worker;
      if (!thread) return;
      const exited = new Promise((resolve) => thread.once('exit', resolve));
      thread.postMessage('close');
      await exited;
    },
  };
}
