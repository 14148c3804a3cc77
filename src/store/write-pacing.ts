/**
 * Pacing for the history writer thread's transactions.
 *
 * A batch of a few hundred records keeps the writer busy for several milliseconds.
 * Meanwhile a request's processes (client, companion, Ollama) wake up one after another,
 * and the kernel may queue one of them on the writer's core for most of a scheduler
 * slice. That wait shows up in the companion's p99. Pausing briefly after every
 * millisecond of work lets the waiting thread in. The pause sleeps and uses no CPU, and
 * it does not end the transaction, so a batch is still written in one commit.
 *
 * `pace` blocks the calling thread, so only the writer thread may use a pacer that
 * pauses. Every other caller gets `unpaced`.
 */

/** Called once per record written; pauses the thread when its slice of work is used up. */
export type Pace = () => void;

export const unpaced: Pace = () => {};

/** Pauses `pauseMs` once at least `sliceMs` have passed since the last pause. */
export function pauseEvery(sliceMs: number, pauseMs: number): Pace {
  // Atomics.wait on a cell nobody changes: a sleep with sub-millisecond precision.
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let last = performance.now();
  return () => {
    if (performance.now() - last < sliceMs) return;
    Atomics.wait(cell, 0, 0, pauseMs);
    last = performance.now();
  };
}
