/**
 * How a response body is cut into JSON values, decided from its content type: NDJSON
 * lines, SSE events, or one JSON document. The readers here know nothing of what the
 * values mean; they hand each complete value to a ValueSink.
 */
import { JsonBodyReader } from './json-body-reader.js';
import { NdjsonReader } from './ndjson-reader.js';
import { SseReader } from './sse-reader.js';

export type Framing = 'ndjson' | 'sse' | 'json';

/** The most one JSON body (bytes), NDJSON line or SSE event (characters) may take before it is dropped. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface ValueSink {
  /** One complete JSON value: an NDJSON line, an SSE event's data, or the whole body. `event` is the SSE event name. */
  value(value: unknown, event: string | null): void;
  /** Part of the body could not be read (malformed JSON, an over-long line); `detail` says what. */
  problem(detail: string): void;
  /** The whole body was text but not JSON (a plain-text error page, "Ollama is running"). */
  notJson(text: string): void;
}

export interface ByteReader {
  push(chunk: Uint8Array): void;
  /** The body ended (or was cut off): flush what is pending. */
  end(): void;
}

/** The framing a content type announces; anything unknown is read as one JSON document. */
export function framingOf(contentType: string | undefined): Framing {
  if (contentType === undefined) return 'json';
  const semicolon = contentType.indexOf(';');
  const mime = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  switch (mime) {
    case 'text/event-stream':
      return 'sse';
    case 'application/x-ndjson':
    case 'application/ndjson':
    case 'application/jsonl':
    case 'application/x-jsonlines':
      return 'ndjson';
    default:
      return 'json';
  }
}

export function createReader(
  framing: Framing,
  sink: ValueSink,
  maxBytes: number = MAX_BODY_BYTES,
): ByteReader {
  switch (framing) {
    case 'ndjson':
      return new NdjsonReader(sink, maxBytes);
    case 'sse':
      return new SseReader(sink, maxBytes);
    case 'json':
      return new JsonBodyReader(sink, maxBytes);
  }
}
