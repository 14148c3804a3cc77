/**
 * A history sink that writes on a worker thread with its own SQLite connection, so the
 * batched transactions (rows, full-text index, rollups, usage counters) never stall
 * the thread that serves requests. Batches are written in the order they are sent.
 */
import { Worker } from 'node:worker_threads';
import type { HistorySink } from '../history/history-writer.js';
import type { HistoryBatch } from './history-repository.js';
import type { UsageCount } from './token-repository.js';

export interface WriterThreadOptions {
  dataDir: string;
  nodeId: string;
}

/** Messages from the worker: one answer per batch, in order. */
export type WorkerReply = { id: number; ok: true } | { id: number; ok: false; message: string };

export interface HistoryWriteThread extends HistorySink {
  writeBatch(batch: HistoryBatch, usage: UsageCount[]): Promise<void>;
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
 * A thread that dies (out of memory, a native fault) fails the batches it held; the
 * history writer keeps those and retries, and the next batch starts a new thread.
 */
export function startHistoryWriteThread(options: WriterThreadOptions): HistoryWriteThread {
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let worker: Worker | undefined;
  let closing = false;

  const start = (): Worker => {
    const thread = spawnWorker(options);
    let cause: Error | undefined;
    thread.on('message', (reply: WorkerReply) => {
      const entry = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (reply.ok) entry?.resolve();
      else entry?.reject(new Error(reply.message));
    });
    thread.on('error', (error) => {
      cause = error;
    });
    thread.on('exit', (code) => {
      if (worker === thread) worker = undefined;
      const error = cause ?? new Error(`history writer thread exited (${code})`);
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
    });
    return thread;
  };
  worker = start();

  return {
    writeBatch(batch: HistoryBatch, usage: UsageCount[]) {
      if (closing) return Promise.reject(new Error('history writer thread closed'));
      worker ??= start();
      const thread = worker;
      const id = ++nextId;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        thread.postMessage({ id, batch, usage });
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
