/**
 * Reassembly rules for the Anthropic-compatible Messages API, /v1/messages: SSE events
 * (`message_start`, `content_block_start` / `_delta` / `_stop`, `message_delta`,
 * `message_stop`) or one `message` object with `content[]` blocks.
 *
 * Text and thinking go straight into the answer. A tool_use block opens with its name
 * and an (empty) `input`, then streams its input as `input_json_delta` fragments, which
 * are joined per block and parsed once the body ended.
 */
import type { AnswerBuilder, FormatHandler, ToolCall } from './answer.js';
import { asArray, asNumber, asObject, asString, parseArguments } from './json-read.js';

interface PendingTool {
  id: string | undefined;
  name: string;
  /** The `input` object given when the block opened (complete in non-streamed answers). */
  input: unknown;
  /** Streamed `partial_json` fragments, joined. */
  json: string;
}

export class AnthropicHandler implements FormatHandler {
  private readonly toolsByIndex = new Map<number, PendingTool>();
  private readonly tools: PendingTool[] = [];

  constructor(private readonly answer: AnswerBuilder) {}

  value(value: unknown, event: string | null): void {
    const ev = asObject(value);
    if (ev === undefined) return;
    switch (asString(ev.type) ?? event) {
      case 'content_block_delta':
        this.delta(asNumber(ev.index), asObject(ev.delta));
        break;
      case 'content_block_start':
        this.block(asNumber(ev.index), ev.content_block);
        break;
      case 'message_start':
        this.usage(asObject(ev.message)?.usage);
        break;
      case 'message_delta': {
        this.stopReason(asObject(ev.delta)?.stop_reason);
        this.usage(ev.usage);
        break;
      }
      case 'message': {
        // The whole answer at once (stream: false).
        const blocks = asArray(ev.content);
        if (blocks !== undefined) for (const block of blocks) this.block(undefined, block);
        this.stopReason(ev.stop_reason);
        this.usage(ev.usage);
        break;
      }
      // ping, content_block_stop, message_stop carry nothing; `error` events are read by
      // the tap itself, like every top-level `error`.
    }
  }

  finish(): void {
    for (const tool of this.tools) {
      const call: ToolCall = {
        name: tool.name,
        arguments: tool.json.length > 0 ? parseArguments(tool.json) : (tool.input ?? {}),
      };
      if (tool.id !== undefined) call.id = tool.id;
      this.answer.toolCalls.push(call);
    }
  }

  private block(index: number | undefined, raw: unknown): void {
    const block = asObject(raw);
    if (block === undefined) return;
    switch (block.type) {
      case 'text':
        this.answer.addContent(asString(block.text) ?? '');
        break;
      case 'thinking':
        this.answer.addThinking(asString(block.thinking) ?? '');
        break;
      case 'tool_use':
      case 'server_tool_use': {
        const id = asString(block.id);
        const tool: PendingTool = {
          id: id !== undefined && id.length > 0 ? id : undefined,
          name: asString(block.name) ?? '',
          input: block.input,
          json: '',
        };
        this.tools.push(tool);
        if (index !== undefined) this.toolsByIndex.set(index, tool);
        break;
      }
      // redacted_thinking is opaque by design; web_search_tool_result is not the model's words.
    }
  }

  private delta(index: number | undefined, delta: Record<string, unknown> | undefined): void {
    if (delta === undefined) return;
    switch (delta.type) {
      case 'text_delta':
        this.answer.addContent(asString(delta.text) ?? '');
        break;
      case 'thinking_delta':
        this.answer.addThinking(asString(delta.thinking) ?? '');
        break;
      case 'input_json_delta': {
        const tool = index === undefined ? undefined : this.toolsByIndex.get(index);
        const fragment = asString(delta.partial_json);
        if (tool !== undefined && fragment !== undefined) tool.json += fragment;
        break;
      }
      // signature_delta and citations_delta are not answer text.
    }
  }

  private stopReason(raw: unknown): void {
    const reason = asString(raw);
    if (reason !== undefined && reason.length > 0) this.answer.doneReason = reason;
  }

  /** message_start reports input tokens; message_delta the final output count (and, from Ollama, input too). */
  private usage(raw: unknown): void {
    const usage = asObject(raw);
    if (usage === undefined) return;
    this.answer.promptTokens = asNumber(usage.input_tokens) ?? this.answer.promptTokens;
    this.answer.completionTokens = asNumber(usage.output_tokens) ?? this.answer.completionTokens;
  }
}
