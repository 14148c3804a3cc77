/**
 * The tap for embeddings (/api/embed, /api/embeddings, /v1/embeddings). History records
 * how many vectors of what width came back, and the counters, never the vectors: the
 * body goes through EmbedScanner, which keeps no numbers, whatever the body's size.
 */
import { AnswerBuilder, type AnswerTap, type AssembledAnswer, httpErrorText } from './answer.js';
import { EmbedScanner } from './embed-scanner.js';
import { asNumber, asObject, topLevelError, tryParseJson } from './json-read.js';

export class EmbedTap implements AnswerTap {
  private readonly scanner = new EmbedScanner();

  constructor(private readonly status: number) {}

  push(chunk: Uint8Array): void {
    this.scanner.push(chunk);
  }

  finish(): AssembledAnswer {
    const answer = new AnswerBuilder();
    const scanner = this.scanner;
    const skeleton = scanner.skeletonText();
    const parsed = skeleton === null ? undefined : tryParseJson(skeleton);
    const body = parsed?.ok === true ? asObject(parsed.value) : undefined;
    if (body !== undefined) {
      const error = topLevelError(body);
      if (error !== undefined) answer.setError(error);
      // Ollama's counters, or OpenAI's usage block.
      answer.promptTokens =
        asNumber(body.prompt_eval_count) ?? asNumber(asObject(body.usage)?.prompt_tokens) ?? null;
      answer.totalNs = asNumber(body.total_duration) ?? null;
      answer.loadNs = asNumber(body.load_duration) ?? null;
      answer.promptEvalNs = asNumber(body.prompt_eval_duration) ?? null;
    } else if (this.status < 400 && scanner.bytes > 0 && skeleton !== null) {
      answer.setError('embeddings response is not JSON');
    }
    if (this.status >= 400 && answer.error === null) {
      answer.setError(httpErrorText(this.status, body === undefined ? skeleton : null));
    }
    answer.summary = { count: scanner.count, dimensions: scanner.dimensions };
    return answer.build();
  }
}
