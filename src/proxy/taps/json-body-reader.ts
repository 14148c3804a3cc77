/**
 * Reads a body that is one JSON document (a non-streaming answer, an error): buffers it,
 * up to a bound, and parses it once at the end. A body that is not one document but looks
 * like NDJSON or SSE (a stream sent without its content type) is read as such instead.
 */
import { StringDecoder } from 'node:string_decoder';
import type { ByteReader, ValueSink } from './framing.js';
import { NdjsonReader } from './ndjson-reader.js';
import { SseReader } from './sse-reader.js';

export class JsonBodyReader implements ByteReader {
  private readonly decoder = new StringDecoder('utf8');
  private parts: string[] = [];
  private bytes = 0;
  private overflow = false;

  constructor(
    private readonly sink: ValueSink,
    private readonly maxBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.overflow) return;
    if (this.bytes > this.maxBytes) {
      // Stop buffering: the proxy keeps streaming to the client, history just loses the body.
      this.overflow = true;
      this.parts = [];
      return;
    }
    this.parts.push(this.decoder.write(chunk));
  }

  end(): void {
    if (this.overflow) {
      this.sink.problem(`response body of ${this.bytes} bytes exceeds ${this.maxBytes} bytes; not recorded`);
      return;
    }
    this.parts.push(this.decoder.end());
    let text = this.parts.join('');
    this.parts = [];
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim().length === 0) return;
    try {
      this.sink.value(JSON.parse(text), null);
      return;
    } catch {
      // fall through to the stream fallbacks
    }
    const fallback = this.streamFallback(text);
    if (fallback === null) {
      this.sink.notJson(text);
      return;
    }
    fallback.push(Buffer.from(text, 'utf8'));
    fallback.end();
  }

  private streamFallback(text: string): ByteReader | null {
    const head = text.trimStart();
    if (head.startsWith('data:') || head.startsWith('event:')) return new SseReader(this.sink, this.maxBytes);
    if (head.startsWith('{') && head.includes('\n')) return new NdjsonReader(this.sink, this.maxBytes);
    return null;
  }
}
