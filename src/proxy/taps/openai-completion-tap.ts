/**
 * Reassembly rules for OpenAI-compatible legacy completions, /v1/completions: SSE chunks
 * or one object, both with the text in `choices[0].text`.
 */
import type { AnswerBuilder, FormatHandler } from './answer.js';
import { asArray, asObject, asString } from './json-read.js';
import { readOpenAiUsage } from './openai-chat-tap.js';

export class OpenAiCompletionHandler implements FormatHandler {
  constructor(private readonly answer: AnswerBuilder) {}

  value(value: unknown): void {
    const chunk = asObject(value);
    if (chunk === undefined) return;
    const choice = asObject(asArray(chunk.choices)?.[0]);
    if (choice !== undefined) {
      const text = asString(choice.text);
      if (text !== undefined) this.answer.addContent(text);
      const finish = asString(choice.finish_reason);
      if (finish !== undefined && finish.length > 0) this.answer.doneReason = finish;
    }
    readOpenAiUsage(this.answer, chunk.usage);
  }

  finish(): void {}
}
