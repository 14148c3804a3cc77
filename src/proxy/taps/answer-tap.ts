/**
 * The public face of the taps: given a response's format, content type and status,
 * createAnswerTap returns a tap that sees every body chunk the proxy forwards and, at the
 * end, the answer reassembled from them for the history record.
 *
 * The content type decides the framing (NDJSON, SSE, one JSON document); the format
 * decides what the values mean. A tap never throws: anything it cannot read becomes the
 * answer's `error`, and a fault in the tap itself ends its reading, not the request.
 */
import {
  AnswerBuilder,
  type AnswerTap,
  type AssembledAnswer,
  type FormatHandler,
  httpErrorText,
} from './answer.js';
import { AnthropicHandler } from './anthropic-tap.js';
import { EmbedTap } from './embed-tap.js';
import { type ByteReader, createReader, type Framing, framingOf, type ValueSink } from './framing.js';
import { JsonCopyTap } from './json-copy-tap.js';
import { topLevelError } from './json-read.js';
import { OllamaHandler } from './ollama-tap.js';
import { OpenAiChatHandler } from './openai-chat-tap.js';
import { OpenAiCompletionHandler } from './openai-completion-tap.js';
import { OpenAiResponsesHandler } from './openai-responses-tap.js';

export type { AnswerTap, AssembledAnswer, ToolCall } from './answer.js';

/** Which reassembly rules apply to a response. */
export type AnswerFormat =
  | 'ollama' // /api/generate, /api/chat (NDJSON stream or one JSON object)
  | 'ollama-embed' // /api/embed, /api/embeddings (JSON; record a summary, not the vectors)
  | 'openai-chat' // /v1/chat/completions (SSE 'data:' lines ending with [DONE], or one JSON object)
  | 'openai-completion' // /v1/completions
  | 'openai-embed' // /v1/embeddings
  | 'openai-responses' // /v1/responses (SSE events or one JSON object)
  | 'anthropic' // /v1/messages (SSE events or one JSON object)
  | 'json'; // anything else (e.g. /api/show, /api/tags, /api/pull progress): keep a bounded copy of the body

/** `contentType` is the upstream response's content-type header; `status` its status code. */
export function createAnswerTap(
  format: AnswerFormat,
  contentType: string | undefined,
  status: number,
): AnswerTap {
  try {
    const framing = framingOf(contentType);
    switch (format) {
      case 'ollama-embed':
      case 'openai-embed':
        // Embeddings are always one JSON document; the scanner does not need the framing.
        return new GuardedTap(new EmbedTap(status));
      case 'json':
        return new GuardedTap(new JsonCopyTap(framing, status));
      default:
        return new GuardedTap(new AnswerReaderTap(framing, format, status));
    }
  } catch (err) {
    return new GuardedTap(new FailedTap(err));
  }
}

/** Reads an answer: a framing reader feeding a format's handler. */
class AnswerReaderTap implements AnswerTap, ValueSink {
  private readonly answer = new AnswerBuilder();
  private readonly handler: FormatHandler;
  private readonly reader: ByteReader;
  /** A body that was text but not JSON, kept for the error of a 4xx/5xx. */
  private text: string | null = null;

  constructor(
    framing: Framing,
    format: Exclude<AnswerFormat, 'ollama-embed' | 'openai-embed' | 'json'>,
    private readonly status: number,
  ) {
    this.handler = handlerFor(format, this.answer);
    this.reader = createReader(framing, this);
  }

  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  finish(): AssembledAnswer {
    const answer = this.answer;
    // Each step guarded on its own, so a fault in one still returns what the others assembled.
    try {
      this.reader.end();
    } catch (err) {
      answer.setError(`answer tap failed: ${describe(err)}`);
    }
    try {
      this.handler.finish();
    } catch (err) {
      answer.setError(`answer tap failed: ${describe(err)}`);
    }
    if (this.status >= 400 && answer.error === null) answer.setError(httpErrorText(this.status, this.text));
    return answer.build();
  }

  value(value: unknown, event: string | null): void {
    // Every format reports failures as a top-level `error` (Ollama's string, OpenAI's and
    // Anthropic's objects), in a body or as one line / event of a stream.
    const error = topLevelError(value);
    if (error !== undefined) this.answer.setError(error);
    try {
      this.handler.value(value, event);
    } catch (err) {
      // One value of an unexpected shape loses that value, not the rest of the answer.
      this.answer.setError(`answer tap failed: ${describe(err)}`);
    }
  }

  problem(detail: string): void {
    this.answer.setError(detail);
  }

  notJson(text: string): void {
    this.text = text;
    if (this.status >= 400) return;
    const first = text.trimStart().charCodeAt(0);
    // A body that opens like JSON but does not parse was most likely cut off in transit.
    this.answer.setError(
      first === 0x7b || first === 0x5b
        ? 'response body is malformed or cut-off JSON'
        : 'response body is not JSON',
    );
  }
}

function handlerFor(
  format: Exclude<AnswerFormat, 'ollama-embed' | 'openai-embed' | 'json'>,
  answer: AnswerBuilder,
): FormatHandler {
  switch (format) {
    case 'ollama':
      return new OllamaHandler(answer);
    case 'openai-chat':
      return new OpenAiChatHandler(answer);
    case 'openai-completion':
      return new OpenAiCompletionHandler(answer);
    case 'openai-responses':
      return new OpenAiResponsesHandler(answer);
    case 'anthropic':
      return new AnthropicHandler(answer);
  }
}

/**
 * Keeps the promise that a tap never throws. After a fault the tap stops reading (its
 * state can no longer be trusted to grow correctly) but still returns what it had.
 */
class GuardedTap implements AnswerTap {
  private fault: string | null = null;
  private result: AssembledAnswer | null = null;

  constructor(private readonly inner: AnswerTap) {}

  push(chunk: Uint8Array): void {
    if (this.fault !== null || this.result !== null) return;
    try {
      this.inner.push(chunk);
    } catch (err) {
      this.fault = describe(err);
    }
  }

  finish(): AssembledAnswer {
    if (this.result !== null) return this.result;
    let answer: AssembledAnswer;
    try {
      answer = this.inner.finish();
    } catch (err) {
      this.fault ??= describe(err);
      answer = new AnswerBuilder().build();
    }
    if (this.fault !== null && answer.error === null) answer.error = `answer tap failed: ${this.fault}`;
    this.result = answer;
    return answer;
  }
}

/** Stands in when a tap could not even be built, so the proxy still gets an answer. */
class FailedTap implements AnswerTap {
  constructor(private readonly cause: unknown) {}

  push(): void {}

  finish(): AssembledAnswer {
    const answer = new AnswerBuilder();
    answer.setError(`answer tap failed: ${describe(this.cause)}`);
    return answer.build();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
