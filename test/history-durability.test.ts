/**
 * The durability bound of history under load, as the README states it: with 256 streams
 * running through the real executable, `kill -9` loses no answer that its client had
 * fully received more than `historyFlushMs` (100 ms) before the kill. Every such answer
 * is on disk, complete, when the SQLite file is opened afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ollama } from 'ollama';
import { runCli, tempDir } from './support/companion-harness.js';
import { emulatorProcess, onDisk, serve } from './support/serve-process.js';

const STREAMS = 256;
/** The README's bound, with the default flush interval. */
const FLUSH_MS = 100;
/**
 * The kill comes this long after the first answer of a burst ended: the first answers
 * of the burst are then just past the bound, the worst moment for them.
 */
const KILL_AFTER_MS = FLUSH_MS + 5;
/** Each cycle starts the companion, runs a warm-up wave and a wave cut by the kill. */
const CYCLES = 3;
/** Prompts (and their echoed answers) of about 2 KB of words, as chats are: indexing them keeps the writer busy. */
const WORDS = Array.from({ length: 150 }, (_, i) => `word${i % 97} lighthouse${i % 13}`).join(' ');

interface Received {
  prompt: string;
  content: string;
  /** performance.now() when the stream's last chunk had arrived. */
  at: number;
}

test(`kill -9 under ${STREAMS} streams: every answer received more than ${FLUSH_MS} ms before is stored complete`, async (t) => {
  // Waves of 256 streams of about a second, as the benchmark runs them: their ends come in bursts.
  const emulator = await emulatorProcess(t, [
    '--chunk-delay-ms',
    '250',
    '--chunks',
    '4',
    '--parallel',
    String(STREAMS),
  ]);
  const dataDir = tempDir(t);
  const created = await runCli(['token', 'create', '--name', 'load', '--data-dir', dataDir, '--init']);
  assert.equal(created.code, 0, created.stderr);
  const secret = created.stdout.trim();

  const figures: string[] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const server = await serve(t, dataDir, emulator.url, {
      OLLAMA_COMPANION_HISTORY_FLUSH_MS: String(FLUSH_MS),
    });
    const client = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${secret}` } });
    const received: Received[] = [];
    let killedAt = Number.POSITIVE_INFINITY;
    const kill = () => {
      if (killedAt !== Number.POSITIVE_INFINITY) return;
      killedAt = performance.now();
      server.child.kill('SIGKILL');
    };
    const stream = async (prompt: string, last: boolean) => {
      try {
        const parts = await client.generate({ model: 'llama3.2', prompt, stream: true });
        let content = '';
        for await (const part of parts) content += part.response;
        received.push({ prompt, content, at: performance.now() });
        if (last && received.length === STREAMS + 1) setTimeout(kill, KILL_AFTER_MS);
      } catch {
        // the kill cut this stream
      }
    };
    for (let wave = 0; wave < 2; wave++) {
      const streams = Array.from({ length: STREAMS }, (_, n) =>
        stream(`cycle ${cycle} wave ${wave} stream ${n}: ${WORDS}`, wave === 1),
      );
      await Promise.all(streams);
    }
    kill();
    assert.equal((await server.exited).signal, 'SIGKILL');

    const rows = onDisk(dataDir, (db) =>
      db.prepare('SELECT request_json, outcome, answer_content FROM history').all(),
    ) as { request_json: string; outcome: string; answer_content: string | null }[];
    const stored = new Map(
      rows.map((row) => [(JSON.parse(row.request_json) as { prompt: string }).prompt, row] as const),
    );
    const complete = (r: Received) => {
      const row = stored.get(r.prompt);
      return row?.outcome === 'ok' && row.answer_content === r.content;
    };
    const before = received.filter((r) => r.at < killedAt);
    const incomplete = before.filter((r) => !complete(r));
    const oldest = incomplete.length === 0 ? 0 : Math.max(...incomplete.map((r) => killedAt - r.at));
    figures.push(
      `cycle ${cycle}: ${before.length} answers received before the kill, ${incomplete.length} not complete on disk, the oldest of those received ${oldest.toFixed(0)} ms before it`,
    );
    const due = before.filter((r) => r.at < killedAt - FLUSH_MS);
    assert.ok(due.length > STREAMS, `the load ran: ${due.length} answers received before the bound`);
    const lost = due.filter((r) => !complete(r));
    assert.equal(
      lost.length,
      0,
      `${lost.length} of ${due.length} answers received more than ${FLUSH_MS} ms before the kill are not stored complete\n${figures.join('\n')}`,
    );
  }
  t.diagnostic(figures.join('; '));
});
