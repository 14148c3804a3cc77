/**
 * Reassembly rules for the OpenAI-compatible Responses API, /v1/responses: typed SSE
 * events, or one `response` object with `output[]` items.
 *
 * Streamed text comes from `response.output_text.delta`, reasoning from
 * `response.reasoning_summary_text.delta` and `response.reasoning_text.delta`, function
 * calls from `response.output_item.added` / `.done` plus `response.function_call_arguments.*`.
 * The closing `response.completed` (or `.incomplete` / `.failed`) carries status, usage
 * and the full output; that output fills in whatever the deltas did not deliver.
 */
import type { AnswerBuilder, FormatHandler, ToolCall } from './answer.js';
import {
  asArray,
  asNumber,
  asObject,
  asString,
  errorText,
  type JsonObject,
  parseArguments,
} from './json-read.js';

interface PendingCall {
  itemId: string | undefined;
  callId: string | undefined;
  name: string;
  arguments: string;
}

export class OpenAiResponsesHandler implements FormatHandler {
  private readonly calls: PendingCall[] = [];
  private readonly callsByItem = new Map<string, PendingCall>();
  private sawText = false;
  private sawReasoning = false;
  /** `output[]` of the final response object, used for what the deltas did not carry. */
  private finalOutput: readonly unknown[] | undefined;

  constructor(private readonly answer: AnswerBuilder) {}

  value(value: unknown, event: string | null): void {
    const ev = asObject(value);
    if (ev === undefined) return;
    const type = asString(ev.type) ?? event;
    switch (type) {
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        // A refusal is the model's answer too; history shows it as the content.
        this.sawText = true;
        this.answer.addContent(asString(ev.delta) ?? '');
        return;
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        this.sawReasoning = true;
        this.answer.addThinking(asString(ev.delta) ?? '');
        return;
      case 'response.output_item.added':
      case 'response.output_item.done':
        this.item(asObject(ev.item), type === 'response.output_item.done');
        return;
      case 'response.function_call_arguments.delta':
      case 'response.custom_tool_call_input.delta': {
        const call = this.callsByItem.get(asString(ev.item_id) ?? '');
        if (call !== undefined) call.arguments += asString(ev.delta) ?? '';
        return;
      }
      case 'response.function_call_arguments.done':
      case 'response.custom_tool_call_input.done': {
        const call = this.callsByItem.get(asString(ev.item_id) ?? '');
        const whole = asString(ev.arguments) ?? asString(ev.input);
        if (call !== undefined && whole !== undefined) call.arguments = whole;
        return;
      }
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        this.response(asObject(ev.response));
        return;
      case 'error':
        // The Responses stream's own error event: `{type, code, message}`, not `{error}`.
        this.answer.setError(asString(ev.message) ?? asString(ev.code) ?? 'error event in stream');
        return;
      default:
        // The whole answer at once (stream: false).
        if (ev.object === 'response') this.response(ev);
    }
  }

  finish(): void {
    const output = this.finalOutput;
    if (output !== undefined) {
      const useText = !this.sawText;
      const useReasoning = !this.sawReasoning;
      const useCalls = this.calls.length === 0;
      for (const raw of output) {
        const item = asObject(raw);
        if (item === undefined) continue;
        if (item.type === 'message' && useText) this.messageText(item);
        else if (item.type === 'reasoning' && useReasoning) this.reasoningText(item);
        else if (useCalls) this.item(item, true);
      }
    }
    for (const call of this.calls) {
      const toolCall: ToolCall = { name: call.name, arguments: parseArguments(call.arguments) };
      const id = call.callId ?? call.itemId;
      if (id !== undefined) toolCall.id = id;
      this.answer.toolCalls.push(toolCall);
    }
  }

  private response(response: JsonObject | undefined): void {
    if (response === undefined) return;
    const status = asString(response.status);
    if (status !== undefined && status.length > 0) this.answer.doneReason = status;
    const usage = asObject(response.usage);
    if (usage !== undefined) {
      this.answer.promptTokens = asNumber(usage.input_tokens) ?? this.answer.promptTokens;
      this.answer.completionTokens = asNumber(usage.output_tokens) ?? this.answer.completionTokens;
    }
    if (response.error !== undefined && response.error !== null) {
      this.answer.setError(errorText(response.error) ?? 'response failed');
    }
    const output = asArray(response.output);
    if (output !== undefined) this.finalOutput = output;
  }

  /** A function (or custom tool) call item; `done` items are authoritative over deltas. */
  private item(item: JsonObject | undefined, done: boolean): void {
    if (item === undefined) return;
    if (item.type !== 'function_call' && item.type !== 'custom_tool_call') return;
    const itemId = nonEmpty(asString(item.id));
    let call = itemId === undefined ? undefined : this.callsByItem.get(itemId);
    if (call === undefined) {
      call = { itemId, callId: undefined, name: '', arguments: '' };
      this.calls.push(call);
      if (itemId !== undefined) this.callsByItem.set(itemId, call);
    }
    call.callId = nonEmpty(asString(item.call_id)) ?? call.callId;
    const name = asString(item.name);
    if (name !== undefined && name.length > 0) call.name = name;
    const args = asString(item.arguments) ?? asString(item.input);
    if (args !== undefined && (done || call.arguments.length === 0)) call.arguments = args;
  }

  private messageText(item: JsonObject): void {
    const parts = asArray(item.content);
    if (parts === undefined) return;
    for (const raw of parts) {
      const part = asObject(raw);
      if (part === undefined) continue;
      if (part.type === 'output_text') this.answer.addContent(asString(part.text) ?? '');
      else if (part.type === 'refusal') this.answer.addContent(asString(part.refusal) ?? '');
    }
  }

  /** Raw reasoning (`content[]`) when the server gives it, else the summaries. */
  private reasoningText(item: JsonObject): void {
    const texts: string[] = [];
    for (const raw of asArray(item.content) ?? []) {
      const text = asString(asObject(raw)?.text);
      if (text !== undefined && text.length > 0) texts.push(text);
    }
    if (texts.length === 0) {
      for (const raw of asArray(item.summary) ?? []) {
        const text = asString(asObject(raw)?.text);
        if (text !== undefined && text.length > 0) texts.push(text);
      }
    }
    this.answer.addThinking(texts.join('\n\n'));
  }
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.length === 0 ? undefined : text;
}
