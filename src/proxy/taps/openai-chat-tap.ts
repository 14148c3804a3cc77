/**
 * Reassembly rules for OpenAI-compatible chat completions, /v1/chat/completions: SSE
 * chunks with `choices[0].delta`, or one object with `choices[0].message`.
 *
 * Reasoning arrives as `reasoning` (Ollama) or `reasoning_content` (vLLM, DeepSeek).
 * Tool calls arrive in pieces keyed by `index`: the first piece names the call, later
 * ones append to its `arguments` string, which is parsed only once the body ended.
 */
import type { AnswerBuilder, FormatHandler, ToolCall } from './answer.js';
import { asArray, asNumber, asObject, asString, type JsonObject, parseArguments } from './json-read.js';

interface PendingCall {
  id: string | undefined;
  name: string;
  /** Concatenated argument text, as OpenAI streams it. */
  text: string;
  /** Arguments that arrived already parsed (some servers send an object). */
  parsed: unknown;
}

export class OpenAiChatHandler implements FormatHandler {
  private readonly byIndex = new Map<number, PendingCall>();
  private readonly calls: PendingCall[] = [];

  constructor(private readonly answer: AnswerBuilder) {}

  value(value: unknown): void {
    const chunk = asObject(value);
    if (chunk === undefined) return;
    const choice = asObject(asArray(chunk.choices)?.[0]);
    if (choice !== undefined) {
      const delta = asObject(choice.delta);
      if (delta !== undefined) this.delta(delta);
      else {
        const message = asObject(choice.message);
        if (message !== undefined) this.message(message);
      }
      const finish = asString(choice.finish_reason);
      if (finish !== undefined && finish.length > 0) this.answer.doneReason = finish;
    }
    // With stream_options.include_usage the usage comes in a last chunk with no choices.
    readOpenAiUsage(this.answer, chunk.usage);
  }

  finish(): void {
    for (const call of this.calls) {
      const toolCall: ToolCall = {
        name: call.name,
        arguments:
          call.parsed !== undefined && call.text.length === 0 ? call.parsed : parseArguments(call.text),
      };
      if (call.id !== undefined) toolCall.id = call.id;
      this.answer.toolCalls.push(toolCall);
    }
  }

  private delta(delta: JsonObject): void {
    const content = asString(delta.content);
    if (content !== undefined) this.answer.addContent(content);
    const reasoning = reasoningOf(delta);
    if (reasoning !== undefined) this.answer.addThinking(reasoning);
    const toolCalls = asArray(delta.tool_calls);
    if (toolCalls === undefined) return;
    for (let i = 0; i < toolCalls.length; i++) {
      const piece = asObject(toolCalls[i]);
      if (piece === undefined) continue;
      const index = asNumber(piece.index) ?? i;
      const id = nonEmpty(asString(piece.id));
      let call = this.byIndex.get(index);
      // A new id at a known index is a new call: some servers (Ollama among them) send
      // each complete call in its own chunk and do not always advance the index.
      if (call === undefined || (id !== undefined && call.id !== undefined && call.id !== id)) {
        call = { id, name: '', text: '', parsed: undefined };
        this.byIndex.set(index, call);
        this.calls.push(call);
      }
      this.addPiece(call, piece, id);
    }
  }

  private message(message: JsonObject): void {
    const content = asString(message.content);
    if (content !== undefined) this.answer.addContent(content);
    const reasoning = reasoningOf(message);
    if (reasoning !== undefined) this.answer.addThinking(reasoning);
    const toolCalls = asArray(message.tool_calls);
    if (toolCalls === undefined) return;
    for (const raw of toolCalls) {
      const piece = asObject(raw);
      if (piece === undefined) continue;
      const call: PendingCall = { id: undefined, name: '', text: '', parsed: undefined };
      this.calls.push(call);
      this.addPiece(call, piece, nonEmpty(asString(piece.id)));
    }
  }

  private addPiece(call: PendingCall, piece: JsonObject, id: string | undefined): void {
    if (id !== undefined && call.id === undefined) call.id = id;
    const fn = asObject(piece.function);
    if (fn === undefined) return;
    // The name is sent whole (once, or repeated), never in fragments: set it, do not append.
    const name = asString(fn.name);
    if (name !== undefined && name.length > 0) call.name = name;
    const args = fn.arguments;
    if (typeof args === 'string') call.text += args;
    else if (args !== undefined && args !== null) call.parsed = args;
  }
}

/** `usage.prompt_tokens` and `usage.completion_tokens`, shared by chat and completions. */
export function readOpenAiUsage(answer: AnswerBuilder, raw: unknown): void {
  const usage = asObject(raw);
  if (usage === undefined) return;
  const prompt = asNumber(usage.prompt_tokens);
  const completion = asNumber(usage.completion_tokens);
  // Ollama puts an all-zero usage on every completions chunk when usage was asked for;
  // only the last one counts, and zeros must not overwrite it if the stream is cut.
  if (prompt === 0 && completion === 0) return;
  answer.promptTokens = prompt ?? answer.promptTokens;
  answer.completionTokens = completion ?? answer.completionTokens;
}

/** Servers that send both fields send the same text in each; take one, never both. */
function reasoningOf(part: JsonObject): string | undefined {
  return asString(part.reasoning) ?? asString(part.reasoning_content);
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.length === 0 ? undefined : text;
}
