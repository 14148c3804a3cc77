/**
 * The text of a history record, as search indexes it and lists preview it: what the
 * request asked (prompt, system, messages, input) and what came back. A chat request
 * carries its whole conversation; only its new turn (the messages after the last
 * assistant message) counts as its prompt, so a word finds the exchange that said it,
 * not every later exchange of the same conversation.
 */

/** Beyond this many characters per field, text is stored but not indexed. */
export const MAX_INDEXED_CHARS = 256 * 1024;

export interface ConversationMessage {
  role: string;
  text: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Content nested deeper than this contributes no text. Wire shapes nest content two or
 * three levels (Anthropic tool results hold blocks); the bound keeps a hostile request
 * from deciding how deep the walk recurses.
 */
const MAX_CONTENT_DEPTH = 8;

/**
 * The readable text of a message content in any of the wire shapes: a string, OpenAI
 * parts (`{type:'text', text}`), Anthropic blocks (text, tool_result with content),
 * Responses items (`input_text`, `output_text`). Images, tool inputs and thinking blocks
 * contribute nothing.
 */
export function textOf(value: unknown): string {
  return textAt(value, 0);
}

function textAt(value: unknown, depth: number): string {
  if (typeof value === 'string') return value;
  if (depth >= MAX_CONTENT_DEPTH) return '';
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (const item of value) {
      const text = textAt(item, depth + 1);
      if (text !== '') parts.push(text);
    }
    return parts.join('\n');
  }
  if (isObject(value)) {
    if (typeof value.text === 'string') return value.text;
    if ('content' in value) return textAt(value.content, depth + 1);
    if (typeof value.output === 'string') return value.output;
  }
  return '';
}

/**
 * The conversation a chat-like request carries, oldest first (a top-level system prompt
 * first); null for requests that are not conversations (generate, embeddings, …).
 */
export function conversationOf(endpoint: string, request: unknown): ConversationMessage[] | null {
  if (!isObject(request)) return null;
  if (Array.isArray(request.messages)) {
    const conversation: ConversationMessage[] = [];
    const system = textOf(request.system);
    if (system !== '') conversation.push({ role: 'system', text: system });
    for (const message of request.messages) {
      if (!isObject(message)) continue;
      conversation.push({
        role: typeof message.role === 'string' ? message.role : 'user',
        text: textOf(message.content),
      });
    }
    return conversation;
  }
  if (endpoint === '/v1/responses' && (typeof request.input === 'string' || Array.isArray(request.input))) {
    const conversation: ConversationMessage[] = [];
    const instructions = textOf(request.instructions);
    if (instructions !== '') conversation.push({ role: 'system', text: instructions });
    if (typeof request.input === 'string') {
      conversation.push({ role: 'user', text: request.input });
      return conversation;
    }
    for (const item of request.input) {
      if (typeof item === 'string') conversation.push({ role: 'user', text: item });
      else if (!isObject(item)) continue;
      else if (typeof item.role === 'string')
        conversation.push({ role: item.role, text: textOf(item.content) });
      else if (item.type === 'function_call') conversation.push({ role: 'assistant', text: '' });
      else if (item.type === 'function_call_output')
        conversation.push({ role: 'tool', text: textOf(item.output) });
    }
    return conversation;
  }
  return null;
}

/** Index of the last assistant message, or -1. */
export function lastAssistantIndex(conversation: readonly ConversationMessage[]): number {
  for (let i = conversation.length - 1; i >= 0; i--) if (conversation[i]?.role === 'assistant') return i;
  return -1;
}

/** The messages a chat request adds to its conversation: those after the last assistant message. */
export function newTurn(conversation: readonly ConversationMessage[]): ConversationMessage[] {
  return conversation.slice(lastAssistantIndex(conversation) + 1);
}

const clip = (text: string): string =>
  text.length > MAX_INDEXED_CHARS ? text.slice(0, MAX_INDEXED_CHARS) : text;

const join = (parts: string[]): string => parts.filter((part) => part !== '').join('\n');

/** What the request asked, as text: the new turn of a conversation, or prompt/system/suffix/input. */
export function promptText(endpoint: string, request: unknown): string {
  if (!isObject(request)) return '';
  const conversation = conversationOf(endpoint, request);
  if (conversation) return clip(join(newTurn(conversation).map((message) => message.text)));
  return clip(
    join([
      textOf(request.system),
      textOf(request.instructions),
      textOf(request.prompt),
      textOf(request.suffix),
      textOf(request.input),
    ]),
  );
}

/** What came back, as text: the answer and its thinking. */
export function answerText(content: string | null | undefined, thinking: string | null | undefined): string {
  return clip(join([content ?? '', thinking ?? '']));
}

/** A one-line excerpt: whitespace collapsed, at most `max` characters. */
export function preview(text: string, max = 240): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * An excerpt of `text` around the first of `terms` it contains (case and accents
 * ignored), or undefined when none occurs.
 */
export function snippet(text: string, terms: readonly string[], radius = 80): string | undefined {
  if (terms.length === 0 || text === '') return undefined;
  const fold = (value: string) => value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const folded = fold(text);
  // Folding may change lengths; positions are only used when they did not.
  if (folded.length !== text.length) return undefined;
  let at = -1;
  let length = 0;
  for (const term of terms) {
    const index = folded.indexOf(fold(term));
    if (index >= 0 && (at < 0 || index < at)) {
      at = index;
      length = term.length;
    }
  }
  if (at < 0) return undefined;
  const start = Math.max(0, at - radius);
  const end = Math.min(text.length, at + length + radius);
  return `${start > 0 ? '…' : ''}${text.slice(start, end).replace(/\s+/g, ' ').trim()}${end < text.length ? '…' : ''}`;
}
