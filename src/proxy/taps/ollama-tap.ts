/**
 * Reassembly rules for Ollama's native answers, /api/chat and /api/generate, streamed
 * (one JSON object per NDJSON line) or not (one object). Both shapes are read the same
 * way: a non-streamed answer is a single chunk that carries everything.
 *
 * Chat chunks carry `message.content`, `message.thinking` and `message.tool_calls`
 * (complete calls, with `arguments` already an object); generate chunks carry `response`
 * and `thinking`. The last chunk has `done: true`, `done_reason` and the counters.
 */
import type { AnswerBuilder, FormatHandler, ToolCall } from './answer.js';
import { asArray, asNumber, asObject, asString } from './json-read.js';

export class OllamaHandler implements FormatHandler {
  constructor(private readonly answer: AnswerBuilder) {}

  value(value: unknown): void {
    const chunk = asObject(value);
    if (chunk === undefined) return;
    const answer = this.answer;

    const message = asObject(chunk.message);
    if (message !== undefined) {
      const content = asString(message.content);
      if (content !== undefined) answer.addContent(content);
      const thinking = asString(message.thinking);
      if (thinking !== undefined) answer.addThinking(thinking);
      const calls = asArray(message.tool_calls);
      if (calls !== undefined) for (const call of calls) this.toolCall(call);
    } else {
      const response = asString(chunk.response);
      if (response !== undefined) answer.addContent(response);
      const thinking = asString(chunk.thinking);
      if (thinking !== undefined) answer.addThinking(thinking);
    }

    // Counters come with the final chunk only; the guard keeps per-token chunks to the reads above.
    if (chunk.done === true || chunk.done_reason !== undefined || chunk.eval_count !== undefined) {
      const reason = asString(chunk.done_reason);
      if (reason !== undefined && reason.length > 0) answer.doneReason = reason;
      answer.promptTokens = asNumber(chunk.prompt_eval_count) ?? answer.promptTokens;
      answer.completionTokens = asNumber(chunk.eval_count) ?? answer.completionTokens;
      answer.totalNs = asNumber(chunk.total_duration) ?? answer.totalNs;
      answer.loadNs = asNumber(chunk.load_duration) ?? answer.loadNs;
      answer.promptEvalNs = asNumber(chunk.prompt_eval_duration) ?? answer.promptEvalNs;
      answer.evalNs = asNumber(chunk.eval_duration) ?? answer.evalNs;
    }
  }

  finish(): void {}

  private toolCall(raw: unknown): void {
    const call = asObject(raw);
    const fn = asObject(call?.function);
    if (call === undefined || fn === undefined) return;
    const toolCall: ToolCall = { name: asString(fn.name) ?? '', arguments: fn.arguments ?? {} };
    const id = asString(call.id);
    if (id !== undefined && id.length > 0) toolCall.id = id;
    this.answer.toolCalls.push(toolCall);
  }
}
