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
  close(): Promise<void>;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Once built, the worker is the compiled .js beside this file. Run from source (tests),
 * a worker thread does not inherit the TypeScript loader, so it registers it first.
 */
function spawnWorker(options: WriterThreadOptions): Worker {
  // The thread only turns short-lived batches into rows: a small young generation keeps
  // its share of the process's memory small.
  const settings = { workerData: options, resourceLimits: { maxYoungGenerationSizeMb: 4 } };
  if (!FROM_SOURCE) return new Worker(new URL('./history-write-worker.js', import.meta.url), settings);
  const source = new URL('./history-write-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { ...settings, eval: true });
}

export function startHistoryWriteThread(options: WriterThreadOptions): HistoryWriteThread {
  const worker = spawnWorker(options);
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;

  worker.on('message', (reply: WorkerReply) => {
    const entry = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.ok) entry?.resolve();
    else entry?.reject(new Error(reply.message));
  });
  const failAll = (error: Error) => {
    failure ??= error; // the first cause, not the exit that follows it
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`history writer thread exited (${code})`)));

  return {
    writeBatch(batch: HistoryBatch, usage: UsageCount[]) {
      if (failure) return Promise.reject(failure);
      const id = ++nextId;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, batch, usage });
      });
    },
    async close() {
      if (failure) return;
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}
