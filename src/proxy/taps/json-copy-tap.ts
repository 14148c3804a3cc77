/**
 * The tap for everything that is not an answer (/api/show, /api/tags, /api/pull progress,
 * /v1/models, ...): history keeps a bounded copy of the body. A body up to 64 KiB is kept
 * parsed (a stream as the array of its values, plain text as a string); a larger one
 * only as its size, plus, for a stream, its value count and last value (a pull's final
 * status or error).
 */
import { StringDecoder } from 'node:string_decoder';
import { AnswerBuilder, type AnswerTap, type AssembledAnswer, httpErrorText } from './answer.js';
import { type ByteReader, createReader, type Framing, type ValueSink } from './framing.js';
import { topLevelError, tryParseJson } from './json-read.js';

export const MAX_KEPT_BYTES = 64 * 1024;

export class JsonCopyTap implements AnswerTap, ValueSink {
  private readonly answer = new AnswerBuilder();
  private bytes = 0;
  /** Streams (NDJSON, SSE) are cut into values; a plain body is kept as text. */
  private readonly reader: ByteReader | null;
  private readonly decoder = new StringDecoder('utf8');
  private parts: string[] | null = [];
  private values: unknown[] | null = [];
  private valueCount = 0;
  private lastValue: unknown = null;
  private text: string | null = null;

  constructor(
    framing: Framing,
    private readonly status: number,
  ) {
    this.reader = framing === 'json' ? null : createReader(framing, this);
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.reader !== null) {
      if (this.bytes > MAX_KEPT_BYTES) this.values = null;
      this.reader.push(chunk);
    } else if (this.parts !== null) {
      if (this.bytes > MAX_KEPT_BYTES) this.parts = null;
      else this.parts.push(this.decoder.write(chunk));
    }
  }

  finish(): AssembledAnswer {
    const answer = this.answer;
    if (this.reader !== null) {
      try {
        this.reader.end();
      } catch (err) {
        answer.setError(`answer tap failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      answer.summary =
        this.values !== null
          ? this.values
          : { truncated: true, bytes: this.bytes, lines: this.valueCount, last: this.lastValue };
    } else if (this.parts !== null) {
      this.parts.push(this.decoder.end());
      const text = this.parts.join('');
      this.parts = null;
      if (text.trim().length > 0) {
        const parsed = tryParseJson(text);
        if (parsed.ok) {
          answer.summary = parsed.value;
          const error = topLevelError(parsed.value);
          if (error !== undefined) answer.setError(error);
        } else {
          answer.summary = text;
          this.text = text;
        }
      }
    } else {
      answer.summary = { truncated: true, bytes: this.bytes };
    }
    if (this.status >= 400 && answer.error === null) answer.setError(httpErrorText(this.status, this.text));
    return answer.build();
  }

  value(value: unknown): void {
    this.valueCount++;
    this.lastValue = value;
    if (this.values !== null) this.values.push(value);
    const error = topLevelError(value);
    if (error !== undefined) this.answer.setError(error);
  }

  problem(detail: string): void {
    this.answer.setError(detail);
  }

  notJson(text: string): void {
    this.text = text;
  }
}
