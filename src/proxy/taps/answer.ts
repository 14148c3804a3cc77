/**
 * The answer a tap reassembles, and the builder every format writes into. Kept apart
 * from the format modules so that each of them only needs this file, and so that caps
 * (how much text one answer may hold) are enforced in one place.
 */

export interface ToolCall {
  name: string;
  arguments: unknown;
  id?: string;
}

export interface AssembledAnswer {
  /** The answer text, concatenated. */
  content: string;
  /** Reasoning text (Ollama `thinking`, OpenAI `reasoning`, Anthropic thinking blocks, ...). */
  thinking: string;
  toolCalls: ToolCall[];
  /** done_reason / finish_reason / stop_reason / status. */
  doneReason: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  /** Ollama's durations in nanoseconds, when the body carried them. */
  timings: {
    totalNs: number | null;
    loadNs: number | null;
    promptEvalNs: number | null;
    evalNs: number | null;
  };
  /** An error reported inside the body or stream, or what made the body unreadable. */
  error: string | null;
  /** Embeddings: `{count, dimensions}`; 'json': the body if small, else `{truncated, bytes}`; else null. */
  summary: unknown;
}

export interface AnswerTap {
  /**
   * Called with every chunk of the upstream body, in order, cut anywhere (inside a JSON
   * line, an SSE event or a UTF-8 character). Never throws. Chunks are read during the
   * call and not kept, so the caller may reuse them.
   */
  push(chunk: Uint8Array): void;
  /** Called once when the body ended (or was cut off). Returns what was assembled so far. */
  finish(): AssembledAnswer;
}

/**
 * One format's reassembly rules. A framing reader hands it complete JSON values (an
 * NDJSON line, one SSE event's data, or the whole body) in order.
 */
export interface FormatHandler {
  /** `event` is the SSE event name when the framing has one, else null. */
  value(value: unknown, event: string | null): void;
  /** The body ended: settle anything kept pending (tool-call arguments, fallbacks). */
  finish(): void;
}

/**
 * The most text one answer keeps, per field. A model that never stops (num_predict -1 on
 * a looping model) must not grow the proxy's memory without bound; history gets the
 * first 8 MiB and an error saying it was cut.
 */
export const MAX_ANSWER_TEXT = 8 * 1024 * 1024;

export class AnswerBuilder {
  private contentText = '';
  private thinkingText = '';
  private textCut = false;
  readonly toolCalls: ToolCall[] = [];
  doneReason: string | null = null;
  promptTokens: number | null = null;
  completionTokens: number | null = null;
  totalNs: number | null = null;
  loadNs: number | null = null;
  promptEvalNs: number | null = null;
  evalNs: number | null = null;
  summary: unknown = null;
  private firstError: string | null = null;

  get content(): string {
    return this.contentText;
  }

  get thinking(): string {
    return this.thinkingText;
  }

  get error(): string | null {
    return this.firstError;
  }

  addContent(text: string): void {
    if (text.length === 0) return;
    // String `+=` builds a rope in V8: appending many small deltas costs O(1) each and the
    // text is flattened once, when it is read.
    if (this.contentText.length + text.length <= MAX_ANSWER_TEXT) this.contentText += text;
    else this.contentText = this.cut(this.contentText, text);
  }

  addThinking(text: string): void {
    if (text.length === 0) return;
    if (this.thinkingText.length + text.length <= MAX_ANSWER_TEXT) this.thinkingText += text;
    else this.thinkingText = this.cut(this.thinkingText, text);
  }

  /** The first error wins: later ones are usually consequences of it. */
  setError(message: string): void {
    if (this.firstError === null) this.firstError = message;
  }

  build(): AssembledAnswer {
    if (this.textCut) this.setError(`answer cut at ${MAX_ANSWER_TEXT} characters`);
    return {
      content: this.contentText,
      thinking: this.thinkingText,
      toolCalls: this.toolCalls,
      doneReason: this.doneReason,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      timings: {
        totalNs: this.totalNs,
        loadNs: this.loadNs,
        promptEvalNs: this.promptEvalNs,
        evalNs: this.evalNs,
      },
      error: this.firstError,
      summary: this.summary,
    };
  }

  private cut(kept: string, more: string): string {
    this.textCut = true;
    const room = MAX_ANSWER_TEXT - kept.length;
    return room > 0 ? kept + more.slice(0, room) : kept;
  }
}

/** The error for a 4xx/5xx whose body named none: the status, and the start of any text body. */
export function httpErrorText(status: number, body: string | null): string {
  const text = body?.trim() ?? '';
  if (text.length === 0) return `HTTP ${status}`;
  return `HTTP ${status}: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
}
