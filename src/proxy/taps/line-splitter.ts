/**
 * Turns a UTF-8 byte stream cut at arbitrary places into whole text lines. Shared by the
 * NDJSON and SSE readers. Each byte is decoded once (StringDecoder keeps a multi-byte
 * character split across chunks) and each character is searched once: a line that spans
 * many chunks is kept as pieces and joined only when its end arrives, so a long line
 * costs linear, not quadratic, time.
 */
import { StringDecoder } from 'node:string_decoder';

const LF = 0x0a;
const BOM = 0xfeff;

export interface LineSplitterOptions {
  /** Also end a line at a lone CR, as SSE allows. NDJSON ends lines at LF only (a CR before it is dropped). */
  crEndsLine: boolean;
  /** Longest line kept, in UTF-16 code units; a longer one is dropped and reported. */
  maxLine: number;
  /** `terminated` is false for a last line the body ended without a line break. */
  onLine(line: string, terminated: boolean): void;
  onOverflow(): void;
}

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private parts: string[] = [];
  private pendingLength = 0;
  /** The current line outgrew maxLine: its remaining text is skipped up to its end. */
  private dropping = false;
  /** The last text ended with CR, so an LF opening the next text belongs to that line end. */
  private afterCR = false;
  private started = false;

  constructor(private readonly options: LineSplitterOptions) {}

  push(chunk: Uint8Array): void {
    this.feed(this.decoder.write(chunk));
  }

  /** The body ended: emit what remains as a last, unterminated line. */
  end(): void {
    this.feed(this.decoder.end());
    if (this.dropping) {
      this.dropping = false;
      return;
    }
    if (this.pendingLength > 0) {
      const line = this.parts.join('');
      this.parts = [];
      this.pendingLength = 0;
      this.options.onLine(line, false);
    }
  }

  private feed(text: string): void {
    const length = text.length;
    if (length === 0) return;
    let start = 0;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === BOM) start = 1;
    }
    if (this.afterCR) {
      this.afterCR = false;
      if (text.charCodeAt(start) === LF) start++;
    }
    const crEndsLine = this.options.crEndsLine;
    // One indexOf per kind of break, redone only once passed, so no character is scanned twice.
    let nextLF = text.indexOf('\n', start);
    let nextCR = crEndsLine ? text.indexOf('\r', start) : -1;
    while (nextLF !== -1 || nextCR !== -1) {
      let end: number;
      let next: number;
      if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
        end = nextCR;
        if (nextCR + 1 < length) {
          next = text.charCodeAt(nextCR + 1) === LF ? nextCR + 2 : nextCR + 1;
        } else {
          next = length;
          this.afterCR = true;
        }
      } else {
        end = nextLF;
        next = nextLF + 1;
      }
      this.endLine(text, start, end);
      start = next;
      if (nextLF !== -1 && nextLF < start) nextLF = text.indexOf('\n', start);
      if (nextCR !== -1 && nextCR < start) nextCR = text.indexOf('\r', start);
    }
    if (start < length) this.keep(text, start);
  }

  private endLine(text: string, from: number, end: number): void {
    if (this.dropping) {
      this.dropping = false;
      return;
    }
    let line = text.slice(from, end);
    if (this.pendingLength > 0) {
      this.parts.push(line);
      line = this.parts.join('');
      this.parts = [];
      this.pendingLength = 0;
    }
    if (!this.options.crEndsLine && line.charCodeAt(line.length - 1) === 0x0d) line = line.slice(0, -1);
    if (line.length > this.options.maxLine) {
      this.options.onOverflow();
      return;
    }
    this.options.onLine(line, true);
  }

  private keep(text: string, from: number): void {
    if (this.dropping) return;
    const piece = from === 0 ? text : text.slice(from);
    if (this.pendingLength + piece.length > this.options.maxLine) {
      this.parts = [];
      this.pendingLength = 0;
      this.dropping = true;
      this.options.onOverflow();
      return;
    }
    this.parts.push(piece);
    this.pendingLength += piece.length;
  }
}
