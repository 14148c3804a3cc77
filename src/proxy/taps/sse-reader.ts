/**
 * Reads Server-Sent Events (the OpenAI- and Anthropic-compatible streams): `event:` and
 * `data:` fields, multi-line data joined by LF, comments, and all three line endings, as
 * the SSE specification describes. Each event's data is parsed as JSON once the blank
 * line closing it arrives; OpenAI's `data: [DONE]` terminator is skipped.
 */
import type { ByteReader, ValueSink } from './framing.js';
import { LineSplitter } from './line-splitter.js';
import { isBlank } from './ndjson-reader.js';

const COLON = 0x3a;
const SPACE = 0x20;
const OPEN_BRACE = 0x7b;

export class SseReader implements ByteReader {
  private readonly lines: LineSplitter;
  private eventName: string | null = null;
  private data: string[] = [];
  private dataLength = 0;
  private dataDropped = false;

  constructor(
    private readonly sink: ValueSink,
    private readonly maxData: number,
  ) {
    this.lines = new LineSplitter({
      crEndsLine: true,
      maxLine: maxData,
      onLine: (line) => this.line(line),
      onOverflow: () => sink.problem(`stream line longer than ${maxData} characters dropped`),
    });
  }

  push(chunk: Uint8Array): void {
    this.lines.push(chunk);
  }

  /** A stream cut off before the blank line closing its last event still yields that event. */
  end(): void {
    this.lines.end();
    this.dispatch();
  }

  private line(line: string): void {
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    const first = line.charCodeAt(0);
    if (first === COLON) return; // a comment (keep-alive)
    if (first === OPEN_BRACE) {
      // Not SSE: Ollama writes a failure that happens after the stream started as a bare
      // `{"error":...}` line, even into an event stream. Treat it as an event of its own.
      this.dispatch();
      this.parse(line, null);
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field === 'data') {
      let value = '';
      if (colon !== -1) value = line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
      this.addData(value);
    } else if (field === 'event') {
      this.eventName =
        colon === -1 ? '' : line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    }
    // `id`, `retry` and unknown fields carry nothing a history record needs.
  }

  private addData(value: string): void {
    if (this.dataDropped) return;
    if (this.dataLength + value.length > this.maxData) {
      this.dataDropped = true;
      this.data = [];
      this.dataLength = 0;
      this.sink.problem(`stream event larger than ${this.maxData} characters dropped`);
      return;
    }
    this.data.push(value);
    this.dataLength += value.length + 1;
  }

  private dispatch(): void {
    const name = this.eventName;
    this.eventName = null;
    if (this.dataDropped) {
      this.dataDropped = false;
      return;
    }
    if (this.data.length === 0) return;
    const payload = this.data.length === 1 ? (this.data[0] as string) : this.data.join('\n');
    this.data = [];
    this.dataLength = 0;
    if (payload === '[DONE]' || isBlank(payload)) return;
    this.parse(payload, name === '' ? null : name);
  }

  private parse(payload: string, name: string | null): void {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      this.sink.problem('malformed JSON in stream event');
      return;
    }
    this.sink.value(value, name);
  }
}
