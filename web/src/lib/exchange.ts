/**
 * Reading the prompt out of a stored request, whatever wire it came in on: Ollama's
 * chat/generate/embed, OpenAI's chat/completions/responses/embeddings, Anthropic's
 * messages. The result is a plain list of role + text, for display only.
 */
import type { HistoryItem } from './types.js';

export interface Message {
  role: string;
  text: string;
  images?: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Text of a content field: a string, or a list of parts of which the text ones count. */
function textOf(content: unknown): { text: string; images: number } {
  if (typeof content === 'string') return { text: content, images: 0 };
  if (!Array.isArray(content))
    return { text: content === undefined || content === null ? '' : JSON.stringify(content), images: 0 };
  const texts: string[] = [];
  let images = 0;
  for (const part of content) {
    if (typeof part === 'string') texts.push(part);
    else if (isRecord(part)) {
      if (typeof part.text === 'string') texts.push(part.text);
      else if (String(part.type ?? '').includes('image')) images++;
      else if (typeof part.content === 'string') texts.push(part.content);
    }
  }
  return { text: texts.join('\n'), images };
}

function message(role: string, content: unknown, extraImages = 0): Message {
  const { text, images } = textOf(content);
  const total = images + extraImages;
  return total > 0 ? { role, text, images: total } : { role, text };
}

export function messagesOf(request: unknown): Message[] {
  if (!isRecord(request)) return [];
  const out: Message[] = [];
  const system = request.system ?? request.instructions;
  if (system !== undefined && system !== null && system !== '') out.push(message('system', system));
  if (Array.isArray(request.messages)) {
    for (const m of request.messages) {
      if (!isRecord(m)) continue;
      const images = Array.isArray(m.images) ? m.images.length : 0;
      out.push(message(String(m.role ?? 'user'), m.content ?? (m.tool_calls ? m.tool_calls : ''), images));
    }
    return out;
  }
  const input = request.input ?? request.prompt;
  if (Array.isArray(input) && input.some(isRecord)) {
    for (const m of input) {
      if (isRecord(m)) out.push(message(String(m.role ?? 'user'), m.content ?? m.text ?? ''));
      else out.push(message('user', m));
    }
    return out;
  }
  if (Array.isArray(input)) {
    for (const item of input) out.push(message('user', item));
    return out;
  }
  if (input !== undefined && input !== null) {
    const images = Array.isArray(request.images) ? request.images.length : 0;
    out.push(message('user', input, images));
  }
  return out;
}

/** The last thing the user said in this exchange, for one-line lists. */
export function promptLine(item: HistoryItem): string {
  if (typeof item.prompt === 'string' && item.prompt) return item.prompt;
  if (typeof item.snippet === 'string' && item.snippet) return item.snippet;
  const messages = messagesOf(item.request);
  const user = [...messages].reverse().find((m) => m.role === 'user') ?? messages[messages.length - 1];
  return user?.text ?? '';
}

/**
 * The messages an exchange added to its thread: everything for the first one, and
 * after that what follows the previous request and its answer.
 */
export function newMessages(item: HistoryItem, previous: HistoryItem | undefined): Message[] {
  const messages = messagesOf(item.request);
  if (messages.length === 0) return itemMessages(item);
  if (!previous) return messages;
  const before = messagesOf(previous.request).length + 1;
  const start = Math.min(before, Math.max(messages.length - 1, 0));
  return messages.slice(start);
}

/** The messages of a record; a list item without its request shows its prompt's start. */
export function itemMessages(item: HistoryItem): Message[] {
  const messages = messagesOf(item.request);
  if (messages.length > 0 || !item.prompt) return messages;
  return [{ role: 'user', text: item.prompt }];
}
