/**
 * Keeps what a streaming client has received ending on a frame boundary: a whole NDJSON
 * line, or a whole SSE event. A chunk from Ollama that ends inside a frame is passed on
 * up to its last boundary and the rest is held until the frame completes. If Ollama's
 * answer then breaks off, the client has only whole frames, and the companion's error
 * line or event is one more frame it can parse — never glued to half a line.
 *
 * Ollama writes each line or event in one piece, so nearly every chunk ends on a
 * boundary and leaves as it came; only a frame split across TCP reads waits for its end.
 * A frame longer than `maxHeld` is let through unfinished (holding it would buffer the
 * stream); `closing()` then says how to end it before an error frame.
 */
import type { Framing } from './taps/framing.js';

/** The most bytes held back waiting for a frame's end. */
export const MAX_HELD_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

export class WholeFrames {
  private held: Buffer | undefined;
  /** Whether the bytes sent so far end on a frame boundary (true before the first byte). */
  private onBoundary = true;

  constructor(
    readonly framing: Exclude<Framing, 'json'>,
    private readonly maxHeld: number = MAX_HELD_BYTES,
  ) {}

  /** The part of the stream, up to and including `chunk`, that may leave now; undefined for none. */
  take(chunk: Buffer): Buffer | undefined {
    if (this.held === undefined && this.endsFrame(chunk, chunk.length)) {
      this.onBoundary = true;
      return chunk;
    }
    // A boundary can only end inside the new chunk (its terminator may start up to 3 bytes before).
    const from = this.held === undefined ? 0 : Math.max(0, this.held.length - 3);
    const data = this.held === undefined ? chunk : Buffer.concat([this.held, chunk]);
    const cut = this.lastBoundary(data, from);
    if (cut === data.length) {
      this.held = undefined;
      this.onBoundary = true;
      return data;
    }
    if (data.length - cut > this.maxHeld) {
      // A frame this long is not held: the client gets it as it comes.
      this.held = undefined;
      this.onBoundary = false;
      return data;
    }
    // A copy: the chunk may be a view of a larger socket buffer that should not stay alive.
    this.held = Buffer.from(data.subarray(cut));
    if (cut === 0) return undefined;
    this.onBoundary = true;
    return data.subarray(0, cut);
  }

  /** Bytes still held when the stream ends normally: an unterminated last frame, sent as it is. */
  rest(): Buffer | undefined {
    const rest = this.held;
    this.held = undefined;
    if (rest !== undefined) this.onBoundary = false;
    return rest;
  }

  /**
   * What to send before an error frame after a cut, so that the error starts a frame of
   * its own. The held partial frame is dropped: no client could have parsed it.
   */
  closing(): string {
    this.held = undefined;
    if (this.onBoundary) return '';
    return this.framing === 'ndjson' ? '\n' : '\n\n';
  }

  /** Whether `data[0, end)` ends a frame: a line break (NDJSON) or a blank line (SSE). */
  private endsFrame(data: Buffer, end: number): boolean {
    if (end === 0 || data[end - 1] !== LF) return false;
    if (this.framing === 'ndjson') return true;
    // SSE: "\n\n", "\r\n\r\n" or "\r\n\n" end an event.
    const before = data[end - 2];
    if (before === LF) return true;
    return before === CR && data[end - 3] === LF;
  }

  /** The end of the last whole frame in `data` whose line break is at or after `from` (0 when none). */
  private lastBoundary(data: Buffer, from: number): number {
    let at = data.lastIndexOf(LF);
    while (at >= from) {
      if (this.endsFrame(data, at + 1)) return at + 1;
      if (at === 0) break;
      at = data.lastIndexOf(LF, at - 1);
    }
    return 0;
  }
}
