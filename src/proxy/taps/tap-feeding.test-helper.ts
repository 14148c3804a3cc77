/**
 * Test support for the tap tests (no tests of its own; named *.test.ts so the build leaves
 * it out). Feeds one body to a fresh tap under many chunkings - whole, every byte, small
 * strides, a cut inside every multi-byte character, pseudo-random cuts - and checks that
 * every chunking assembles the same answer, so each test covers arbitrary boundaries.
 */
import assert from 'node:assert/strict';
import { type AnswerFormat, type AssembledAnswer, createAnswerTap } from './answer-tap.js';

export interface Chunking {
  name: string;
  chunks: Uint8Array[];
}

export function chunkings(body: Uint8Array): Chunking[] {
  const out: Chunking[] = [{ name: 'whole', chunks: [body] }];
  for (const stride of [1, 2, 3, 7, 64]) {
    if (stride >= body.length) continue;
    out.push({ name: `every ${stride} bytes`, chunks: strided(body, stride) });
  }
  // Empty chunks between the pieces: a transport may deliver them.
  out.push({ name: 'with empty chunks', chunks: strided(body, 5).flatMap((c) => [new Uint8Array(0), c]) });
  // Cut in the middle of every multi-byte UTF-8 character (after its lead byte).
  const cuts: number[] = [];
  for (let i = 0; i < body.length; i++) if ((body[i] as number) >= 0xc0) cuts.push(i + 1);
  if (cuts.length > 0) out.push({ name: 'inside each multi-byte character', chunks: cutAt(body, cuts) });
  let seed = 0x2f6b_1a3d;
  const random = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 0x1_0000_0000;
  };
  for (let round = 0; round < 3; round++) {
    const randomCuts: number[] = [];
    for (let at = 0; at < body.length; at += 1 + Math.floor(random() * 40)) randomCuts.push(at);
    out.push({ name: `random cuts #${round}`, chunks: cutAt(body, randomCuts) });
  }
  return out;
}

/** Runs the body through every chunking, asserts they agree, and returns the answer. */
export function assemble(
  format: AnswerFormat,
  contentType: string | undefined,
  status: number,
  body: string | Uint8Array,
): AssembledAnswer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let first: AssembledAnswer | undefined;
  for (const { name, chunks } of chunkings(bytes)) {
    assert.deepEqual(
      Buffer.concat(chunks),
      Buffer.from(bytes),
      `chunking "${name}" must reassemble the body`,
    );
    const answer = feed(createAnswerTap(format, contentType, status), chunks);
    if (first === undefined) first = answer;
    else
      assert.deepEqual(answer, first, `chunking "${name}" must assemble the same answer as the whole body`);
  }
  assert.ok(first !== undefined);
  return first;
}

export function feed(
  tap: ReturnType<typeof createAnswerTap>,
  chunks: readonly Uint8Array[],
): AssembledAnswer {
  for (const chunk of chunks) tap.push(chunk);
  return tap.finish();
}

/** NDJSON text from objects, one per line, as Ollama writes it. */
export function ndjson(...values: unknown[]): string {
  return values.map((v) => `${JSON.stringify(v)}\n`).join('');
}

/** SSE text from [event name | null, data] pairs, as Ollama's compatibility layers write it. */
export function sse(...events: [string | null, unknown][]): string {
  return events
    .map(([name, data]) => {
      const payload = typeof data === 'string' ? data : JSON.stringify(data);
      return `${name === null ? '' : `event: ${name}\n`}data: ${payload}\n\n`;
    })
    .join('');
}

function strided(body: Uint8Array, stride: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += stride) chunks.push(body.subarray(i, i + stride));
  return chunks;
}

function cutAt(body: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const at of cuts) {
    if (at <= from || at >= body.length) continue;
    chunks.push(body.subarray(from, at));
    from = at;
  }
  chunks.push(body.subarray(from));
  return chunks;
}
