/**
 * Many slow NDJSON streams at once, as chat clients make them: every stream is timed from the moment it
 * is sent to its first body chunk and to its end, and its lines are checked against the answer the
 * emulator streams (`Echo: <prompt>` in `chunks` pieces, then a `done` line).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface StreamTarget {
  url: string;
  authorization?: string;
}

export interface StreamWave {
  streams: number;
  /** Content pieces each answer is split into (the emulator's `--chunks`). */
  chunks: number;
  prompt: string;
  model: string;
}

export interface StreamOutcome {
  status: number;
  ttfcMs: number;
  totalMs: number;
  /** NDJSON lines that carried a piece of the answer. */
  pieces: number;
  done: boolean;
  contentOk: boolean;
  error?: string;
}

export interface WaveResult {
  wallMs: number;
  outcomes: StreamOutcome[];
}

export function openPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
}

/** Expected content pieces for an `Echo: <prompt>` answer split into `chunks`. */
export function expectedPieces(wave: StreamWave): number {
  return Math.min(wave.chunks, Array.from(`Echo: ${wave.prompt}`).length);
}

async function oneStream(
  pool: Pool,
  target: StreamTarget,
  body: string,
): Promise<{
  status: number;
  t0: number;
  first: number;
  end: number;
  buffers: Buffer[];
  error?: string;
}> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.authorization) headers.authorization = target.authorization;
  const t0 = performance.now();
  let first = Number.NaN;
  const buffers: Buffer[] = [];
  try {
    const res = await pool.request({ method: 'POST', path: '/api/chat', headers, body });
    for await (const chunk of res.body) {
      if (Number.isNaN(first)) first = performance.now();
      buffers.push(chunk as Buffer);
    }
    return { status: res.statusCode, t0, first, end: performance.now(), buffers };
  } catch (error) {
    return { status: 0, t0, first, end: performance.now(), buffers, error: (error as Error).message };
  }
}

function check(raw: Awaited<ReturnType<typeof oneStream>>, wave: StreamWave): StreamOutcome {
  const text = Buffer.concat(raw.buffers).toString('utf8');
  let pieces = 0;
  let done = false;
  let content = '';
  let error = raw.error;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const parsed = JSON.parse(line) as { done?: boolean; message?: { content?: string }; error?: string };
      if (parsed.error) error = parsed.error;
      if (parsed.done === true) done = true;
      else if (parsed.message) {
        pieces++;
        content += parsed.message.content ?? '';
      }
    } catch {
      error ??= `unparsable line: ${line.slice(0, 80)}`;
    }
  }
  return {
    status: raw.status,
    ttfcMs: raw.first - raw.t0,
    totalMs: raw.end - raw.t0,
    pieces,
    done,
    contentOk: content === `Echo: ${wave.prompt}`,
    ...(error ? { error } : {}),
  };
}

/** Starts `wave.streams` streams at once and waits for all of them (bounded by `timeoutMs`). */
export async function runWave(
  pool: Pool,
  target: StreamTarget,
  wave: StreamWave,
  timeoutMs: number,
): Promise<WaveResult> {
  const body = JSON.stringify({ model: wave.model, messages: [{ role: 'user', content: wave.prompt }] });
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`stream wave did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const raws = await Promise.race([
      Promise.all(Array.from({ length: wave.streams }, () => oneStream(pool, target, body))),
      timeout,
    ]);
    const wallMs = performance.now() - start;
    // Parsing happens after the wave so it never delays a stream being read.
    return { wallMs, outcomes: raws.map((raw) => check(raw, wave)) };
  } finally {
    clearTimeout(timer);
  }
}
