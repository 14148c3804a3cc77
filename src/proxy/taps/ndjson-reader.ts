/**
 * Reads newline-delimited JSON (Ollama's `application/x-ndjson` streams): each complete
 * line is parsed once, when its line break arrives, and handed on as one value.
 */
import type { ByteReader, ValueSink } from './framing.js';
import { LineSplitter } from './line-splitter.js';

export class NdjsonReader implements ByteReader {
  private readonly lines: LineSplitter;

  constructor(
    private readonly sink: ValueSink,
    maxLine: number,
  ) {
    this.lines = new LineSplitter({
      crEndsLine: false,
      maxLine,
      onLine: (line, terminated) => this.line(line, terminated),
      onOverflow: () => sink.problem(`stream line longer than ${maxLine} characters dropped`),
    });
  }

  push(chunk: Uint8Array): void {
    this.lines.push(chunk);
  }

  end(): void {
    this.lines.end();
  }

  private line(line: string, terminated: boolean): void {
    if (isBlank(line)) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // An unterminated last line that does not parse is a stream cut off mid-value.
      this.sink.problem(terminated ? 'malformed JSON line in stream' : 'stream ended inside a JSON line');
      return;
    }
    this.sink.value(value, null);
  }
}

/** Blank or whitespace only; checked without trimming the (usually non-blank) line. */
export function isBlank(line: string): boolean {
  if (line.length === 0) return true;
  const first = line.charCodeAt(0);
  if (first !== 0x20 && first !== 0x09 && first !== 0x0d) return false;
  return line.trim().length === 0;
}
